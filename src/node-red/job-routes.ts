// Admin routes over a sync node's jobs, for the editor (read: list and details; write: run now, cancel). Each is
// protected with RED.auth.needsPermission; nothing secret is in a job record.
import type { NodeAPI, Node } from 'node-red';
import type { Request, Response } from 'express';
import type { JobRecord } from '../sync/job.js';
import { jobSummary, storableJob } from '../sync/job.js';
import type { RunnableNode } from './sync-jobs.js';
import { syncQueue } from './sync-queue.js';
import { jobReportCsv } from './job-report.js';

function paging(req: Request): { page: number; pageSize: number } {
  const page = Math.max(1, Number(req.query.page) || 1);
  const pageSize = Math.min(500, Math.max(1, Number(req.query.pageSize) || 20));
  return { page, pageSize };
}

export function registerJobRoutes(RED: NodeAPI, type: string): void {
  const deployed = (req: Request, res: Response): Node | undefined => {
    const node = RED.nodes.getNode(String(req.params.id)) as Node | null;
    if (!node || node.type !== type) {
      res.status(404).json({ error: `no deployed ${type} node ${req.params.id}` });
      return undefined;
    }
    return node;
  };
  // The saved history, with the node's queued or running job as it is now: the state the live updates publish.
  const history = async (node: Node): Promise<JobRecord[]> => {
    const saved = await (node as RunnableNode).jobHistory();
    const live = syncQueue.current(node.id);
    return live ? [storableJob(live), ...saved.filter((j) => j.id !== live.id)] : saved;
  };
  const failWith = (res: Response) => (err: Error) => res.status(500).json({ error: err.message });

  // Newest first, without the error rows (see the details route).
  RED.httpAdmin.get(`/${type}/:id/jobs`, RED.auth.needsPermission(`${type}.read`), (req: Request, res: Response) => {
    const node = deployed(req, res);
    if (!node) return;
    const { page, pageSize } = paging(req);
    history(node).then((jobs) => {
      res.json({ count: jobs.length, page, pageSize, jobs: jobs.slice((page - 1) * pageSize, page * pageSize).map(jobSummary) });
    }, failWith(res));
  });

  // One job with a page of its error rows.
  RED.httpAdmin.get(`/${type}/:id/jobs/:jobId`, RED.auth.needsPermission(`${type}.read`), (req: Request, res: Response) => {
    const node = deployed(req, res);
    if (!node) return;
    const { page, pageSize } = paging(req);
    history(node).then((jobs) => {
      const job = jobs.find((j) => j.id === req.params.jobId);
      if (!job) return res.status(404).json({ error: `no job ${req.params.jobId}` });
      res.json({ ...job, errorCount: job.errors.length, page, pageSize, errors: job.errors.slice((page - 1) * pageSize, page * pageSize) });
    }, failWith(res));
  });

  // The job's report as a download: ?format=json (the record with every row) or csv.
  RED.httpAdmin.get(`/${type}/:id/jobs/:jobId/report`, RED.auth.needsPermission(`${type}.read`), (req: Request, res: Response) => {
    const node = deployed(req, res);
    if (!node) return;
    const format = String(req.query.format || 'json');
    if (format !== 'json' && format !== 'csv') return res.status(400).json({ error: `format must be json or csv (got "${format}")` });
    history(node).then((jobs) => {
      const job = jobs.find((j) => j.id === req.params.jobId);
      if (!job) return res.status(404).json({ error: `no job ${req.params.jobId}` });
      const name = `${(node.name || type).replace(/[^\w.-]+/g, '-')}-job-${job.id}.${format}`;
      res.attachment(name);
      if (format === 'csv') res.type('text/csv').send(jobReportCsv(job));
      else res.type('application/json').send(JSON.stringify({ node: { id: node.id, type, name: node.name ?? '' }, ...job }, null, 2));
    }, failWith(res));
  });

  // Run now: a run as an input would start; answers with the job, or the one already queued or running.
  RED.httpAdmin.post(`/${type}/:id/run`, RED.auth.needsPermission(`${type}.write`), (req: Request, res: Response) => {
    const node = deployed(req, res) as RunnableNode | undefined;
    if (!node) return;
    try {
      const { job, existing } = node.runNow();
      res.json({ id: job.id, status: job.status, existing });
    } catch (err) {
      res.status(400).json({ error: (err as Error).message });
    }
  });

  RED.httpAdmin.post(`/${type}/:id/jobs/:jobId/cancel`, RED.auth.needsPermission(`${type}.write`), (req: Request, res: Response) => {
    const node = deployed(req, res);
    if (!node) return;
    const current = syncQueue.current(node.id);
    if (!current || current.id !== req.params.jobId)
      return res.status(409).json({ error: `job ${req.params.jobId} is not queued or running` });
    res.json({ cancelled: syncQueue.cancel(current.id), id: current.id });
  });
}
