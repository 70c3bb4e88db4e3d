// onRemoved = inactivate: resources carrying the System's identifier whose object no longer exists are
// set `Location.status = inactive` / `Organization.active = false` (GPR leaves them as they were). Finding
// them only reads, so Preview changes lists them the same way. Node-RED-free.
import type { Bundle, BundleEntry, Location, Organization } from '@medplum/fhirtypes';
import type { FhirClient } from '../fhir/connection.js';
import type { ErrorRow } from './job.js';
import { identifierToken } from '../fhir/search-value.js';
import { Pager, followPages } from '../fhir/paging.js';

export interface RemovedInput {
  system: string;
  /** Codes of the objects that exist: every other code found on the server is of a removed object. */
  existing: Set<string>;
  /** The FHIR base: next links elsewhere are not followed. */
  base: string;
  /** A FHIR call with the run's retries. */
  call<T>(what: string, fn: (client: FhirClient) => Promise<unknown>): Promise<T>;
}

export interface InactivateInput extends RemovedInput {
  chunkSize: number;
}

type Exported = Organization | Location;

export function codeOf(resource: Exported, system: string): string | undefined {
  return resource.identifier?.find((i) => i.system === system)?.value;
}

/** Every resource of `type` with an identifier in `system`, following the server's next links. */
async function* withSystem(input: RemovedInput, type: 'Organization' | 'Location'): AsyncGenerator<Exported> {
  const first = await input.call<Bundle>(`search ${type} by ${input.system}`, (c) =>
    c.search({ resourceType: type, searchParams: { identifier: identifierToken(input.system, ''), _count: 500 } }),
  );
  const next = (page: Bundle) =>
    input.call<Bundle>(`next page of ${type}`, (c) => c.nextPage({ bundle: page as never }) as Promise<unknown>);
  for await (const page of followPages(first, new Pager(input.base), next))
    for (const e of page.entry ?? []) if (e.resource) yield e.resource as Exported;
}

/** The resources of removed objects that are not inactive yet, as they are once set inactive; reads only. */
export async function activeRemoved(input: RemovedInput): Promise<Exported[]> {
  const changed: Exported[] = [];
  for (const type of ['Organization', 'Location'] as const) {
    for await (const r of withSystem(input, type)) {
      const code = codeOf(r, input.system);
      if (!code || input.existing.has(code)) continue;
      if (r.resourceType === 'Location' && r.status !== 'inactive') changed.push({ ...r, status: 'inactive' });
      if (r.resourceType === 'Organization' && r.active !== false) changed.push({ ...r, active: false });
    }
  }
  return changed;
}

/** Inactivate removed objects' resources; returns how many were changed, and rows for those refused. */
export async function inactivateRemoved(input: InactivateInput): Promise<{ inactivated: number; rows: ErrorRow[] }> {
  const changed = await activeRemoved(input);
  const rows: ErrorRow[] = [];
  let inactivated = 0;
  for (let i = 0; i < changed.length; i += input.chunkSize) {
    const slice = changed.slice(i, i + input.chunkSize);
    const entry: BundleEntry<Exported>[] = slice.map((r) => ({
      resource: r,
      request: { method: 'PUT', url: `${r.resourceType}/${r.id}` },
    }));
    try {
      await input.call(`inactivate ${slice.length} resources`, (c) =>
        c.transaction({ body: { resourceType: 'Bundle', type: 'transaction', entry } }),
      );
      inactivated += slice.length;
    } catch (err) {
      for (const r of slice)
        rows.push({
          code: codeOf(r, input.system) ?? String(r.id),
          severity: 'ERROR',
          message: `could not inactivate ${r.resourceType}/${r.id}: ${(err as Error).message}`,
          submitted: r,
        });
    }
  }
  return { inactivated, rows };
}
