// Job records kept newest first, at most `retention` per node, in a key-value store (Node-RED's node
// context in practice, so a persistent context store keeps them across restarts). Node-RED-free.
import type { JobRecord } from './job.js';
import { storableJob } from './job.js';
import { wholeNumber } from '../settings/whole-number.js';

export interface KeyValue {
  get(key: string): Promise<unknown>;
  set(key: string, value: unknown): Promise<void>;
}

const KEY = 'jobs';

/** Records kept per node when its configuration does not say. */
export const DEFAULT_RETENTION = 20;

/** The configured number of records to keep (DEFAULT_RETENTION when empty); anything but a positive whole number is refused. */
export function retentionOf(raw: unknown): number {
  return wholeNumber('job history', raw, DEFAULT_RETENTION);
}

/** What a job had done, as the server answered it (transactions in flight at the stop are not counted). */
function doneSoFar(j: JobRecord): string {
  return j.kind === 'export'
    ? `before the stop ${j.objectsExported} of ${j.workTotal} objects were exported (${j.resourcesExported} resources), as the server answered`
    : `before the stop ${j.resourcesRead} resources were read`;
}

export class JobStore {
  /** Writes one after another: each reads the list the previous one wrote. */
  private writes: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly store: KeyValue,
    private readonly retention = DEFAULT_RETENTION,
  ) {}

  async list(): Promise<JobRecord[]> {
    const jobs = await this.store.get(KEY);
    return Array.isArray(jobs) ? (jobs as JobRecord[]) : [];
  }

  /**
   * Jobs left QUEUED or RUNNING by a runtime that stopped can never finish: mark them FAILURE
   * (interrupted), saying what they had done. `latest` is the node's job as its journal last saw it: when
   * unfinished, it replaces an older state of that job in the history (which a killed runtime may not have
   * saved at all).
   * Returns how many jobs were interrupted.
   */
  recoverInterrupted(latest?: Promise<JobRecord | undefined>): Promise<number> {
    return this.serialised(async () => this.recover(await latest));
  }

  private async recover(latest?: JobRecord): Promise<number> {
    let jobs = await this.list();
    const unfinished = (j?: JobRecord) => j?.status === 'QUEUED' || j?.status === 'RUNNING';
    const saved = latest && jobs.find((j) => j.id === latest.id);
    // Only a job the journal saw unfinished: one that finished is in the history, or was removed from it.
    const changed = Boolean(latest && unfinished(latest) && (!saved || unfinished(saved)));
    if (latest && changed) jobs = [latest, ...jobs.filter((j) => j.id !== latest.id)].slice(0, this.retention);
    const stale = jobs.filter((j) => j.status === 'QUEUED' || j.status === 'RUNNING');
    for (const j of stale) {
      const phase = j.status === 'QUEUED' ? 'queued' : j.stage === 'CONNECTING' ? 'starting' : 'running';
      j.status = 'FAILURE';
      j.finishedAt ??= new Date().toISOString();
      j.exception = { message: `interrupted: the runtime stopped while this job was ${phase}; ${doneSoFar(j)}` };
    }
    if (stale.length || changed) await this.store.set(KEY, jobs);
    return stale.length;
  }

  /** Insert or replace the record with this id (a storable copy: see storableJob). */
  save(job: JobRecord): Promise<void> {
    const stored = storableJob(job);
    return this.serialised(async () => {
      const jobs = (await this.list()).filter((j) => j.id !== job.id);
      await this.store.set(KEY, [stored, ...jobs].slice(0, this.retention));
    });
  }

  private serialised<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.writes.then(fn);
    this.writes = run.catch(() => undefined);
    return run;
  }
}
