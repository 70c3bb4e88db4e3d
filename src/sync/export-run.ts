// Run an export: plan, build each chunk once its parents' chunks are on the server, send it as a
// transaction with retries and bounded concurrency, and record per-object results in the job.
// Node-RED-free.
import type { Bundle, BundleEntry, OperationOutcome } from '@medplum/fhirtypes';
import type { RegistryModel } from '../registry/model.js';
import type { FhirConnection } from '../fhir/connection.js';
import type { RetryPolicy } from '../fhir/retry.js';
import type { ErrorRow, ExportOptions, ExportPlan, PlannedObject } from './export-plan.js';
import type { Chunk, ExportedType, OutsideReferences } from './bundles.js';
import type { JobRecord } from './job.js';
import { FhirRequestError, describeFailure, outcomeText } from '../fhir/errors.js';
import { isTransient, withRetries } from '../fhir/retry.js';
import { abortable } from '../fhir/connection.js';
import { planExport } from './export-plan.js';
import { buildChunk, chunkDependencies, planChunks } from './bundles.js';
import { finishJob, newJob } from './job.js';
import { cancelled } from './job-queue.js';
import { inactivateRemoved } from './inactivate.js';

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
  /** Receives the fingerprints to keep for the next run, unless this run is a FAILURE. */
  onState?: (fingerprints: Record<string, string>) => void;
}

/** `Organization/123/_history/1` (or an absolute URL) -> `Organization/123`. */
function literalReference(location: string | undefined, type: ExportedType): string | undefined {
  const m = location && new RegExp(`(?:^|/)(${type}/[^/]+)`).exec(location);
  return m ? m[1] : undefined;
}

const CANCELLED = 'cancelled';

class Exporter {
  /** `<type>|<code>` -> `<type>/<server id>`, for parents exported by earlier chunks. */
  private readonly onServer = new Map<string, string>();
  private readonly lookups = new Map<string, Promise<string | undefined>>();
  /** Set by the first chunk that fails as a whole: later chunks are not sent. */
  failed?: Error;

  constructor(
    private readonly input: ExportRunInput,
    private readonly plan: ExportPlan,
    private readonly job: JobRecord,
  ) {}

  call<T>(what: string, fn: Parameters<FhirConnection['call']>[1], retryTimeouts = true): Promise<T> {
    const { connection, retry, signal } = this.input;
    return withRetries(() => connection.call(what, fn, signal) as Promise<T>, retry, { signal, retryTimeouts });
  }

  /** Parents in earlier chunks come from their transaction responses; parents outside the export are searched once. */
  readonly outside: OutsideReferences = {
    reference: async (type, code, planned) => {
      if (planned) return this.onServer.get(`${type}|${code}`);
      const key = `${type}|${code}`;
      if (!this.lookups.has(key)) {
        const identifier = `${this.input.options.system}|${code}`;
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
    // Said once per object: not for a chunk that is split and built again object by object.
    const warnUnresolved = () => {
      for (const u of chunk.unresolved) {
        const p = objects.find((o) => o.object.code === u.code) as PlannedObject;
        this.row(p, `parent "${u.parent}" is not on the server; no parent set`, {}, 'WARNING');
      }
    };
    const { maxRequestBytes } = this.input.options;
    const bytes = Buffer.byteLength(JSON.stringify(chunk.bundle));
    if (bytes > maxRequestBytes) {
      if (objects.length > 1) return this.split(objects);
      warnUnresolved();
      this.row(objects[0], `not sent: its resources make a request of ${bytes} bytes, more than the limit of ${maxRequestBytes}`);
      return this.progress(1);
    }
    let response: Bundle;
    try {
      response = await this.call<Bundle>(
        `transaction of ${chunk.bundle.entry?.length ?? 0} entries`,
        (c) => c.transaction({ body: chunk.bundle }),
        objects.length === 1,
      );
    } catch (err) {
      const timedOut = err instanceof FhirRequestError && err.timedOut && !this.input.signal?.aborted;
      if (timedOut && objects.length > 1) return this.split(objects);
      if (isTransient(err) || !(err instanceof FhirRequestError)) throw (this.failed ??= err as Error);
      if (objects.length > 1) return this.split(objects);
      warnUnresolved();
      this.row(objects[0], err.outcome ? outcomeText(err.outcome) || err.message : err.message, {
        submitted: chunk.bundle.entry?.map((e) => e.resource),
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

  private record(chunk: Chunk, response: Bundle) {
    const results: BundleEntry[] = response.entry ?? [];
    chunk.objects.forEach((p, i) => {
      const pair = [chunk.bundle.entry?.[2 * i], chunk.bundle.entry?.[2 * i + 1]];
      const answers = [results[2 * i]?.response, results[2 * i + 1]?.response];
      const failed = answers.findIndex((r) => !r || !/^2\d\d/.test(r.status ?? ''));
      answers.forEach((r, k) => {
        const type = pair[k]?.resource?.resourceType as ExportedType;
        const ref = literalReference(r?.location, type);
        if (ref && /^2\d\d/.test(r?.status ?? '')) this.onServer.set(`${type}|${p.object.code}`, ref);
      });
      if (failed >= 0) {
        const outcome = answers[failed]?.outcome as OperationOutcome | undefined;
        this.row(
          p,
          `${pair[failed]?.resource?.resourceType}: ${outcome ? outcomeText(outcome) : `status ${answers[failed]?.status ?? 'missing'}`}`,
          {
            submitted: pair.map((e) => e?.resource),
            response: answers,
          },
        );
        return;
      }
      this.job.objectsExported++;
      this.job.resourcesExported += 2;
    });
  }

  private progress(n: number) {
    this.job.workProgress += n;
    this.input.onProgress?.(this.job);
  }
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
    const plan = await planExport(input.model, input.options, 'run', input.previous);
    job.stage = 'EXPORT';
    job.workTotal = plan.objects.length;
    job.skipped = plan.skipped;
    job.errors.push(...plan.rows);
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
    if (failure && input.signal?.aborted) return cancelled(job, `cancelled after ${job.workProgress} of ${job.workTotal} objects`);
    if (failure) {
      const err = failure.reason as Error;
      return finishJob(job, {
        message: describeFailure(err),
        ...(err instanceof FhirRequestError && err.status ? { status: err.status } : {}),
      });
    }
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
    return finishJob(job, { message: describeFailure(err) });
  } finally {
    input.onProgress?.(job);
  }
}
