// Run an import: search the FHIR server page by page (following its next links only), turn each resource
// into geo-objects through the transform, resolve parent references once every page is read, and build
// the registry model. Node-RED-free.
import type { Bundle, Location, Organization } from '@medplum/fhirtypes';
import type { FhirConnection } from '../fhir/connection.js';
import type { RetryPolicy } from '../fhir/retry.js';
import type { GeoObject, GeoObjectType, GeometryType, Hierarchy, ParentLink, RegistryModel } from '../registry/model.js';
import type { ImportLink, TransformContext, TransformResult, TypeHint } from '../mapping/fhir-to-registry.js';
import type { JobRecord } from './job.js';
import type { ImportTarget } from './import-target.js';
import { writeImport } from './import-target.js';
import { FhirRequestError, describeFailure, outcomeText } from '../fhir/errors.js';
import { abortable } from '../fhir/connection.js';
import { DEFAULT_MAX_PAGES, Pager, followPages } from '../fhir/paging.js';
import { runCalls } from './run-calls.js';
import { gprGeometryType, inspectGeometry, inspectPoints, preloadGeometry } from '../registry/geometry.js';
import { typeTree } from '../registry/type-tree.js';
import { identifierToken } from '../fhir/search-value.js';
import { finishJob, newJob, nothingGotThrough } from './job.js';
import { cancelled } from './job-queue.js';

export type Transform = (
  resource: Location | Organization,
  ctx: TransformContext,
) => Promise<TransformResult | undefined> | TransformResult | undefined;

export interface ImportOptions {
  system: string;
  resourceType: 'Location' | 'Organization';
  /** Add `_include=Location:organization` (Locations only). */
  includeOrganizations: boolean;
  /** Further search parameters, as the user typed them. */
  searchParams: Record<string, string>;
  /** Page size asked for first; halved while the server refuses it. */
  pageSize: number;
  /** At most this many pages are read (a server whose next links never end is stopped). */
  maxPages: number;
  /** Hierarchy of links that come from partOf (the export's partOf hierarchy); empty: inferred from the data. */
  hierarchy: string;
}

export const DEFAULT_IMPORT_OPTIONS: Omit<ImportOptions, 'system'> = {
  resourceType: 'Location',
  includeOrganizations: true,
  searchParams: {},
  pageSize: 2000,
  maxPages: DEFAULT_MAX_PAGES,
  hierarchy: '',
};

/** Where partOf links go when the import is not told their hierarchy and the data does not show it. */
export const FALLBACK_HIERARCHY = 'default';

export interface ImportRunInput {
  options: ImportOptions;
  connection: FhirConnection;
  transform: Transform;
  retry: RetryPolicy;
  /** Only resources updated after this instant (ISO 8601): the start of the last successful run. */
  since?: string;
  /** yyyy-mm-dd of the model and of the links' start. */
  forDate: string;
  onProgress?: (job: JobRecord) => void;
  signal?: AbortSignal;
  /** The record to fill in (a queued job), else a new one. */
  job?: JobRecord;
  /** Where the imported objects are written before the job ends (default: nowhere, the output only). */
  target?: ImportTarget;
}

export interface ImportResult {
  job: JobRecord;
  /** The imported registry, when the run was not a FAILURE. */
  model?: RegistryModel;
}

/**
 * A type's geometry type: that of its objects' geometries, else MULTIPOINT for facilities (GPR's facility
 * rule read backwards), else MIXED.
 */
function geometryTypeOf(objects: GeoObject[], hint: TypeHint | undefined): GeometryType {
  for (const o of objects) {
    const type = gprGeometryType(o.geometry?.type);
    if (type) return type;
  }
  return hint?.facility ? 'MULTIPOINT' : 'MIXED';
}

/** Types and each hierarchy's type tree, derived from what was imported. */
function shape(
  objects: Map<string, GeoObject>,
  links: ParentLink[],
  labels: Map<string, string>,
  hints: Map<string, TypeHint>,
): { types: GeoObjectType[]; hierarchies: Hierarchy[] } {
  const byType = new Map<string, GeoObject[]>();
  for (const o of objects.values()) {
    const members = byType.get(o.type);
    if (members) members.push(o);
    else byType.set(o.type, [o]);
  }
  const types = [...byType].map(([code, members]): GeoObjectType => {
    const hint = hints.get(code);
    return { code, label: { default: hint?.label ?? code }, geometryType: geometryTypeOf(members, hint), isAbstract: false };
  });
  const edges = new Map<string, Map<string, Set<string>>>();
  for (const l of links) {
    const h = edges.get(l.hierarchy) ?? new Map<string, Set<string>>();
    edges.set(l.hierarchy, h);
    h.set(l.parentType, (h.get(l.parentType) ?? new Set()).add(l.childType));
  }
  const hierarchies = [...edges].map(([code, h]): Hierarchy => {
    return {
      code,
      label: { default: labels.get(code) ?? code },
      tree: typeTree(h, h.keys()),
    };
  });
  return { types, hierarchies };
}

