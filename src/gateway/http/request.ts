// The request as the gateway sees it, and the FHIR REST shape of its path.
import { FHIR_ID } from '../../fhir/ids.js';
import { GatewayDenial } from './denial.js';
import { isJsonObject } from '../../json/object.js';

/**
 * Query parameters by name. Names are the client's: maps built from them have no prototype (emptyQuery), so
 * 'constructor' or '__proto__' are names like any other, and lookups by name go through param().
 */
export type Query = Record<string, string[]>;

export interface GatewayRequest {
  method: string;
  /** Relative to the FHIR base: '' = root, no leading '/', e.g. 'Patient/1/_history/2'. */
  path: string;
  query: Query;
  headers: Record<string, string>;
  body?: unknown;
}

export interface ParsedPath {
  type?: string;
  id?: string;
  /** 'Observation' in the compartment search 'Patient/1/Observation'. */
  compartmentType?: string;
  /** With its '$', as HAPI names it: '$everything'. */
  operation?: string;
  history: boolean;
  versionId?: string;
  /** 'Type/_search' */
  search: boolean;
  /**
   * The gateway's own endpoints: without a token the CapabilityStatement and the SMART discovery document; with one,
   * OpenSRP's PractitionerDetail (both of its names) and LocationHierarchy.
   */
  endpoint?: 'metadata' | 'smart-configuration' | 'practitioner-details' | 'location-hierarchy';
}

/** The methods of FHIR's REST API the gateway serves; HEAD is answered as GET. */
export const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;
export type Method = (typeof METHODS)[number];

/** A request as the gateway decides on it: its method checked (HEAD folded to GET) and its path parsed, once. */
export interface ParsedRequest extends GatewayRequest {
  method: Method;
  parsed: ParsedPath;
}

/** A root POST once its Bundle has been taken apart: each entry a parsed request of its own. */
export interface BundleRequest extends ParsedRequest {
  entries: ParsedRequest[];
}

const TYPE = /^[A-Z][A-Za-z]{0,63}$/;
/** An operation's name as a path segment: `$everything`. */
export const OPERATION_NAME = /^\$[A-Za-z][A-Za-z0-9\-_]*$/;

function segment(pattern: RegExp, what: string, value: string): string {
  if (!pattern.test(value) || /^\.+$/.test(value)) throw new GatewayDenial(400, 'invalid', `invalid ${what} '${value}'`);
  return value;
}

/** The request's method as the gateway serves it (HEAD as GET), or a 400 (`not-supported`). */
export function methodOf(method: string, where = ''): Method {
  const upper = method.toUpperCase();
  const served = upper === 'HEAD' ? 'GET' : upper;
  if (!(METHODS as readonly string[]).includes(served))
    throw new GatewayDenial(400, 'not-supported', `${where}method ${method} is not supported`);
  return served as Method;
}

/** The request parsed; 400 for a method or path the gateway does not serve. */
export function parseRequest(req: GatewayRequest): ParsedRequest {
  return { ...req, method: methodOf(req.method), parsed: parsePath(req.path) };
}

/** The same request sent to another path of the same interaction (`Type/_search` as `Type`). */
export function atPath(req: ParsedRequest, path: string): ParsedRequest {
  return { ...req, path, parsed: parsePath(path) };
}

/**
 * The FHIR REST interaction a path names. Throws a 400 denial for paths outside the FHIR REST shapes and
 * for malformed types and ids (so they never reach the backend, where '..' or '/' could change the target).
 */
