// FHIR Location/Organization -> geo-objects and parent links: GPR's BasicFhirResourceProcessor and more
// (parents from Location.partOf, Organization.partOf and the mCSD hierarchy extension, which GPR's import
// ignores). Parents are returned as references; the import resolves them to codes once every page is read.
// Node-RED-free.
import type { CodeableConcept, Element, Location, Organization } from '@medplum/fhirtypes';
import type { Geometry } from 'geojson';
import type { GeoObject, LocalizedLabel } from '../registry/model.js';
import { BOUNDARY_EXTENSION, HIERARCHY_EXTENSION, TRANSLATION_EXTENSION, kindOf } from './mcsd.js';

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

/** What a resource says about its object's type: the label of its type coding, and whether it is a facility. */
export interface TypeHint {
  code: string;
  label?: string;
  facility?: boolean;
}

export interface TransformResult {
  objects: GeoObject[];
  links: ImportLink[];
  types?: TypeHint[];
}

export interface TransformContext {
  /** The external system's System: identifiers and type codings in it are the registry's. */
  system: string;
  /** Hierarchy of links from partOf (Location.partOf, Organization.partOf); empty: the import infers it. */
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

function typeOf(r: Exported, system: string): TypeHint {
  for (const cc of r.type ?? []) {
    const coding = cc.coding?.find((c) => c.system === system && c.code);
    if (coding?.code) {
      const label = coding.display || cc.text;
      const facility = facilityOf(r.type ?? []);
      return { code: coding.code, ...(label ? { label } : {}), ...(facility === undefined ? {} : { facility }) };
    }
  }
  throw new UnusableResource(`no type coding with system ${system}`);
}

/** The mCSD kind among the type codings (either the IG's codes or GPR's URNs). */
function facilityOf(types: CodeableConcept[]): boolean | undefined {
  for (const cc of types)
    for (const c of cc.coding ?? []) {
      const facility = kindOf(c);
      if (facility !== undefined) return facility;
    }
  return undefined;
}

/** The name in the default locale and, from FHIR's translation extension on `name`, in the others. */
function labelOf(r: Exported & { _name?: Element }, code: string): LocalizedLabel {
  const label: LocalizedLabel = { default: r.name ?? code };
  for (const t of r._name?.extension ?? []) {
    if (t.url !== TRANSLATION_EXTENSION) continue;
    const lang = t.extension?.find((e) => e.url === 'lang')?.valueCode;
    const content = t.extension?.find((e) => e.url === 'content')?.valueString;
    if (lang && lang !== 'default' && content) label[lang] = content;
  }
  return label;
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
  const hint = typeOf(resource, ctx.system);
  const type = hint.code;
  const object: GeoObject = { code, type, label: labelOf(resource, code), exists: true, invalid: false };
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
  return { objects: [object], links, types: [hint] };
}
