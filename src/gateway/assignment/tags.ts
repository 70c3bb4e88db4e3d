// The OpenSRP data-access tags: which `meta.tag` system each sync strategy filters on, the `_tag` search value
// that restricts a search to an assignment, and the checks of resources (read back or written) against it.
// Practitioner is the project's addition: fhircore writes the author's practitioner tag, which the reference never
// filters on.
import type { Coding, Resource } from '@medplum/fhirtypes';
import { escapeSearchValue } from '../../fhir/search-value.js';

const SYNC_STRATEGIES = ['Location', 'Organization', 'CareTeam', 'Practitioner', 'RelatedEntityLocation'] as const;
export type SyncStrategy = (typeof SYNC_STRATEGIES)[number];

export interface TagSystems {
  Location: string;
  Organization: string;
  CareTeam: string;
  Practitioner: string;
  RelatedEntityLocation: string;
  /** Filtered alongside RelatedEntityLocation, for the same ids. */
  LocationLineage: string;
}

export const DEFAULT_TAG_SYSTEMS: TagSystems = {
  Location: 'https://smartregister.org/location-tag-id',
  Organization: 'https://smartregister.org/organisation-tag-id',
  CareTeam: 'https://smartregister.org/care-team-tag-id',
  Practitioner: 'https://smartregister.org/practitioner-tag-id',
  RelatedEntityLocation: 'https://smartregister.org/related-entity-location-tag-id',
  LocationLineage: 'http://smartregister.org/CodeSystem/location-lineage',
};

/** The canonical strategy for a name in any letter case (app configs write 'location' too), else undefined. */
export function canonicalStrategy(name: string): SyncStrategy | undefined {
  return SYNC_STRATEGIES.find((s) => s.toLowerCase() === name.toLowerCase());
}

/** The systems a strategy filters on: one, or for RelatedEntityLocation its own and the lineage system. */
function filterSystems(strategy: SyncStrategy, systems: TagSystems = DEFAULT_TAG_SYSTEMS): string[] {
  return strategy === 'RelatedEntityLocation' ? [systems.RelatedEntityLocation, systems.LocationLineage] : [systems[strategy]];
}

// Lineage tags name every ancestor of a resource's location, most of which lie outside an assignment, so
// writes are checked against the strategy's own system only.
const writeSystem = (strategy: SyncStrategy, systems: TagSystems) => systems[strategy];

/**
 * The `_tag` value restricting a search to the ids, as one comma-separated (OR'ed) value:
 * `<system>|<id>` for each id and each filter system.
 */
export function tagParam(strategy: SyncStrategy, ids: readonly string[], systems: TagSystems = DEFAULT_TAG_SYSTEMS): string {
  const filter = filterSystems(strategy, systems);
  return ids.flatMap((id) => filter.map((system) => `${system}|${escapeSearchValue(id)}`)).join(',');
}

const tagsOf = (resource: Resource): Coding[] => resource.meta?.tag ?? [];

/** True iff the resource has at least one tag of a filter system whose code is an assigned id. */
export function withinAssignment(
  resource: Resource,
  strategy: SyncStrategy,
  ids: readonly string[],
  systems: TagSystems = DEFAULT_TAG_SYSTEMS,
): boolean {
  const filter = filterSystems(strategy, systems);
  return tagsOf(resource).some((t) => filter.includes(t.system ?? '') && ids.includes(t.code ?? ''));
}

/** True iff a resource to be written carries an assigned tag of the strategy's system and no other tag of it. */
export function writeTagsAllowed(
  resource: Resource,
  strategy: SyncStrategy,
  ids: readonly string[],
  systems: TagSystems = DEFAULT_TAG_SYSTEMS,
): boolean {
  const system = writeSystem(strategy, systems);
  const codes = tagsOf(resource)
    .filter((t) => t.system === system)
    .map((t) => t.code ?? '');
  return codes.length > 0 && codes.every((code) => ids.includes(code));
}

/**
 * A copy of the resource whose tags of the strategy's system lie within the assignment: tags outside it are
 * dropped, and when no assigned one is left the first assigned id (the directly assigned one, before any
 * descendants) is added. Tags of other systems are kept.
 */
export function withAssignmentTags<T extends Resource>(
  resource: T,
  strategy: SyncStrategy,
  ids: readonly string[],
  systems: TagSystems = DEFAULT_TAG_SYSTEMS,
): T {
  if (!ids.length) throw new Error('withAssignmentTags needs at least one assigned id');
  const system = writeSystem(strategy, systems);
  const tags = tagsOf(resource).filter((t) => t.system !== system || ids.includes(t.code ?? ''));
  if (!tags.some((t) => t.system === system)) tags.push({ system, code: ids[0] });
  return { ...resource, meta: { ...resource.meta, tag: tags } };
}
