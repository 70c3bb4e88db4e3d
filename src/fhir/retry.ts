// Retries for FHIR calls (p-retry): on 429, 5xx and network errors, with exponential backoff, waiting at
// least as long as a Retry-After asks (every wait ends at once when the signal is aborted); never on other 4xx,
// which would fail again. Each retry is announced with its wait, so a run can show it. Node-RED-free.
import { setTimeout as sleep } from 'node:timers/promises';
import { FhirRequestError } from './errors.js';

export interface RetryPolicy {
  retries: number;
  minTimeoutMs: number;
  maxTimeoutMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { retries: 5, minTimeoutMs: 500, maxTimeoutMs: 30_000 };

export function isTransient(err: unknown): boolean {
  if (!(err instanceof FhirRequestError)) return false;
  if (err.status === undefined) return !err.certificateRefused;
  return err.status === 429 || err.status >= 500;
}

/** A failed attempt that will be retried: which retry comes next, of how many, after how long, and why. */
export interface RetryNotice {
  /** The retry about to be made (1 for the first). */
  attempt: number;
  retries: number;
  waitMs: number;
  /** Why, in a few words: `HTTP 503`, `timed out`, `no answer`. */
  reason: string;
}

/** A Retry-After is honoured up to five minutes; a longer ask is more likely a misconfigured server than a plan. */
const MAX_RETRY_AFTER_MS = 300_000;

/** The wait before retry `attempt`: the exponential backoff, or longer when the server asked for longer. */
function waitBefore(attempt: number, policy: RetryPolicy, err: Error): number {
  const backoff = Math.min(policy.minTimeoutMs * 2 ** (attempt - 1), policy.maxTimeoutMs);
  const asked = err instanceof FhirRequestError ? err.retryAfterMs : undefined;
  return Math.max(backoff, Math.min(asked ?? 0, MAX_RETRY_AFTER_MS));
}

function reasonOf(err: Error): string {
  if (!(err instanceof FhirRequestError)) return err.message;
  if (err.status) return `HTTP ${err.status}`;
  return err.timedOut ? 'timed out' : 'no answer';
}

/** Run `fn`, retrying transient failures; `onRetry` hears of each failed attempt that will be retried. */
export async function withRetries<T>(
  fn: () => Promise<T>,
  policy: RetryPolicy,
  options: {
    signal?: AbortSignal;
    onRetry?: (notice: RetryNotice) => void;
    /** False: a timeout is not retried (the caller splits the work instead). */
    retryTimeouts?: boolean;
  } = {},
): Promise<T> {
  const retried = (err: unknown) => isTransient(err) && (options.retryTimeouts !== false || !(err as FhirRequestError).timedOut);
  const { default: pRetry } = await import('p-retry');
  // p-retry drops an answer that arrives together with a cancel; an answer the server gave is never dropped.
  let answer: { value: T } | undefined;
  const attempt = async () => {
    const value = await fn();
    answer = { value };
    return value;
  };
  try {
    return await pRetry(attempt, {
      retries: policy.retries,
      // The wait is this module's (waitBefore), so that the wait announced is the wait made.
      minTimeout: 0,
      maxTimeout: 0,
      signal: options.signal,
      shouldRetry: ({ error }) => retried(error),
      onFailedAttempt: async ({ error, attemptNumber, retriesLeft }) => {
        if (!retried(error) || retriesLeft === 0) return;
        const waitMs = waitBefore(attemptNumber, policy, error);
        options.onRetry?.({ attempt: attemptNumber, retries: policy.retries, waitMs, reason: reasonOf(error) });
        // An aborted signal ends the wait at once.
        await sleep(waitMs, undefined, { signal: options.signal });
      },
    });
  } catch (err) {
    if (answer) return answer.value;
    throw err;
  }
}
