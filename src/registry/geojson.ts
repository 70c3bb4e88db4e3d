// A plain GeoJSON FeatureCollection as a registry: each feature a geo-object, its parent named by a
// property. Types and the one hierarchy's type tree are derived from the data. Node-RED-free.
import type { Feature, FeatureCollection } from 'geojson';
import type { GeoObject, GeoObjectType, RegistryModel } from './model.js';
import { gprGeometryType } from './geometry.js';
import { typeTree } from './type-tree.js';

export interface GeoJsonMapping {
  codeProperty: string;
  labelProperty: string;
  typeProperty: string;
  parentProperty: string;
  /** Code of the hierarchy the parent links form. */
  hierarchy: string;
}

export const DEFAULT_GEOJSON_MAPPING: GeoJsonMapping = {
  codeProperty: 'code',
  labelProperty: 'name',
  typeProperty: 'type',
  parentProperty: 'parent',
  hierarchy: 'default',
};

function prop(f: Feature, name: string): string | undefined {
  const v = f.properties?.[name];
  return v === undefined || v === null || v === '' ? undefined : String(v);
}

export function readGeoJson(collection: unknown, mapping: GeoJsonMapping, forDate: string): RegistryModel {
  const fc = collection as FeatureCollection;
  if (!fc || fc.type !== 'FeatureCollection' || !Array.isArray(fc.features)) throw new Error('GeoJSON source is not a FeatureCollection');
  const objects: GeoObject[] = [];
  const types = new Map<string, GeoObjectType>();
  fc.features.forEach((f, i) => {
    const code = prop(f, mapping.codeProperty);
    if (!code) throw new Error(`feature ${i} has no "${mapping.codeProperty}" property`);
    const type = prop(f, mapping.typeProperty);
    if (!type) throw new Error(`feature "${code}" has no "${mapping.typeProperty}" property`);
    // A WKT string in place of a GeoJSON geometry is kept for the loader to parse.
    const raw: unknown = f.geometry;
    if (!types.has(type)) {
      const keyword = typeof raw === 'string' ? /^\s*(\w+)/.exec(raw)?.[1].toLowerCase() : f.geometry?.type.toLowerCase();
      const geometryType = gprGeometryType(keyword) ?? 'MIXED';
      types.set(type, { code: type, label: { default: type }, geometryType, isAbstract: false });
    }
    const object: GeoObject = { code, type, label: { default: prop(f, mapping.labelProperty) ?? code }, exists: true, invalid: false };
    if (f.geometry) object.geometry = f.geometry;
    objects.push(object);
  });
  const byCode = new Map(objects.map((o) => [o.code, o]));
  const links = [];
  const childTypes = new Map<string, Set<string>>();
  for (const [i, f] of fc.features.entries()) {
    const parentCode = prop(f, mapping.parentProperty);
    if (!parentCode) continue;
    const child = objects[i];
    const parent = byCode.get(parentCode);
    if (!parent) throw new Error(`feature "${child.code}" names parent "${parentCode}", which is not in the collection`);
    links.push({ hierarchy: mapping.hierarchy, childCode: child.code, childType: child.type, parentCode, parentType: parent.type });
    if (!childTypes.has(parent.type)) childTypes.set(parent.type, new Set());
    childTypes.get(parent.type)?.add(child.type);
  }
  return {
    forDate,
    types: [...types.values()],
    hierarchies: [{ code: mapping.hierarchy, label: { default: mapping.hierarchy }, tree: typeTree(childTypes, types.keys()) }],
    objects,
    links,
  };
}
