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
  /** Why the source could not read this object as it is (e.g. invalid WKT, invalid dates): not exported, with a row. */
  problem?: string;
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

/** Whether `s` is a real calendar date yyyy-mm-dd (2020-13-45 and 2020-02-30 are not). */
export function isCalendarDate(s: string): boolean {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s);
  if (!m) return false;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const date = new Date(Date.UTC(y, mo - 1, d));
  return date.getUTCFullYear() === y && date.getUTCMonth() === mo - 1 && date.getUTCDate() === d;
}

/** Today as yyyy-mm-dd (UTC). */
export function today(): string {
  return new Date().toISOString().slice(0, 10);
}

/** A configured For date: empty, or a valid yyyy-mm-dd date; anything else is a configuration error. */
export function checkedForDate(date: string): string {
  if (date && !isCalendarDate(date)) throw new Error(`for-date "${date}" is not a valid yyyy-mm-dd date`);
  return date;
}

/** The date to read a registry at: the one asked for, else the configured one, else today; checked. */
export function readingDate(asked: string | undefined, configured: string | undefined): string {
  return checkedForDate(String(asked || configured || today()));
}

/** Why the dates of a dated value cannot be used, or undefined when they can. */
export function datesProblem(item: { startDate?: string; endDate?: string }): string | undefined {
  for (const [name, value] of [
    ['start', item.startDate],
    ['end', item.endDate],
  ] as const) {
    if (value !== undefined && !isCalendarDate(value)) return `${name} date "${value}" is not a valid yyyy-mm-dd date`;
  }
  return undefined;
}

/** Whether a dated value applies at `date` (GPR dates are inclusive; a missing bound is open). */
export function validAt(item: { startDate?: string; endDate?: string }, date: string): boolean {
  return (!item.startDate || item.startDate <= date) && (!item.endDate || date <= item.endDate);
}

export const asRegistryModelHint = 'expected a registry model (from gpr-hierarchy-source) on msg.payload';

/** `value` as a RegistryModel, or an error saying what is missing (e.g. a msg.payload that is something else). */
export function asRegistryModel(value: unknown): RegistryModel {
  const m = value as Partial<RegistryModel> | undefined;
  if (!m || typeof m !== 'object') throw new Error(asRegistryModelHint);
  const missing = (['types', 'hierarchies', 'objects', 'links'] as const).filter((k) => !Array.isArray(m[k]));
  if (typeof m.forDate !== 'string' || !isCalendarDate(m.forDate)) missing.unshift('forDate' as never);
  if (missing.length) throw new Error(`msg.payload is not a registry model: no valid ${missing.join(', ')}`);
  return m as RegistryModel;
}
