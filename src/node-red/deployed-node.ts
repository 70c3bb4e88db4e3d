// Nodes that use other nodes (a source, an export's configuration, a config node) find them here by id
// and type: a node of another type (a wrong id in a flow file) is not used as if it were one.
import type { Node, NodeAPI } from 'node-red';
import type { ExportNode } from './export-node.js';
import type { SourceNode } from './source-node.js';
import type { GprRegistryNode } from './gpr-registry-node.js';
import type { ExternalSystemNode } from './external-system-node.js';

/** What each node type offers the nodes that use it. */
interface DeployedNodes {
  'fhir-export': ExportNode;
  'gpr-hierarchy-source': SourceNode;
  'gpr-registry': GprRegistryNode;
  'fhir-external-system': ExternalSystemNode;
}

/** The deployed (enabled) node `id` when it is of `type`; undefined otherwise. */
export function deployedNode<T extends keyof DeployedNodes>(RED: NodeAPI, id: string | undefined, type: T): DeployedNodes[T] | undefined {
  const node: Node | null = id ? RED.nodes.getNode(id) : null;
  return node?.type === type ? (node as DeployedNodes[T]) : undefined;
}
