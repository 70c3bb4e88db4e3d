// The gateway's configuration: what a node (or any caller) gives, checked and completed with the defaults of
// the OpenSRP reference, except where the project requires safer ones (no unauthenticated root entries, an empty
// operation allow-list, List and Device filtered).
import type { AllowedQueries } from '../auth/allowed-queries.js';
import { allowedQueriesConfig } from '../auth/allowed-queries.js';
import type { AppConfigSettings } from '../assignment/app-config.js';
import { DEFAULT_APP_CONFIG_SETTINGS } from '../assignment/app-config.js';
import type { AssignmentConfig } from '../assignment/assignment.js';
import { DEFAULT_ASSIGNMENT_CONFIG } from '../assignment/assignment.js';
import type { RolesConfig } from '../auth/roles.js';
import { rolesConfig } from '../auth/roles.js';
import { OPERATION_NAME } from '../http/request.js';
import type { CorsSettings } from '../http/cors.js';
import type { AuditAction } from '../http/audit-event.js';
import { AUDIT_ACTIONS } from '../http/audit-event.js';
import { corsSettings } from '../http/cors.js';
import { DEFAULT_CACHE_TTL_SEC } from '../assignment/ttl-cache.js';
import type { SyncFilterIgnoreEntry } from '../access/sync-ignore.js';
import { DEFAULT_SYNC_FILTER_IGNORE, parseSyncFilterIgnore } from '../access/sync-ignore.js';
import type { TagSystems } from '../assignment/tags.js';
import { DEFAULT_TAG_SYSTEMS, canonicalStrategy } from '../assignment/tags.js';
import type { TokenConfig } from '../auth/token.js';
import { nonNegative, tokenConfig } from '../auth/token.js';
import { isJsonObject } from '../../json/object.js';

export interface GatewaySettings {
  /** The gateway's FHIR base as clients reach it, without a trailing '/'. */
  publicBase: string;
  token: TokenConfig;
  roles: RolesConfig;
  /** The client role whose data is filtered by assignment (the others are not). */
  filteredClientRole: string;
  assignment: AssignmentConfig;
  appConfig: AppConfigSettings;
  tagSystems: TagSystems;
  allowedQueries: AllowedQueries;
  syncFilterIgnore: SyncFilterIgnoreEntry[];
  /** Operations ('$validate') filtered users may call; all others are refused to them. */
  allowedOperations: string[];
  /** Search parameter names let through for filtered users although search-safety.ts refuses them. */
  allowedSearchParams: string[];
  /** A filtered user's write with missing or foreign assignment tags: refused, or given the assignment's tags. */
  writeTags: 'reject' | 'rewrite';
  /** TTL of the assignment and app-config caches; 0 = no caching. */
  cacheTtlSec: number;
  /** Other bases under which the backend names itself in its answers. */
  backendAliases: string[];
  /** Key of the paging-link signatures; gateways sharing clients need the same one. Default: random per start. */
  pagingSecret?: string;
  /** Browser apps on these origins may call the gateway; undefined: no CORS. */
  cors?: CorsSettings;
  /** Scopes a SMART client asks for to get a token for the gateway's audience, listed in its SMART configuration. */
  smartScopes: string[];
  /** Filtered users read their own app's configuration (its Composition and the Binaries it references) unfiltered. */
  appConfigReads: boolean;
  /** The actions (C, R, U, D, E) of the requests an AuditEvent is written to the backend for; empty: none. */
  auditEventActions: AuditAction[];
}

