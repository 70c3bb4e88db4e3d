// Generate Bundle as a download: the Bundles an export of the registry source would send, from the same generate
// step the bundle-generate node runs, one FHIR resource per file (src/fhir/bundle-archive.ts). Nothing is sent
// anywhere. `GET <type>/<id>/bundle` uses a deployed node; `POST fhir-export/bundle` the export dialog's form as it
// is, saved or not; both publish their stages on the comms topic the editor names (`progress`).
import type { Node, NodeAPI } from 'node-red';
import type { Request, Response } from 'express';
import type { ExportNode } from './export-node.js';
import type { SourceNode } from './source-node.js';
import { deployedNode } from './deployed-node.js';
import type { ExportOptions } from '../sync/export-plan.js';
import type { RawExportConfig } from '../sync/export-options.js';
import type { RegistryModel } from '../registry/model.js';
import { exportOptionsFrom } from '../sync/export-options.js';
import { generateExport } from '../sync/generate.js';
import { isCalendarDate } from '../registry/model.js';
import { bundleDownload } from '../fhir/bundle-archive.js';

/** Comms topics of Generate Bundle's stages: `geofhir/bundle/<token the editor chose>`. */
const PROGRESS_TOPIC = 'geofhir/bundle';

/** Publishes the stages of one Generate Bundle on `geofhir/bundle/<token>`, when the editor gave a token. */
function progressOf(RED: NodeAPI, token: unknown): ((stage: string, detail?: Record<string, number>) => void) | undefined {
  if (typeof token !== 'string' || !/^[\w-]{1,64}$/.test(token)) return undefined;
  return (stage, detail) => RED.comms.publish(`${PROGRESS_TOPIC}/${token}`, { stage, ...detail }, false);
}

/** Answer with the download of what an export with `options` would send for the model `read` gives. */
async function sendBundles(
  res: Response,
  name: string,
  read: () => Promise<RegistryModel>,
  options: ExportOptions,
  stage: (stage: string, detail?: Record<string, number>) => void = () => undefined,
): Promise<void> {
  try {
    stage('reading');
    const model = await read();
    stage('planning', { objects: model.objects.length });
    const generated = await generateExport(model, options, (built, { count, objects }) =>
      stage('building', { built, bundles: count, objects }),
    );
    if (!generated.bundles.length) {
      const first = generated.rows.find((r) => r.severity === 'ERROR') ?? generated.rows[0];
      throw new Error(`nothing to export${first ? ` (${generated.rows.length} rows; first: ${first.code}: ${first.message})` : ''}`);
    }
    stage('packing', { bundles: generated.bundles.length, objects: generated.objects });
    const file = bundleDownload(generated.bundles, name);
    res.attachment(file.filename).type(file.contentType).send(file.body);
    stage('done', { bundles: generated.bundles.length, objects: generated.objects, bytes: file.body.length });
  } catch (err) {
    stage('failed');
    res.status(400).json({ error: `Generate Bundle: ${(err as Error).message}` });
  }
}

/** `exporterOf` gives the fhir-export node whose configuration and source a deployed `type` node uses. */
export function registerBundleRoute(RED: NodeAPI, type: string, exporterOf: (node: Node) => ExportNode): void {
  RED.httpAdmin.get(`/${type}/:id/bundle`, RED.auth.needsPermission(`${type}.read`), (req: Request, res: Response) => {
    const node = RED.nodes.getNode(String(req.params.id)) as Node | null;
    if (!node || node.type !== type) return res.status(404).json({ error: `no deployed ${type} node ${req.params.id}` });
    let exporter: ExportNode;
    let options;
    try {
      exporter = exporterOf(node);
      options = exporter.exportOptions();
    } catch (err) {
      return res.status(400).json({ error: (err as Error).message });
    }
    void sendBundles(res, node.name || exporter.name || type, () => exporter.readSource(), options, progressOf(RED, req.query.progress));
  });
}

interface FormBody {
  /** The dialog's fields, as a fhir-export node stores them. */
  config?: RawExportConfig & { source?: unknown; name?: unknown; system?: unknown };
  /** The System of the external system the dialog selects (as the editor holds it, saved or not). */
  identifierSystem?: unknown;
  /** Where the stages are published (a token the editor chose). */
  progress?: unknown;
}

/** Generate Bundle from an fhir-export dialog's unsaved form: its registry source must be deployed. */
export function registerFormBundleRoute(RED: NodeAPI): void {
  RED.httpAdmin.post('/fhir-export/bundle', RED.auth.needsPermission('fhir-export.read'), (req: Request, res: Response) => {
    const body = (req.body ?? {}) as FormBody;
    const config = body.config ?? {};
    let options: ExportOptions;
    let source: SourceNode;
    const forDate = String(config.forDate ?? '').trim();
    try {
      const deployed = deployedNode(RED, config.system ? String(config.system) : undefined, 'fhir-external-system');
      const system = String(body.identifierSystem ?? '').trim() || deployed?.settings?.system || '';
      if (!system) throw new Error('the selected external system has no System (the identifier system the export writes)');
      if (forDate && !isCalendarDate(forDate)) throw new Error(`for-date "${forDate}" is not a valid yyyy-mm-dd date`);
      options = exportOptionsFrom(config, system);
      const node = deployedNode(RED, config.source ? String(config.source) : undefined, 'gpr-hierarchy-source');
      if (!node)
        throw new Error(
          config.source
            ? 'the registry source in "Run now reads" is not deployed: deploy it first'
            : 'select a registry source in "Run now reads"',
        );
      source = node;
    } catch (err) {
      return res.status(400).json({ error: `Generate Bundle: ${(err as Error).message}` });
    }
    const read = async () => {
      const model = await source.readModel(forDate || undefined);
      if (forDate && model.forDate !== forDate)
        throw new Error(`the source read the registry at ${model.forDate}; this export is for ${forDate}`);
      return model;
    };
    void sendBundles(res, String(config.name ?? '') || 'fhir-export', read, options, progressOf(RED, body.progress));
  });
}
