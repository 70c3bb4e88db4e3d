// What a custom transform (JSONata expression or JS module) returns, checked and completed into the
// import's shape. Node-RED-free.
import type { GeoObject } from '../registry/model.js';
import type { ImportLink, TransformResult } from './fhir-to-registry.js';
import { isJsonObject } from '../json/object.js';

function list(v: unknown): unknown[] {
  return v === undefined || v === null ? [] : Array.isArray(v) ? v : [v];
}

function object(v: unknown, i: number): GeoObject {
  if (!isJsonObject(v) || typeof v.code !== 'string' || !v.code || typeof v.type !== 'string' || !v.type) {
    throw new Error(`transform result objects[${i}] needs a "code" and a "type"`);
  }
  const label =
    typeof v.label === 'string'
      ? { default: v.label }
      : isJsonObject(v.label) && typeof v.label.default === 'string'
        ? (v.label as GeoObject['label'])
        : { default: v.code };
  const o: GeoObject = { code: v.code, type: v.type, label, exists: v.exists !== false, invalid: v.invalid === true };
  if (isJsonObject(v.geometry)) o.geometry = v.geometry as unknown as GeoObject['geometry'];
  return o;
}

function link(v: unknown, i: number, hierarchy: string): ImportLink {
  if (!isJsonObject(v) || typeof v.childCode !== 'string' || typeof v.childType !== 'string')
    throw new Error(`transform result links[${i}] needs "childCode" and "childType"`);
  if (typeof v.parentReference !== 'string' && (typeof v.parentCode !== 'string' || typeof v.parentType !== 'string')) {
    throw new Error(`transform result links[${i}] needs "parentReference", or "parentCode" and "parentType"`);
  }
  return { ...(v as unknown as ImportLink), hierarchy: typeof v.hierarchy === 'string' && v.hierarchy ? v.hierarchy : hierarchy };
}

/**
 * `{objects, links}` (a single object or link is accepted for a list), or undefined to skip the resource.
 * Links without a hierarchy go to `hierarchy`.
 */
export function transformResult(value: unknown, hierarchy: string): TransformResult | undefined {
  if (value === undefined || value === null) return undefined;
  if (!isJsonObject(value)) throw new Error('a transform must return {objects, links} or nothing');
  return { objects: list(value.objects).map(object), links: list(value.links).map((l, i) => link(l, i, hierarchy)) };
}
