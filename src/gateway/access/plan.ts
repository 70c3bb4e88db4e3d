// Data Access Checker for filtered users: how one request is kept within the user's scope. Searches (by type, by
// POST `_search`, in a compartment) get the `_tag` mutation; reads, history and includes are post-filtered; writes
// are checked (body tags, and the existing resource they change); operations are refused unless allowed. The
// sync-filter ignore list lets configuration resources through unfiltered.
import type { Confinement } from './confine.js';
import { GatewayDenial } from '../http/denial.js';
import { FHIR_JSON } from '../http/answer.js';
import type { ParsedPath, ParsedRequest } from '../http/request.js';
import { atPath, emptyQuery, param, searchQuery, withoutParams } from '../http/request.js';
import type { Scope, Scopes } from '../assignment/scope.js';
import { checkSearchSafety, isIncludeParam } from './search-safety.js';
import type { SyncFilterIgnoreEntry } from './sync-ignore.js';
import { skipsDataFiltering } from './sync-ignore.js';
import { tagParam } from '../assignment/tags.js';
import type { Operation } from 'fast-json-patch';
import { checkedWriteBody, jsonPatchOf } from './write-checks.js';

export interface DataAccessSettings {
  syncFilterIgnore: SyncFilterIgnoreEntry[];
  allowedOperations: string[];
  allowedSearchParams: string[];
  writeTags: 'reject' | 'rewrite';
}

export interface AccessPlan {
  /** The request to send: the client's, with the `_tag` mutation, a rewritten body or JSON asked for. */
  request: ParsedRequest;
  /** The scope the request was planned in: what its answer is confined to and its target checked against. */
  scope: Scope;
  /** A PATCH's JSON Patch: applied by the gateway to the checked target, and the result sent as a PUT. */
  patch?: Operation[];
  /** Send the search as `POST <type>/_search` with these parameters as a form body. */
  searchByPost?: { type: string; params: Record<string, string[]> };
  /** The existing resource the request changes or operates on: it must lie within the scope (absent: nothing to check). */
  target?: { type: string; id: string };
  confinement: Confinement;
  /** Parameters the gateway set, replacing the client's. */
  mutation?: Record<string, string[]>;
  reason: string;
}

/** Client parameters the `_tag` mutation replaces or drops: the client's own tag choice and OpenSRP's lineage selector. */
const REPLACED = ['_tag', 'filter_mode_lineage'];
const NONE: Confinement = { kind: 'none' };
const ANY: Confinement = { kind: 'any' };

function notSupported(message: string): GatewayDenial {
  return new GatewayDenial(400, 'not-supported', message);
}

/** The request asking the backend for JSON, the only format the post-filters read. */
function asJson(req: ParsedRequest): ParsedRequest {
  const query = withoutParams(req.query, (name) => name === '_format');
  return { ...req, query, headers: { ...req.headers, accept: FHIR_JSON } };
}

type Plan = Omit<AccessPlan, 'scope'>;

function readPlan(req: ParsedRequest, scope: Scope, settings: DataAccessSettings): Plan {
  const { parsed } = req;
  const byPost = req.method === 'POST';
  const query = byPost ? searchQuery(req.query, req.body) : req.query;
  const { type, id } = parsed;
  const plainRead = id !== undefined && !parsed.history && !parsed.compartmentType;
  // The ignore list names searches; a search by POST and a plain read by id are the searches they stand for.
  const asSearch = {
    method: 'GET',
    path: byPost || plainRead ? (type ?? '') : req.path,
    query: plainRead ? emptyQuery([...Object.entries(query), ['_id', [id]]]) : query,
  };
  const { includes } = checkSearchSafety(query, settings.allowedSearchParams);
  if (skipsDataFiltering(asSearch, settings.syncFilterIgnore)) {
    // Only the configuration resources themselves pass unfiltered: what such a search includes is still confined.
    if (!includes.length) return { request: req, confinement: NONE, reason: 'sync-filter ignore list' };
    if (plainRead) {
      // A read includes nothing: the parameters go, so no backend can answer with more than the resource.
      const query = withoutParams(req.query, isIncludeParam);
      return { request: { ...req, query }, confinement: NONE, reason: 'sync-filter ignore list' };
    }
    return {
      request: asJson(req),
      confinement: { kind: 'bundle', entries: 'included' },
      reason: 'sync-filter ignore list, includes filtered by assignment',
    };
  }
  const get: ParsedRequest = { ...req, method: 'GET' };

  if (id !== undefined && !parsed.compartmentType) {
    if (parsed.history && parsed.versionId === undefined) {
      // Checked like the read of the resource first: an empty history of a resource outside would tell that it exists.
      return {
        request: asJson(get),
        target: { type: type ?? '', id },
        confinement: { kind: 'history', of: `${type ?? ''}/${id}` },
        reason: 'instance history filtered by assignment',
      };
    }
    return { request: asJson(get), confinement: { kind: 'resource', type: type ?? '' }, reason: 'read checked against the assignment' };
  }
  if (parsed.history || type === undefined) {
    return { request: asJson(get), confinement: { kind: 'bundle', entries: 'all' }, reason: 'history filtered by assignment' };
  }

  const mutation = { _tag: [tagParam(scope.strategy, scope.ids, scope.systems)] };
  const params = withoutParams(query, (name) => REPLACED.includes(name));
  Object.assign(params, mutation);
  const confinement: Confinement = includes.length ? { kind: 'bundle', entries: 'included' } : NONE;
  const search: ParsedRequest = { ...atPath(get, parsed.compartmentType ? req.path : type), query: params, body: undefined };
  const request = confinement.kind === 'none' ? search : asJson(search);
  // RelatedEntityLocation lists every id twice: the form body keeps such lists out of the URL and the paging the backend's.
  const byForm = !parsed.compartmentType && (byPost || scope.strategy === 'RelatedEntityLocation');
  return {
    request,
    ...(byForm && { searchByPost: { type, params: request.query } }),
    confinement,
    mutation,
    reason: includes.length ? 'search restricted by _tag, includes filtered by assignment' : 'search restricted by _tag',
  };
}

