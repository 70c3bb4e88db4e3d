// List expansion (`GET List/<id>?mode=list-entries`, or the deprecated header `FHIR-Gateway-Mode: list-entries`):
// the items a List references, read in one backend batch, one page (`_page`, `_count`) at a time, answered as a
// searchset whose paging links the gateway builds. What the caller may see of the items is decided by the caller.
import type { Bundle, BundleEntry, BundleLink, List, Resource } from '@medplum/fhirtypes';
import { GatewayDenial, invalid } from '../http/denial.js';
import { rolesFor } from '../auth/roles.js';
import type { ParsedRequest } from '../http/request.js';
import { param, parsePath } from '../http/request.js';
import type { Scope } from '../assignment/scope.js';
import { inScope } from '../assignment/scope.js';
import type { SyncFilterIgnoreEntry } from '../access/sync-ignore.js';
import { skipsDataFiltering } from '../access/sync-ignore.js';
import { isJsonObject } from '../../json/object.js';

const LIST_ENTRIES = 'list-entries';
const MODE_HEADER = 'fhir-gateway-mode';
const DEFAULT_COUNT = 20;
/** Items read per page at most, so that one request cannot make the backend read a whole List at once. */
const MAX_COUNT = 100;

export interface ListPage {
  listId: string;
  page: number;
  count: number;
}

/** A paging parameter (`_page`, `_count`): one positive integer, or `fallback` when absent; else 400. */
export function positiveParam(query: Record<string, string[]>, name: string, fallback: number): number {
  const values = param(query, name);
  if (values === undefined) return fallback;
  if (values.length !== 1 || !/^[1-9]\d{0,5}$/.test(values[0])) throw invalid(`${name} must be one positive integer`);
  return Number(values[0]);
}

/** The self, next and previous links of page `page` of `items` split in pages of `count`, each page's URL by `url`. */
export function pageLinks(url: (page: number) => string, page: number, count: number, items: number): BundleLink[] {
  const link: BundleLink[] = [{ relation: 'self', url: url(page) }];
  if (page * count < items) link.push({ relation: 'next', url: url(page + 1) });
  if (page > 1) link.push({ relation: 'previous', url: url(page - 1) });
  return link;
}

/**
 * The page of a List expansion the request asks for, or undefined when it asks for none. 400 for a mode the
 * gateway does not know on a List read (the header: anywhere), and for an expansion of anything but one List.
 */
export function listEntriesRequest(req: ParsedRequest): ListPage | undefined {
  if (req.method !== 'GET') return undefined;
  const { parsed } = req;
  const isListRead = parsed.type === 'List' && parsed.id !== undefined && !parsed.history && !parsed.compartmentType && !parsed.operation;
  const header = Object.entries(req.headers).find(([name]) => name.toLowerCase() === MODE_HEADER)?.[1];
  // `mode` is a parameter of the gateway on List reads only; elsewhere it is the client's to send to the backend.
  const modeParam = isListRead ? param(req.query, 'mode') : undefined;
  if (modeParam === undefined && header === undefined) return undefined;
  const modes = [...(modeParam ?? []), ...(header === undefined ? [] : [header.trim()])];
  const unknown = modes.find((m) => m !== LIST_ENTRIES);
  if (unknown !== undefined) throw invalid(`un-recognized value '${unknown}' of mode`);
  if (!isListRead) throw new GatewayDenial(400, 'not-supported', `${LIST_ENTRIES} expands one List read by id`);
  return {
    listId: parsed.id as string,
    page: positiveParam(req.query, '_page', 1),
    count: Math.min(positiveParam(req.query, '_count', DEFAULT_COUNT), MAX_COUNT),
  };
}

/** The List's item references that name one resource (`Type/id`, or its version), relative to the base given. */
export function itemReferences(list: List, bases: string[]): string[] {
  const references: string[] = [];
  for (const entry of list.entry ?? []) {
    let reference = entry.item?.reference;
    if (typeof reference !== 'string') continue;
    const base = bases.find((b) => reference?.startsWith(`${b.replace(/\/+$/, '')}/`));
    if (base) reference = reference.slice(base.replace(/\/+$/, '').length + 1);
    try {
      const p = parsePath(reference);
      const read = p.type && p.id && !p.compartmentType && !p.operation && !p.search && (!p.history || p.versionId);
      // Contained ('#x'), other servers' and search references name nothing the backend can read here.
      if (read && !/[?#:]/.test(reference)) references.push(reference);
    } catch {
      continue;
    }
  }
  return references;
}

/** Whether the roles let the caller read what a reference names (an expansion is no way around the role check). */
export function readableByRoles(reference: string, roles: readonly string[]): boolean {
  return rolesFor('GET', parsePath(reference).type ?? '').some((role) => roles.includes(role));
}

/** Whether a filtered caller may see an item: within the scope, or a sync-config resource of the ignore list. */
export function visibleItem(resource: Resource, scope: Scope, ignore: readonly SyncFilterIgnoreEntry[]): boolean {
  if (inScope(resource, scope)) return true;
  return skipsDataFiltering({ method: 'GET', path: resource.resourceType, query: { _id: [resource.id ?? ''] } }, ignore);
}

/** The batch reading one page of references. */
export function itemBatch(references: string[]): Bundle {
  return { resourceType: 'Bundle', type: 'batch', entry: references.map((url) => ({ request: { method: 'GET', url } })) };
}

/** The resources a batch-response brings (failed reads left out); 502 for an answer that is not one. */
export function batchResources(value: unknown, expected: number): Resource[] {
  const bundle = value as Bundle;
  if (
    !isJsonObject(value) ||
    bundle.resourceType !== 'Bundle' ||
    bundle.type !== 'batch-response' ||
    (bundle.entry ?? []).length !== expected
  ) {
    throw new GatewayDenial(
      502,
      'exception',
      `the backend did not answer the ${LIST_ENTRIES} batch with a batch-response of ${expected} entries`,
    );
  }
  return (bundle.entry ?? [])
    .filter((e: BundleEntry | null) => /^2/.test(e?.response?.status ?? '') && isJsonObject(e?.resource))
    .map((e) => e?.resource as Resource)
    .filter((r) => r.resourceType !== 'OperationOutcome');
}

/** The searchset of one page: `total` counts every item of the List; self/next/previous under the public base. */
/**
 * One page of a List's items as a searchset. `total` counts what the caller may see: every item for an unfiltered
 * caller; for a filtered one the items shown, when this page holds the whole List, and else none (the List's own
 * count would include items hidden from it).
 */
export function listEntriesBundle(page: ListPage, items: number, resources: Resource[], publicBase: string, filtered: boolean): Bundle {
  const base = publicBase.replace(/\/+$/, '');
  const link = pageLinks(
    (p) => `${base}/List/${page.listId}?mode=${LIST_ENTRIES}&_count=${page.count}&_page=${p}`,
    page.page,
    page.count,
    items,
  );
  const entry: BundleEntry[] = resources.map((resource) => ({
    fullUrl: `${base}/${resource.resourceType}/${resource.id ?? ''}`,
    resource,
    search: { mode: 'match' },
  }));
  const whole = page.page === 1 && items <= page.count;
  const total = filtered ? (whole ? resources.length : undefined) : items;
  return { resourceType: 'Bundle', type: 'searchset', ...(total !== undefined && { total }), link, ...(entry.length && { entry }) };
}
