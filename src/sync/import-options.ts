// Import options from a node's stored configuration (strings and booleans from the editor), checked: a bad
// setting is refused, naming it. Node-RED-free.
import type { ImportOptions } from './import-run.js';
import { DEFAULT_IMPORT_OPTIONS } from './import-run.js';
import { pick } from './export-options.js';
import { wholeNumber } from '../settings/whole-number.js';

export type RawImportConfig = Partial<Record<keyof ImportOptions, unknown>>;

/** Options for an import from `system`; throws a message naming the bad setting. */
export function importOptionsFrom(raw: RawImportConfig, system: string): ImportOptions {
  return {
    system,
    resourceType: pick('resource type', ['Location', 'Organization'] as const, raw.resourceType, DEFAULT_IMPORT_OPTIONS.resourceType),
    includeOrganizations: raw.includeOrganizations !== false && raw.includeOrganizations !== 'false',
    searchParams: Object.fromEntries(new URLSearchParams(String(raw.searchParams ?? ''))),
    pageSize: wholeNumber('page size', raw.pageSize, DEFAULT_IMPORT_OPTIONS.pageSize),
    maxPages: wholeNumber('max pages', raw.maxPages, DEFAULT_IMPORT_OPTIONS.maxPages),
    hierarchy: String(raw.hierarchy || DEFAULT_IMPORT_OPTIONS.hierarchy),
  };
}
