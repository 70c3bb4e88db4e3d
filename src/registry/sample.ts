// The embedded sample registry (Uganda, from Natural Earth and GeoNames; see nodes/data/NOTICE.md).
import { join } from 'node:path';
import type { RegistryModel } from './model.js';
import { loadGeoJsonFile } from './files.js';
import { DEFAULT_GEOJSON_MAPPING } from './geojson.js';

/** nodes/data/uganda.geojson, beside the compiled nodes/lib/registry/. */
const SAMPLE_FILE = join(__dirname, '..', '..', 'data', 'uganda.geojson');
export const SAMPLE_HIERARCHY = 'UgandaAdmin';

export function loadSample(forDate: string): Promise<RegistryModel> {
  return loadGeoJsonFile(SAMPLE_FILE, { ...DEFAULT_GEOJSON_MAPPING, hierarchy: SAMPLE_HIERARCHY }, forDate);
}
