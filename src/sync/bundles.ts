// The transaction Bundles of an export, chunked, parents first: one code path for Run and Generate
// Bundle, which differ only in how a parent outside the current chunk is referred to. Node-RED-free.
import type { Bundle, BundleEntry, Location, Organization } from '@medplum/fhirtypes';
import type { ExportOptions, ExportPlan, PlannedObject } from './export-plan.js';
import type { Mapped } from '../mapping/mcsd.js';
import { mapGeoObject } from '../mapping/mcsd.js';
import { conditionalUrl } from '../fhir/search-value.js';
import { nameUuid } from './name-uuid.js';

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

export type ExportEntry = BundleEntry<Organization | Location>;

/**
 * One chunk's transaction, its references resolved, its entries mapped as they are read: a Bundle's text
 * is written entry by entry, so that no chunk's resources outlive the writing of their own text.
 */
export interface Chunk {
  /** The Bundle without its entries, which come last. */
  head: Omit<ExportBundle, 'entry'>;
  /** The objects in the bundle, in entry order (two entries each). */
  objects: PlannedObject[];
  /** An object's Organization and Location entries, mapped when asked for. */
  entriesOf(object: PlannedObject): ExportEntry[];
  /** Parents that could not be referred to, as warnings to record. */
  unresolved: { code: string; parent: string }[];
}

/**
 * The chunk's whole Bundle, read back from its text: a Bundle kept (Generate Bundle's output) holds none of the
 * mapping's own objects. Kept, they would outlive young collections, and V8 would then allocate the mapping of every
 * later chunk of the process, an export's too, straight into the old generation, where it waits for a full
 * collection (an export of 100,000 after one Generate Bundle grew that generation 2.5 MB per young collection, not 0.7).
 */
export function chunkBundle(chunk: Chunk): ExportBundle {
  return JSON.parse([...chunkText(chunk)].join('')) as ExportBundle;
}

/** Pieces of a chunk's text are cut after about this many characters. */
const PIECE = 1 << 14;

/**
 * The chunk's Bundle as `JSON.stringify` writes it, in pieces of about PIECE characters, each entry mapped as it
 * is reached: its text is never held whole as a string (a run writes it into a buffer it reuses, Generate Bundle
 * to its file).
 */
export function* chunkText(chunk: Chunk): Generator<string> {
  const head = JSON.stringify(chunk.head);
  let piece = `${head.slice(0, -1)},"entry":[`;
  let first = true;
  for (const object of chunk.objects) {
    for (const entry of chunk.entriesOf(object)) {
      piece += first ? JSON.stringify(entry) : `,${JSON.stringify(entry)}`;
      first = false;
    }
    if (piece.length < PIECE) continue;
    yield piece;
    piece = '';
  }
  yield `${piece}]}`;
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
  // Worked out when needed, not kept for the chunk: a map of them would live as long as the transaction, long enough
  // to reach the old generation with every URL added to it (about 0.3 KB per object exported).
  const fullUrl = (type: ExportedType, code: string) =>
    options.gprCompat ? `${type}/${code}` : `urn:uuid:${nameUuid(`${options.system}|${type}|${code}`)}`;
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
  const entriesOf = (p: PlannedObject): ExportEntry[] => {
    // Parents that cannot be referred to are left out rather than written as dangling references.
    const parents = p.parents.filter(({ code }) => inChunk.has(code) || resolved.get(`Organization|${code}`));
    // The object's own full URLs, which its Location refers to as well, once each.
    const own = { Organization: fullUrl('Organization', p.object.code), Location: fullUrl('Location', p.object.code) };
    const mapped: Mapped = mapGeoObject({ ...p, parents }, plan.mapping, (type, code) =>
      code === p.object.code ? own[type] : ref(type, code),
    );
    return [mapped.organization, mapped.location].map((resource) => ({
      fullUrl: own[resource.resourceType],
      resource,
      request: { method: 'PUT', url: conditionalUrl(resource.resourceType, options.system, p.object.code, options.gprCompat) },
    }));
  };
  const head: Chunk['head'] = options.gprCompat ? { resourceType: 'Bundle' } : { resourceType: 'Bundle', type: 'transaction' };
  return { head, objects, entriesOf, unresolved };
}
