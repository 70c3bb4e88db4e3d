// Retries for FHIR calls (p-retry): on 429, 5xx and network errors, with exponential backoff, waiting at
// least as long as a Retry-After asks (every wait ends at once when the signal is aborted); never on other 4xx, which would fail again. Node-RED-free.
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
  return err.status === undefined || err.status === 429 || err.status >= 500;
}

/** Run `fn`, retrying transient failures; `onRetry` hears of each failed attempt that will be retried. */
export async function withRetries<T>(
  fn: () => Promise<T>,
  policy: RetryPolicy,
  options: {
    signal?: AbortSignal;
    onRetry?: (err: Error, attempt: number) => void;
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
      minTimeout: policy.minTimeoutMs,
      maxTimeout: policy.maxTimeoutMs,
      signal: options.signal,
      shouldRetry: ({ error }) => retried(error),
      onFailedAttempt: async ({ error, attemptNumber, retriesLeft }) => {
        if (!retried(error) || retriesLeft === 0) return;
        options.onRetry?.(error, attemptNumber);
        const wait = error instanceof FhirRequestError ? error.retryAfterMs : undefined;
        // Honoured up to five minutes; a longer ask is more likely a misconfigured server than a plan.
        // Cancellable like p-retry's own backoff: an aborted signal ends the wait at once.
        if (wait) await sleep(Math.min(wait, 300_000), undefined, { signal: options.signal });
      },
    });
  } catch (err) {
    if (answer) return answer.value;
    throw err;
  }
}
