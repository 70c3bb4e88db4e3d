// Registry sources read from files: GPR's own JSON exports, or a GeoJSON FeatureCollection. Node-RED-free.
import { readFile } from 'node:fs/promises';
import type { RegistryModel } from './model.js';
import type { GeoJsonMapping } from './geojson.js';
import { readEvents } from './gpr-json.js';
import { readGeoJson } from './geojson.js';
import { wktToGeometry } from './geometry.js';

async function readJsonFile(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new Error(`cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new Error(`${path} is not JSON: ${(err as Error).message}`);
  }
}

export interface GprFiles {
  /** Commit events (RemoteGeoObjectEvent, RemoteGeoObjectSetParentEvent). */
  events: string;
  types: string;
  hierarchies: string;
}

/**
 * Geometries given as WKT strings (as GPR's own test data and database exports hold them, keywords in
 * any case) become GeoJSON, in place. A WKT that cannot be read leaves its object without a geometry and
 * with the reason as its problem (an error row on export, as a broken GeoJSON geometry gets).
 */
export async function parseWktGeometries(model: RegistryModel): Promise<RegistryModel> {
  for (const o of model.objects) {
    const g: unknown = o.geometry;
    if (typeof g !== 'string') continue;
    try {
      o.geometry = await wktToGeometry(g);
    } catch (err) {
      delete o.geometry;
      o.problem = `geometry: ${(err as Error).message}`;
    }
  }
  return model;
}

export async function loadGprFiles(files: GprFiles, forDate: string): Promise<RegistryModel> {
  const [events, types, hierarchies] = await Promise.all([
    readJsonFile(files.events),
    readJsonFile(files.types),
    readJsonFile(files.hierarchies),
  ]);
  return parseWktGeometries(readEvents(events, types, hierarchies, forDate));
}

export async function loadGeoJsonFile(path: string, mapping: GeoJsonMapping, forDate: string): Promise<RegistryModel> {
  const collection = await readJsonFile(path);
  try {
    return await parseWktGeometries(readGeoJson(collection, mapping, forDate));
  } catch (err) {
    throw new Error(`${path}: ${(err as Error).message}`, { cause: err });
  }
}
