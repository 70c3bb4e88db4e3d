// Preview changes: `POST fhir-export/<id>/preview` answers what a run of the deployed node would create, update and
// set inactive on its FHIR server, reading the server and writing nothing (src/sync/export-preview.ts).
import type { NodeAPI } from 'node-red';
import type { Request, Response } from 'express';
import type { ExportPreview } from '../sync/export-preview.js';
import { deployedNode } from './deployed-node.js';
import { FhirRequestError } from '../fhir/errors.js';

export function registerPreviewRoute(RED: NodeAPI): void {
  // `read`: like Generate Bundle it changes nothing, neither on the server nor in the node's jobs or state.
  RED.httpAdmin.post('/fhir-export/:id/preview', RED.auth.needsPermission('fhir-export.read'), (req: Request, res: Response) => {
    const node = deployedNode(RED, String(req.params.id), 'fhir-export');
    if (!node) return res.status(404).json({ error: `no deployed fhir-export node ${req.params.id}` });
    const failed = (status: number, err: Error) =>
      res.status(status).json({ error: `Preview changes of "${node.name || node.id}": ${err.message}` });
    // A closed editor tab or a cancelled request stops the searches.
    const controller = new AbortController();
    res.on('close', () => res.writableEnded || controller.abort());
    let preview: Promise<ExportPreview>;
    try {
      preview = node.previewChanges(controller.signal);
    } catch (err) {
      return failed(400, err as Error);
    }
    preview.then(
      (answer) => res.json(answer),
      // 502: the FHIR server (or its token endpoint) failed; else the configuration or the registry did.
      (err: Error) => failed(err instanceof FhirRequestError ? 502 : 400, err),
    );
  });
}
