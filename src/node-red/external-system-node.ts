// The runtime shape of a deployed fhir-external-system config node, shared by the nodes that use it.
import type { Node, NodeAPI, NodeDef } from 'node-red';
import type { ExternalSystemSecrets, ExternalSystemSettings, RawSettings } from '../fhir/external-system.js';
import type { FhirConnection } from '../fhir/connection.js';
import { normaliseSettings, organizationProblem } from '../fhir/external-system.js';
import { configurationError } from './start-status.js';
import { deployedNode } from './deployed-node.js';
import type { SyncIdentity } from '../sync/state-file.js';

/** As stored in the flow: GPR's Label is the node's `name` (the editor shows `name` as the node label); `d` marks a disabled node. */
export type ExternalSystemDef = NodeDef & Omit<RawSettings, 'label'> & { d?: boolean };

/** Settings of a config node definition (or of the editor form, which has the same keys). */
export function settingsOf(def: Partial<ExternalSystemDef>): ExternalSystemSettings {
  return normaliseSettings({ ...def, label: def.name });
}

export interface ExternalSystemNode extends Node<ExternalSystemSecrets> {
  settings: ExternalSystemSettings;
  /** Configuration errors; empty when the system is usable. */
  problems: string[];
  connection: FhirConnection;
}

/**
 * Why a node configured with `systemNodeId` and `organization` may not use that system, or undefined
 * when it may. Nodes call this on start and refuse to run while it gives a reason.
 */
export function externalSystemProblem(system: ExternalSystemNode | null | undefined, organization: string): string | undefined {
  if (!system) return 'no FHIR external system is configured (or it is disabled)';
  if (system.problems.length)
    return `external system "${system.settings.systemId || system.id}" is misconfigured: ${system.problems.join('; ')}`;
  return organizationProblem(system.settings, organization);
}

/**
 * For a node that uses an external system: looks it up once (config nodes start first) and reports a
 * configuration problem with a red status and an error. The returned function gives the system, or
 * throws that problem, so each input can end in `done(err)` instead of running.
 */
export function bindExternalSystem(
  RED: NodeAPI,
  node: Node,
  systemNodeId: string | undefined,
  organization: string,
): () => ExternalSystemNode {
  const system = deployedNode(RED, systemNodeId, 'fhir-external-system');
  const problem = externalSystemProblem(system, organization);
  if (problem) configurationError(RED, node, problem);
  return () => {
    if (problem || !system) throw new Error(problem);
    return system;
  };
}

/**
 * The identity of a sync through `system` (its server: URL and identifier System) with the sync's own
 * `parts`; undefined while the system is not usable (then no state is dropped).
 */
export function syncIdentityOf(system: () => ExternalSystemNode, parts: SyncIdentity): SyncIdentity | undefined {
  try {
    const { url, system: identifiers } = system().settings;
    return { server: { url, identifiers }, ...parts };
  } catch {
    return undefined;
  }
}
