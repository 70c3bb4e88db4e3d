// The one queue of sync jobs in this Node-RED runtime, shared by fhir-export and fhir-import nodes.
// settings.js: fhirExportJobConcurrency (default 1, GPR's rule) applies to all of them.
import type { NodeAPI } from 'node-red';
import { JobQueue } from '../sync/job-queue.js';
import { wholeNumber } from '../settings/whole-number.js';

export const syncQueue = new JobQueue(1);

/** The queue's concurrency from settings.js, or why it cannot be used (not a whole number of at least 1). */
function queueSetting(RED: NodeAPI): { concurrency: number } | { problem: string } {
  const value = (RED.settings as unknown as Record<string, unknown>).fhirExportJobConcurrency;
  try {
    return { concurrency: wholeNumber('fhirExportJobConcurrency in settings.js', value, 1) };
  } catch (err) {
    return { problem: (err as Error).message };
  }
}

/**
 * Size the queue from settings.js. A bad value leaves it as it was: sync nodes show it as their configuration
 * error (syncQueueProblem) and run nothing, rather than run at a concurrency nobody chose.
 */
export function configureSyncQueue(RED: NodeAPI): void {
  const setting = queueSetting(RED);
  if ('concurrency' in setting) syncQueue.concurrency = setting.concurrency;
}

/** Why the queue's setting cannot be used, or undefined. */
export function syncQueueProblem(RED: NodeAPI): string | undefined {
  const setting = queueSetting(RED);
  return 'problem' in setting ? setting.problem : undefined;
}
