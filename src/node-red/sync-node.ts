// One definition of a sync node (fhir-export, fhir-import): its sync state and job history, the
// configuration-error status, the runs (an input or Run now) as jobs in the runtime's queue, the state
// for the next run kept only after a run that finished, and the job's end as the output, done() or an
// error for Catch nodes. The adapters keep only their form: what a run does.
import type { Node, NodeAPI, NodeDef, NodeMessageInFlow } from 'node-red';
import type { JobRecord } from '../sync/job.js';
import type { SyncIdentity } from '../sync/state-file.js';
import type { Started } from './sync-jobs.js';
import type { RunnableNode } from './sync-jobs.js';
import { DEFAULT_RETENTION, retentionOf } from '../sync/job-store.js';
import { syncJobs } from './sync-jobs.js';
import { syncState } from './sync-state.js';
import { configurationError } from './start-status.js';
import { retryPolicy, retrySetting } from './retry-setting.js';
import { configureSyncQueue, syncQueueProblem } from './sync-queue.js';
import { statusText } from './status-text.js';
import { registerJobRoutes } from './job-routes.js';
import type { RetryPolicy } from '../fhir/retry.js';

/** What one run ended with. */
export interface SyncOutcome {
  job: JobRecord;
  /** The state for the next run (fingerprints, watermark): kept only when the job finished (SUCCESS or WARNING). */
  state?: unknown;
  /** What the output message carries on `payload` when the job finished (default: the job). */
  payload?: unknown;
}

/** What a run is given. */
export interface SyncRunContext {
  /** The queued record to fill in. */
  job: JobRecord;
  /** Aborted when the job is cancelled (or the node stops). */
  signal: AbortSignal;
  /** The state the last finished run left (undefined before the first). */
  saved: unknown;
  /** The retry policy of this kind of node (settings.js). */
  retry: RetryPolicy;
  /** Show the job's progress (status, editor, journal). */
  progress(job: JobRecord): void;
}

/** A run prepared for one message: its configuration checked, nothing started yet. */
export interface SyncRun {
  /** The run in error messages, e.g. `export to "Sandbox"`. */
  what: string;
  run(context: SyncRunContext): Promise<SyncOutcome>;
}

export interface SyncNodeSpec<S> {
  kind: JobRecord['kind'];
  /** The settings.js name of its retry policy (registered by registerSyncNode). */
  retrySetting: string;
  /** Key of the state for the next run in the node's sync state. */
  stateKey: string;
  /** What the history and state belong to (server, hierarchy, mapping); undefined while unknown. */
  identity: SyncIdentity | undefined;
  /** Job records to keep (the node's setting; empty: the default). */
  retention?: unknown;
  /** A configuration problem found on start: shown as the status, and every run refused with it. */
  problem?: string;
  /**
   * The run settings that do not change between runs (options, concurrency), worked out once on start: what it
   * throws is shown as a configuration error at once, and every run is refused with it.
   */
  settings(): S;
  /** The run for `msg` with the node's settings; throws configuration errors, which end the input with done(err). */
  prepare(msg: NodeMessageInFlow, settings: S): SyncRun;
}

/** The error a FAILURE or CANCELED job ends its message with, for Catch nodes; undefined otherwise. */
function jobError(what: string, job: JobRecord): Error | undefined {
  if (job.status === 'CANCELED') return new Error(`${what} ${job.exception?.message}`);
  if (job.status === 'FAILURE') return new Error(`${what} failed: ${job.exception?.message}`);
  return undefined;
}

const finished = (job: JobRecord) => job.status === 'SUCCESS' || job.status === 'WARNING';

/**
 * Make `node` a sync node. Every input starts a run, and so does Run now (the admin route), whose end
 * goes to the node's output or, as an error, to Catch nodes. The output message carries the job on
 * `msg.job`, and `payload` (the job, or what the run made of it) when it finished.
 */
export function defineSyncNode<S>(RED: NodeAPI, node: Node, spec: SyncNodeSpec<S>): void {
  const state = syncState(RED, node, spec.identity);
  let retention = DEFAULT_RETENTION;
  let problem = spec.problem ?? syncQueueProblem(RED);
  let settings: { value: S } | undefined;
  try {
    retention = retentionOf(spec.retention);
    settings = { value: spec.settings() };
  } catch (err) {
    problem ??= (err as Error).message;
  }
  const jobs = syncJobs(RED, node, state, retention);
  if (problem) configurationError(RED, node, problem);

  /** Start a run for `msg` at once; its end is reported through send/done. Throws configuration errors. */
  const trigger = (msg: NodeMessageInFlow, send: (m: NodeMessageInFlow) => void, done: (err?: Error) => void): Started => {
    if (problem || !settings) throw new Error(problem);
    const prepared = spec.prepare(msg, settings.value);
    let payload: unknown;
    const started = jobs.start(spec.kind, async (queued, signal) => {
      const saved = await state.get(spec.stateKey);
      const outcome = await prepared.run({
        job: queued,
        signal,
        saved,
        retry: retryPolicy(RED, spec.retrySetting),
        progress: jobs.progress,
      });
      // The one rule for incremental state: it advances only after a run that finished.
      if (finished(outcome.job) && outcome.state !== undefined) await state.set(spec.stateKey, outcome.state);
      payload = outcome.payload;
      return outcome.job;
    });
    started.finished.then(
      (job) => {
        if (!job) return done();
        const out = msg as NodeMessageInFlow & { job?: JobRecord };
        out.job = job;
        out.payload = payload !== undefined && finished(job) ? payload : job;
        const failed = jobError(prepared.what, job);
        if (failed) return done(failed);
        send(out);
        done();
      },
      (err: Error) => done(err),
    );
    return started;
  };

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
      node.status({ fill: 'red', shape: 'dot', text: statusText(RED, node, 'error') });
      done(err as Error);
    }
  });
}

/**
 * Register a sync node type with its retry setting (and `settings`, names that must start with the
 * type's, as Node-RED requires), its job routes, and the runtime's job queue configured from settings.js.
 */
export function registerSyncNode<N extends Node, D extends NodeDef>(
  RED: NodeAPI,
  type: string,
  constructor: (this: N, def: D) => void,
  retry: string,
  settings: Record<string, { value: unknown; exportable: boolean }> = {},
): void {
  RED.nodes.registerType(type, constructor, { settings: { ...retrySetting(retry), ...settings } });
  registerJobRoutes(RED, type);
  configureSyncQueue(RED);
}
