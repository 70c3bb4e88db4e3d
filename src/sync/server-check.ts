// Asking the FHIR server what it holds, instead of trusting earlier answers: which objects it holds by
// the System's identifier, and which of the resource ids an export wrote or referred to are gone.
// Node-RED-free.
import type { Bundle } from '@medplum/fhirtypes';
import type { FhirClient } from '../fhir/connection.js';
import type { ExportedType } from './bundles.js';
import { identifierToken } from '../fhir/search-value.js';

/** A FHIR call, with whatever retries and signal the caller chooses. */
export type Call = <T>(what: string, fn: (client: FhirClient) => Promise<unknown>) => Promise<T>;

/** Values per search: short enough URLs for every server. */
const GROUP = 50;

function groups<T>(items: T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += GROUP) out.push(items.slice(i, i + GROUP));
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

/** Of the references `<Type>/<id>`, those the server no longer holds. */
export async function missingReferences(call: Call, references: Iterable<string>): Promise<Set<string>> {
  const byType = new Map<ExportedType, string[]>();
  for (const ref of new Set(references)) {
    const [type, id] = ref.split('/') as [ExportedType, string];
    const ids = byType.get(type);
    if (ids) ids.push(id);
    else byType.set(type, [id]);
  }
  const missing = new Set<string>();
  for (const [type, ids] of byType) {
    for (const group of groups(ids)) {
      const _id = group.join(',');
      const count = await call<Bundle>(`count ${group.length} ${type}s by id`, (c) =>
        c.search({ resourceType: type, searchParams: { _id, _summary: 'count' } }),
      );
      if ((count.total ?? 0) >= group.length) continue;
      // Some are gone: which ones.
      const page = await call<Bundle>(`read ${group.length} ${type}s by id`, (c) =>
        c.search({ resourceType: type, searchParams: { _id, _count: group.length, _elements: 'id' } }),
      );
      const held = new Set((page.entry ?? []).map((e) => e.resource?.id));
      for (const id of group) if (!held.has(id)) missing.add(`${type}/${id}`);
    }
  }
  return missing;
}
