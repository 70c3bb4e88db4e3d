// The sync-filter ignore list: requests for app configuration resources (Questionnaires, StructureMaps, …) by id
// that tag-filtered users get unfiltered, since such resources carry no assignment tags. Same entry format as the
// OpenSRP file (`{path, methodType, queryParams}`), but every configured parameter must match and an absent
// one never does, so `GET /Questionnaire` with no `_id` stays filtered.
import { ANY_VALUE } from '../auth/allowed-queries.js';
import type { GatewayRequest } from '../http/request.js';
import { param } from '../http/request.js';

export interface SyncFilterIgnoreEntry {
  /** Relative to the FHIR base, e.g. 'Questionnaire'. */
  path: string;
  /** Any method when absent. */
  methodType?: string;
  /** A string: that exact value; an array: the same set of comma-separated ids in any order; or ANY_VALUE (any single value). */
  queryParams: Record<string, string | string[]>;
}

/** The OpenSRP list without List and Device (data a user's assignment must cover) and its dead custom endpoints. */
export const DEFAULT_SYNC_FILTER_IGNORE: readonly SyncFilterIgnoreEntry[] = [
  'Questionnaire',
  'StructureMap',
  'PlanDefinition',
  'Library',
  'Measure',
  'ActivityDefinition',
  'CodeSystem',
  'ConceptMap',
  'StructureDefinition',
].map((path) => ({ path, methodType: 'GET', queryParams: { _id: ANY_VALUE } }));

const trimSlash = (path: string) => path.replace(/\/+$/, '');

function paramMatches(expected: string | string[], values: string[] | undefined): boolean {
  // A repeated parameter (`_id=a&_id=b`) is an AND of two conditions, never a plain list of config ids.
  if (values?.length !== 1) return false;
  const [value] = values;
  if (expected === ANY_VALUE) return true;
  if (!Array.isArray(expected)) return value === expected;
  const sent = new Set(value.split(','));
  const wanted = new Set(expected);
  return sent.size === wanted.size && [...sent].every((v) => wanted.has(v));
}

/**
 * True when the request (a `POST Type/_search` given as the `GET Type` it stands for) matches an entry:
 * same path, same method if the entry names one, and every configured parameter matching.
 */
export function skipsDataFiltering(
  request: Pick<GatewayRequest, 'method' | 'path' | 'query'>,
  entries: readonly SyncFilterIgnoreEntry[] = DEFAULT_SYNC_FILTER_IGNORE,
): boolean {
  return entries.some(
    (entry) =>
      trimSlash(entry.path) === trimSlash(request.path) &&
      (!entry.methodType || entry.methodType.toUpperCase() === request.method.toUpperCase()) &&
      Object.entries(entry.queryParams).every(([name, expected]) => paramMatches(expected, param(request.query, name))),
  );
}

/**
 * The entries of a configured list, as the OpenSRP file (`{"entries": [...]}`) or a bare array. Throws an
 * Error naming the first malformed entry (a configuration error, reported when the node starts).
 */
export function parseSyncFilterIgnore(config: unknown): SyncFilterIgnoreEntry[] {
  const list: unknown = Array.isArray(config) ? config : (config as { entries?: unknown } | null)?.entries;
  if (!Array.isArray(list)) throw new Error('the sync-filter ignore list must be an array or {"entries": [...]}');
  return list.map((raw, i) => {
    const entry = (raw ?? {}) as Record<string, unknown>;
    const problem =
      typeof entry.path !== 'string'
        ? 'has no path'
        : entry.methodType !== undefined && typeof entry.methodType !== 'string'
          ? 'has a methodType that is not a string'
          : !isParams(entry.queryParams ?? {})
            ? 'has queryParams that are not strings or arrays of strings'
            : undefined;
    if (problem) throw new Error(`sync-filter ignore entry ${i} ${problem}`);
    return {
      path: entry.path as string,
      ...(entry.methodType !== undefined && { methodType: entry.methodType as string }),
      queryParams: (entry.queryParams ?? {}) as Record<string, string | string[]>,
    };
  });
}

function isParams(value: unknown): boolean {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    Object.values(value).every((v) => typeof v === 'string' || (Array.isArray(v) && v.every((s) => typeof s === 'string')))
  );
}
