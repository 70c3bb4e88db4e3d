// Preview changes: what a run would do on the FHIR server, from the run's own plan and the server's answers
// to searches, without writing anything: each object to send is created (the server holds no Organization and
// Location with the System's identifier for its code) or updated, and with onRemoved = inactivate, the
// resources of removed objects that would be set inactive. Node-RED-free.
import type { ErrorRow, Skipped } from './job.js';
import type { PlanInput } from './export-run.js';
import { runCalls } from './run-calls.js';
import { planRun } from './export-run.js';
import { heldCodes, searchesOn } from './server-check.js';
import { activeRemoved, codeOf } from './inactivate.js';

export type PreviewAction = 'create' | 'update' | 'inactivate' | 'skip';

export interface PreviewItem {
  code: string;
  /** The Geo-Object Type; for a resource to inactivate, its resource type. */
  type?: string;
  label: string;
  action: PreviewAction;
  /** inactivate: the resource, `<Type>/<id>`; skip: why. */
  detail?: string;
}

export interface ExportPreview {
  counts: {
    create: number;
    update: number;
    /** Resources (not objects), as a run's `inactivated` counts them. */
    inactivate: number;
    /** Objects the run would not send: invalid, not existing, unchanged since the last run, or refused with an ERROR row. */
    skipped: Skipped & { refused: number };
    /** WARNING rows a run would record (e.g. an unchanged object the server lost, sent again). */
    warnings: number;
  };
  /** The first `limit` items: objects to send parents first, then resources to inactivate, then refused objects. */
  items: PreviewItem[];
  /** All items, listed or not. */
  total: number;
}

export interface ExportPreviewInput extends PlanInput {
  /** Items listed at most (default PREVIEW_LIMIT). */
  limit?: number;
}

/** Items a preview lists by default: enough to read, small enough to answer at once for any registry. */
export const PREVIEW_LIMIT = 1000;

/** What a run of `input` would change on its server; only reads the server, with the run's retries. Throws on failure. */
export async function previewExport(input: ExportPreviewInput): Promise<ExportPreview> {
  const { connection, options } = input;
  const call = runCalls(input);
  const { plan, lostRows } = await planRun(input, call);
  const held = await heldCodes(searchesOn(connection, call), options.system, [...plan.index.keys()]);
  const items: PreviewItem[] = plan.objects.map((p) => ({
    code: p.object.code,
    type: p.object.type,
    label: p.object.label.default,
    action: held.has(p.object.code) ? 'update' : 'create',
  }));
  const sent = items.length;
  if (options.onRemoved === 'inactivate')
    for (const r of await activeRemoved({ system: options.system, existing: plan.existing, base: connection.settings.url, call }))
      items.push({
        code: codeOf(r, options.system) ?? String(r.id),
        type: r.resourceType,
        label: r.name ?? '',
        action: 'inactivate',
        detail: `${r.resourceType}/${r.id}`,
      });
  const inactivate = items.length - sent;
  const refused = new Map<string, ErrorRow>();
  for (const r of plan.rows) if (r.severity === 'ERROR' && !plan.index.has(r.code) && !refused.has(r.code)) refused.set(r.code, r);
  const labels = new Map(input.model.objects.map((o) => [o.code, o.label.default]));
  for (const r of refused.values())
    items.push({ code: r.code, type: r.type, label: labels.get(r.code) ?? '', action: 'skip', detail: r.message });
  const create = items.filter((i) => i.action === 'create').length;
  return {
    counts: {
      create,
      update: sent - create,
      inactivate,
      skipped: { ...plan.skipped, refused: refused.size },
      warnings: [...plan.rows, ...lostRows].filter((r) => r.severity === 'WARNING').length,
    },
    items: items.slice(0, input.limit ?? PREVIEW_LIMIT),
    total: items.length,
  };
}
