// A job's report for download: the job record with all its rows as JSON, or as CSV (one line for the job, then
// one line per row, the submitted and answered JSON in their own columns). Node-RED-free.
import type { JobRecord } from '../sync/job.js';

const COLUMNS = [
  'record',
  'job',
  'kind',
  'status',
  'stage',
  'startedAt',
  'finishedAt',
  'workTotal',
  'workProgress',
  'objectsExported',
  'resourcesExported',
  'resourcesRead',
  'objectsImported',
  'inactivated',
  'severity',
  'code',
  'type',
  'message',
  'submitted',
  'response',
] as const;

type Line = Partial<Record<(typeof COLUMNS)[number], unknown>>;

/** RFC 4180 field: quoted when it holds a comma, quote or line break; a leading =, +, - or @ is defused for spreadsheets. */
function field(v: unknown): string {
  if (v === undefined || v === null) return '';
  let s = typeof v === 'string' ? v : typeof v === 'object' ? JSON.stringify(v) : String(v);
  if (/^[=+\-@\t\r]/.test(s) && typeof v === 'string') s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function jobReportCsv(job: JobRecord): string {
  const head: Line = {
    record: 'job',
    job: job.id,
    kind: job.kind,
    status: job.status,
    stage: job.stage,
    startedAt: job.startedAt,
    finishedAt: job.finishedAt,
    workTotal: job.workTotal,
    workProgress: job.workProgress,
    objectsExported: job.objectsExported,
    resourcesExported: job.resourcesExported,
    resourcesRead: job.resourcesRead,
    objectsImported: job.objectsImported,
    inactivated: job.inactivated,
    message: job.exception?.message,
  };
  const rows: Line[] = job.errors.map((r) => ({
    record: 'row',
    job: job.id,
    severity: r.severity,
    code: r.code,
    type: r.type,
    message: r.message,
    submitted: r.submitted,
    response: r.response,
  }));
  return [COLUMNS.join(','), ...[head, ...rows].map((l) => COLUMNS.map((c) => field(l[c])).join(','))].join('\r\n') + '\r\n';
}
