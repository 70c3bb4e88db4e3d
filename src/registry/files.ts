// Registry sources read from files: GPR's own JSON exports, or a GeoJSON FeatureCollection. Node-RED-free.
import { readFile } from 'node:fs/promises';
import type { RegistryModel } from './model.js';
import type { GeoJsonMapping } from './geojson.js';
import { readEvents } from './gpr-json.js';
import { readGeoJson } from './geojson.js';

export async function readJsonFile(path: string): Promise<unknown> {
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

export async function loadGprFiles(files: GprFiles, forDate: string): Promise<RegistryModel> {
  const [events, types, hierarchies] = await Promise.all([
    readJsonFile(files.events),
    readJsonFile(files.types),
    readJsonFile(files.hierarchies),
  ]);
  return readEvents(events, types, hierarchies, forDate);
}

export async function loadGeoJsonFile(path: string, mapping: GeoJsonMapping, forDate: string): Promise<RegistryModel> {
  try {
    return readGeoJson(await readJsonFile(path), mapping, forDate);
  } catch (err) {
    throw new Error(`${path}: ${(err as Error).message}`, { cause: err });
  }
}
