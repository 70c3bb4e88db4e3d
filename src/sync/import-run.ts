// Run an import: search the FHIR server page by page (following its next links only), turn each resource
// into geo-objects through the transform, resolve parent references once every page is read, and build
// the registry model. Node-RED-free.
import type { Bundle, Location, Organization } from '@medplum/fhirtypes';
import type { FhirConnection } from '../fhir/connection.js';
import type { RetryPolicy } from '../fhir/retry.js';
import type { GeoObject, GeoObjectType, GeometryType, Hierarchy, ParentLink, RegistryModel, TypeNode } from '../registry/model.js';
import type { ImportLink, TransformContext, TransformResult } from '../mapping/fhir-to-registry.js';
import type { JobRecord } from './job.js';
import { describeFailure } from '../fhir/errors.js';
import { abortable } from '../fhir/connection.js';
import { DEFAULT_MAX_PAGES, Pager } from '../fhir/paging.js';
import { withRetries } from '../fhir/retry.js';
import { centroidOf } from '../mapping/geometry.js';
import { finishJob, newJob } from './job.js';
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
  pageSize: number;
  /** At most this many pages are read (a server whose next links never end is stopped). */
  maxPages: number;
  /** Hierarchy of links that come from partOf. */
  hierarchy: string;
}

export const DEFAULT_IMPORT_OPTIONS: Omit<ImportOptions, 'system'> = {
  resourceType: 'Location',
  includeOrganizations: true,
  searchParams: {},
  pageSize: 2000,
  maxPages: DEFAULT_MAX_PAGES,
  hierarchy: 'default',
};

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
}

export interface ImportResult {
  job: JobRecord;
  /** The imported registry, when the run was not a FAILURE. */
  model?: RegistryModel;
}

const GEOMETRY: Record<string, GeometryType> = {
  Point: 'POINT',
  MultiPoint: 'MULTIPOINT',
  Polygon: 'POLYGON',
  MultiPolygon: 'MULTIPOLYGON',
  LineString: 'LINE',
  MultiLineString: 'MULTILINE',
};

/** Types and each hierarchy's type tree, derived from what was imported. */
function shape(
  objects: Map<string, GeoObject>,
  links: ParentLink[],
  labels: Map<string, string>,
): { types: GeoObjectType[]; hierarchies: Hierarchy[] } {
  const types = new Map<string, GeoObjectType>();
  for (const o of objects.values()) {
    if (!types.has(o.type))
      types.set(o.type, {
        code: o.type,
        label: { default: o.type },
        geometryType: (o.geometry && GEOMETRY[o.geometry.type]) || 'MIXED',
        isAbstract: false,
      });
  }
  const edges = new Map<string, Map<string, Set<string>>>();
  for (const l of links) {
    const h = edges.get(l.hierarchy) ?? new Map<string, Set<string>>();
    edges.set(l.hierarchy, h);
    h.set(l.parentType, (h.get(l.parentType) ?? new Set()).add(l.childType));
  }
  const hierarchies = [...edges].map(([code, h]): Hierarchy => {
    const children = new Set([...h.values()].flatMap((s) => [...s]));
    const node = (type: string, path: string[]): TypeNode => ({
      type,
      children: [...(h.get(type) ?? [])].filter((c) => !path.includes(c)).map((c) => node(c, [...path, c])),
    });
    return {
      code,
      label: { default: labels.get(code) ?? code },
      tree: [...h.keys()].filter((t) => !children.has(t)).map((t) => node(t, [t])),
    };
  });
  return { types: [...types.values()], hierarchies };
}

export async function runImport(input: ImportRunInput): Promise<ImportResult> {
  const { options, connection, retry, signal } = input;
  const job = input.job ?? newJob('import');
  const call = (what: string, fn: Parameters<FhirConnection['call']>[1]) =>
    withRetries(() => connection.call(what, fn, signal) as Promise<Bundle>, retry, { signal });
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
  const ctx: TransformContext = { system: options.system, hierarchy: options.hierarchy };
  const objects = new Map<string, GeoObject>();
  /** `Location/<id>` and `Organization/<id>` -> the object it became. */
  const byReference = new Map<string, { code: string; type: string }>();
  const pending: ImportLink[] = [];
  const labels = new Map<string, string>();

  const take = async (resource: Location | Organization) => {
    job.resourcesRead++;
    const id = `${resource.resourceType}/${resource.id}`;
    try {
      const result = await input.transform(resource, ctx);
      if (!result) return;
      for (const o of result.objects) {
        if (o.geometry) await centroidOf(o.geometry); // refuses broken geometry with the defect named
        const key = `${o.type}|${o.code}`;
        const known = objects.get(key);
        // A Location and its Organization describe one object: the one read first (the Location of a
        // Location search) wins, the other only fills in a missing geometry.
        objects.set(key, known ? { ...o, ...known, geometry: known.geometry ?? o.geometry } : o);
      }
      if (result.objects[0]) byReference.set(id, { code: result.objects[0].code, type: result.objects[0].type });
      for (const l of result.links) {
        pending.push(l);
        if (l.hierarchyLabel) labels.set(l.hierarchy, l.hierarchyLabel);
      }
    } catch (err) {
      job.errors.push({ code: id, severity: 'ERROR', message: (err as Error).message, submitted: resource });
    }
  };

  const searchParams: Record<string, string | number> = { ...options.searchParams, _count: options.pageSize };
  if (options.includeOrganizations && options.resourceType === 'Location') searchParams._include = 'Location:organization';
  if (input.since) searchParams._lastUpdated = `gt${input.since}`;
  const pager = new Pager(connection.settings.url, options.maxPages);
  try {
    let page: Bundle | undefined = await call(`search ${options.resourceType}`, (c) =>
      c.search({ resourceType: options.resourceType, searchParams }),
    );
    while (page) {
      // Nothing is written for a cancelled run.
      if (signal?.aborted) return stopped();
      if (typeof page.total === 'number') job.workTotal = page.total;
      const resources = (page.entry ?? [])
        .map((e) => e.resource)
        .filter((r): r is Location | Organization => r?.resourceType === 'Location' || r?.resourceType === 'Organization');
      // GPR's order: a page's Locations, then the Organizations included with them.
      for (const r of resources.filter((x) => x.resourceType === 'Location')) await take(r);
      for (const r of resources.filter((x) => x.resourceType === 'Organization')) await take(r);
      job.workProgress += resources.filter((r) => r.resourceType === options.resourceType).length;
      input.onProgress?.(job);
      const current: Bundle = page;
      page = pager.next(current)
        ? await call(`next page of ${options.resourceType}`, (c) => c.nextPage({ bundle: current as never }) as Promise<unknown>)
        : undefined;
    }
  } catch (err) {
    if (signal?.aborted) return stopped();
    return { job: finishJob(job, { message: describeFailure(err) }) };
  }

  const links: ParentLink[] = [];
  const seen = new Set<string>();
  for (const l of pending) {
    const parent = l.parentReference
      ? byReference.get(l.parentReference)
      : l.parentCode && l.parentType
        ? { code: l.parentCode, type: l.parentType }
        : undefined;
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
  const model: RegistryModel = { forDate: input.forDate, ...shape(objects, links, labels), objects: [...objects.values()], links };
  const done = finishJob(job);
  return done.status === 'FAILURE' ? { job: done } : { job: done, model };
}
