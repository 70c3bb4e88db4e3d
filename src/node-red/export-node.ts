// What a deployed fhir-export node offers: its configuration (shared by bundle-generate), Run now and Preview changes.
import type { Node, NodeDef } from 'node-red';
import type { Started } from './sync-jobs.js';
import type { ExportOptions } from '../sync/export-plan.js';
import type { RawExportConfig } from '../sync/export-options.js';
import type { RegistryModel } from '../registry/model.js';
import type { ExportPreview } from '../sync/export-preview.js';

export type ExportDef = NodeDef &
  RawExportConfig & {
    system?: string;
    organization?: string;
    forDate?: string;
    concurrency?: unknown;
    retention?: unknown;
    /** A gpr-hierarchy-source node to read the model from when a run has none (Run now). */
    source?: string;
  };

export interface ExportNode extends Node {
  /** Start a run at once, reading the model from the configured source. */
  runNow(): Started;
  /** The export's options, or a thrown configuration error. */
  exportOptions(): ExportOptions;
  /** The model, checked against the export's for-date. */
  checkedModel(payload: unknown): RegistryModel;
  /** The model read from the configured source (as Run now reads it); throws when no source is selected. */
  readSource(): Promise<RegistryModel>;
  /**
   * What a run now would change on the server, reading it only; configuration errors throw at once, the
   * promise rejects when the registry or the server fails.
   */
  previewChanges(signal?: AbortSignal): Promise<ExportPreview>;
}
