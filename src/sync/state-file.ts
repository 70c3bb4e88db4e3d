// A sync node's state (job history, incremental watermarks) in one JSON file, bound to the node's sync
// identity: opened with another identity, the file's state is dropped and the parts that changed are
// named. Writes are serialised and atomic (temporary file, then rename). Node-RED-free.
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { KeyValue } from './job-store.js';

/** What a sync node's state is about, part by part (e.g. server, hierarchy, mapping); compared as JSON. */
export type SyncIdentity = Record<string, unknown>;

interface Stored {
  identity?: SyncIdentity;
  values: Record<string, unknown>;
}

export interface StateFile extends KeyValue {
  /** Resolves with the identity parts that changed (state dropped), or none. */
  readonly opened: Promise<string[]>;
  /** Delete the file (the node was deleted). */
  remove(): Promise<void>;
}

async function load(path: string): Promise<Stored | undefined> {
  try {
    const stored = JSON.parse(await readFile(path, 'utf8')) as Stored;
    return stored && typeof stored.values === 'object' ? stored : undefined;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new Error(`sync state ${path} cannot be read: ${(err as Error).message}`);
  }
}

/** Open `path` for `identity`; an undefined identity (not known yet, e.g. the server is misconfigured) keeps what is stored. */
export function openStateFile(path: string, identity: SyncIdentity | undefined): StateFile {
  let writes: Promise<unknown> = Promise.resolve();
  // Once removed, late writes (a cancelled job saving its end) must not bring the file back.
  let removed = false;
  const state = load(path).then((stored) => {
    const was = stored?.identity;
    const changed =
      identity && was ? Object.keys({ ...was, ...identity }).filter((k) => JSON.stringify(was[k]) !== JSON.stringify(identity[k])) : [];
    const current: Stored = { identity: identity ?? was, values: changed.length ? {} : (stored?.values ?? {}) };
    return { current, changed };
  });
  const persist = (current: Stored) => {
    writes = writes.then(async () => {
      if (removed) return;
      await mkdir(dirname(path), { recursive: true });
      await writeFile(`${path}.tmp`, JSON.stringify(current));
      await rename(`${path}.tmp`, path);
    });
    return writes;
  };
  return {
    opened: state.then(async ({ current, changed }) => {
      if (changed.length) await persist(current);
      return changed;
    }),
    get: async (key) => structuredClone((await state).current.values[key]),
    set: async (key, value) => {
      const { current } = await state;
      current.values[key] = structuredClone(value);
      await persist(current);
    },
    remove: async () => {
      removed = true;
      await writes.catch(() => undefined);
      await rm(path, { force: true });
    },
  };
}
