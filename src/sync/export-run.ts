// Run an export: plan, build each chunk once its parents' chunks are on the server, send it as a
// transaction with retries and bounded concurrency, and record per-object results in the job.
// Node-RED-free.
import type { Bundle, BundleEntry, OperationOutcome } from '@medplum/fhirtypes';
import type { RegistryModel } from '../registry/model.js';
import { validAt } from '../registry/model.js';
import type { FhirConnection } from '../fhir/connection.js';
import type { RetryPolicy } from '../fhir/retry.js';
import type { ExportOptions, ExportPlan, PlannedObject } from './export-plan.js';
import type { Chunk, ExportedType, OutsideReferences } from './bundles.js';
import type { ErrorRow, JobRecord } from './job.js';
import { FhirRequestError, describeFailure, outcomeText } from '../fhir/errors.js';
import { isTransient } from '../fhir/retry.js';
import { abortable } from '../fhir/connection.js';
import { exportPlan, prepareExport } from './export-plan.js';
import { buildChunk, chunkDependencies, chunkText, planChunks } from './bundles.js';
import { TransactionBodies } from './transaction-bodies.js';
import { finishJob, newJob } from './job.js';
import { cancelled } from './job-queue.js';
import { inactivateRemoved } from './inactivate.js';
import { identifierToken } from '../fhir/search-value.js';
import { heldCodes, missingIds, searchesOn } from './server-check.js';
import type { RunCall } from './run-calls.js';
import { runCalls } from './run-calls.js';

export interface ExportRunInput {
  model: RegistryModel;
  options: ExportOptions;
  connection: FhirConnection;
  /** Transactions in flight at once. */
  concurrency: number;
  retry: RetryPolicy;
  signal?: AbortSignal;
  /** Hears of the job after each chunk (and at start and end). */
  onProgress?: (job: JobRecord) => void;
  /** The record to fill in (a queued job), else a new one. */
  job?: JobRecord;
  /** Fingerprints saved by the last run that was not a FAILURE (incremental runs). */
  previous?: Record<string, string>;
  /** Receives, once the run has sent everything, the fingerprints for the next run (the sync node keeps them if the job finished). */
  onState?: (fingerprints: Record<string, string>) => void;
}

const TYPES = ['Organization', 'Location'] as const;

/** The server ids of an object's resources, from its transaction's answers. */
type ServerIds = Partial<Record<ExportedType, string>>;

const ID_IN_LOCATION: Record<ExportedType, RegExp> = {
  Organization: /(?:^|\/)Organization\/([^/]+)/,
  Location: /(?:^|\/)Location\/([^/]+)/,
};

/**
 * `Organization/123/_history/1` (or an absolute URL) -> `123`, copied: a substring would keep the whole
 * location string alive, for every object of the run.
 */
function serverId(location: string | undefined, type: ExportedType): string | undefined {
  const m = location && ID_IN_LOCATION[type].exec(location);
  return m ? Buffer.from(m[1]).toString() : undefined;
}

/**
 * The resources of the `i`th object of a chunk (mapped again), for its error row: read back from their text, as
 * `chunkBundle` does, so that rows kept for many refused objects hold none of the mapping's own objects.
 */
function submittedIn(chunk: Chunk, i: number): unknown[] {
  return JSON.parse(JSON.stringify(chunk.entriesOf(chunk.objects[i]).map((e) => e.resource))) as unknown[];
}

const CANCELLED = 'cancelled';

/** How long a request in flight at a cancel may still bring its answer. */
const CANCEL_GRACE_MS = 1000;

/** A signal aborted `ms` after `signal` is. */
function graceful(signal: AbortSignal | undefined, ms: number): AbortSignal | undefined {
  if (!signal) return undefined;
  const controller = new AbortController();
  const later = () => setTimeout(() => controller.abort(signal.reason), ms).unref();
  if (signal.aborted) later();
  else signal.addEventListener('abort', later, { once: true });
  return controller.signal;
}

class Exporter {
  /** Code -> the server ids of what this run wrote: for parents in later chunks and the check after the last. */
  private readonly written = new Map<string, ServerIds>();
  private readonly lookups = new Map<string, Promise<string | undefined>>();
  /** Set by the first chunk that fails as a whole: later chunks are not sent. */
  failed?: Error;
  /** Objects of transactions sent without an answer (cancelled, connection lost): the server may hold them. */
  private readonly unanswered: PlannedObject[] = [];
  /** The run's FHIR calls: requests get a moment after a cancel to bring their answers; waits end at once. */
  readonly call: RunCall;
  /** The bodies of the transactions in flight, in buffers reused from one transaction to the next. */
  private readonly bodies = new TransactionBodies();

  constructor(
    private readonly input: ExportRunInput,
    private readonly plan: ExportPlan,
    private readonly job: JobRecord,
  ) {
    this.call = runCalls(input, job, graceful(input.signal, CANCEL_GRACE_MS));
  }

