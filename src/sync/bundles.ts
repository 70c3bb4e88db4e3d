// The transaction Bundles of an export, chunked, parents first: one code path for Run and Generate
// Bundle, which differ only in how a parent outside the current chunk is referred to. Node-RED-free.
import type { Bundle, BundleEntry, Location, Organization } from '@medplum/fhirtypes';
import type { ExportOptions, ExportPlan, PlannedObject } from './export-plan.js';
import type { Mapped } from '../mapping/mcsd.js';
import { mapGeoObject } from '../mapping/mcsd.js';
import { conditionalUrl } from '../fhir/search-value.js';

export type ExportedType = 'Organization' | 'Location';

/**
 * How to refer to a resource that is not in the current chunk: exported by an earlier chunk of this
 * run, or not part of this export at all (a parent of a type outside the levels). Undefined: unknown.
 */
export interface OutsideReferences {
  reference(resourceType: ExportedType, code: string, planned?: PlannedObject): Promise<string | undefined>;
}

/** A transaction Bundle; only gprCompat output leaves `type` out, as GPR does. */
export type ExportBundle = Omit<Bundle<Organization | Location>, 'type'> & { type?: 'transaction' };

export interface Chunk {
  bundle: ExportBundle;
  /** The objects in the bundle, in entry order (two entries each). */
  objects: PlannedObject[];
  /** Parents that could not be referred to, as warnings to record. */
  unresolved: { code: string; parent: string }[];
}

let uuidv5: Promise<(name: string) => string> | undefined;

/** Deterministic urn:uuid per System, type and code, so the same export gives the same Bundle. */
async function fullUrlFactory(): Promise<(name: string) => string> {
  uuidv5 ??= import('uuid').then(({ v5, parse }) => {
    // Bytes in, so that uuid neither parses the namespace nor encodes the name by hand on each call.
    const namespace = parse(v5.URL);
    return (name: string) => `urn:uuid:${v5(Buffer.from(name), namespace)}`;
  });
  return uuidv5;
}

/** The plan's objects in chunks of at most chunkSize entries (an object's two entries together); gprCompat keeps GPR's single Bundle. */
export function planChunks(plan: ExportPlan, options: ExportOptions): PlannedObject[][] {
  const perChunk = options.gprCompat ? Infinity : Math.max(1, Math.floor(options.chunkSize / 2));
  const chunks: PlannedObject[][] = [];
  for (let i = 0; i < plan.objects.length; i += perChunk) chunks.push(plan.objects.slice(i, i + perChunk));
  return chunks;
}

/** For each chunk, the earlier chunks holding its objects' parents: it can be sent once those are done. */
export function chunkDependencies(chunks: PlannedObject[][]): number[][] {
  const chunkOf = new Map<string, number>();
  chunks.forEach((objects, i) => objects.forEach((p) => chunkOf.set(p.object.code, i)));
  return chunks.map((objects, i) => {
    const deps = new Set<number>();
    for (const p of objects)
      for (const { code } of p.parents) {
        const j = chunkOf.get(code);
        if (j !== undefined && j < i) deps.add(j);
      }
    return [...deps];
  });
}

/** The transaction Bundle for one chunk of objects; references outside it come from `outside`. */
export async function buildChunk(
  objects: PlannedObject[],
  plan: ExportPlan,
  options: ExportOptions,
  outside: OutsideReferences,
): Promise<Chunk> {
  const urn = await fullUrlFactory();
  const fullUrls = new Map<string, string>();
  const fullUrl = (type: ExportedType, code: string) => {
    const key = `${type}|${code}`;
    let url = fullUrls.get(key);
    if (url === undefined) fullUrls.set(key, (url = options.gprCompat ? `${type}/${code}` : urn(`${options.system}|${key}`)));
    return url;
  };
  const inChunk = new Set(objects.map((p) => p.object.code));
  // References to parents outside the chunk are resolved before mapping, which is synchronous.
  const resolved = new Map<string, string | undefined>();
  const unresolved: Chunk['unresolved'] = [];
  for (const p of objects) {
    for (const { code } of p.parents) {
      if (inChunk.has(code)) continue;
      for (const type of ['Organization', 'Location'] as const) {
        const key = `${type}|${code}`;
        if (!resolved.has(key)) resolved.set(key, await outside.reference(type, code, plan.index.get(code)));
      }
      if (!resolved.get(`Organization|${code}`)) unresolved.push({ code: p.object.code, parent: code });
    }
  }
  const ref = (type: ExportedType, code: string) => (inChunk.has(code) ? fullUrl(type, code) : (resolved.get(`${type}|${code}`) ?? ''));
  const entry: BundleEntry<Organization | Location>[] = [];
  for (const p of objects) {
    // Parents that cannot be referred to are left out rather than written as dangling references.
    const parents = p.parents.filter(({ code }) => inChunk.has(code) || resolved.get(`Organization|${code}`));
    const mapped: Mapped = mapGeoObject({ ...p, parents }, plan.mapping, ref);
    for (const resource of [mapped.organization, mapped.location]) {
      const type = resource.resourceType;
      entry.push({
        fullUrl: fullUrl(type, p.object.code),
        resource,
        request: { method: 'PUT', url: conditionalUrl(type, options.system, p.object.code, options.gprCompat) },
      });
    }
  }
  const bundle: ExportBundle = options.gprCompat
    ? { resourceType: 'Bundle', entry }
    : { resourceType: 'Bundle', type: 'transaction', entry };
  return { bundle, objects, unresolved };
}
