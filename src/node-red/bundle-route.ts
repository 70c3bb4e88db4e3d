// Generate Bundle as a download (admin route `<type>/<id>/bundle`): the Bundle an export of the registry
// source would send, from the same generate step the bundle-generate node runs, streamed as it is built.
// Nothing is sent anywhere.
import type { Node, NodeAPI } from 'node-red';
import type { Request, Response } from 'express';
import type { ExportNode } from './export-node.js';
import { generateBundles, writeBundleFile } from '../sync/generate.js';

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
    exporter
      .readSource()
      .then((model) => generateBundles(model, options))
      .then(
        (generated) => {
          const name = (node.name || exporter.name || type).replace(/[^\w.-]+/g, '-');
          res.attachment(`${name}-bundle.json`).type('application/fhir+json');
          // Streamed as the Bundles are built; a failure once sending began can only cut the download short.
          return writeBundleFile(generated, res).catch((err: Error) => node.error(`Generate Bundle download: ${err.message}`));
        },
        (err: Error) => res.status(400).json({ error: `Generate Bundle: ${err.message}` }),
      );
  });
}
