// Generate Bundle: the export pipeline without the push. Never touches the network: a parent in an
// earlier chunk, or outside the export, is referred to by its id when the id strategy gives one, else
// by a conditional reference. Node-RED-free.
import type { RegistryModel } from '../registry/model.js';
import type { ExportOptions, ExportPlan } from './export-plan.js';
import type { ErrorRow } from './job.js';
import type { ExportBundle, ExportedType, OutsideReferences } from './bundles.js';
import { planExport, safeId } from './export-plan.js';
import { buildChunk, planChunks } from './bundles.js';
import { conditionalUrl } from '../fhir/search-value.js';

export interface GeneratedExport {
  bundles: ExportBundle[];
  rows: ErrorRow[];
  skipped: ExportPlan['skipped'];
  objects: number;
}

function offlineReferences(options: ExportOptions): OutsideReferences {
  return {
    reference: async (type: ExportedType, code: string) => {
      if (options.idStrategy === 'server') return conditionalUrl(type, options.system, code, options.gprCompat);
      return `${type}/${options.idStrategy === 'safe' ? safeId(code) : code}`;
    },
  };
}

export async function generateExport(model: RegistryModel, options: ExportOptions): Promise<GeneratedExport> {
  const plan = await planExport(model, options, 'generate');
  const bundles: ExportBundle[] = [];
  const outside = offlineReferences(options);
  for (const objects of planChunks(plan, options)) bundles.push((await buildChunk(objects, plan, options, outside)).bundle);
  return { bundles, rows: plan.rows, skipped: plan.skipped, objects: plan.objects.length };
}

/** What a Generate Bundle file holds: the one Bundle, or the list of chunk Bundles in export order. */
export function bundleFile(generated: GeneratedExport): ExportBundle | ExportBundle[] {
  return generated.bundles.length === 1 ? generated.bundles[0] : generated.bundles;
}
