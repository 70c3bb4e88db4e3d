// Where a sync node's job history and incremental state live: a file per node under the Node-RED user
// directory (<userDir>/geofhir/sync-state/<node id>.json), so full deploys, edits of other fields and
// restarts keep them. They are dropped when the node is deleted, or when its sync identity changes, with
// a warning that says so. Without a user directory (the test helper) the node's context holds them.
import { join } from 'node:path';
import type { Node, NodeAPI } from 'node-red';
import type { KeyValue } from '../sync/job-store.js';
import type { SyncIdentity } from '../sync/state-file.js';
import { openStateFile } from '../sync/state-file.js';
import { contextStore } from './context-store.js';

const stores = new Map<string, KeyValue>();

/** The state store of a sync node; `identity` undefined while it is not known (nothing is dropped then). */
export function syncState(RED: NodeAPI, node: Node, identity: SyncIdentity | undefined): KeyValue {
  const userDir = RED.settings.userDir as string | undefined;
  if (!userDir) return remember(node, contextStore(node.context()));
  const file = openStateFile(join(userDir, 'geofhir', 'sync-state', `${node.id}.json`), identity);
  file.opened.then(
    (changed) => {
      if (changed.length) node.warn(`job history and incremental state cleared: the ${changed.join(', ')} of this sync changed`);
    },
    (err: Error) => node.error(err.message),
  );
  node.on('close', (removed: boolean, done: () => void) => {
    if (!removed) return done();
    file.remove().then(done, (err: Error) => {
      node.error(`sync state: ${err.message}`);
      done();
    });
  });
  return remember(node, file);
}

function remember(node: Node, store: KeyValue): KeyValue {
  stores.set(node.id, store);
  node.on('close', () => {
    if (stores.get(node.id) === store) stores.delete(node.id);
  });
  return store;
}

/** The state store of a deployed sync node (for the admin routes). */
export function syncStateOf(node: Node): KeyValue {
  return stores.get(node.id) ?? contextStore(node.context());
}
