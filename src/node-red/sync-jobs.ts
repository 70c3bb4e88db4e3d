// Job plumbing shared by the sync nodes (fhir-export, fhir-import): the runtime-wide queue, the job
// history in the node's context, recovery of interrupted jobs, cancellation when the node stops, and
// progress shown as node status and published to the editor (the FHIR Jobs sidebar).
import type { Node, NodeAPI, NodeMessageInFlow } from 'node-red';
import type { JobRecord } from '../sync/job.js';
import { jobSummary } from '../sync/job.js';
import type { KeyValue } from '../sync/job-store.js';
import { JobStore } from '../sync/job-store.js';
import { syncQueue } from './sync-queue.js';
import { startStatus } from './start-status.js';

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

function statusOf(job: JobRecord) {
  const running = job.status === 'RUNNING';
  const text = running ? `${job.workProgress}/${job.workTotal || '?'}` : job.status;
  return { fill: FILL[job.status], shape: running || job.status === 'QUEUED' ? 'ring' : 'dot', text } as const;
}

/** What a sync node offers the admin routes: a run like an input's, started at once. */
export interface RunnableNode extends Node {
  runNow(): Started;
}

/** The jobs of a sync node, kept in `store` (its sync state). */
export function syncJobs(RED: NodeAPI, node: Node, store: KeyValue, retention: number): SyncJobs {
  const jobs = new JobStore(store, retention);
  // Jobs a stopped runtime left queued or running can never finish.
  // On start the node shows its last job's status (none without history), unless a job has begun since.
  jobs
    .recoverInterrupted()
    .then(() => jobs.list())
    .then(([last]) => syncQueue.current(node.id) || startStatus(node, last && statusOf(last)))
    .catch((err: Error) => node.error(`job history: ${err.message}`));
  // Stopping the node (redeploy, shutdown) cancels its job; the close waits until the job has stopped.
  node.on('close', (_removed: boolean, closed: () => void) => {
    const active = syncQueue.current(node.id);
    if (!active) return closed();
    syncQueue.cancel(active.id);
    syncQueue.settled(active.id).then(closed, closed);
  });
  const progress = (job: JobRecord) => {
    node.status(statusOf(job));
    RED.comms.publish(`${JOBS_TOPIC}/${node.id}`, jobSummary(job), false);
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
      const finished = jobs.save(submitted.job).then(async () => {
        const job = await submitted.done;
        await jobs.save(job);
        progress(job);
        return job;
      });
      return { job: submitted.job, existing: false, finished };
    },
  };
}

/** The error a FAILURE or CANCELED job ends its message with, for Catch nodes; undefined otherwise. */
export function jobError(what: string, job: JobRecord): Error | undefined {
  if (job.status === 'CANCELED') return new Error(`${what} ${job.exception?.message}`);
  if (job.status === 'FAILURE') return new Error(`${what} failed: ${job.exception?.message}`);
  return undefined;
}

/** Starts a run for a message at once and reports its end through send/done; throws configuration errors. */
export type Trigger = (msg: NodeMessageInFlow, send: (m: NodeMessageInFlow) => void, done: (err?: Error) => void) => Started;

/**
 * Wire a sync node's runs: every input starts one, and so does Run now (the admin route), whose end goes
 * to the node's output or, as an error, to Catch nodes.
 */
export function wireRuns(RED: NodeAPI, node: Node, trigger: Trigger): void {
  (node as RunnableNode).runNow = () => {
    const msg = { _msgid: RED.util.generateId() } as NodeMessageInFlow;
    return trigger(
      msg,
      (m) => node.send(m),
      (err) => err && node.error(err, msg),
    );
  };
  node.on('input', (msg: NodeMessageInFlow, send: (m: NodeMessageInFlow) => void, done: (err?: Error) => void) => {
    try {
      trigger(msg, send, done);
    } catch (err) {
      node.status({ fill: 'red', shape: 'dot', text: 'error' });
      done(err as Error);
    }
  });
}
