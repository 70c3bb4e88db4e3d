// A filtered user's data scope: the sync strategy, the assigned ids and the tag systems they are matched in.
import type { Resource } from '@medplum/fhirtypes';
import type { SyncStrategy, TagSystems } from './tags.js';
import { withinAssignment } from './tags.js';

export interface Scope {
  strategy: SyncStrategy;
  ids: string[];
  systems: TagSystems;
}

/** True iff the resource carries a tag of the scope (filter systems, assigned id). */
export function inScope(resource: Resource, scope: Scope): boolean {
  return withinAssignment(resource, scope.strategy, scope.ids, scope.systems);
}

/** What a filtered user reads (its assignment, or the Locations it chose to sync) and what it writes (always its assignment). */
export interface Scopes {
  read: Scope;
  write: Scope;
}
