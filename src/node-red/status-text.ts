// A node's status texts from its message catalog (`<type>.status.<key>` in nodes/locales), in the runtime's
// language: what the editor shows under the node, and what a Status node passes on.
import type { Node, NodeAPI } from 'node-red';

export type StatusKey =
  'configurationError' | 'error' | 'reading' | 'objects' | 'objectsWithRows' | 'progress' | 'progressUnknown' | 'retry';

export function statusText(RED: NodeAPI, node: Node, key: StatusKey, values?: Record<string, string | number>): string {
  return RED._(`${node.type}.status.${key}`, values);
}