  /** Parents in earlier chunks come from their transaction responses; parents outside the export are searched once. */
  readonly outside: OutsideReferences = {
    reference: async (type, code, planned) => {
      if (planned) {
        const id = this.written.get(code)?.[type];
        return id && `${type}/${id}`;
      }
      const key = `${type}|${code}`;
      if (!this.lookups.has(key)) {
        const identifier = identifierToken(this.input.options.system, code);
        this.lookups.set(
          key,
          this.call<Bundle>(`search ${type} ${identifier}`, (c) =>
            c.search({ resourceType: type, searchParams: { identifier, _count: 1 } }),
          ).then((b) => (b.entry?.[0]?.resource?.id ? `${type}/${b.entry[0].resource.id}` : undefined)),
        );
      }
      return this.lookups.get(key);
    },
  };

  private row(p: PlannedObject, message: string, extra: Partial<ErrorRow> = {}, severity: ErrorRow['severity'] = 'ERROR') {
    this.job.errors.push({ code: p.object.code, type: p.object.type, severity, message, ...extra });
  }

  /**
   * Send one chunk. A chunk the server refuses, that is larger than the request limit, or that times out
   * is sent again in halves, down to single objects, so that only the culprits fail (a timeout is not
   * repeated with the same chunk: a big chunk would only time out again).
   */
  async send(objects: PlannedObject[]): Promise<void> {
    if (this.failed) throw this.failed;
    // Nothing new starts after a cancel (chunks in flight are aborted through the signal).
    if (this.input.signal?.aborted) throw (this.failed ??= new Error(CANCELLED));
    const chunk = await buildChunk(objects, this.plan, this.input.options, this.outside);
    const { unresolved } = chunk;
    // Said once per object: not for a chunk that is split and built again object by object.
    const warnUnresolved = () => {
      for (const u of unresolved)
        this.row(this.plan.index.get(u.code) as PlannedObject, `parent "${u.parent}" is not on the server; no parent set`, {}, 'WARNING');
    };
    const { maxRequestBytes } = this.input.options;
    // Mapped once, into the bytes that are measured and sent (and sent again by a retry or a redirect).
    const written = this.bodies.write(chunkText(chunk), maxRequestBytes);
    if (!written.fits) {
      if (objects.length > 1) return this.split(objects);
      warnUnresolved();
      this.row(objects[0], `not sent: its resources make a request of ${written.length} bytes, more than the limit of ${maxRequestBytes}`);
      return this.progress(1);
    }
    const { body } = written;
    let response: Bundle;
    let sent = false;
    try {
      response = await this.call<Bundle>(
        `transaction of ${2 * objects.length} entries`,
        () => {
          sent = true;
          // The answer's entries need no copies of the resources sent.
          return this.input.connection.postBytes(body.bytes, { prefer: 'return=minimal' });
        },
        objects.length === 1,
      ).finally(body.release);
    } catch (err) {
      const timedOut = err instanceof FhirRequestError && err.timedOut && !this.input.signal?.aborted;
      if (timedOut && objects.length > 1) return this.split(objects);
      // Only a server's answer refuses a chunk: without one (a connection lost, a certificate refused) the run fails.
      if (isTransient(err) || !(err instanceof FhirRequestError) || err.status === undefined) {
        // A refused certificate ends the connection before anything is sent.
        if (sent && !(err instanceof FhirRequestError && (err.status || err.certificateRefused))) this.unanswered.push(...objects);
        throw (this.failed ??= err as Error);
      }
      if (objects.length > 1) return this.split(objects);
      warnUnresolved();
      this.row(objects[0], err.outcome ? outcomeText(err.outcome) || err.message : err.message, {
        submitted: submittedIn(chunk, 0),
        response: err.outcome,
      });
      this.progress(objects.length);
      return;
    }
    warnUnresolved();
    this.record(chunk, response);
    this.progress(objects.length);
  }

  /** Send the two halves of a chunk one after the other (parents, earlier in the chunk, first). */
  private async split(objects: PlannedObject[]): Promise<void> {
    const half = Math.ceil(objects.length / 2);
    await this.send(objects.slice(0, half));
    await this.send(objects.slice(half));
  }

