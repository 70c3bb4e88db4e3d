// The one normalised registry model every source emits and every mapping reads (GPR's data at a date).
import type { Geometry } from 'geojson';

/** Labels by locale; `default` is GPR's defaultLocale value. */
export type LocalizedLabel = { default: string } & Record<string, string>;

export type GeometryType = 'POINT' | 'LINE' | 'POLYGON' | 'MULTIPOINT' | 'MULTILINE' | 'MULTIPOLYGON' | 'MIXED';

export interface GeoObjectType {
  code: string;
  label: LocalizedLabel;
  geometryType: GeometryType;
  isAbstract: boolean;
  /** Code of the super type, for subtypes of an abstract type. */
  superType?: string;
}

/** A node of a hierarchy's tree of types. */
export interface TypeNode {
  type: string;
  children: TypeNode[];
}

export interface Hierarchy {
  code: string;
  label: LocalizedLabel;
  tree: TypeNode[];
}

export interface GeoObject {
  code: string;
  uid?: string;
  type: string;
  label: LocalizedLabel;
  exists: boolean;
  invalid: boolean;
  /** GeoJSON geometry in EPSG:4326. */
  geometry?: Geometry;
}

/** A parent edge in one hierarchy, valid from startDate to endDate (yyyy-mm-dd, inclusive). */
export interface ParentLink {
  hierarchy: string;
  childCode: string;
  childType: string;
  parentCode: string;
  parentType: string;
  startDate?: string;
  endDate?: string;
}

export interface RegistryModel {
  /** yyyy-mm-dd */
  forDate: string;
  types: GeoObjectType[];
  hierarchies: Hierarchy[];
  objects: GeoObject[];
  links: ParentLink[];
}

/** Whether a dated value applies at `date` (GPR dates are inclusive; a missing bound is open). */
export function validAt(item: { startDate?: string; endDate?: string }, date: string): boolean {
  return (!item.startDate || item.startDate <= date) && (!item.endDate || date <= item.endDate);
}
