// The status a node shows from its start. The editor keeps the last status it was sent for a node id
// across redeploys and restarts, so every node sets one on start: its configuration error, else what it
// knows of itself (a sync node's last job), else none.
import type { Node, NodeAPI, NodeStatus } from 'node-red';
import { statusText } from './status-text.js';

/** The problems each misconfigured node has logged. */
const misconfigured = new WeakMap<Node, Set<string>>();

/**
 * Show a configuration error (red ring) and log it, once per node however many of its checks find it (a node's
 * own start check also meets its external system's problem); later start statuses leave it in place.
 */
export function configurationError(RED: NodeAPI, node: Node, problem: string): void {
  const logged = misconfigured.get(node) ?? new Set<string>();
  misconfigured.set(node, logged);
  node.status({ fill: 'red', shape: 'ring', text: statusText(RED, node, 'configurationError') });
  if (logged.has(problem)) return;
  logged.add(problem);
  node.error(problem);
}

/** Show `status` (none when not given) unless the node has a configuration error. */
export function startStatus(node: Node, status: NodeStatus = {}): void {
  if (!misconfigured.has(node)) node.status(status);
}
