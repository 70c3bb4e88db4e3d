// A sync run's record, mirroring GPR's ExportHistory and ExportError rows. Node-RED-free.
import { randomUUID } from 'node:crypto';
import type { RetryNotice } from '../fhir/retry.js';

/** An error row, GPR's ExportError: per object, with what was sent and answered when there was an answer. */
export interface ErrorRow {
  code: string;
  type?: string;
  severity: 'ERROR' | 'WARNING';
  message: string;
  submitted?: unknown;
  response?: unknown;
}

export interface Skipped {
  invalid: number;
  notExisting: number;
  /** Incremental runs: objects unchanged since the last run. */
  unchanged: number;
}

export type JobStatus = 'QUEUED' | 'RUNNING' | 'SUCCESS' | 'WARNING' | 'FAILURE' | 'CANCELED';
export type JobStage = 'CONNECTING' | 'CONNECTION_FAILED' | 'EXPORT' | 'IMPORT' | 'COMPLETE';

export interface JobRecord {
  id: string;
  kind: 'export' | 'import';
  status: JobStatus;
  stage: JobStage;
  startedAt: string;
  finishedAt?: string;
  /** Objects to process, and processed so far. */
  workTotal: number;
  workProgress: number;
  objectsExported: number;
  resourcesExported: number;
  /** Imports: resources read from the server, and geo-objects made from them. */
  resourcesRead: number;
  objectsImported: number;
  /** Imports written to a live GPR: objects created and updated there, parent links added. */
  written?: { created: number; updated: number; linked: number };
  skipped: Skipped;
  /** Resources set inactive because their object is gone (onRemoved = inactivate). */
  inactivated: number;
  errors: ErrorRow[];
  /** While a failed FHIR call waits to be retried: the retry, its wait and cause, and when the wait began. */
  retrying?: RetryNotice & { at: string };
  /** Why the run failed as a whole (FAILURE). */
  exception?: { message: string; status?: number };
}

export function newJob(kind: JobRecord['kind']): JobRecord {
  return {
    id: randomUUID(),
    kind,
    status: 'RUNNING',
    stage: 'CONNECTING',
    startedAt: new Date().toISOString(),
    workTotal: 0,
    workProgress: 0,
    objectsExported: 0,
    resourcesExported: 0,
    resourcesRead: 0,
    objectsImported: 0,
    skipped: { invalid: 0, notExisting: 0, unchanged: 0 },
    inactivated: 0,
    errors: [],
  };
}

/** Whether a run with work to do failed for every object: it ends as a FAILURE, not a partial success. */
export function nothingGotThrough(job: JobRecord): boolean {
  const done = job.kind === 'export' ? job.objectsExported : job.objectsImported;
  return job.workTotal > 0 && done === 0 && job.errors.some((r) => r.severity === 'ERROR');
}

/** End a run: FAILURE with the cause (or when every object failed), else WARNING when some object failed, else SUCCESS. */
export function finishJob(job: JobRecord, failure?: { message: string; status?: number }): JobRecord {
  job.finishedAt = new Date().toISOString();
  delete job.retrying;
  if (failure) {
    job.status = 'FAILURE';
    job.exception = failure;
  } else {
    const failed = job.errors.filter((r) => r.severity === 'ERROR');
    job.stage = 'COMPLETE';
    job.status = failed.length ? 'WARNING' : 'SUCCESS';
    // Nothing got through: a failure, not a partial success.
    const verb = job.kind === 'export' ? 'exported' : 'imported';
    if (nothingGotThrough(job)) {
      job.status = 'FAILURE';
      job.exception = {
        message: `none of ${job.workTotal} ${job.kind === 'export' ? 'objects' : 'resources'} was ${verb}; first error: ${failed[0].code}: ${failed[0].message}`,
      };
    }
  }
  return job;
}

export type JobSummary = Omit<JobRecord, 'errors'> & { errorCount: number };

/** A job without its error rows (they can be many), for lists and live updates. */
export function jobSummary({ errors, ...job }: JobRecord): JobSummary {
  return { ...job, errorCount: errors.length };
}

/** At most this many characters of JSON are kept of a row's submitted or answered value. */
export const MAX_ROW_JSON = 100_000;
/** At most this many characters of a message are kept. */
const MAX_MESSAGE = 4_000;

function shortened(text: string): string {
  return text.length > MAX_MESSAGE ? `${text.slice(0, MAX_MESSAGE)}… (${text.length} characters, shortened)` : text;
}

/** Deeper than this, a value is not kept: cloning it (messages, context stores) would overflow the stack. */
const MAX_DEPTH = 64;

/** Whether `value` nests more than `limit` levels deep; iterative, so it cannot overflow itself. */
function deeperThan(value: unknown, limit: number): boolean {
  const stack: [unknown, number][] = [[value, 0]];
  const seen = new Set<object>();
  while (stack.length) {
    const [v, depth] = stack.pop() as [unknown, number];
    if (typeof v !== 'object' || v === null || seen.has(v)) continue;
    if (depth >= limit) return true;
    seen.add(v);
    for (const child of Object.values(v)) stack.push([child, depth + 1]);
  }
  return false;
}

/** A detached copy of `value` that can be stored, or a note saying why it cannot be. */
function storableValue(value: unknown, what: string): unknown {
  if (deeperThan(value, MAX_DEPTH)) return { truncated: `${what} not kept: nested more than ${MAX_DEPTH} levels deep` };
  let json: string | undefined;
  try {
    json = JSON.stringify(value);
    if (json === undefined) return undefined;
    if (json.length <= MAX_ROW_JSON) return JSON.parse(json);
    return { truncated: `${what} not kept: ${json.length} characters of JSON, more than ${MAX_ROW_JSON}`, start: json.slice(0, 1000) };
  } catch (err) {
    // Nested too deep, cyclic, or a BigInt: keep the row, without this value.
    return { truncated: `${what} not kept: ${(err as Error).message}` };
  }
}

function storableRow(row: ErrorRow): ErrorRow {
  const out: ErrorRow = { ...row, message: shortened(String(row.message)) };
  if (row.submitted !== undefined) out.submitted = storableValue(row.submitted, 'what was submitted');
  if (row.response !== undefined) out.response = storableValue(row.response, 'the answer');
  return out;
}

/**
 * A detached copy of the record that can always be stored and sent: a row whose data is too large or
 * too deep to serialise keeps its code and message, with a note in place of that data.
 */
export function storableJob(job: JobRecord): JobRecord {
  const { errors, exception, ...rest } = job;
  return {
    ...(JSON.parse(JSON.stringify(rest)) as Omit<JobRecord, 'errors' | 'exception'>),
    errors: errors.map(storableRow),
    ...(exception ? { exception: { ...exception, message: shortened(exception.message) } } : {}),
  };
}
