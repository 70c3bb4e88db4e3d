// The gateway's settings as the node's editor form stores them (strings: comma-separated lists, numbers and
// JSON texts; empty = the default), turned into RawGatewaySettings for gatewaySettings() to check. Node-RED-free.
import type { RawGatewaySettings } from './settings.js';

/** The form's fields: every setting but the paging secret (a credential) and the public-key fallback. */
export type GatewayForm = Partial<Record<Exclude<keyof RawGatewaySettings, 'pagingSecret' | 'publicKey'>, unknown>>;

const text = (value: unknown): string | undefined => String(value ?? '').trim() || undefined;

const list = (value: unknown): string[] | undefined => {
  const items = String(value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  return items.length ? items : undefined;
};

const number = (value: unknown): number | undefined => (text(value) === undefined ? undefined : Number(value));

function json(form: GatewayForm, field: 'tagSystems' | 'allowedQueries' | 'syncFilterIgnore'): unknown {
  const value = text(form[field]);
  if (value === undefined) return undefined;
  try {
    return JSON.parse(value);
  } catch (err) {
    throw new Error(`${field} is not valid JSON: ${(err as Error).message}`);
  }
}

/** Throws an Error naming a JSON field that does not parse; every other check is gatewaySettings()'s. */
export function settingsFromForm(form: GatewayForm, pagingSecret?: string): RawGatewaySettings {
  return {
    publicBase: text(form.publicBase) ?? '',
    issuer: text(form.issuer) ?? '',
    audiences: list(form.audiences) ?? [],
    algorithms: list(form.algorithms),
    clockSkewSec: number(form.clockSkewSec),
    jwksUri: text(form.jwksUri),
    roleSources: list(form.roleSources),
    clientRoles: list(form.clientRoles),
    filteredClientRole: text(form.filteredClientRole),
    assignmentSource: text(form.assignmentSource) as RawGatewaySettings['assignmentSource'],
    practitionerIdentifierSystem: text(form.practitionerIdentifierSystem),
    staticSyncStrategy: text(form.staticSyncStrategy),
    tagSystems: json(form, 'tagSystems') as RawGatewaySettings['tagSystems'],
    allowedQueries: json(form, 'allowedQueries'),
    syncFilterIgnore: json(form, 'syncFilterIgnore'),
    allowedOperations: list(form.allowedOperations),
    allowedSearchParams: list(form.allowedSearchParams),
    writeTags: text(form.writeTags) as RawGatewaySettings['writeTags'],
    cacheTtlSec: number(form.cacheTtlSec),
    backendAliases: list(form.backendAliases),
    pagingSecret: pagingSecret || undefined,
    corsOrigins: text(form.corsOrigins),
    smartScopes: list(form.smartScopes),
    auditEventActions: list(form.auditEventActions),
    appConfigReads:
      form.appConfigReads === undefined || form.appConfigReads === ''
        ? undefined
        : form.appConfigReads === true || form.appConfigReads === 'true',
    corsCredentials: form.corsCredentials === true || form.corsCredentials === 'true',
  };
}