/** A 4xx answer to a search: the server refuses the request as asked (page size, include scope). */
function refused(err: unknown): err is FhirRequestError {
  return err instanceof FhirRequestError && err.status !== undefined && [400, 413, 422].includes(err.status);
}

/** The first page of a search refused even with a page of one: the request itself is refused, not its size. */
class FirstPageRefused extends Error {
  constructor(readonly refusal: FhirRequestError) {
    super(refusal.message);
  }
}

/**
 * The partOf hierarchy as the data shows it: an object whose Location.partOf (or Organization.partOf) names
 * the same parent as one of its hierarchy extensions tells which hierarchy partOf follows. The most
 * frequent answer wins; undefined when no object tells.
 */
function inferPartOfHierarchy(pending: ImportLink[], parentOf: (l: ImportLink) => string | undefined): string | undefined {
  const named = new Map<string, Map<string, string>>(); // child -> parent -> hierarchy
  for (const l of pending) {
    const parent = parentOf(l);
    if (!l.hierarchy || !parent) continue;
    const child = `${l.childType}|${l.childCode}`;
    named.set(child, (named.get(child) ?? new Map()).set(parent, l.hierarchy));
  }
  const votes = new Map<string, number>();
  for (const l of pending) {
    if (l.hierarchy) continue;
    const parent = parentOf(l);
    const h = parent && named.get(`${l.childType}|${l.childCode}`)?.get(parent);
    if (h) votes.set(h, (votes.get(h) ?? 0) + 1);
  }
  return [...votes].sort((a, b) => b[1] - a[1])[0]?.[0];
}

