// Admin routes over a deployed gpr-hierarchy-source, for the editor: the Geo-Object Types an export of its
// hierarchies would send (the export dialog's Org Units table), and a preview of what it would export. Read-only.
import type { Node, NodeAPI } from 'node-red';
import type { Request, Response } from 'express';
import type { SourceNode } from './source-node.js';
import type { Implementation } from '../mapping/levels.js';
import { IMPLEMENTATIONS } from '../mapping/levels.js';
import { levelChoices } from '../mapping/level-choices.js';
import { hierarchyPreview } from '../mapping/hierarchy-preview.js';

const TYPE = 'gpr-hierarchy-source';

function codesOf(v: unknown): string[] {
  return String(v ?? '')
    .split(',')
    .map((c) => c.trim())
    .filter(Boolean);
}

export function registerSourceRoutes(RED: NodeAPI): void {
  /** The deployed source of the request and the model it reads at `?forDate` (else its own), or an answered error. */
  const read = async (req: Request, res: Response) => {
    const node = RED.nodes.getNode(String(req.params.id)) as Node | null;
    if (!node || node.type !== TYPE) {
      res.status(404).json({ error: `no deployed ${TYPE} node ${req.params.id}: deploy it first` });
      return undefined;
    }
    try {
      return await (node as SourceNode).readModel(String(req.query.forDate ?? '').trim() || undefined);
    } catch (err) {
      res.status(400).json({ error: `reading the registry: ${(err as Error).message}` });
      return undefined;
    }
  };

  RED.httpAdmin.get(`/${TYPE}/:id/levels`, RED.auth.needsPermission(`${TYPE}.read`), async (req: Request, res: Response) => {
    const implementation = String(req.query.implementation || 'mcsd') as Implementation;
    if (!IMPLEMENTATIONS.includes(implementation))
      return res.status(400).json({ error: `implementation must be one of ${IMPLEMENTATIONS.join(', ')}` });
    const model = await read(req, res);
    if (!model) return;
    try {
      res.json(levelChoices(model, codesOf(req.query.hierarchies), implementation));
    } catch (err) {
      res.status(400).json({ error: (err as Error).message });
    }
  });

  RED.httpAdmin.get(`/${TYPE}/:id/preview`, RED.auth.needsPermission(`${TYPE}.read`), async (req: Request, res: Response) => {
    const model = await read(req, res);
    if (!model) return;
    hierarchyPreview(model, codesOf(req.query.hierarchies)).then(
      (preview) => res.json(preview),
      (err: Error) => res.status(400).json({ error: err.message }),
    );
  });
}
