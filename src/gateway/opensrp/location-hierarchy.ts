// OpenSRP's LocationHierarchy, which fhircore reads for location selection: the Locations below chosen ones, as the
// reference's custom resource (a tree of TreeNodes with the parent → children map) or, with `mode=list`, as a paged
// searchset of Locations. Only Locations within the caller's own assignment may be asked for.
import type { Bundle, Location, Resource } from '@medplum/fhirtypes';
import { pageLinks, positiveParam } from './list-entries.js';
import { referencedId } from '../proxy/lookups.js';
import { GatewayDenial, invalid } from '../http/denial.js';
import type { ParsedRequest } from '../http/request.js';
import { isFhirId } from '../../fhir/ids.js';
import { param } from '../http/request.js';

export interface HierarchyRequest {
  ids: string[];
  mode: 'tree' | 'list';
  page: number;
  count: number;
}

const DEFAULT_COUNT = 20;

/** What a LocationHierarchy request asks for; 400 for one that names no valid Location or an unknown mode. */
export function hierarchyRequest(req: ParsedRequest): HierarchyRequest {
  if (req.method !== 'GET') throw new GatewayDenial(400, 'not-supported', 'LocationHierarchy is read with GET');
  const ids = (param(req.query, '_id') ?? []).flatMap((v) => v.split(',')).map((id) => id.trim());
  if (!ids.length || !ids.every(isFhirId)) throw invalid('LocationHierarchy needs _id: the ids of Locations');
  const modes = param(req.query, 'mode') ?? [];
  if (modes.length > 1 || (modes[0] !== undefined && modes[0] !== 'list'))
    throw invalid(`un-recognized value '${modes.join(',')}' of mode`);
  return {
    ids: [...new Set(ids)],
    mode: modes[0] === 'list' ? 'list' : 'tree',
    page: positiveParam(req.query, '_page', 1),
    count: positiveParam(req.query, '_count', DEFAULT_COUNT),
  };
}

/** 403 unless every asked Location is one the caller may see. */
export function checkHierarchyRoots(asked: HierarchyRequest, allowed: ReadonlySet<string> | undefined): void {
  const outside = allowed && asked.ids.find((id) => !allowed.has(id));
  if (outside !== undefined) throw new GatewayDenial(403, 'forbidden', `Location/${outside} lies outside the user's assignment`);
}

interface TreeNode {
  name: string;
  nodeId: string;
  label: string;
  node: Location;
  parent?: string;
  children: { childId: string; treeNode: TreeNode }[];
}

/** The reference's LocationHierarchy resource for one root: its tree, and the parent → children map of the ids. */
function hierarchy(root: Location, locations: Location[]): Resource {
  const byParent = new Map<string, Location[]>();
  for (const location of locations) {
    const parent = referencedId(location.partOf?.reference, 'Location');
    if (parent !== undefined) byParent.set(parent, [...(byParent.get(parent) ?? []), location]);
  }
  const parentChildren: { identifier: string; childIdentifiers: string[] }[] = [];
  const node = (location: Location, seen: Set<string>): TreeNode => {
    const id = location.id ?? '';
    seen.add(id);
    const kids = (byParent.get(id) ?? []).filter((c) => !seen.has(c.id ?? ''));
    if (kids.length) parentChildren.push({ identifier: `Location/${id}`, childIdentifiers: kids.map((c) => `Location/${c.id ?? ''}`) });
    const parent = referencedId(location.partOf?.reference, 'Location');
    return {
      name: `Location/${id}`,
      nodeId: `Location/${id}`,
      label: location.name ?? id,
      node: location,
      ...(parent !== undefined && { parent: `Location/${parent}` }),
      children: kids.map((c) => ({ childId: `Location/${c.id ?? ''}`, treeNode: node(c, seen) })),
    };
  };
  const tree = node(root, new Set());
  // A custom resource: no FHIR type describes it, so it is built as plain JSON.
  return {
    resourceType: 'LocationHierarchy',
    id: root.id,
    meta: { profile: ['http://hl7.org/fhir/profiles/custom-resource'] },
    locationId: root.id,
    LocationHierarchyTree: {
      locationsHierarchy: { listOfNodes: { treeNodeId: `Location/${root.id ?? ''}`, treeNode: tree }, parentChildren },
    },
  } as unknown as Resource;
}

/** The answer: one LocationHierarchy per asked Location (tree), or one page of all their Locations (list). */
export function hierarchyBundle(asked: HierarchyRequest, locations: Location[], publicBase: string): Bundle {
  const base = `${publicBase}/LocationHierarchy?_id=${asked.ids.map(encodeURIComponent).join(',')}`;
  if (asked.mode === 'tree') {
    const roots = asked.ids.map((id) => locations.find((l) => l.id === id)).filter((l): l is Location => l !== undefined);
    const entry = roots.map((root) => ({
      fullUrl: `${publicBase}/LocationHierarchy/${root.id ?? ''}`,
      resource: hierarchy(root, locations),
    }));
    return { resourceType: 'Bundle', type: 'searchset', total: entry.length, link: [{ relation: 'self', url: base }], entry };
  }
  const page = locations.slice((asked.page - 1) * asked.count, asked.page * asked.count);
  const link = pageLinks((p) => `${base}&mode=list&_count=${asked.count}&_page=${p}`, asked.page, asked.count, locations.length);
  const entry = page.map((resource) => ({
    fullUrl: `${publicBase}/Location/${resource.id ?? ''}`,
    resource,
    search: { mode: 'match' as const },
  }));
  return { resourceType: 'Bundle', type: 'searchset', total: locations.length, link, ...(entry.length && { entry }) };
}
