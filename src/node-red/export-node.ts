// What a deployed fhir-export node offers the nodes that share its configuration (bundle-generate).
import type { Node, NodeDef } from 'node-red';
import type { ExportOptions } from '../sync/export-plan.js';
import type { RawExportConfig } from '../sync/export-options.js';
import type { RegistryModel } from '../registry/model.js';

export type ExportDef = NodeDef &
  RawExportConfig & { system?: string; organization?: string; forDate?: string; concurrency?: unknown; retention?: unknown };

export interface ExportNode extends Node {
  /** The export's options, or a thrown configuration error. */
  exportOptions(): ExportOptions;
  /** The model, checked against the export's for-date. */
  checkedModel(payload: unknown): RegistryModel;
}
