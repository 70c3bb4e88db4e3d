// One geo-object -> one Organization + one Location, as GPR's Basic and mCSD populators write them
// (ListTypeFhirExporter, BasicFhirDataPopulator, MCSDFhirDataPopulator). Node-RED-free and pure.
import type { CodeableConcept, Element, Extension, Identifier, Location, Organization } from '@medplum/fhirtypes';
import type { Geometry } from 'geojson';
import type { GeoObject, Hierarchy } from '../registry/model.js';
import type { Coding, Level } from './levels.js';
import type { Position } from '../registry/geometry.js';
import { jtsGeoJson } from './jts-geojson.js';

export const BOUNDARY_EXTENSION = 'http://hl7.org/fhir/StructureDefinition/location-boundary-geojson';
/**
 * GPR's (and GOFR's) hierarchy extension. The current mCSD IG has none (it dropped it in 2022 for
 * OrganizationAffiliation), so there is no IG canonical to move to: both modes keep this one.
 */
export const HIERARCHY_EXTENSION = 'http://ihe.net/fhir/StructureDefinition/IHE.mCSD.hierarchy.extension';
export const TRANSLATION_EXTENSION = 'http://hl7.org/fhir/StructureDefinition/translation';
const PHYSICAL_TYPE = 'http://terminology.hl7.org/CodeSystem/location-physical-type';
const IDENTIFIER_TYPE = 'http://terminology.hl7.org/CodeSystem/v2-0203';

/** The profiles, kind codings and boundary media type of one flavour of mCSD. */
interface McsdCanon {
  profile: (name: string) => string;
  jurisdictionOrganization: string;
  kind: (facility: boolean) => Coding;
  boundaryType: string;
}

/** What GPR writes: a pre-IG base, a profile name that exists in no mCSD version, the 2019 kind URNs. */
const GPR_CANON: McsdCanon = {
  profile: (name) => `http://ihe.net/fhir/StructureDefinition/${name}`,
  jurisdictionOrganization: 'IHE.mCSD.JurisdictionsOrganization',
  kind: (facility) =>
    facility
      ? { system: 'urn:ietf:rfc:3986', code: 'urn:ihe:iti:mcsd:2019:facility', display: 'Facility' }
      : { system: 'urn:ietf:rfc:3986', code: 'urn:ihe:iti:mcsd:2019:jurisdiction', display: 'Jurisdiction' },
  boundaryType: 'application/json',
};

export const MCSD_BASE = 'https://profiles.ihe.net/ITI/mCSD';
export const MCSD_KIND_SYSTEM = `${MCSD_BASE}/CodeSystem/IHE.mCSD.Organization.Location.Types`;

/** The current mCSD IG (4.0): its canonicals, its Organization/Location type codes, geo+json boundaries. */
const IG_CANON: McsdCanon = {
  profile: (name) => `${MCSD_BASE}/StructureDefinition/${name}`,
  jurisdictionOrganization: 'IHE.mCSD.JurisdictionOrganization',
  kind: (facility) =>
    facility
      ? { system: MCSD_KIND_SYSTEM, code: 'facility', display: 'Facility' }
      : { system: MCSD_KIND_SYSTEM, code: 'jurisdiction', display: 'Jurisdiction' },
  boundaryType: 'application/geo+json',
};

/** The kind codings of both flavours, and what each marks: built once, as the import asks for every coding. */
const KINDS = [GPR_CANON, IG_CANON].flatMap((canon) => [true, false].map((facility) => ({ ...canon.kind(facility), facility })));

/** Whether a coding marks a facility (true), a jurisdiction (false), in either flavour; undefined otherwise. */
export function kindOf(coding: { system?: string; code?: string }): boolean | undefined {
  return KINDS.find((k) => coding.system === k.system && coding.code === k.code)?.facility;
}

export interface ParentRef {
  hierarchy: Hierarchy;
  /** Code of the nearest exported ancestor in that hierarchy. */
  code: string;
}

export interface MappingInput {
  object: GeoObject;
  level: Level;
  /** Resource id (per id strategy); none when the server assigns ids. */
  id?: string;
  centroid?: Position;
  /** One per hierarchy of the level in which the object has an exported ancestor, in hierarchy order. */
  parents: ParentRef[];
}

export interface MappingOptions {
  system: string;
  /** Code of the hierarchy Location.partOf follows (and, outside GPR-compatible mode, Organization.partOf). */
  partOfHierarchy: string;
  /** Also set Location.partOf (GPR never does). */
  locationPartOf: boolean;
  /** Reproduce GPR's output exactly: its canonicals, aliases not de-duplicated, no Location.partOf, no translations. */
  gprCompat: boolean;
}

/** How a parent's resource is referred to (urn:uuid, literal or conditional), decided by the bundle builder. */
export type ReferenceOf = (resourceType: 'Organization' | 'Location', code: string) => string;

export interface Mapped {
  organization: Organization;
  location: Location;
}

/** The text of the GeoJSON `crs` member naming EPSG:4326, with the object's closing brace. */
const CRS_MEMBER = `,"crs":${JSON.stringify({ type: 'name', properties: { name: 'EPSG:4326' } })}}`;

/** The GeoJSON of the boundary extension, with an EPSG:4326 `crs`: GPR's exact text, or at full precision. */
function boundaryData(geometry: Geometry, gprCompat: boolean): string {
  if (gprCompat) return Buffer.from(jtsGeoJson(geometry)).toString('base64');
  const { type } = geometry;
  const body = 'coordinates' in geometry ? { type, coordinates: geometry.coordinates } : { type, geometries: geometry.geometries };
  // The crs member's text appended to the body's: the same text as stringifying both, without an object per boundary.
  const json = JSON.stringify(body);
  return Buffer.from(`${json.slice(0, -1)}${CRS_MEMBER}`).toString('base64');
}

