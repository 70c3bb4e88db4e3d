// Permissions Checker: the roles a token grants, the client-role gate, and the role a request needs
// (`<METHOD>_<TYPE>` or `MANAGE_<TYPE>`), checked per entry for transaction and batch Bundles.
import { bundleEntryRequests } from '../http/bundle-entries.js';
import { GatewayDenial } from '../http/denial.js';
import { type GatewayRequest, isRecord, parsePath } from '../http/request.js';

export interface RolesConfig {
  /** Claims holding role arrays, as dotted paths: 'realm_access.roles', 'resource_access.<clientId>.roles'. */
  sources: string[];
  /** A token must carry exactly one of these. */
  clientRoles: string[];
}

export interface Permission {
  roles: string[];
  clientRole: string;
}

const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'];
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
  return steps.reduce<unknown>((value, step) => (isRecord(value) ? value[step] : undefined), claims);
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

function requireRole(req: GatewayRequest, roles: readonly string[], where = ''): void {
  const parsed = parsePath(req.path);
  const requested = req.method.toUpperCase();
  // Searching by POST and HEAD only read.
  const method = requested === 'HEAD' || (requested === 'POST' && parsed.search) ? 'GET' : requested;
  if (!METHODS.includes(method)) throw new GatewayDenial(400, 'not-supported', `${where}method ${requested} is not supported`);
  if (!parsed.type) throw forbidden(`${where}${method} '${req.path}' names no resource type`);
  // A compartment search returns resources of the compartment's type: both types need the role.
  for (const type of [parsed.type, parsed.compartmentType]) {
    if (type === undefined) continue;
    const allowing = rolesFor(method, type);
    if (!allowing.some((r) => roles.includes(r))) throw forbidden(`${where}${method} ${type} requires ${allowing.join(' or ')}`);
  }
}

/** 403 unless the roles allow the request; a root POST needs a transaction or batch Bundle whose every entry is allowed. */
export function checkRoles(req: GatewayRequest, roles: readonly string[]): void {
  if (req.path === '' && req.method.toUpperCase() === 'POST') {
    bundleEntryRequests(req.body).forEach((entry, i) => requireRole(entry, roles, `Bundle entry ${i}: `));
  } else {
    requireRole(req, roles);
  }
}

/** The whole Permissions Checker for a verified token: roles, client-role gate, then the request's role. */
export function checkPermissions(req: GatewayRequest, claims: Record<string, unknown>, config: RolesConfig): Permission {
  const roles = rolesOf(claims, config.sources);
  const clientRole = clientRoleOf(roles, config.clientRoles);
  checkRoles(req, roles);
  return { roles, clientRole };
}
