// How the gateway's own lookups (assignments, app configs) reach the backend FHIR server: through an injected
// LookupBackend (backend.ts's Backend is one), so they can run against any server in tests.
import type { Bundle, Resource, ResourceType } from '@medplum/fhirtypes';
import { FHIR_ID } from '../../fhir/ids.js';

export interface LookupBackend {
  /** One page of `GET <base>/<type>?<params>` (repeated names = several values); follows no links. */
  search(type: string, params: Record<string, string[]>): Promise<Bundle>;
  /** A further page, by the absolute URL of a Bundle's `next` link. */
  page(url: string): Promise<Bundle>;
  /** `GET <base>/<type>/<id>`; rejects when the resource cannot be read (404 included). */
  read(type: string, id: string): Promise<Resource>;
}

/** The resources of type `type` that every page of the search matches (included resources are left out). */
export async function searchAll<T extends Resource>(
  backend: LookupBackend,
  type: T['resourceType'],
  params: Record<string, string[]>,
): Promise<T[]> {
  const found: T[] = [];
  const followed = new Set<string>();
  let bundle: Bundle | undefined = await backend.search(type, params);
  while (bundle) {
    for (const entry of bundle.entry ?? []) {
      if (entry.resource?.resourceType === type && entry.search?.mode !== 'include') found.push(entry.resource as T);
    }
    const next: string | undefined = bundle.link?.find((l) => l.relation === 'next')?.url;
    // A server whose next link leads back to a page already read would otherwise keep this loop going forever.
    if (next && followed.has(next)) throw new Error(`the ${type} search pages loop back to ${next}`);
    if (next) followed.add(next);
    bundle = next ? await backend.page(next) : undefined;
  }
  return found;
}

/** `Type/id` at the end of a reference, optionally with its version. */
const REFERENCE = new RegExp(`(?:^|/)([A-Za-z]+)/(${FHIR_ID.source.slice(1, -1)})(?:/_history/[^/]+)?$`);

/** The id a relative reference such as `Location/L1` (or an absolute URL ending so) points at, for `type`. */
export function referencedId(reference: string | undefined, type: ResourceType): string | undefined {
  const m = REFERENCE.exec(reference ?? '');
  return m && m[1] === type ? m[2] : undefined;
}
