// The status a node shows from its start. The editor keeps the last status it was sent for a node id
// across redeploys and restarts, so every node sets one on start: its configuration error, else what it
// knows of itself (a sync node's last job), else none.
import type { Node, NodeAPI, NodeStatus } from 'node-red';
import { statusText } from './status-text.js';

const misconfigured = new WeakSet<Node>();

/** Show a configuration error (red ring) and log it; later start statuses leave it in place. */
export function configurationError(RED: NodeAPI, node: Node, problem: string): void {
  misconfigured.add(node);
  node.status({ fill: 'red', shape: 'ring', text: statusText(RED, node, 'configurationError') });
  node.error(problem);
}

/** Show `status` (none when not given) unless the node has a configuration error. */
export function startStatus(node: Node, status: NodeStatus = {}): void {
  if (!misconfigured.has(node)) node.status(status);
}
