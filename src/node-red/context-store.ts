// A node's context as a promise-based key-value store, in the callback form that works with every
// context store (memory, localfilesystem, custom).
import type { NodeContextData } from 'node-red';
import type { KeyValue } from '../sync/job-store.js';

export function contextStore(context: NodeContextData): KeyValue {
  return {
    get: (key) =>
      new Promise((resolve, reject) => context.get(key, (err: Error | undefined, value: unknown) => (err ? reject(err) : resolve(value)))),
    set: (key, value) => new Promise((resolve, reject) => context.set(key, value, (err?: Error) => (err ? reject(err) : resolve()))),
  };
}