  /** The answers to a transaction of `objects` (an Organization and a Location each, in that order). */
  private record(chunk: Chunk, response: Bundle) {
    const results: BundleEntry[] = response.entry ?? [];
    chunk.objects.forEach((p, i) => {
      const answers = [results[2 * i]?.response, results[2 * i + 1]?.response];
      const failed = answers.findIndex((r) => !r || !/^2\d\d/.test(r.status ?? ''));
      const ids: ServerIds = this.written.get(p.object.code) ?? {};
      answers.forEach((r, k) => {
        const id = /^2\d\d/.test(r?.status ?? '') ? serverId(r?.location, TYPES[k]) : undefined;
        if (id) ids[TYPES[k]] = id;
      });
      if (ids.Organization || ids.Location) this.written.set(p.object.code, ids);
      if (failed >= 0) {
        const outcome = answers[failed]?.outcome as OperationOutcome | undefined;
        this.row(p, `${TYPES[failed]}: ${outcome ? outcomeText(outcome) : `status ${answers[failed]?.status ?? 'missing'}`}`, {
          submitted: submittedIn(chunk, i),
          response: answers,
        });
        return;
      }
      this.job.objectsExported++;
      this.job.resourcesExported += 2;
    });
  }

  /**
   * After a cancel or a failure: ask the server which objects of unanswered transactions it holds, and
   * count those. Returns what to add to the job's message.
   */
  async reconcile(): Promise<string> {
    if (!this.unanswered.length) return '';
    const { connection, options } = this.input;
    // Not the job's signal, which may be aborted: a short question of its own.
    const signal = AbortSignal.timeout(Math.min(connection.settings.timeoutMs, 5000));
    const n = this.unanswered.length;
    try {
      const held = await heldCodes(
        searchesOn(
          connection,
          <T>(what: string, fn: Parameters<FhirConnection['call']>[1]) => connection.call(what, fn, signal) as Promise<T>,
        ),
        options.system,
        this.unanswered.map((p) => p.object.code),
      );
      this.job.objectsExported += held.size;
      this.job.resourcesExported += 2 * held.size;
      this.job.workProgress += n;
      return `; ${n} objects were sent without an answer, and the server holds ${held.size} of them`;
    } catch (err) {
      return `; ${n} objects were sent without an answer, and whether the server holds them could not be checked: ${describeFailure(err)}`;
    }
  }

  /**
   * After the last chunk: the server must still hold every resource this run wrote or referred to. An
   * object whose resources are gone, or whose parent's are, gets an error row (and is sent again next time).
   */
  async verify(): Promise<void> {
    const ids: Record<ExportedType, string[]> = { Organization: [], Location: [] };
    for (const written of this.written.values()) for (const type of TYPES) if (written[type]) ids[type].push(written[type]);
    /** `<type>|<code>` -> the id of a parent outside the export. */
    const outside = new Map<string, string>();
    for (const [key, ref] of this.lookups) {
      const resolved = await ref.catch(() => undefined);
      if (!resolved) continue;
      const [type, id] = resolved.split('/') as [ExportedType, string];
      outside.set(key, id);
      ids[type].push(id);
    }
    const searches = searchesOn(this.input.connection, this.call);
    const missing = {
      Organization: await missingIds(searches, 'Organization', ids.Organization),
      Location: await missingIds(searches, 'Location', ids.Location),
    };
    if (!missing.Organization.size && !missing.Location.size) return;
    const lost = new Set<string>();
    for (const type of TYPES)
      for (const [code, written] of this.written) {
        const id = written[type];
        if (id === undefined || !missing[type].has(id) || lost.has(code)) continue;
        lost.add(code);
        this.row(this.plan.index.get(code) as PlannedObject, `the server no longer holds its ${type} (${type}/${id}), which this run sent`);
        this.job.objectsExported--;
        this.job.resourcesExported -= 2;
      }
    const gone = (type: ExportedType, code: string) => {
      const id = this.written.get(code)?.[type] ?? outside.get(`${type}|${code}`);
      return id !== undefined && missing[type].has(id);
    };
    for (const p of this.plan.objects) {
      if (lost.has(p.object.code) || !this.written.get(p.object.code)?.Organization) continue;
      const parent = p.parents.find(({ code }) => TYPES.some((t) => gone(t, code)));
      if (parent) this.row(p, `its parent "${parent.code}" is no longer on the server, so its references to it lead nowhere`);
    }
  }

  private progress(n: number) {
    this.job.workProgress += n;
    this.input.onProgress?.(this.job);
  }
}

/**
 * Unchanged objects (incremental runs) the server no longer holds, and the unchanged objects below them,
 * whose references to them are stale: all are sent again. Returns the WARNING rows saying so.
 */
