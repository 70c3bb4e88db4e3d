// The runtime's queue of sync jobs: at most `concurrency` running at once (1, GPR's rule, by default),
// one queued-or-running job per node (asking again answers with that job), and cancellation of queued
// and running jobs. Node-RED-free.
import type { JobRecord } from './job.js';
import { finishJob, newJob } from './job.js';

export interface Submitted {
  job: JobRecord;
  /** True when the node already had a job queued or running: that one is returned, nothing new starts. */
  existing: boolean;
  /** Settles with the finished record. */
  done: Promise<JobRecord>;
}

interface Entry {
  key: string;
  job: JobRecord;
  controller: AbortController;
  start: () => void;
  done: Promise<JobRecord>;
}

export class JobQueue {
  private readonly waiting: Entry[] = [];
  private readonly active = new Map<string, Entry>();

  constructor(public concurrency = 1) {}

  /**
   * Queue `run` for `key` (a node id). `run` receives the QUEUED record to fill in and a signal that is
   * aborted on cancel; it must resolve with the finished record.
   */
  submit(key: string, kind: JobRecord['kind'], run: (job: JobRecord, signal: AbortSignal) => Promise<JobRecord>): Submitted {
    const current = this.find((e) => e.key === key);
    if (current) return { job: current.job, existing: true, done: current.done };
    const job = newJob(kind);
    job.status = 'QUEUED';
    const controller = new AbortController();
    let start!: () => void;
    const started = new Promise<void>((resolve) => (start = resolve));
    const entry: Entry = {
      key,
      job,
      controller,
      start,
      done: started.then(async () => {
        if (controller.signal.aborted) return cancelled(job, 'cancelled while queued');
        job.status = 'RUNNING';
        try {
          return await run(job, controller.signal);
        } catch (err) {
          // A run that throws still ends: FAILURE with its cause, never RUNNING forever.
          return finishJob(job, { message: (err as Error).message ?? String(err) });
        } finally {
          this.active.delete(job.id);
          this.next();
        }
      }),
    };
    this.waiting.push(entry);
    this.next();
    return { job, existing: false, done: entry.done };
  }

  /** Cancel a queued job (it never starts) or a running one (its requests and waits are aborted). */
  cancel(jobId: string): boolean {
    const i = this.waiting.findIndex((e) => e.job.id === jobId);
    if (i >= 0) {
      const [entry] = this.waiting.splice(i, 1);
      entry.controller.abort();
      entry.start();
      return true;
    }
    const running = this.active.get(jobId);
    if (!running) return false;
    running.controller.abort();
    return true;
  }

  /** Resolves when the job `jobId` has finished (at once when it is not queued or running). */
  async settled(jobId: string): Promise<void> {
    await this.find((e) => e.job.id === jobId)?.done;
  }

  /** The queued or running job of `key`, if any. */
  current(key: string): JobRecord | undefined {
    return this.find((e) => e.key === key)?.job;
  }

  private find(test: (e: Entry) => boolean): Entry | undefined {
    return [...this.active.values()].find(test) ?? this.waiting.find(test);
  }

  private next() {
    while (this.active.size < Math.max(1, this.concurrency) && this.waiting.length) {
      const entry = this.waiting.shift() as Entry;
      this.active.set(entry.job.id, entry);
      entry.start();
    }
  }
}

/** End a job as CANCELED. */
export function cancelled(job: JobRecord, message: string): JobRecord {
  job.status = 'CANCELED';
  job.finishedAt = new Date().toISOString();
  delete job.retrying;
  job.exception = { message };
  return job;
}
