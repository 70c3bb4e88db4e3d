// What a deployed gpr-hierarchy-source offers other nodes: reading its registry as it is configured.
import type { Node } from 'node-red';
import type { RegistryModel } from '../registry/model.js';

export interface SourceNode extends Node {
  /** The registry at `forDate` (yyyy-mm-dd), else at the source's own For date (today when empty). */
  readModel(forDate?: string): Promise<RegistryModel>;
}
