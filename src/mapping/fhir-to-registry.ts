// FHIR Location/Organization -> geo-objects and parent links: GPR's BasicFhirResourceProcessor and more
// (parents from Location.partOf, Organization.partOf and the mCSD hierarchy extension, which GPR's import
// ignores). Parents are returned as references; the import resolves them to codes once every page is read.
// Node-RED-free.
import type { Location, Organization } from '@medplum/fhirtypes';
import type { Geometry } from 'geojson';
import type { GeoObject } from '../registry/model.js';
import { BOUNDARY_EXTENSION, HIERARCHY_EXTENSION } from './mcsd.js';

/** A parent link as a transform gives it: by code, or by the reference the resource holds. */
export interface ImportLink {
  hierarchy: string;
  childCode: string;
  childType: string;
  parentCode?: string;
  parentType?: string;
  /** e.g. `Location/123`: resolved to the imported object behind it. */
  parentReference?: string;
  /** Label of the hierarchy, when the resource names it (mCSD hierarchy extension text). */
  hierarchyLabel?: string;
}

export interface TransformResult {
  objects: GeoObject[];
  links: ImportLink[];
}

export interface TransformContext {
  /** The external system's System: identifiers and type codings in it are the registry's. */
  system: string;
  /** Hierarchy of links from partOf (Location.partOf, Organization.partOf). */
  hierarchy: string;
}

type Exported = Location | Organization;

/** Why a resource cannot be imported, as an error row's message. */
export class UnusableResource extends Error {}

function codeOf(r: Exported, system: string): string {
  const code = r.identifier?.find((i) => i.system === system)?.value;
  if (!code) throw new UnusableResource(`no identifier with system ${system}`);
  return code;
}

function typeOf(r: Exported, system: string): string {
  for (const cc of r.type ?? []) {
    const coding = cc.coding?.find((c) => c.system === system && c.code);
    if (coding?.code) return coding.code;
  }
  throw new UnusableResource(`no type coding with system ${system}`);
}

/** The boundary GPR writes (base64 GeoJSON with a `crs`), else the position as a MultiPoint. */
function geometryOf(location: Location): Geometry | undefined {
  const attachment = location.extension?.find((e) => e.url === BOUNDARY_EXTENSION)?.valueAttachment;
  if (attachment?.data) {
    let geometry: Geometry & { crs?: unknown };
    try {
      geometry = JSON.parse(Buffer.from(attachment.data, 'base64').toString('utf8'));
    } catch {
      throw new UnusableResource('the boundary extension does not hold GeoJSON');
    }
    if (!geometry || typeof geometry.type !== 'string')
      throw new UnusableResource('the boundary extension does not hold a GeoJSON geometry');
    delete geometry.crs;
    return geometry;
  }
  const p = location.position;
  if (p && Number.isFinite(p.longitude) && Number.isFinite(p.latitude))
    return { type: 'MultiPoint', coordinates: [[p.longitude, p.latitude]] };
  return undefined;
}

/** The default processor ("mcsd-parents"). */
export function defaultTransform(resource: Exported, ctx: TransformContext): TransformResult {
  const code = codeOf(resource, ctx.system);
  const type = typeOf(resource, ctx.system);
  const object: GeoObject = { code, type, label: { default: resource.name ?? code }, exists: true, invalid: false };
  const links: ImportLink[] = [];
  const link = (parentReference: string | undefined, hierarchy: string, hierarchyLabel?: string) => {
    if (parentReference)
      links.push({ hierarchy, childCode: code, childType: type, parentReference, ...(hierarchyLabel ? { hierarchyLabel } : {}) });
  };
  if (resource.resourceType === 'Location') {
    const geometry = geometryOf(resource);
    if (geometry) object.geometry = geometry;
    link(resource.partOf?.reference, ctx.hierarchy);
  } else {
    for (const ext of resource.extension ?? []) {
      if (ext.url !== HIERARCHY_EXTENSION) continue;
      const parent = ext.extension?.find((e) => e.url === 'part-of')?.valueReference?.reference;
      const h = ext.extension?.find((e) => e.url === 'hierarchy-type')?.valueCodeableConcept;
      link(parent, h?.coding?.[0]?.code ?? ctx.hierarchy, h?.text);
    }
    link(resource.partOf?.reference, ctx.hierarchy);
  }
  return { objects: [object], links };
}