export interface RawGatewaySettings {
  publicBase: string;
  issuer: string;
  audiences: string[];
  algorithms?: string[];
  clockSkewSec?: number;
  jwksUri?: string;
  publicKey?: string;
  roleSources?: string[];
  clientRoles?: string[];
  filteredClientRole?: string;
  assignmentSource?: 'fhir' | 'claims';
  practitionerIdentifierSystem?: string;
  staticSyncStrategy?: string;
  tagSystems?: Partial<TagSystems>;
  allowedQueries?: unknown;
  syncFilterIgnore?: unknown;
  allowedOperations?: string[];
  allowedSearchParams?: string[];
  writeTags?: 'reject' | 'rewrite';
  cacheTtlSec?: number;
  backendAliases?: string[];
  pagingSecret?: string;
  /** Comma-separated origins, or '*'; empty: no CORS. */
  corsOrigins?: string;
  corsCredentials?: boolean;
  smartScopes?: string[];
  appConfigReads?: boolean;
  auditEventActions?: string[];
}

function settingError(field: string, message: string): Error {
  return new Error(`gateway setting ${field}: ${message}`);
}

/** The value checked by `check`, its Error reworded to name the field. */
function field<T>(name: string, check: () => T): T {
  try {
    return check();
  } catch (err) {
    throw settingError(name, (err as Error).message);
  }
}

function baseUrl(name: string, value: unknown): string {
  if (typeof value !== 'string' || !URL.canParse(value) || !/^https?:$/.test(new URL(value).protocol)) {
    throw settingError(name, 'must be an http(s) URL');
  }
  const url = new URL(value);
  if (url.search || url.hash || url.username || url.password)
    throw settingError(name, 'must be a base URL without query, fragment or credentials');
  return url.href.replace(/\/+$/, '');
}

function names(name: string, value: unknown): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string' && v.trim() === v && v)) {
    throw settingError(name, 'must be a list of names');
  }
  return [...new Set(value as string[])];
}

function oneOf<T extends string>(name: string, value: unknown, allowed: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if (!allowed.includes(value as T)) throw settingError(name, `must be one of ${allowed.join(', ')}`);
  return value as T;
}

function tagSystems(value: unknown): TagSystems {
  if (value === undefined) return { ...DEFAULT_TAG_SYSTEMS };
  if (!isJsonObject(value)) throw settingError('tagSystems', 'must be an object of system URLs');
  const known = Object.keys(DEFAULT_TAG_SYSTEMS);
  const unknown = Object.keys(value).filter((k) => !known.includes(k));
  if (unknown.length) throw settingError('tagSystems', `unknown key ${unknown.join(', ')} (allowed: ${known.join(', ')})`);
  for (const [key, system] of Object.entries(value)) {
    if (typeof system !== 'string' || !URL.canParse(system)) throw settingError(`tagSystems.${key}`, 'must be a system URL');
  }
  return { ...DEFAULT_TAG_SYSTEMS, ...(value as Partial<TagSystems>) };
}

/** Operation names with their '$' ('validate' is taken as '$validate'). */
function operations(value: unknown): string[] {
  return names('allowedOperations', value).map((name) => {
    const op = name.startsWith('$') ? name : `$${name}`;
    if (!OPERATION_NAME.test(op)) throw settingError('allowedOperations', `'${name}' is not an operation name`);
    return op;
  });
}

