// Job records kept newest first, at most `retention` per node, in a key-value store (Node-RED's node
// context in practice, so a persistent context store keeps them across restarts). Node-RED-free.
import type { JobRecord } from './job.js';
import { storableJob } from './job.js';

export interface KeyValue {
  get(key: string): Promise<unknown>;
  set(key: string, value: unknown): Promise<void>;
}

const KEY = 'jobs';

export class JobStore {
  /** Writes one after another: each reads the list the previous one wrote. */
  private writes: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly store: KeyValue,
    private readonly retention = 20,
  ) {}

  async list(): Promise<JobRecord[]> {
    const jobs = await this.store.get(KEY);
    return Array.isArray(jobs) ? (jobs as JobRecord[]) : [];
  }

  /**
   * Jobs left QUEUED or RUNNING by a runtime that stopped can never finish: mark them FAILURE
   * (interrupted). Returns how many there were.
   */
  recoverInterrupted(): Promise<number> {
    return this.serialised(() => this.recover());
  }

  private async recover(): Promise<number> {
    const jobs = await this.list();
    const stale = jobs.filter((j) => j.status === 'QUEUED' || j.status === 'RUNNING');
    for (const j of stale) {
      j.status = 'FAILURE';
      j.finishedAt ??= new Date().toISOString();
      j.exception = { message: `interrupted: the runtime stopped while this job was ${j.stage === 'CONNECTING' ? 'starting' : 'running'}` };
    }
    if (stale.length) await this.store.set(KEY, jobs);
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
