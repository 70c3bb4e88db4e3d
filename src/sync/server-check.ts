// Asking the FHIR server what it holds, instead of trusting earlier answers: which objects it holds by
// the System's identifier, and which of the resource ids an export wrote or referred to are gone.
// Node-RED-free.
import type { Bundle } from '@medplum/fhirtypes';
import type { FhirClient } from '../fhir/connection.js';
import type { ExportedType } from './bundles.js';
import { identifierToken } from '../fhir/search-value.js';

/** A FHIR call, with whatever retries and signal the caller chooses. */
export type Call = <T>(what: string, fn: (client: FhirClient) => Promise<unknown>) => Promise<T>;

/** Values per GET search, short enough URLs for every server; and ids per page read by id, a page every server answers whole. */
const GROUP = 50;

function groups<T>(items: T[], size = GROUP): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** Of `codes`, those whose Organization and Location with the System's identifier the server holds. */
export async function heldCodes(call: Call, system: string, codes: string[]): Promise<Set<string>> {
  const found = new Map<string, number>();
  for (const group of groups(codes)) {
    for (const type of ['Organization', 'Location'] as const) {
      const bundle = await call<Bundle>(`search ${group.length} ${type}s by identifier`, (c) =>
        c.search({
          resourceType: type,
          searchParams: {
            identifier: group.map((code) => identifierToken(system, code)).join(','),
            _count: 2 * group.length,
            _elements: 'identifier',
          },
        }),
      );
      const codes = new Set<string>();
      for (const e of bundle.entry ?? []) {
        const value = (e.resource as { identifier?: { system?: string; value?: string }[] } | undefined)?.identifier?.find(
          (i) => i.system === system,
        )?.value;
        if (value) codes.add(value);
      }
      for (const code of codes) found.set(code, (found.get(code) ?? 0) + 1);
    }
  }
  return new Set([...found].filter(([, n]) => n === 2).map(([code]) => code));
}

/** Ids per count: a form-encoded POST `_search`, whose body no URL limit applies to. */
const COUNTED = 1000;

/**
 * Of the resource ids `ids` of `type`, those the server no longer holds: counted in large groups, a group
 * short of some counted again in halves, down to groups small enough to read in one page.
 */
export async function missingIds(call: Call, type: ExportedType, ids: string[]): Promise<Set<string>> {
  const missing = new Set<string>();
  const search = (group: string[], params: Record<string, string | number>) =>
    call<Bundle>(`${params._summary ? 'count' : 'read'} ${group.length} ${type}s by id`, (c) =>
      c.search({ resourceType: type, searchParams: { _id: group.join(','), ...params }, options: { postSearch: true } }),
    );
  const check = async (group: string[]): Promise<void> => {
    const total = (await search(group, { _summary: 'count' })).total ?? 0;
    if (total >= group.length) return;
    if (total === 0) {
      for (const id of group) missing.add(id);
    } else if (group.length > GROUP) {
      const half = Math.ceil(group.length / 2);
      await check(group.slice(0, half));
      await check(group.slice(half));
    } else {
      // Some are gone: which ones.
      const page = await search(group, { _count: group.length, _elements: 'id' });
      const held = new Set((page.entry ?? []).map((e) => e.resource?.id));
      for (const id of group) if (!held.has(id)) missing.add(id);
    }
  };
  for (const group of groups(ids, COUNTED)) await check(group);
  return missing;
}