function otherLocales(object: GeoObject): [string, string][] {
  return Object.entries(object.label).filter(([k, v]) => k !== 'default' && Boolean(v));
}

function aliases(object: GeoObject, gprCompat: boolean): string[] {
  const all = [object.label.default, ...otherLocales(object).map(([, v]) => v)].filter(Boolean);
  return gprCompat ? all : [...new Set(all)];
}

/** The name's labels in other locales, as FHIR's translation extension on `name`. */
function nameTranslations(object: GeoObject): Element | undefined {
  const extension: Extension[] = otherLocales(object).map(([lang, content]) => ({
    url: TRANSLATION_EXTENSION,
    extension: [
      { url: 'lang', valueCode: lang },
      { url: 'content', valueString: content },
    ],
  }));
  return extension.length ? { extension } : undefined;
}

function physicalType(facility: boolean): CodeableConcept {
  const [code, display] = facility ? ['bu', 'Building'] : ['jdn', 'Jurisdiction'];
  return { coding: [{ system: PHYSICAL_TYPE, code, display }], text: display };
}

function hierarchyExtension(parent: ParentRef, ref: ReferenceOf): Extension {
  return {
    url: HIERARCHY_EXTENSION,
    extension: [
      { url: 'part-of', valueReference: { reference: ref('Organization', parent.code) } },
      // GPR writes the hierarchy code without a system.
      { url: 'hierarchy-type', valueCodeableConcept: { coding: [{ code: parent.hierarchy.code }], text: parent.hierarchy.label.default } },
    ],
  };
}

/**
 * Which parents go in the hierarchy extension rather than Organization.partOf. GPR decides per Geo-Object
 * Type: a type with parents in one exported hierarchy uses partOf, one with parents in several uses the
 * extension for each (mCSD: a single hierarchy uses partOf). Outside GPR-compatible mode partOf always
 * means the partOf hierarchy, so a type's only hierarchy that is another one goes in the extension: the
 * import can then file every link under the hierarchy it came from.
 */
function inExtension(level: Level, options: MappingOptions): (p: ParentRef) => boolean {
  if (level.implementation === 'multi-hierarchy' || level.parentHierarchies.length > 1) return () => true;
  return (p) => !options.gprCompat && p.hierarchy.code !== options.partOfHierarchy;
}

type Named<T> = T & { _name?: Element };

export function mapGeoObject(input: MappingInput, options: MappingOptions, ref: ReferenceOf): Mapped {
  const { object, level, id, centroid, parents } = input;
  const canon = options.gprCompat ? GPR_CANON : IG_CANON;
  const identifier: Identifier = {
    use: 'usual',
    type: { coding: [{ system: IDENTIFIER_TYPE, code: 'RI', display: 'Resource identifier' }] },
    system: options.system,
    value: object.code,
  };
  const name = object.label.default;
  const translations = options.gprCompat ? undefined : nameTranslations(object);
  const alias = aliases(object, options.gprCompat);
  const mcsd = level.implementation !== 'basic';
  const type: CodeableConcept[] = [
    { coding: [{ ...level.fhirType }], text: level.fhirType.display },
    { coding: [canon.kind(level.facility)] },
  ];
  const [kind, orgKind] = level.facility
    ? ['IHE.mCSD.FacilityLocation', 'IHE.mCSD.FacilityOrganization']
    : ['IHE.mCSD.JurisdictionLocation', canon.jurisdictionOrganization];
  const extended = inExtension(level, options);
  const viaExtension = mcsd ? parents.filter(extended) : [];
  const viaPartOf = mcsd ? parents.find((p) => !extended(p)) : undefined;

  const organization: Named<Organization> = { resourceType: 'Organization' };
  if (id) organization.id = id;
  if (mcsd) organization.meta = { profile: [canon.profile('IHE.mCSD.Organization'), canon.profile(orgKind)] };
  if (viaExtension.length) organization.extension = viaExtension.map((p) => hierarchyExtension(p, ref));
  organization.identifier = [identifier];
  if (mcsd) organization.type = type;
  organization.name = name;
  if (translations) organization._name = translations;
  organization.alias = alias;
  if (viaPartOf) organization.partOf = { reference: ref('Organization', viaPartOf.code) };

  const location: Named<Location> = { resourceType: 'Location' };
  if (id) location.id = id;
  if (mcsd) location.meta = { profile: [canon.profile('IHE.mCSD.Location'), canon.profile(kind)] };
  if (object.geometry) {
    location.extension = [
      {
        url: BOUNDARY_EXTENSION,
        valueAttachment: { contentType: canon.boundaryType, data: boundaryData(object.geometry, options.gprCompat), title: 'Geojson' },
      },
    ];
  }
  location.identifier = [{ ...identifier }];
  location.status = 'active';
  location.name = name;
  if (translations) location._name = structuredClone(translations);
  location.alias = alias;
  location.mode = 'instance';
  if (mcsd) {
    location.type = type;
    location.physicalType = physicalType(level.facility);
  }
  if (centroid) location.position = { ...centroid };
  location.managingOrganization = { reference: ref('Organization', object.code) };
  const partOf = parents.find((p) => p.hierarchy.code === options.partOfHierarchy);
  if (mcsd && options.locationPartOf && !options.gprCompat && partOf) location.partOf = { reference: ref('Location', partOf.code) };
  return { organization, location };
}
