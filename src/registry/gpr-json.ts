// GPR's own JSON shapes (REST answers, commit events, metadata exports) read into the normalised model.
// Node-RED-free; every function takes parsed JSON and throws an Error naming what is wrong.
import type { Geometry } from 'geojson';
import type { GeoObject, GeoObjectType, GeometryType, Hierarchy, LocalizedLabel, ParentLink, RegistryModel, TypeNode } from './model.js';
import { datesProblem, validAt } from './model.js';
import { isJsonObject, type JsonObject } from '../json/object.js';

const GEOMETRY_TYPES: GeometryType[] = ['POINT', 'LINE', 'POLYGON', 'MULTIPOINT', 'MULTILINE', 'MULTIPOLYGON', 'MIXED'];

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

function required(o: JsonObject, key: string, what: string): string {
  const v = str(o[key]);
  if (!v) throw new Error(`${what} has no "${key}"`);
  return v;
}

/** GPR LocalizedValue `{localizedValue, localeValues:[{locale, value}]}` (or a plain string). */
function readLabel(v: unknown, fallback: string): LocalizedLabel {
  if (typeof v === 'string') return { default: v };
  const label: LocalizedLabel = { default: fallback };
  if (!isJsonObject(v)) return label;
  if (str(v.localizedValue)) label.default = v.localizedValue as string;
  for (const lv of Array.isArray(v.localeValues) ? v.localeValues : []) {
    if (!isJsonObject(lv) || typeof lv.value !== 'string' || !lv.value) continue;
    const locale = lv.locale === 'defaultLocale' ? 'default' : str(lv.locale);
    if (locale) label[locale] = lv.value;
  }
  return label;
}

export function readType(t: unknown): GeoObjectType {
  if (!isJsonObject(t)) throw new Error('a Geo-Object Type is not an object');
  const code = required(t, 'code', 'a Geo-Object Type');
  const geometryType = str(t.geometryType)?.toUpperCase() as GeometryType | undefined;
  if (!geometryType || !GEOMETRY_TYPES.includes(geometryType)) {
    throw new Error(`Geo-Object Type "${code}" has an unknown geometryType "${String(t.geometryType)}"`);
  }
  // Metadata exports name the super type `parent` ("__ROOT__" = none); the REST API `superTypeCode`.
  const superType = str(t.superTypeCode) ?? (t.parent !== '__ROOT__' ? str(t.parent) : undefined);
  return {
    code,
    label: readLabel(t.displayLabel ?? t.label, code),
    geometryType,
    isAbstract: t.isAbstract === true,
    ...(superType ? { superType } : {}),
  };
}

/** Both shapes of a hierarchy's type tree: exports' `nodes:[{code,nodes}]` and REST's `rootGeoObjectTypes`. */
function readTypeNodes(nodes: unknown): TypeNode[] {
  if (!Array.isArray(nodes)) return [];
  return nodes.filter(isJsonObject).map((n) => ({
    type: str(n.geoObjectType) ?? required(n, 'code', 'a hierarchy node'),
    children: readTypeNodes(n.nodes ?? n.children),
  }));
}

export function readHierarchy(h: unknown): Hierarchy {
  if (!isJsonObject(h)) throw new Error('a Hierarchy Type is not an object');
  const code = required(h, 'code', 'a Hierarchy Type');
  return { code, label: readLabel(h.displayLabel ?? h.label, code), tree: readTypeNodes(h.nodes ?? h.rootGeoObjectTypes) };
}

/** A GPR GeoObject as GeoJSON Feature (REST answers, and the `object` of commit events). */
export function readFeature(f: unknown): GeoObject {
  if (typeof f === 'string') f = JSON.parse(f);
  if (!isJsonObject(f) || !isJsonObject(f.properties)) throw new Error('a Geo-Object is not a GeoJSON Feature with properties');
  const p = f.properties;
  const code = required(p, 'code', 'a Geo-Object');
  const type = str(p.type) ?? (isJsonObject(p.type) ? str(p.type.code) : undefined);
  if (!type) throw new Error(`Geo-Object "${code}" has no type`);
  const object: GeoObject = {
    code,
    type,
    label: readLabel(p.displayLabel, code),
    exists: p.exists !== false,
    invalid: p.invalid === true,
  };
  if (str(p.uid)) object.uid = p.uid as string;
  // A WKT string is kept for the loader to parse (parseWktGeometries).
  if (isJsonObject(f.geometry) || typeof f.geometry === 'string') object.geometry = f.geometry as unknown as Geometry;
  return object;
}

/**
 * GPR commit events (`RemoteGeoObjectEvent`, `RemoteGeoObjectSetParentEvent`; others are ignored), with
 * the metadata, as the registry stood at `forDate`. An object whose event is not valid at that date
 * does not exist then.
 */
export function readEvents(events: unknown, types: unknown, hierarchies: unknown, forDate: string): RegistryModel {
  if (!Array.isArray(events)) throw new Error('events are not an array');
  if (!Array.isArray(types)) throw new Error('Geo-Object Types are not an array');
  if (!Array.isArray(hierarchies)) throw new Error('Hierarchy Types are not an array');
  const objects: GeoObject[] = [];
  const links: ParentLink[] = [];
  events.forEach((e, i) => {
    if (!isJsonObject(e)) throw new Error(`event ${i} is not an object`);
    const dates = { startDate: str(e.startDate), endDate: str(e.endDate) };
    if (e['@type'] === 'RemoteGeoObjectEvent') {
      const object = readFeature(e.object);
      // Invalid dates say nothing about when the object exists: it is not exported, with the reason.
      const problem = datesProblem(dates);
      if (problem) object.problem = `its event's ${problem}`;
      else if (!validAt(dates, forDate)) object.exists = false;
      objects.push(object);
    } else if (e['@type'] === 'RemoteGeoObjectSetParentEvent') {
      const what = `parent event ${i}`;
      links.push({
        hierarchy: required(e, 'edgeType', what),
        childCode: required(e, 'code', what),
        childType: required(e, 'type', what),
        parentCode: required(e, 'parentCode', what),
        parentType: required(e, 'parentType', what),
        ...dates,
      });
    }
  });
  return { forDate, types: types.map(readType), hierarchies: hierarchies.map(readHierarchy), objects, links };
}