/** Checked settings with defaults; throws an Error naming the bad setting. */
export function gatewaySettings(raw: RawGatewaySettings): GatewaySettings {
  if (!isJsonObject(raw)) throw new Error('gateway settings must be an object');
  const token = tokenConfig({
    issuer: raw.issuer,
    audiences: raw.audiences,
    ...(raw.algorithms !== undefined && { algorithms: raw.algorithms }),
    ...(raw.clockSkewSec !== undefined && { clockSkewSec: raw.clockSkewSec }),
    ...(raw.jwksUri !== undefined && { jwksUri: raw.jwksUri }),
    ...(raw.publicKey !== undefined && { publicKey: raw.publicKey }),
  });
  const roles: RolesConfig = {
    sources: field('roleSources', () => rolesConfig({ ...(raw.roleSources !== undefined && { sources: raw.roleSources }) }).sources),
    clientRoles: field(
      'clientRoles',
      () => rolesConfig({ ...(raw.clientRoles !== undefined && { clientRoles: raw.clientRoles }) }).clientRoles,
    ),
  };
  const filteredClientRole = raw.filteredClientRole ?? 'ANDROID_CLIENT';
  if (!roles.clientRoles.includes(filteredClientRole)) {
    throw settingError('filteredClientRole', `'${filteredClientRole}' is not one of the client roles ${roles.clientRoles.join(', ')}`);
  }
  const cacheTtlSec = nonNegative(raw.cacheTtlSec, DEFAULT_CACHE_TTL_SEC, (message) => settingError('cacheTtlSec', message));
  const system = raw.practitionerIdentifierSystem;
  if (system !== undefined && (typeof system !== 'string' || !system))
    throw settingError('practitionerIdentifierSystem', 'must be a system URI');
  let staticSyncStrategy = null;
  if (raw.staticSyncStrategy !== undefined && raw.staticSyncStrategy !== '') {
    staticSyncStrategy = canonicalStrategy(String(raw.staticSyncStrategy)) ?? null;
    if (!staticSyncStrategy) throw settingError('staticSyncStrategy', `unknown sync strategy '${raw.staticSyncStrategy}'`);
  }
  const pagingSecret = raw.pagingSecret;
  if (pagingSecret !== undefined && (typeof pagingSecret !== 'string' || !pagingSecret))
    throw settingError('pagingSecret', 'must be a non-empty string');
  return {
    publicBase: baseUrl('publicBase', raw.publicBase),
    token,
    roles,
    filteredClientRole,
    assignment: {
      ...DEFAULT_ASSIGNMENT_CONFIG,
      source: oneOf('assignmentSource', raw.assignmentSource, ['fhir', 'claims'] as const, 'fhir'),
      practitionerIdentifierSystem: system ?? null,
      cacheTtlSec,
    },
    appConfig: { ...DEFAULT_APP_CONFIG_SETTINGS, staticSyncStrategy, cacheTtlSec },
    tagSystems: tagSystems(raw.tagSystems),
    allowedQueries: field('allowedQueries', () => allowedQueriesConfig(raw.allowedQueries ?? { entries: [] })),
    syncFilterIgnore: field('syncFilterIgnore', () =>
      raw.syncFilterIgnore === undefined ? DEFAULT_SYNC_FILTER_IGNORE.map((e) => ({ ...e })) : parseSyncFilterIgnore(raw.syncFilterIgnore),
    ),
    allowedOperations: operations(raw.allowedOperations),
    allowedSearchParams: names('allowedSearchParams', raw.allowedSearchParams),
    writeTags: oneOf('writeTags', raw.writeTags, ['reject', 'rewrite'] as const, 'reject'),
    cacheTtlSec,
    backendAliases: names('backendAliases', raw.backendAliases).map((alias) => baseUrl('backendAliases', alias)),
    ...(pagingSecret !== undefined && { pagingSecret }),
    ...cors(raw),
    smartScopes: names('smartScopes', raw.smartScopes),
    appConfigReads: flag('appConfigReads', raw.appConfigReads, true),
    auditEventActions: auditActions(raw.auditEventActions),
  };
}

function auditActions(value: unknown): AuditAction[] {
  const actions = names('auditEventActions', value);
  const unknown = actions.find((a) => !(AUDIT_ACTIONS as readonly string[]).includes(a));
  if (unknown !== undefined) throw settingError('auditEventActions', `'${unknown}' is none of ${AUDIT_ACTIONS.join(', ')}`);
  return actions as AuditAction[];
}

function flag(name: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw settingError(name, 'must be true or false');
  return value;
}

function cors(raw: RawGatewaySettings): Pick<GatewaySettings, 'cors'> {
  const credentials = flag('corsCredentials', raw.corsCredentials, false);
  const settings = field('corsOrigins', () => corsSettings(String(raw.corsOrigins ?? ''), credentials));
  return settings ? { cors: settings } : {};
}
