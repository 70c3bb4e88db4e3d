// The runtime shape of a deployed gpr-registry config node, for the nodes that read from or write to it.
import type { Node, NodeAPI } from 'node-red';
import type { GprConnection } from '../registry/gpr-client.js';
import { deployedNode } from './deployed-node.js';

export interface GprRegistryCredentials {
  username?: string;
  password?: string;
}

export interface GprRegistryNode extends Node<GprRegistryCredentials> {
  connection: GprConnection;
  /** Its configuration error (a bad URL or timeout), which every use of it is refused with. */
  problem?: string;
}

/** The connection of the gpr-registry node `id`, or an error saying none is configured. */
export function gprConnectionOf(RED: NodeAPI, id: string | undefined): GprConnection {
  const node = deployedNode(RED, id, 'gpr-registry');
  if (!node) throw new Error('no GeoPrism Registry is configured (or it is disabled)');
  if (node.problem) throw new Error(`GeoPrism Registry "${node.name || node.id}": ${node.problem}`);
  return node.connection;
}
