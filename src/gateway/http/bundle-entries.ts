// A transaction or batch Bundle POSTed to the root, taken apart into one request per entry, so each entry
// is authorised (and filtered) exactly as the same request sent alone.
import type { BundleEntry } from '@medplum/fhirtypes';
import { GatewayDenial, invalid } from './denial.js';
import type { BundleRequest, ParsedPath, ParsedRequest } from './request.js';
import { METHODS, methodOf, parsePath, parseQuery } from './request.js';
import { isJsonObject } from '../../json/object.js';

/** As FHIR spells them in `Bundle.entry.request.method`. */
const ENTRY_METHODS: readonly string[] = [...METHODS, 'HEAD'];

function entryPath(path: string, where: string): ParsedPath {
  try {
    return parsePath(path);
  } catch (err) {
    throw err instanceof GatewayDenial ? invalid(`${where}: ${err.message}`) : err;
  }
}

function entryRequest(entry: BundleEntry, index: number): ParsedRequest {
  const where = `Bundle entry ${index}`;
  const method = entry.request?.method;
  const url = entry.request?.url;
  if (typeof method !== 'string' || !ENTRY_METHODS.includes(method))
    throw invalid(`${where}: request.method must be one of ${ENTRY_METHODS.join(', ')}`);
  if (typeof url !== 'string' || url === '') throw invalid(`${where}: request.url is required`);
  // Relative URLs only: an absolute one would have to be matched against the gateway's own base.
  if (url.startsWith('/') || URL.canParse(url)) throw invalid(`${where}: request.url must be relative to the FHIR base`);
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  const parsed = entryPath(path, where);
  const resource: unknown = entry.resource;
  if (resource === undefined) {
    if (['POST', 'PUT', 'PATCH'].includes(method)) throw invalid(`${where}: ${method} needs a resource`);
  } else if (!isJsonObject(resource)) {
    throw invalid(`${where}: resource must be an object`);
  } else if (method !== 'PATCH' && resource.resourceType !== parsed.type) {
    // A PATCH carries the patch document (Binary or Parameters), not the resource it changes.
    throw invalid(`${where}: request.url '${url}' does not address the entry's ${String(resource.resourceType)}`);
  }
  const headers = conditionHeaders(entry);
  const query = parseQuery(q < 0 ? '' : url.slice(q + 1));
  return { method: methodOf(method), path, parsed, query, headers, ...(resource !== undefined && { body: resource }) };
}

/** Bundle entry request fields and the HTTP headers they stand for, so that an entry is checked as the request sent alone. */
export const CONDITION_FIELDS = {
  ifNoneMatch: 'if-none-match',
  ifModifiedSince: 'if-modified-since',
  ifMatch: 'if-match',
  ifNoneExist: 'if-none-exist',
} as const;

function conditionHeaders(entry: BundleEntry): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [field, header] of Object.entries(CONDITION_FIELDS)) {
    const value: unknown = entry.request?.[field as keyof typeof CONDITION_FIELDS];
    if (typeof value === 'string') headers[header] = value;
  }
  return headers;
}

/** The root POST with its entries as standalone requests; 400 unless its body is a transaction or batch Bundle. */
export function withEntries(req: ParsedRequest): BundleRequest {
  return { ...req, entries: bundleEntryRequests(req.body) };
}

function bundleEntryRequests(body: unknown): ParsedRequest[] {
  if (!isJsonObject(body) || body.resourceType !== 'Bundle') throw invalid('a POST to the FHIR base needs a Bundle');
  if (body.type !== 'transaction' && body.type !== 'batch')
    throw invalid(`a Bundle POSTed to the FHIR base must be a transaction or batch, not ${String(body.type)}`);
  if (body.entry !== undefined && !Array.isArray(body.entry)) throw invalid('Bundle.entry must be an array');
  return ((body.entry ?? []) as unknown[]).map((entry, i) => {
    if (!isJsonObject(entry)) throw invalid(`Bundle entry ${i} is not an object`);
    return entryRequest(entry as BundleEntry, i);
  });
}
