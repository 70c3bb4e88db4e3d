// Permissions Checker: the roles a token grants, the client-role gate, and the role a request needs
// (`<METHOD>_<TYPE>` or `MANAGE_<TYPE>`), checked per entry for transaction and batch Bundles.
import { GatewayDenial } from '../http/denial.js';
import type { BundleRequest, Method, ParsedRequest } from '../http/request.js';
import { isJsonObject } from '../../json/object.js';

export interface RolesConfig {
  /** Claims holding role arrays, as dotted paths: 'realm_access.roles', 'resource_access.<clientId>.roles'. */
  sources: string[];
  /** A token must carry exactly one of these. */
  clientRoles: string[];
}

// The client id of Keycloak client roles may itself contain dots.
const CLIENT_ROLES = /^resource_access\.(.+)\.roles$/;
const CLAIM_PATH = /^[^.\s]+(\.[^.\s]+)*$/;

function stringList(value: unknown, name: string, fallback: string[]): string[] {
  if (value === undefined) return fallback;
  if (!Array.isArray(value) || value.length === 0 || !value.every((v) => typeof v === 'string' && v.trim() === v && v)) {
    throw new Error(`role settings: ${name} must be a non-empty list of names`);
  }
  return [...new Set(value as string[])];
}

/** Checked settings with the reference defaults; throws an Error naming the bad setting. */
export function rolesConfig(settings: Partial<RolesConfig> = {}): RolesConfig {
  const sources = stringList(settings.sources, 'sources', ['realm_access.roles']);
  for (const source of sources) {
    if (!CLAIM_PATH.test(source)) throw new Error(`role settings: '${source}' is not a claim path such as realm_access.roles`);
  }
  return { sources, clientRoles: stringList(settings.clientRoles, 'clientRoles', ['ANDROID_CLIENT', 'WEB_CLIENT']) };
}

function claimAt(claims: Record<string, unknown>, source: string): unknown {
  const client = CLIENT_ROLES.exec(source);
  const steps = client ? ['resource_access', client[1], 'roles'] : source.split('.');
  return steps.reduce<unknown>((value, step) => (isJsonObject(value) ? value[step] : undefined), claims);
}

/** The union of the role arrays found at the sources; absent or malformed claims add none. */
export function rolesOf(claims: Record<string, unknown>, sources: readonly string[]): string[] {
  const roles = new Set<string>();
  for (const source of sources) {
    const value = claimAt(claims, source);
    if (Array.isArray(value)) for (const role of value) if (typeof role === 'string') roles.add(role);
  }
  return [...roles];
}

function forbidden(message: string): GatewayDenial {
  return new GatewayDenial(403, 'forbidden', message);
}

/** The one client role the token carries; 403 for none or several. */
export function clientRoleOf(roles: readonly string[], clientRoles: readonly string[]): string {
  const held = clientRoles.filter((r) => roles.includes(r));
  if (held.length !== 1) throw forbidden(`exactly one of ${clientRoles.join(', ')} required`);
  return held[0];
}

/** Either role allows `method` on `type`. */
export function rolesFor(method: string, type: string): [string, string] {
  const t = type.toUpperCase();
  return [`${method}_${t}`, `MANAGE_${t}`];
}

function requireRole(method: Method, types: (string | undefined)[], roles: readonly string[], where: string, path: string): void {
  if (!types[0]) throw forbidden(`${where}${method} '${path}' names no resource type`);
  for (const type of types) {
    if (type === undefined) continue;
    const allowing = rolesFor(method, type);
    if (!allowing.some((r) => roles.includes(r))) throw forbidden(`${where}${method} ${type} requires ${allowing.join(' or ')}`);
  }
}

function requestRoles(req: ParsedRequest, roles: readonly string[], where = ''): void {
  // Searching by POST only reads; a compartment search returns resources of the compartment's type: both need the role.
  const method = req.method === 'POST' && req.parsed.search ? 'GET' : req.method;
  requireRole(method, [req.parsed.type, req.parsed.compartmentType], roles, where, req.path);
}

/** 403 unless the roles allow the request; a root POST, every entry of its Bundle. */
export function checkRoles(req: ParsedRequest | BundleRequest, roles: readonly string[]): void {
  if ('entries' in req) req.entries.forEach((entry, i) => requestRoles(entry, roles, `Bundle entry ${i}: `));
  else requestRoles(req, roles);
}

/** 403 unless the roles allow reading every one of the types (those of the search a paging link continues). */
export function checkReadRoles(types: readonly string[], roles: readonly string[]): void {
  requireRole('GET', [...types], roles, '', types.join(','));
}
