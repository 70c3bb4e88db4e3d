// One geo-object -> one Organization + one Location, as GPR's Basic and mCSD populators write them
// (ListTypeFhirExporter, BasicFhirDataPopulator, MCSDFhirDataPopulator). Node-RED-free and pure.
import type { CodeableConcept, Extension, Identifier, Location, Organization } from '@medplum/fhirtypes';
import type { Geometry } from 'geojson';
import type { GeoObject, Hierarchy } from '../registry/model.js';
import type { Level } from './levels.js';
import type { Position } from './geometry.js';

export const BOUNDARY_EXTENSION = 'http://hl7.org/fhir/StructureDefinition/location-boundary-geojson';
export const HIERARCHY_EXTENSION = 'http://ihe.net/fhir/StructureDefinition/IHE.mCSD.hierarchy.extension';
const PROFILE = 'http://ihe.net/fhir/StructureDefinition/';
const MCSD_KIND = 'urn:ietf:rfc:3986';
const PHYSICAL_TYPE = 'http://terminology.hl7.org/CodeSystem/location-physical-type';
const IDENTIFIER_TYPE = 'http://terminology.hl7.org/CodeSystem/v2-0203';

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
  /** One per selected hierarchy in which the object has an exported ancestor, in hierarchy order. */
  parents: ParentRef[];
}

export interface MappingOptions {
  system: string;
  /** More than one hierarchy is exported: mCSD then links parents with the hierarchy extension. */
  severalHierarchies: boolean;
  /** Also set Location.partOf (GPR never does). */
  locationPartOf: boolean;
  /** Reproduce GPR's output exactly: aliases not de-duplicated, no Location.partOf. */
  gprCompat: boolean;
}

/** How a parent's resource is referred to (urn:uuid, literal or conditional), decided by the bundle builder. */
export type ReferenceOf = (resourceType: 'Organization' | 'Location', code: string) => string;

export interface Mapped {
  organization: Organization;
  location: Location;
}

/** The GeoJSON GPR writes in the boundary extension: the geometry with an EPSG:4326 `crs`. */
function boundaryData(geometry: Geometry): string {
  const { type } = geometry;
  const body = 'coordinates' in geometry ? { type, coordinates: geometry.coordinates } : { type, geometries: geometry.geometries };
  const json = JSON.stringify({ ...body, crs: { type: 'name', properties: { name: 'EPSG:4326' } } });
  return Buffer.from(json).toString('base64');
}

function aliases(object: GeoObject, gprCompat: boolean): string[] {
  const all = [
    object.label.default,
    ...Object.entries(object.label)
      .filter(([k]) => k !== 'default')
      .map(([, v]) => v),
  ].filter(Boolean);
  return gprCompat ? all : [...new Set(all)];
}

function kindCoding(facility: boolean): CodeableConcept {
  return facility
    ? { coding: [{ system: MCSD_KIND, code: 'urn:ihe:iti:mcsd:2019:facility', display: 'Facility' }] }
    : { coding: [{ system: MCSD_KIND, code: 'urn:ihe:iti:mcsd:2019:jurisdiction', display: 'Jurisdiction' }] };
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

export function mapGeoObject(input: MappingInput, options: MappingOptions, ref: ReferenceOf): Mapped {
  const { object, level, id, centroid, parents } = input;
  const identifier: Identifier = {
    use: 'usual',
    type: { coding: [{ system: IDENTIFIER_TYPE, code: 'RI', display: 'Resource identifier' }] },
    system: options.system,
    value: object.code,
  };
  const name = object.label.default;
  const alias = aliases(object, options.gprCompat);
  const mcsd = level.implementation !== 'basic';
  const type: CodeableConcept[] = [{ coding: [{ ...level.fhirType }], text: level.fhirType.display }, kindCoding(level.facility)];
  const [kind, orgKind] = level.facility
    ? ['FacilityLocation', 'FacilityOrganization']
    : ['JurisdictionLocation', 'JurisdictionsOrganization'];
  const useExtension = level.implementation === 'multi-hierarchy' || (mcsd && options.severalHierarchies);

  const organization: Organization = { resourceType: 'Organization' };
  if (id) organization.id = id;
  if (mcsd) organization.meta = { profile: [`${PROFILE}IHE.mCSD.Organization`, `${PROFILE}IHE.mCSD.${orgKind}`] };
  if (mcsd && useExtension && parents.length) organization.extension = parents.map((p) => hierarchyExtension(p, ref));
  organization.identifier = [identifier];
  if (mcsd) organization.type = type;
  organization.name = name;
  organization.alias = alias;
  if (mcsd && !useExtension && parents.length) organization.partOf = { reference: ref('Organization', parents[0].code) };

  const location: Location = { resourceType: 'Location' };
  if (id) location.id = id;
  if (mcsd) location.meta = { profile: [`${PROFILE}IHE.mCSD.Location`, `${PROFILE}IHE.mCSD.${kind}`] };
  if (object.geometry) {
    location.extension = [
      {
        url: BOUNDARY_EXTENSION,
        valueAttachment: { contentType: 'application/json', data: boundaryData(object.geometry), title: 'Geojson' },
      },
    ];
  }
  location.identifier = [{ ...identifier }];
  location.status = 'active';
  location.name = name;
  location.alias = alias;
  location.mode = 'instance';
  if (mcsd) {
    location.type = type;
    location.physicalType = physicalType(level.facility);
  }
  if (centroid) location.position = { ...centroid };
  location.managingOrganization = { reference: ref('Organization', object.code) };
  if (mcsd && options.locationPartOf && !options.gprCompat && parents.length)
    location.partOf = { reference: ref('Location', parents[0].code) };
  return { organization, location };
}
