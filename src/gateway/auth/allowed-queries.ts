// Allowed queries (google/fhir-gateway's ALLOWED_QUERIES_FILE): requests matching an entry skip the access
// checks, and entries marked allowUnauthenticatedRequests skip the token too. Matching follows the reference;
// the validation refuses the unauthenticated entries that would open the whole server unless told otherwise.
import type { GatewayRequest } from '../http/request.js';
import { METHODS, param } from '../http/request.js';
import { isJsonObject } from '../../json/object.js';

export const ANY_VALUE = 'ANY_VALUE';

export interface AllowedQueryEntry {
  /** Relative to the FHIR base ('' = root); 'X/ANY_VALUE' also matches X and everything below it. */
  path: string;
  /** Upper-case method; absent = any. */
  requestType?: string;
  /** Parameter name → exact single value, or ANY_VALUE. */
  queryParams: Record<string, string>;
  allowExtraParams: boolean;
  allParamsRequired: boolean;
  allowUnauthenticatedRequests: boolean;
  /**
   * A filtered user's matching request is relayed without the `_tag` restriction and search-safety rules (only
   * the post-filter of its answer applies). Without it, allow-listing does not widen what filtered users see.
   */
  unfiltered: boolean;
}

export interface AllowedQueries {
  entries: AllowedQueryEntry[];
  /** Accept unauthenticated entries for the root, for other methods than GET or with extra params. */
  unsafeAllowList: boolean;
}

const TOP_KEYS = ['entries', 'unsafeAllowList'];
const ENTRY_KEYS = [
  'path',
  'requestType',
  'queryParams',
  'allowExtraParams',
  'allParamsRequired',
  'allowUnauthenticatedRequests',
  'unfiltered',
];

function configError(message: string): Error {
  return new Error(`allowed queries: ${message}`);
}

function unknownKeys(object: Record<string, unknown>, allowed: string[], where: string): void {
  const unknown = Object.keys(object).filter((k) => !allowed.includes(k));
  if (unknown.length) throw configError(`${where}unknown key ${unknown.map((k) => `'${k}'`).join(', ')} (allowed: ${allowed.join(', ')})`);
}

function flag(entry: Record<string, unknown>, name: string, where: string): boolean {
  const value = entry[name] ?? false;
  if (typeof value !== 'boolean') throw configError(`${where}${name} must be true or false`);
  return value;
}

// What an unauthenticated entry would open beyond reading named resources: the reference's shipped list made
// `GET /?…` and root transaction POSTs tokenless this way.
function unsafeOpening(entry: AllowedQueryEntry): string | undefined {
  if (entry.path === '') return 'the FHIR base';
  if (entry.requestType !== 'GET') return `requestType ${entry.requestType ?? '(any)'}, only GET`;
  if (entry.allowExtraParams) return 'allowExtraParams';
  return undefined;
}

function checkEntry(raw: unknown, index: number, unsafe: boolean): AllowedQueryEntry {
  const where = `entry ${index}: `;
  if (!isJsonObject(raw)) throw configError(`${where}must be an object`);
  unknownKeys(raw, ENTRY_KEYS, where);
  const { path, requestType, queryParams = {} } = raw;
  if (typeof path !== 'string') throw configError(`${where}path is required (a string; '' is the FHIR base)`);
  if (path.startsWith('/')) throw configError(`${where}path '${path}' must be relative to the FHIR base, without a leading '/'`);
  if (
    requestType !== undefined &&
    (typeof requestType !== 'string' || !(METHODS as readonly string[]).includes(requestType.toUpperCase()))
  ) {
    throw configError(`${where}requestType must be one of ${METHODS.join(', ')}`);
  }
  if (!isJsonObject(queryParams) || !Object.values(queryParams).every((v) => typeof v === 'string')) {
    throw configError(`${where}queryParams must map parameter names to a value or ${ANY_VALUE}`);
  }
  const entry: AllowedQueryEntry = {
    path,
    ...(requestType !== undefined && { requestType: requestType.toUpperCase() }),
    queryParams: queryParams as Record<string, string>,
    allowExtraParams: flag(raw, 'allowExtraParams', where),
    allParamsRequired: flag(raw, 'allParamsRequired', where),
    allowUnauthenticatedRequests: flag(raw, 'allowUnauthenticatedRequests', where),
    unfiltered: flag(raw, 'unfiltered', where),
  };
  const unsafeBy = entry.allowUnauthenticatedRequests && !unsafe && unsafeOpening(entry);
  if (unsafeBy) throw configError(`${where}an unauthenticated entry cannot allow ${unsafeBy} (set unsafeAllowList to accept it)`);
  return entry;
}

/** The checked list; throws an Error naming the offending entry, as the reference fails at startup. */
export function allowedQueriesConfig(config: unknown): AllowedQueries {
  if (!isJsonObject(config)) throw configError('expected an object with an entries array');
  unknownKeys(config, TOP_KEYS, '');
  const { entries, unsafeAllowList = false } = config;
  if (!Array.isArray(entries)) throw configError('expected an object with an entries array');
  if (typeof unsafeAllowList !== 'boolean') throw configError('unsafeAllowList must be true or false');
  return { entries: entries.map((e, i) => checkEntry(e, i, unsafeAllowList)), unsafeAllowList };
}

function pathMatches(entryPath: string, path: string): boolean {
  if (path === entryPath) return true;
  if (!entryPath.endsWith(`/${ANY_VALUE}`)) return false;
  const base = entryPath.slice(0, -ANY_VALUE.length - 1);
  return path === base || path.startsWith(`${base}/`);
}

function paramsMatch(entry: AllowedQueryEntry, query: Record<string, string[]>): boolean {
  let matched = 0;
  for (const [name, expected] of Object.entries(entry.queryParams)) {
    const actual = param(query, name);
    if (actual === undefined) {
      if (entry.allParamsRequired) return false;
      continue;
    }
    // A concrete value must be the request's only value; ANY_VALUE takes any number.
    if (expected !== ANY_VALUE && (actual.length !== 1 || actual[0] !== expected)) return false;
    matched++;
  }
  return entry.allowExtraParams || matched === Object.keys(query).length;
}

function matches(entry: AllowedQueryEntry, req: GatewayRequest): boolean {
  return (
    pathMatches(entry.path, req.path) &&
    (entry.requestType === undefined || entry.requestType === req.method.toUpperCase()) &&
    paramsMatch(entry, req.query)
  );
}

/** The first entry allowing the request; without a token only entries marked allowUnauthenticatedRequests count. */
export function matchAllowedQuery(list: AllowedQueries, req: GatewayRequest, authenticated: boolean): AllowedQueryEntry | undefined {
  return list.entries.find((e) => (authenticated || e.allowUnauthenticatedRequests) && matches(e, req));
}

/** What a deployment should be told of: entries that let filtered users search past their assignment's restriction. */
export function allowedQueriesWarnings(list: AllowedQueries): string[] {
  return list.entries.flatMap((entry, i) =>
    entry.unfiltered
      ? [
          `allowed queries: entry ${i} ('${entry.path}') is unfiltered: filtered users' matching searches are not restricted to their assignment`,
        ]
      : [],
  );
}
