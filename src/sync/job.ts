// A sync run's record, mirroring GPR's ExportHistory and ExportError rows. Node-RED-free.
import { randomUUID } from 'node:crypto';
import type { ErrorRow, Skipped } from './export-plan.js';

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

/** End a run: FAILURE with the cause (or when every object failed), else WARNING when some object failed, else SUCCESS. */
export function finishJob(job: JobRecord, failure?: { message: string; status?: number }): JobRecord {
  job.finishedAt = new Date().toISOString();
  if (failure) {
    job.status = 'FAILURE';
    job.exception = failure;
  } else {
    const failed = job.errors.filter((r) => r.severity === 'ERROR');
    job.stage = 'COMPLETE';
    job.status = failed.length ? 'WARNING' : 'SUCCESS';
    // Nothing got through: a failure, not a partial success.
    const [done, verb] = job.kind === 'export' ? [job.objectsExported, 'exported'] : [job.objectsImported, 'imported'];
    if (failed.length && job.workTotal > 0 && done === 0) {
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
