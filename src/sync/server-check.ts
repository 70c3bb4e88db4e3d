// Asking the FHIR server what it holds, instead of trusting earlier answers: which objects it holds by
// the System's identifier, and which of the resource ids an export wrote or referred to are gone.
// Node-RED-free.
import type { Bundle } from '@medplum/fhirtypes';
import type { FhirClient, FhirConnection } from '../fhir/connection.js';
import type { ExportedType } from './bundles.js';
import { identifierToken } from '../fhir/search-value.js';

/** A FHIR call, with whatever retries and signal the caller chooses. */
export type Call = <T>(what: string, fn: (client: FhirClient) => Promise<unknown>) => Promise<T>;

/** One search of the checks below, as a form-encoded POST `_search` (no URL limit applies to its body). */
export type Search = (what: string, type: ExportedType, params: Record<string, string | number>) => Promise<Bundle>;

/** The checks' searches on `connection`, each one of `call`'s (its retries and signal). */
export function searchesOn(connection: FhirConnection, call: Call): Search {
  return (what, type, params) => call<Bundle>(what, () => connection.searchByPost<Bundle>(type, params));
}

/** Ids per page read by id: a page every server answers whole. */
const GROUP = 50;

function groups<T>(items: T[], size = GROUP): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** Whether the server put the rest of its answer on further pages. */
function hasNext(page: Bundle): boolean {
  return page.link?.some((l) => l.relation === 'next') ?? false;
}

/**
 * Codes per identifier search at first, in a form-encoded POST `_search` (no URL limit applies to its body). A
 * server whose pages are smaller is asked again in groups of its page size, for the rest of the check.
 */
const HELD_GROUP = 500;

/**
 * One search of `type` by the System's identifier for `group`: the codes it holds, and the page's entry count
 * when the answer runs to more than one page (the server's page size, or codes held by several resources).
 */
async function identifierSearch(
  search: Search,
  type: ExportedType,
  system: string,
  group: string[],
): Promise<{ held: Set<string>; pageSize?: number }> {
  const bundle = await search(`search ${group.length} ${type}s by identifier`, type, {
    identifier: group.map((code) => identifierToken(system, code)).join(','),
    _count: group.length,
    _elements: 'identifier',
  });
  const held = new Set<string>();
  for (const e of bundle.entry ?? []) {
    const value = (e.resource as { identifier?: { system?: string; value?: string }[] } | undefined)?.identifier?.find(
      (i) => i.system === system,
    )?.value;
    if (value) held.add(value);
  }
  return hasNext(bundle) ? { held, pageSize: bundle.entry?.length ?? 0 } : { held };
}

/** Of `codes`, those whose Organization and Location with the System's identifier the server holds. */
export async function heldCodes(search: Search, system: string, codes: string[]): Promise<Set<string>> {
  const found = new Map<string, number>();
  let size = HELD_GROUP;
  for (const type of ['Organization', 'Location'] as const) {
    for (let i = 0; i < codes.length;) {
      const group = codes.slice(i, i + size);
      const { held, pageSize } = await identifierSearch(search, type, system, group);
      if (pageSize !== undefined && group.length > 1) {
        // Not answered whole: asked again in groups that fit a page (its size when the server capped the count,
        // else half the group), so that no code is missed and no next link, which may repeat the codes, is needed.
        size = Math.max(1, pageSize < group.length ? pageSize : Math.floor(group.length / 2));
        continue;
      }
      for (const code of held) found.set(code, (found.get(code) ?? 0) + 1);
      i += group.length;
    }
  }
  return new Set([...found].filter(([, n]) => n === 2).map(([code]) => code));
}

/** Ids per count: a form-encoded POST `_search`, whose body no URL limit applies to. */
const COUNTED = 1000;

/**
 * Of the resource ids `ids` of `type`, those the server no longer holds: counted in large groups, a group
 * short of some counted again in halves, down to groups small enough to read in one page (halved further while
 * the server's pages are smaller than the group).
 */
export async function missingIds(search: Search, type: ExportedType, ids: string[]): Promise<Set<string>> {
  const missing = new Set<string>();
  const byId = (group: string[], params: Record<string, string | number>) =>
    search(`${params._summary ? 'count' : 'read'} ${group.length} ${type}s by id`, type, { _id: group.join(','), ...params });
  const check = async (group: string[]): Promise<void> => {
    const total = (await byId(group, { _summary: 'count' })).total ?? 0;
    if (total >= group.length) return;
    if (total === 0) {
      for (const id of group) missing.add(id);
      return;
    }
    if (group.length <= GROUP) {
      // Some are gone: which ones, unless the server's pages are smaller than the group (a next link).
      const page = await byId(group, { _count: group.length, _elements: 'id' });
      if (!hasNext(page)) {
        const held = new Set((page.entry ?? []).map((e) => e.resource?.id));
        for (const id of group) if (!held.has(id)) missing.add(id);
        return;
      }
    }
    const half = Math.ceil(group.length / 2);
    await check(group.slice(0, half));
    await check(group.slice(half));
  };
  for (const group of groups(ids, COUNTED)) await check(group);
  return missing;
}
