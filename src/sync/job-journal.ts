// The latest job of a node, written to a file of its own at the start of a run, after each chunk or page
// and at the end (atomically: a new file renamed over the old one). A runtime that is killed keeps it, even
// when the context store had not flushed the history yet, so the job can be reported with what it had done.
// Node-RED-free.
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { JobRecord } from './job.js';
import { storableJob } from './job.js';

/** Rows kept in the journal: it is written often, so it stays small. */
const MAX_ROWS = 1000;

export class JobJournal {
  private latest?: JobRecord;
  private writes: Promise<void> = Promise.resolve();

  constructor(private readonly file: string) {}

  /** The job last written, if any (read before any write that comes after this call). */
  read(): Promise<JobRecord | undefined> {
    const read = this.writes.then(() => this.load());
    this.writes = read.then(
      () => undefined,
      () => undefined,
    );
    return read;
  }

  private async load(): Promise<JobRecord | undefined> {
    try {
      const job = JSON.parse(await readFile(this.file, 'utf8')) as JobRecord;
      return typeof job?.id === 'string' && Array.isArray(job.errors) ? job : undefined;
    } catch {
      return undefined; // none yet, or unreadable: there is nothing to recover from it
    }
  }

  /** Write the job as it is now; writes queued behind another keep only the newest state. */
  write(job: JobRecord): Promise<void> {
    this.latest = storableJob({ ...job, errors: job.errors.slice(0, MAX_ROWS) });
    this.writes = this.writes.then(() => this.flush());
    return this.writes;
  }

  remove(): Promise<void> {
    this.latest = undefined;
    this.writes = this.writes.then(() => rm(this.file, { force: true }));
    return this.writes;
  }

  private async flush(): Promise<void> {
    const job = this.latest;
    if (!job) return;
    this.latest = undefined;
    const tmp = `${this.file}.tmp`;
    await mkdir(dirname(this.file), { recursive: true });
    await writeFile(tmp, JSON.stringify(job));
    await rename(tmp, this.file);
  }
}
