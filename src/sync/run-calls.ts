// The FHIR calls of a run, with its retry policy: a retry pending shows on the job (`retrying`, and so in the node's
// status and the FHIR Jobs sidebar) until a call gets through or the job ends. Node-RED-free.
import type { Client } from 'fhir-kit-client';
import type { FhirConnection } from '../fhir/connection.js';
import type { RetryPolicy } from '../fhir/retry.js';
import type { JobRecord } from './job.js';
import { withRetries } from '../fhir/retry.js';

export interface RunCallsInput {
  connection: FhirConnection;
  retry: RetryPolicy;
  /** Ends the waits between retries (and the requests, unless `requestSignal` says otherwise). */
  signal?: AbortSignal;
  onProgress?: (job: JobRecord) => void;
}

/** One FHIR call of a run; `retryTimeouts` false: a timeout is not retried (the caller splits the work instead). */
export type RunCall = <T>(what: string, fn: (client: Client) => Promise<unknown>, retryTimeouts?: boolean) => Promise<T>;

/**
 * The calls of a run, its retries shown on `job` (none for a dry run); `requestSignal` aborts requests in flight
 * (default: the run's signal).
 */
export function runCalls(input: RunCallsInput, job?: JobRecord, requestSignal = input.signal): RunCall {
  const { connection, retry, signal, onProgress } = input;
  const onRetry = (notice: Omit<NonNullable<JobRecord['retrying']>, 'at'>) => {
    if (!job) return;
    job.retrying = { ...notice, at: new Date().toISOString() };
    onProgress?.(job);
  };
  return async <T>(what: string, fn: (client: Client) => Promise<unknown>, retryTimeouts = true) => {
    const value = (await withRetries(() => connection.call(what, fn, requestSignal), retry, { signal, retryTimeouts, onRetry })) as T;
    if (job?.retrying) {
      delete job.retrying;
      onProgress?.(job);
    }
    return value;
  };
}
