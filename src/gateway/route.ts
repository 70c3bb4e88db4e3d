// What the gateway decided for a request, as a value: where the request goes and how its answer is processed.
// Gateway.authorize makes it (every check, and the lookups they need); execute.ts carries it out.
import type { Confinement } from './access/confine.js';
import type { Scope } from './assignment/scope.js';
import type { GatewayDenial } from './http/denial.js';
import type { ParsedRequest } from './http/request.js';
import type { ListPage } from './opensrp/list-entries.js';

/** The resource types a search returns, whose roles a link continuing it needs; undefined for anything but a search. */
export type SearchedTypes = string[] | undefined;

/**
 * How an answer is post-processed: checked against the scope (one confinement, or one per Bundle entry with its
 * scope) and its paging links bound to their user.
 */
export interface Processing {
  confinement?: Confinement | Confinement[];
  scope?: Scope | Scope[];
  /** The user paging links are bound to; none for unauthenticated requests. */
  holder?: string;
  /** The resource types of the search the answer pages (one per entry of a batch answer); none: no link is signed. */
  search?: SearchedTypes | SearchedTypes[];
}

export type Route =
  /** The backend's CapabilityStatement, declared as served behind OAuth. */
  | { kind: 'metadata'; request: ParsedRequest }
  /** The issuer's discovery document. */
  | { kind: 'smart-configuration' }
  /** The request to the backend (as a form search when `searchByPost`), its answer processed. */
  | {
      kind: 'relay';
      request: ParsedRequest;
      processing: Processing;
      searchByPost?: { type: string; params: Record<string, string[]> };
      /** A filtered writer's scope: the lineage of a Location it writes names only the Locations within it. */
      writer?: Scope;
      /** A batch's entries the gateway answers itself (left out of what is sent), by their index in the client's Bundle. */
      denied?: Map<number, GatewayDenial>;
    }
  /** An answer the gateway made itself from its lookups (URLs in it rewritten on the way out). */
  | { kind: 'answer'; value: unknown }
  /** One page of a List's items: the List read as `read` says (confined for filtered users), then its items. */
  | { kind: 'list'; read: ParsedRequest; confinement?: Confinement; page: ListPage; roles: string[]; scope?: Scope; holder: string };

/** The types a forwarded request searches (type, compartment and history searches), else undefined. */
export function searchedTypes(req: ParsedRequest): SearchedTypes {
  const { parsed } = req;
  if (!(req.method === 'GET' || (req.method === 'POST' && parsed.search)) || parsed.operation || parsed.type === undefined)
    return undefined;
  if (parsed.id !== undefined && !parsed.compartmentType && !(parsed.history && parsed.versionId === undefined)) return undefined;
  return parsed.compartmentType ? [parsed.type, parsed.compartmentType] : [parsed.type];
}
