// Retry policy of a sync node, tunable from settings.js (e.g. fhirExportRetry = {retries, minTimeoutMs,
// maxTimeoutMs}); registered as a node setting so Node-RED accepts the name.
import type { NodeAPI } from 'node-red';
import type { RetryPolicy } from '../fhir/retry.js';
import { DEFAULT_RETRY } from '../fhir/retry.js';

export function retryPolicy(RED: NodeAPI, setting: string): RetryPolicy {
  return { ...DEFAULT_RETRY, ...(RED.settings as unknown as Record<string, Partial<RetryPolicy> | undefined>)[setting] };
}

/** The `settings` option of registerType for that setting. */
export function retrySetting(setting: string) {
  return { [setting]: { value: DEFAULT_RETRY, exportable: false } };
}
