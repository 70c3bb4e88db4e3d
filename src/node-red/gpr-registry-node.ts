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
}

/** The connection of the gpr-registry node `id`, or an error saying none is configured. */
export function gprConnectionOf(RED: NodeAPI, id: string | undefined): GprConnection {
  const node = deployedNode(RED, id, 'gpr-registry');
  if (!node) throw new Error('no GeoPrism Registry is configured (or it is disabled)');
  return node.connection;
}