export function parsePath(path: string): ParsedPath {
  const trimmed = path.replace(/\/$/, '');
  const segments = trimmed === '' ? [] : trimmed.split('/');
  const [first, second, third, fourth] = segments;
  const parsed: ParsedPath = { history: false, search: false };
  if (segments.length === 0) return parsed;
  if (trimmed === 'metadata') return { ...parsed, endpoint: 'metadata' };
  if (trimmed === '.well-known/smart-configuration') return { ...parsed, endpoint: 'smart-configuration' };
  if (trimmed === 'PractitionerDetail' || trimmed === 'practitioner-details') return { ...parsed, endpoint: 'practitioner-details' };
  if (trimmed === 'LocationHierarchy') return { ...parsed, endpoint: 'location-hierarchy' };
  if (segments.length === 1 && first === '_history') return { ...parsed, history: true };
  if (segments.length === 1 && first.startsWith('$')) return { ...parsed, operation: segment(OPERATION_NAME, 'operation', first) };
  if (segments.length > 4) throw unsupported(path);

  parsed.type = segment(TYPE, 'resource type', first);
  if (segments.length === 1) return parsed;
  if (segments.length === 2) {
    if (second === '_search') return { ...parsed, search: true };
    if (second === '_history') return { ...parsed, history: true };
    if (second.startsWith('$')) return { ...parsed, operation: segment(OPERATION_NAME, 'operation', second) };
    return { ...parsed, id: segment(FHIR_ID, 'id', second) };
  }
  if (second.startsWith('_') || second.startsWith('$')) throw unsupported(path);
  parsed.id = segment(FHIR_ID, 'id', second);
  if (third === '_history') {
    return fourth === undefined
      ? { ...parsed, history: true }
      : { ...parsed, history: true, versionId: segment(FHIR_ID, 'version id', fourth) };
  }
  if (segments.length === 4) throw unsupported(path);
  if (third.startsWith('$')) return { ...parsed, operation: segment(OPERATION_NAME, 'operation', third) };
  return { ...parsed, compartmentType: segment(TYPE, 'compartment type', third) };
}

function unsupported(path: string): GatewayDenial {
  return new GatewayDenial(400, 'invalid', `unsupported FHIR path '${path}'`);
}

/** A query map without a prototype, filled from `entries` (values copied). */
export function emptyQuery(entries: Iterable<[string, readonly string[]]> = []): Query {
  const query = Object.create(null) as Query;
  for (const [name, values] of entries) query[name] = [...values];
  return query;
}

/** The values of a parameter the query itself holds (never a property inherited by a plain object). */
export function param(query: Query, name: string): string[] | undefined {
  return Object.hasOwn(query, name) ? query[name] : undefined;
}

/** Append a value to a parameter of the query. */
export function addParam(query: Query, name: string, value: string): void {
  const values = param(query, name);
  if (values) values.push(value);
  else query[name] = [value];
}

/** The query without the parameters `drop` names. */
export function withoutParams(query: Query, drop: (name: string) => boolean): Query {
  return emptyQuery(Object.entries(query).filter(([name]) => !drop(name)));
}

/** The parameters of a query string, repeated names kept as several values (commas are not split). */
export function parseQuery(search: string | URLSearchParams): Query {
  const query = emptyQuery();
  for (const [name, value] of new URLSearchParams(search)) addParam(query, name, value);
  return query;
}

/** A query as a query string (without '?'), repeated names as repeated parameters. */
export function formatQuery(query: Query): string {
  const params = new URLSearchParams();
  for (const [name, values] of Object.entries(query)) for (const value of [values].flat()) params.append(name, value);
  return params.toString();
}

/**
 * The parameters of a `POST Type/_search`: those of the URL followed by those of the form body, which comes as
 * the urlencoded string or as the object a body parser made of it.
 */
export function searchQuery(query: Query, body: unknown): Query {
  const merged = emptyQuery(Object.entries(query));
  const add = (name: string, value: unknown) => {
    if (typeof value !== 'string') throw new GatewayDenial(400, 'invalid', `search form parameter '${name}' is not a plain value`);
    addParam(merged, name, value);
  };
  if (body === undefined || body === null || body === '') return merged;
  if (typeof body === 'string') {
    for (const [name, values] of Object.entries(parseQuery(body))) values.forEach((v) => add(name, v));
  } else if (isJsonObject(body) && !Buffer.isBuffer(body)) {
    for (const [name, value] of Object.entries(body)) (Array.isArray(value) ? value : [value]).forEach((v) => add(name, v));
  } else {
    throw new GatewayDenial(400, 'invalid', 'a search form body must be application/x-www-form-urlencoded');
  }
  return merged;
}