async function lostSinceLastRun(input: PlanInput, plan: ExportPlan, call: RunCall): Promise<{ resend: Set<string>; rows: ErrorRow[] }> {
  const previous = input.previous ?? {};
  const unchanged = new Set(Object.keys(plan.fingerprints).filter((c) => !plan.index.has(c) && previous[c] === plan.fingerprints[c]));
  if (!unchanged.size) return { resend: new Set(), rows: [] };
  const { options, model } = input;
  const held = await heldCodes(searchesOn(input.connection, call), options.system, [...unchanged]);
  const rows: ErrorRow[] = [];
  const resend = new Set<string>();
  const typeOf = new Map(model.objects.map((o) => [o.code, o.type]));
  for (const code of unchanged)
    if (!held.has(code)) {
      resend.add(code);
      rows.push({ code, type: typeOf.get(code), severity: 'WARNING', message: 'the server no longer holds it: sent again' });
    }
  for (let grew = resend.size > 0; grew;) {
    grew = false;
    for (const l of model.links) {
      if (!validAt(l, model.forDate) || !resend.has(l.parentCode) || resend.has(l.childCode) || !unchanged.has(l.childCode)) continue;
      resend.add(l.childCode);
      grew = true;
      rows.push({
        code: l.childCode,
        type: l.childType,
        severity: 'WARNING',
        message: `its parent "${l.parentCode}" was lost by the server: sent again`,
      });
    }
  }
  return { resend, rows };
}

/** What a run's plan is made from: the model and options, and the server to check the last run's objects on. */
export type PlanInput = Pick<ExportRunInput, 'model' | 'options' | 'connection' | 'retry' | 'signal' | 'previous'>;

/**
 * The plan of a run: with the incremental option, the objects changed since the last run and those the server
 * lost since (with WARNING rows saying so). Reads from the server only. Configuration errors throw.
 */
export async function planRun(input: PlanInput, call: RunCall): Promise<{ plan: ExportPlan; lostRows: ErrorRow[] }> {
  const prepared = await prepareExport(input.model, input.options, 'run');
  const plan = exportPlan(prepared, input.previous);
  // Earlier answers are not trusted blindly: what the last run sent must still be on the server.
  const lost = input.options.incremental ? await lostSinceLastRun(input, plan, call) : undefined;
  if (!lost?.resend.size) return { plan, lostRows: lost?.rows ?? [] };
  const previous = Object.fromEntries(Object.entries(input.previous ?? {}).filter(([code]) => !lost.resend.has(code)));
  return { plan: exportPlan(prepared, previous), lostRows: lost.rows };
}

/** Run the export; never throws: a failure as a whole ends the job in FAILURE with its cause. */
export async function runExport(input: ExportRunInput): Promise<JobRecord> {
  const job = input.job ?? newJob('export');
  input.onProgress?.(job);
  try {
    await abortable(input.connection.tokens.token(), input.signal);
  } catch (err) {
    if (input.signal?.aborted) return cancelled(job, 'cancelled while connecting');
    job.stage = 'CONNECTION_FAILED';
    return finishJob(job, { message: describeFailure(err) });
  }
  try {
    const { plan, lostRows } = await planRun(input, runCalls(input, job));
    job.stage = 'EXPORT';
    job.workTotal = plan.objects.length;
    job.skipped = plan.skipped;
    job.errors.push(...plan.rows, ...lostRows);
    input.onProgress?.(job);
    const exporter = new Exporter(input, plan, job);
    const chunks = planChunks(plan, input.options);
    const deps = chunkDependencies(chunks);
    const { default: pLimit } = await import('p-limit');
    const limit = pLimit(Math.max(1, input.concurrency));
    const sent: Promise<void>[] = [];
    chunks.forEach((objects, i) => {
      sent[i] = Promise.all(deps[i].map((j) => sent[j])).then(() => limit(() => exporter.send(objects)));
    });
    // Settle everything before reporting, so nothing is still being written when the job ends.
    const results = await Promise.allSettled(sent);
    const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failure) {
      const note = await exporter.reconcile();
      if (input.signal?.aborted) return cancelled(job, `cancelled after ${job.workProgress} of ${job.workTotal} objects${note}`);
      const err = failure.reason as Error;
      return finishJob(job, {
        message: `${describeFailure(err)}${note}`,
        ...(err instanceof FhirRequestError && err.status ? { status: err.status } : {}),
      });
    }
    await exporter.verify();
    if (input.options.onRemoved === 'inactivate') {
      const { inactivated, rows } = await inactivateRemoved({
        system: input.options.system,
        existing: plan.existing,
        chunkSize: input.options.chunkSize,
        base: input.connection.settings.url,
        call: (what, fn) => exporter.call(what, fn),
      });
      job.inactivated = inactivated;
      job.errors.push(...rows);
    }
    // Objects that failed are sent again next time.
    const failed = new Set(job.errors.filter((r) => r.severity === 'ERROR').map((r) => r.code));
    input.onState?.(Object.fromEntries(Object.entries(plan.fingerprints).filter(([code]) => !failed.has(code))));
    return finishJob(job);
  } catch (err) {
    // A cancel during the plan, the checks with the server or the inactivation.
    if (input.signal?.aborted) return cancelled(job, `cancelled after ${job.workProgress} of ${job.workTotal} objects`);
    return finishJob(job, { message: describeFailure(err) });
  } finally {
    input.onProgress?.(job);
  }
}
