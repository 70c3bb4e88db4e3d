// The registry sources gpr-hierarchy-source reads (the sample, the embedded registry, a live GPR, GPR's
// JSON exports, a GeoJSON file): which one, from the node's configuration, checked and clamped, and
// reading it at a date. Node-RED-free.
import type { RegistryModel } from './model.js';
import type { GeoJsonMapping } from './geojson.js';
import type { GprConnection } from './gpr-client.js';
import type { GprFiles } from './files.js';
import { loadGeoJsonFile, loadGprFiles } from './files.js';
import { DEFAULT_GEOJSON_MAPPING } from './geojson.js';
import { loadSample } from './sample.js';
import { loadFromGpr } from './gpr-rest.js';
import { registryAt } from './embedded.js';
import { wholeNumber } from '../settings/whole-number.js';

/** GPR's largest page for geoobject/get-all. */
export const GPR_MAX_PAGE_SIZE = 1000;

export type RegistrySource =
  | { kind: 'sample' }
  | { kind: 'embedded'; read(): Promise<RegistryModel | undefined> }
  | { kind: 'gpr'; connection: GprConnection; hierarchies: string[]; pageSize: number }
  | { kind: 'gpr-files'; files: GprFiles }
  | { kind: 'geojson'; path: string; mapping: GeoJsonMapping };

export const SOURCE_KINDS = ['sample', 'embedded', 'gpr', 'gpr-files', 'geojson'] as const;

/** A source as the node stores it (strings from the editor). */
export interface RawSourceConfig {
  source?: unknown;
  hierarchies?: unknown;
  pageSize?: unknown;
  eventsFile?: unknown;
  typesFile?: unknown;
  hierarchiesFile?: unknown;
  geojsonFile?: unknown;
  codeProperty?: unknown;
  labelProperty?: unknown;
  typeProperty?: unknown;
  parentProperty?: unknown;
  hierarchy?: unknown;
}

/** What the runtime provides: paths resolved (relative to the user directory), the GPR connection, the embedded registry. */
export interface SourceEnvironment {
  path(configured: unknown): string;
  gpr(): GprConnection;
  embedded(): Promise<RegistryModel | undefined>;
}

/** The source a node's configuration names; an unknown source is refused (empty: the sample). */
export function registrySourceFrom(raw: RawSourceConfig, env: SourceEnvironment): RegistrySource {
  const kind = raw.source === undefined || raw.source === '' ? 'sample' : String(raw.source);
  switch (kind) {
    case 'sample':
      return { kind };
    case 'embedded':
      return { kind, read: env.embedded };
    case 'gpr': {
      const hierarchies = String(raw.hierarchies ?? '')
        .split(',')
        .map((h) => h.trim())
        .filter(Boolean);
      // GPR serves at most GPR_MAX_PAGE_SIZE per page: a larger setting asks for that many.
      const pageSize = Math.min(GPR_MAX_PAGE_SIZE, wholeNumber('page size', raw.pageSize, GPR_MAX_PAGE_SIZE));
      return { kind, connection: env.gpr(), hierarchies, pageSize };
    }
    case 'geojson': {
      const mapping = { ...DEFAULT_GEOJSON_MAPPING };
      for (const key of Object.keys(mapping) as (keyof GeoJsonMapping)[]) {
        const v = raw[key];
        if (v) mapping[key] = String(v);
      }
      return { kind, path: env.path(raw.geojsonFile), mapping };
    }
    case 'gpr-files':
      return {
        kind,
        files: { events: env.path(raw.eventsFile), types: env.path(raw.typesFile), hierarchies: env.path(raw.hierarchiesFile) },
      };
    default:
      throw new Error(`source must be one of ${SOURCE_KINDS.join(', ')} (got "${kind}")`);
  }
}

/** The registry of `source` at `forDate` (yyyy-mm-dd). */
export async function readRegistry(source: RegistrySource, forDate: string): Promise<RegistryModel> {
  switch (source.kind) {
    case 'sample':
      return loadSample(forDate);
    case 'embedded': {
      const model = await source.read();
      if (!model) throw new Error('the embedded registry is empty: import into it with fhir-import first');
      return registryAt(model, forDate);
    }
    case 'gpr':
      return loadFromGpr(source.connection, { hierarchies: source.hierarchies, forDate, pageSize: source.pageSize });
    case 'geojson':
      return loadGeoJsonFile(source.path, source.mapping, forDate);
    case 'gpr-files':
      return loadGprFiles(source.files, forDate);
  }
}