function instance(parsed: ParsedPath, method: string): { type: string; id: string } {
  if (parsed.type === undefined || parsed.id === undefined || parsed.history || parsed.compartmentType) {
    throw notSupported(`${method} needs a resource type and id (conditional and versioned writes are not supported for filtered users)`);
  }
  return { type: parsed.type, id: parsed.id };
}

function writePlan(req: ParsedRequest, scope: Scope, settings: DataAccessSettings): Plan {
  const { parsed } = req;
  switch (req.method) {
    case 'POST': {
      if (parsed.type === undefined || parsed.id !== undefined || parsed.history || parsed.search) {
        throw notSupported('POST creates a resource of a type (Type), or carries a Bundle to the base');
      }
      // Its search would run over data outside the assignment, and the answer (201, 200, 412) tell what it found.
      if (req.headers['if-none-exist'] !== undefined)
        throw notSupported('conditional creates (If-None-Exist) are not supported for filtered users');
      const body = checkedWriteBody(req.body, parsed, scope, settings.writeTags);
      return { request: asJson({ ...req, body }), confinement: ANY, reason: 'create checked against the assignment' };
    }
    case 'PUT': {
      const target = instance(parsed, 'PUT');
      const body = checkedWriteBody(req.body, parsed, scope, settings.writeTags);
      return { request: asJson({ ...req, body }), target, confinement: ANY, reason: 'update checked against the assignment' };
    }
    case 'PATCH': {
      const target = instance(parsed, 'PATCH');
      const patch = jsonPatchOf(req.body);
      return {
        request: asJson(req),
        target,
        patch,
        confinement: ANY,
        reason: 'patch applied by the gateway, its result checked like a PUT',
      };
    }
    case 'DELETE':
      return {
        request: asJson(req),
        target: instance(parsed, 'DELETE'),
        confinement: ANY,
        reason: 'delete checked against the assignment',
      };
    default:
      throw notSupported(`method ${req.method} is not supported`);
  }
}

function operationPlan(req: ParsedRequest, settings: DataAccessSettings): Plan {
  const { parsed } = req;
  const operation = parsed.operation ?? '';
  if (!settings.allowedOperations.includes(operation))
    throw new GatewayDenial(403, 'forbidden', `the operation ${operation} is not allowed`);
  checkSearchSafety(req.query, settings.allowedSearchParams);
  return {
    request: asJson(req),
    ...(parsed.type !== undefined && parsed.id !== undefined && { target: { type: parsed.type, id: parsed.id } }),
    confinement: ANY,
    reason: `operation ${operation} allowed, answer filtered by assignment`,
  };
}

/** Conditional read headers: a 304 or 412 would answer for a resource the post-filters never see. */
const CONDITIONAL_READ_HEADERS = ['if-none-match', 'if-modified-since', 'if-match', 'if-unmodified-since', 'if-range'];

function withoutConditions(req: ParsedRequest): ParsedRequest {
  const headers = Object.fromEntries(Object.entries(req.headers).filter(([name]) => !CONDITIONAL_READ_HEADERS.includes(name)));
  return { ...req, headers };
}

/**
 * How a filtered user's request (not a root Bundle) is kept within its scopes: reads within `scopes.read`, writes
 * and operations that may write within `scopes.write`. Throws the denial for requests that cannot be: 403
 * (operation not allowed, write tags outside the scope), 400 (unsafe search parameters, bodies that are not the
 * addressed resource, request shapes that cannot be checked).
 */
export function planAccess(request: ParsedRequest, scopes: Scopes, settings: DataAccessSettings): AccessPlan {
  const { parsed } = request;
  // The top-level parameter is the gateway's (taken before planning); anywhere else it would reach the backend.
  if (param(request.query, '_syncLocations')) throw notSupported('_syncLocations chooses what a request reads, on the request itself');
  const reads = request.method === 'GET' || (request.method === 'POST' && parsed.search);
  const scope = reads ? scopes.read : scopes.write;
  if (parsed.operation) return { ...operationPlan(reads ? withoutConditions(request) : request, settings), scope };
  if (reads) return { ...readPlan(withoutConditions(request), scope, settings), scope };
  return { ...writePlan(request, scope, settings), scope };
}
