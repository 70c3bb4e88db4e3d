// Search parameters a tag-filtered user may not send: each would let the backend match or return resources
// through another resource (reverse and forward chains, filter expressions, named queries, contained resources,
// lists) where the `_tag` restriction does not reach. Includes are allowed but reported, so that the caller
// removes included resources outside the assignment.
import { GatewayDenial } from '../http/denial.js';

/** Base names (before any `:` modifier) refused outright. */
const BLOCKED = new Set(['_has', '_filter', '_query', '_contained', '_list']);

export interface SearchSafety {
  /** The `_include*` / `_revinclude*` parameter names present (any modifier): included entries need post-filtering. */
  includes: string[];
}

/** Why a parameter name is refused, or undefined. */
function refusal(name: string): string | undefined {
  if (name.includes('.')) return 'chained search parameters are not allowed';
  const base = name.split(':')[0];
  if (BLOCKED.has(base)) return `the search parameter ${base} is not allowed`;
  return undefined;
}

/** `_include`, `_revinclude`, with any modifier. */
export function isIncludeParam(name: string): boolean {
  return /^_(rev)?include(:|$)/.test(name);
}

/**
 * Check a filtered user's search parameters. `allowed` lists names (exactly as sent) let through all the same.
 * Throws a 400 (`invalid`) denial for the first refused name.
 */
export function checkSearchSafety(query: Record<string, string[]>, allowed: readonly string[] = []): SearchSafety {
  const names = Object.keys(query).filter((name) => !allowed.includes(name));
  for (const name of names) {
    const reason = refusal(name);
    if (reason) throw new GatewayDenial(400, 'invalid', `${reason}: '${name}'`);
  }
  return { includes: Object.keys(query).filter(isIncludeParam) };
}
