// Job plumbing shared by the sync nodes (fhir-export, fhir-import): the runtime-wide queue, the job
// history in the node's context, recovery of interrupted jobs, cancellation when the node stops, and
// progress shown as node status and published to the editor (the FHIR Jobs sidebar).
import type { Node, NodeAPI } from 'node-red';
import type { JobRecord } from '../sync/job.js';
import { jobSummary, storableJob } from '../sync/job.js';
import { join } from 'node:path';
import type { KeyValue } from '../sync/job-store.js';
import { JobStore } from '../sync/job-store.js';
import { JobJournal } from '../sync/job-journal.js';
import { startStatus } from './start-status.js';
import { syncQueue } from './sync-queue.js';
import { statusText } from './status-text.js';

export interface Started {
  /** The queued job, or the one the node already had queued or running. */
  job: JobRecord;
  existing: boolean;
  /** The finished record (saved); undefined when nothing new started. */
  finished: Promise<JobRecord | undefined>;
}

export interface SyncJobs {
  /** Queue a run at once; a node that already has a job queued or running starts nothing (with a warning). */
  start(kind: JobRecord['kind'], fn: (job: JobRecord, signal: AbortSignal) => Promise<JobRecord>): Started;
  /** Show a job's progress: node status, and a comms message for the editor. */
  progress(job: JobRecord): void;
}

/** Comms topic of a node's job updates: `<JOBS_TOPIC>/<node id>`, carrying a job summary. */
const JOBS_TOPIC = 'geofhir/jobs';

const FILL = { SUCCESS: 'green', WARNING: 'yellow', FAILURE: 'red', RUNNING: 'blue', QUEUED: 'grey', CANCELED: 'grey' } as const;

/** What a job's status is under its node: while it runs, its progress or the retry it waits for; then its status. */
function statusOf(RED: NodeAPI, node: Node, job: JobRecord) {
  const running = job.status === 'RUNNING';
  const { retrying: r } = job;
  const text = !running
    ? job.status
    : r
      ? statusText(RED, node, 'retry', { attempt: r.attempt, retries: r.retries, seconds: Math.ceil(r.waitMs / 1000), reason: r.reason })
      : job.workTotal
        ? statusText(RED, node, 'progress', { done: job.workProgress, total: job.workTotal })
        : statusText(RED, node, 'progressUnknown', { done: job.workProgress });
  return { fill: FILL[job.status], shape: running || job.status === 'QUEUED' ? 'ring' : 'dot', text } as const;
}

/** What a sync node offers the admin routes: a run like an input's, started at once. */
export interface RunnableNode extends Node {
  runNow(): Started;
  /** The saved job history, once the jobs a stopped runtime left behind are recovered. */
  jobHistory(): Promise<JobRecord[]>;
}

/** The file of a node's job journal in the user directory; none without one (then only the context keeps jobs). */
function journalOf(RED: NodeAPI, node: Node): JobJournal | undefined {
  const userDir = (RED.settings as unknown as { userDir?: string }).userDir;
  return userDir ? new JobJournal(join(userDir, 'geofhir-jobs', `${node.id.replace(/[^\w.-]/g, '_')}.json`)) : undefined;
}

/** The jobs of a sync node, their history kept in `store` (its sync state), the latest also in its journal. */
export function syncJobs(RED: NodeAPI, node: Node, store: KeyValue, retention: number): SyncJobs {
  const jobs = new JobStore(store, retention);
  const journal = journalOf(RED, node);
  const report = (what: string) => (err: Error) => node.error(`${what}: ${err.message}`);
  // Jobs a stopped runtime left queued or running can never finish; the journal has the latest one as it
  // was last seen, also when the history had not been saved.
  const recovered = jobs.recoverInterrupted(journal?.read()).catch(report('job history'));
  let finishing: Promise<unknown> = recovered;
  (node as RunnableNode).jobHistory = () => recovered.then(() => jobs.list());
  // On start the node shows its last job's status (none without history), unless a job has begun since.
  recovered
    .then(() => jobs.list())
    .then(([last]) => syncQueue.current(node.id) || startStatus(node, last && statusOf(RED, node, last)))
    .catch(report('job history'));
  // Stopping the node (redeploy, shutdown) cancels its job; the close waits until the job has stopped and
  // its record is saved.
  node.on('close', (removed: boolean, closed: () => void) => {
    const active = syncQueue.current(node.id);
    if (active) syncQueue.cancel(active.id);
    finishing.then(() => (removed ? journal?.remove().catch(report('job journal')) : undefined)).then(closed, closed);
  });
  const progress = (job: JobRecord) => {
    node.status(statusOf(RED, node, job));
    RED.comms.publish(`${JOBS_TOPIC}/${node.id}`, jobSummary(job), false);
    // Persisted at each chunk or page: a killed runtime still knows what was done.
    journal?.write(job).catch(report('job journal'));
  };
  return {
    progress,
    start(kind, fn) {
      const submitted = syncQueue.submit(node.id, kind, fn);
      if (submitted.existing) {
        node.warn(`not started: job ${submitted.job.id} of this node is already ${submitted.job.status.toLowerCase()}`);
        return { job: submitted.job, existing: true, finished: Promise.resolve(undefined) };
      }
      progress(submitted.job);
      // A record that cannot be saved is reported, never left RUNNING: the job still ends with its status.
      const save = (job: JobRecord) => jobs.save(job).catch((err: Error) => node.error(`job ${job.id} could not be saved: ${err.message}`));
      void save(submitted.job);
      const finished = submitted.done.then(async (ran) => {
        const job = storableJob(ran);
        await save(job);
        progress(job);
        await journal?.write(job).catch(report('job journal'));
        return job;
      });
      finishing = Promise.all([finishing, finished]).catch(() => undefined);
      return { job: submitted.job, existing: false, finished };
    },
  };
}
