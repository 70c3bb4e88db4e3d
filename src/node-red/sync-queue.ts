// The one queue of sync jobs in this Node-RED runtime, shared by fhir-export and fhir-import nodes.
// settings.js: fhirExportJobConcurrency (default 1, GPR's rule) applies to all of them.
import type { NodeAPI } from 'node-red';
import { JobQueue } from '../sync/job-queue.js';

export const syncQueue = new JobQueue(1);

export function configureSyncQueue(RED: NodeAPI): void {
  const n = Number((RED.settings as unknown as Record<string, unknown>).fhirExportJobConcurrency);
  syncQueue.concurrency = Number.isInteger(n) && n > 0 ? n : 1;
}