export async function runImport(input: ImportRunInput): Promise<ImportResult> {
  const { options, connection, signal } = input;
  const job = input.job ?? newJob('import');
  const call = runCalls(input, job);
  const stopped = () => ({ job: cancelled(job, `cancelled after ${job.workProgress} resources`) });
  input.onProgress?.(job);
  try {
    await abortable(connection.tokens.token(), signal);
  } catch (err) {
    if (signal?.aborted) return stopped();
    job.stage = 'CONNECTION_FAILED';
    return { job: finishJob(job, { message: describeFailure(err) }) };
  }
  job.stage = 'IMPORT';
  // Loaded while the first page is on its way rather than on its first boundary.
  preloadGeometry();
  const ctx: TransformContext = { system: options.system, hierarchy: options.hierarchy };
  const objects = new Map<string, GeoObject>();
  /** `Location/<id>` and `Organization/<id>` -> the object it became. */
  const byReference = new Map<string, { code: string; type: string }>();
  const pending: ImportLink[] = [];
  const labels = new Map<string, string>();
  const hints = new Map<string, TypeHint>();

  const take = async (resource: Location | Organization) => {
    job.resourcesRead++;
    const id = `${resource.resourceType}/${resource.id}`;
    try {
      const result = await input.transform(resource, ctx);
      if (!result) return;
      for (const o of result.objects) {
        // Geometry that cannot be read is refused; an invalid one is kept, as GPR exports it, with a warning.
        const defect = o.geometry && (inspectPoints(o.geometry) ?? (await inspectGeometry(o.geometry))).defect;
        if (defect) job.errors.push({ code: id, type: o.type, severity: 'WARNING', message: `${defect}; imported as it is` });
        const key = `${o.type}|${o.code}`;
        const known = objects.get(key);
        // A Location and its Organization describe one object: the one read first (the Location of a
        // Location search) wins, the other only fills in a missing geometry.
        objects.set(key, known ? { ...o, ...known, geometry: known.geometry ?? o.geometry } : o);
      }
      for (const t of result.types ?? []) hints.set(t.code, { ...hints.get(t.code), ...t });
      if (result.objects[0]) byReference.set(id, { code: result.objects[0].code, type: result.objects[0].type });
      for (const l of result.links) {
        pending.push(l);
        if (l.hierarchyLabel) labels.set(l.hierarchy, l.hierarchyLabel);
      }
    } catch (err) {
      job.errors.push({ code: id, severity: 'ERROR', message: (err as Error).message, submitted: resource });
    }
  };

  const since: Record<string, string> = input.since ? { _lastUpdated: `gt${input.since}` } : {};
  const include = options.includeOrganizations && options.resourceType === 'Location';

  /** Every page of a search, the first asked with pages halved while the server refuses their size. */
  async function* pages(resourceType: 'Location' | 'Organization', params: Record<string, string>): AsyncGenerator<Bundle> {
    let page: Bundle | undefined;
    for (let count = Math.max(1, options.pageSize); !page; count = Math.ceil(count / 2)) {
      try {
        page = await call<Bundle>(`search ${resourceType}`, (c) => c.search({ resourceType, searchParams: { ...params, _count: count } }));
      } catch (err) {
        if (!refused(err) || signal?.aborted) throw err;
        if (count === 1) throw new FirstPageRefused(err);
        continue;
      }
      if (count < options.pageSize)
        job.errors.push({
          code: resourceType,
          severity: 'WARNING',
          message: `the server refused pages of ${options.pageSize}; read with pages of ${count}`,
        });
    }
    // Only next links on the configured server, never a page twice, at most the page limit.
    const next = (current: Bundle) =>
      call<Bundle>(`next page of ${resourceType}`, (c) => c.nextPage({ bundle: current as never }) as Promise<unknown>);
    yield* followPages(page, new Pager(connection.settings.url, options.maxPages), next);
  }

  /** Take a page's resources; `counted`: the page is of the searched type, and counts toward progress. */
  const read = async (page: Bundle, counted: boolean) => {
    if (counted && typeof page.total === 'number') job.workTotal = page.total;
    const resources = (page.entry ?? [])
      .map((e) => e.resource)
      .filter((r): r is Location | Organization => r?.resourceType === 'Location' || r?.resourceType === 'Organization');
    // GPR's order: a page's Locations, then the Organizations included with them.
    for (const r of resources.filter((x) => x.resourceType === 'Location')) await take(r);
    for (const r of resources.filter((x) => x.resourceType === 'Organization')) await take(r);
    if (counted) job.workProgress += resources.filter((r) => r.resourceType === options.resourceType).length;
    input.onProgress?.(job);
  };

  const searched = { ...options.searchParams, ...since };
  try {
    let separately = false;
    try {
      for await (const page of pages(options.resourceType, include ? { ...searched, _include: 'Location:organization' } : searched)) {
        // Cancellation takes effect between pages; nothing is written for a cancelled run.
        if (signal?.aborted) return stopped();
        await read(page, true);
      }
    } catch (err) {
      // A server that refuses the include even with pages of one: Locations alone, then the System's Organizations.
      if (!include || !(err instanceof FirstPageRefused)) throw err;
      separately = true;
      job.errors.push({
        code: options.resourceType,
        severity: 'WARNING',
        message: `the server refused _include=Location:organization (${(err.refusal.outcome && outcomeText(err.refusal.outcome)) || err.message}); Organizations read by a search of their own`,
      });
      for await (const page of pages(options.resourceType, searched)) {
        if (signal?.aborted) return stopped();
        await read(page, true);
      }
    }
    if (separately)
      for await (const page of pages('Organization', { identifier: identifierToken(options.system, ''), ...since })) {
        if (signal?.aborted) return stopped();
        await read(page, false);
      }
  } catch (err) {
    if (signal?.aborted) return stopped();
    return { job: finishJob(job, { message: describeFailure(err instanceof FirstPageRefused ? err.refusal : err) }) };
  }

  const parentOf = (l: ImportLink) =>
    l.parentReference
      ? byReference.get(l.parentReference)
      : l.parentCode && l.parentType
        ? { code: l.parentCode, type: l.parentType }
        : undefined;
  const keyOf = (l: ImportLink) => {
    const p = parentOf(l);
    return p && `${p.type}|${p.code}`;
  };
  let partOfHierarchy = options.hierarchy || inferPartOfHierarchy(pending, keyOf);
  if (!partOfHierarchy && pending.some((l) => !l.hierarchy)) {
    partOfHierarchy = FALLBACK_HIERARCHY;
    job.errors.push({
      code: options.resourceType,
      severity: 'WARNING',
      message: `the data does not show which hierarchy partOf follows: its links are filed under "${FALLBACK_HIERARCHY}"; set the import's partOf hierarchy to the export's`,
    });
  }
  const links: ParentLink[] = [];
  const seen = new Set<string>();
  for (const pendingLink of pending) {
    const l = { ...pendingLink, hierarchy: pendingLink.hierarchy || (partOfHierarchy as string) };
    const parent = parentOf(l);
    if (!parent) {
      job.errors.push({
        code: l.childCode,
        type: l.childType,
        severity: 'WARNING',
        message: `parent ${l.parentReference ?? l.parentCode} in hierarchy "${l.hierarchy}" was not imported; no parent set`,
      });
      continue;
    }
    const key = `${l.hierarchy}|${l.childType}|${l.childCode}`;
    if (seen.has(key)) continue;
    seen.add(key);
    links.push({
      hierarchy: l.hierarchy,
      childCode: l.childCode,
      childType: l.childType,
      parentCode: parent.code,
      parentType: parent.type,
      startDate: input.forDate,
    });
  }
  job.objectsImported = objects.size;
  const model: RegistryModel = { forDate: input.forDate, ...shape(objects, links, labels, hints), objects: [...objects.values()], links };
  // Nothing is written for a run that will end as a FAILURE.
  if (input.target && !nothingGotThrough(job)) {
    try {
      await writeImport(input.target, model, job);
    } catch (err) {
      return { job: finishJob(job, { message: (err as Error).message }) };
    }
  }
  const done = finishJob(job);
  return done.status === 'FAILURE' ? { job: done } : { job: done, model };
}
