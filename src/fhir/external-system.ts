// The registration of a FHIR server ("external system" in GPR): what it is, how it is checked, and
// how other nodes are scoped to it. Node-RED-free.
import { parseServiceAccountKey } from './google-service-account.js';
import { certificateThumbprints } from './azure-credentials.js';

export const AUTH_TYPES = [
  'none',
  'oauth-password',
  'oauth-client-credentials',
  'private-key-jwt',
  'bearer',
  'google-service-account',
  'azure-client-secret',
  'azure-certificate',
  'azure-managed-identity',
] as const;
export type AuthType = (typeof AUTH_TYPES)[number];

const CLIENT_AUTH_METHODS = ['client_secret_basic', 'client_secret_post'] as const;
export type ClientAuthMethod = (typeof CLIENT_AUTH_METHODS)[number];

const SIGNING_ALGS = ['RS384', 'ES384', 'RS256'] as const;
export type SigningAlg = (typeof SIGNING_ALGS)[number];

/** Non-secret settings, as stored in the flow file. */
export interface ExternalSystemSettings {
  organization: string;
  systemId: string;
  label: string;
  description: string;
  /** FHIR base URL without a trailing slash. */
  url: string;
  /** URI used as identifier system and type-coding system by export and import. */
  system: string;
  authType: AuthType;
  /** OIDC issuer for discovery; when empty, tokenUrl is used directly. */
  issuer: string;
  /**
   * The token endpoint. Google: overrides the key file's token_uri. Azure client secret / certificate: overrides
   * Entra ID's endpoint of the tenant. Azure managed identity: the identity endpoint (default: IMDS).
   */
  tokenUrl: string;
  /** Entra ID tenant (directory) ID or domain, for the Azure client secret and certificate grants. */
  tenantId: string;
  clientId: string;
  clientAuthMethod: ClientAuthMethod;
  scope: string;
  /** RFC 8707 resource indicator (the audience asked for); empty = none sent. */
  resource: string;
  keyId: string;
  signingAlg: SigningAlg;
  /** Permit plain-http token endpoints on hosts other than loopback. */
  allowHttpAuth: boolean;
  timeoutMs: number;
}

/** Secrets: only ever Node-RED credentials. */
export interface ExternalSystemSecrets {
  username?: string;
  password?: string;
  clientSecret?: string;
  /** PKCS#8 PEM or a private JWK (JSON) for private_key_jwt; PKCS#8 PEM for the Azure certificate grant. */
  privateKey?: string;
  bearerToken?: string;
  /** The JSON key file of a Google Cloud service account. */
  serviceAccountKey?: string;
  /** The X.509 certificate (PEM) registered with the Entra ID application, for the Azure certificate grant. */
  certificate?: string;
  /** App Service's IDENTITY_HEADER: with it, the managed-identity endpoint is called in App Service's shape. */
  identityHeader?: string;
}

/** Raw values as the editor and flow file hold them (all strings, possibly missing). */
export type RawSettings = Partial<Record<keyof ExternalSystemSettings, unknown>>;

/** Per request, when the system names no timeout of its own. */
export const DEFAULT_TIMEOUT_MS = 60_000;

function text(v: unknown): string {
  return typeof v === 'string' ? v.trim() : v === undefined || v === null ? '' : String(v).trim();
}

/**
 * A choice: the fallback when none is given, otherwise the text as given — validateSettings refuses a value that is
 * not one of the choices rather than this defaulting it.
 */
function choice<T extends string>(v: unknown, fallback: T): T {
  return (text(v) || fallback) as T;
}

/** The choice settings and their allowed values, for validateSettings. */
const CHOICES = [
  ['authType', 'Authentication', AUTH_TYPES],
  ['clientAuthMethod', 'Client auth', CLIENT_AUTH_METHODS],
  ['signingAlg', 'Algorithm', SIGNING_ALGS],
] as const;

/** Entra ID's token endpoint of a tenant (v2.0). */
export function entraTokenUrl(tenantId: string): string {
  return `https://login.microsoftonline.com/${encodeURIComponent(tenantId)}/oauth2/v2.0/token`;
}

/** Azure's Instance Metadata Service (IMDS) managed-identity endpoint, the default for that grant. */
export const IMDS_TOKEN_URL = 'http://169.254.169.254/metadata/identity/oauth2/token';

/** Settings with defaults applied and the base URL normalised; validate() says whether they are usable. */
export function normaliseSettings(raw: RawSettings): ExternalSystemSettings {
  // Empty, or absent from a flow saved before the setting existed: the default. Anything else is checked (validateSettings).
  const timeout = raw.timeoutMs === undefined || raw.timeoutMs === '' ? DEFAULT_TIMEOUT_MS : Number(raw.timeoutMs);
  return {
    organization: text(raw.organization),
    systemId: text(raw.systemId),
    label: text(raw.label),
    description: text(raw.description),
    url: text(raw.url).replace(/\/+$/, ''),
    system: text(raw.system),
    authType: choice(raw.authType, 'none'),
    issuer: text(raw.issuer).replace(/\/+$/, ''),
    tokenUrl: text(raw.tokenUrl),
    tenantId: text(raw.tenantId),
    clientId: text(raw.clientId),
    clientAuthMethod: choice(raw.clientAuthMethod, 'client_secret_basic'),
    scope: text(raw.scope),
    resource: text(raw.resource),
    keyId: text(raw.keyId),
    signingAlg: choice(raw.signingAlg, 'RS384'),
    allowHttpAuth: raw.allowHttpAuth === true || raw.allowHttpAuth === 'true',
    timeoutMs: timeout,
  };
}

function httpUrlProblem(name: string, value: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(value);
  } catch {
    return `${name} "${value}" is not a valid URL`;
  }
  // Not repeated: it would put the secret into messages.
  if (parsed.username || parsed.password) return `${name} must not hold a user name or password: use the authentication settings`;
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    return `${name} "${value}" must start with http:// or https://`;
  }
  if (parsed.search || parsed.hash) return `${name} "${value}" must not have a query or fragment`;
  return undefined;
}

/** An absolute URI (RFC 3986 scheme ":" rest), as FHIR recommends for Identifier.system. */
function isAbsoluteUri(value: string): boolean {
  return /^[A-Za-z][A-Za-z0-9+.-]*:\S+$/.test(value);
}

export function isLoopback(url: string): boolean {
  try {
    const host = new URL(url).hostname;
    return host === 'localhost' || host === '[::1]' || /^127\./.test(host);
  } catch {
    return false;
  }
}

/** Every problem that keeps this registration from working, as messages a user can act on. */
export function validateSettings(s: ExternalSystemSettings, secrets: ExternalSystemSecrets): string[] {
  const problems: string[] = [];
  const required: [keyof ExternalSystemSettings, string][] = [
    ['organization', 'Organization'],
    ['systemId', 'ID'],
    ['label', 'Label'],
    ['url', 'URL'],
    ['system', 'System'],
  ];
  for (const [key, name] of required) if (!s[key]) problems.push(`${name} is required`);
  if (s.url) {
    const p = httpUrlProblem('URL', s.url);
    if (p) problems.push(p);
  }
  // FHIR's uri type only forbids white space; "|" would break `identifier=<system>|<code>` searches.
  if (s.system && /[\s|]/.test(s.system)) {
    problems.push(`System "${s.system}" must not contain spaces or "|" (e.g. http://example.org/codes)`);
  }
  if (!Number.isInteger(s.timeoutMs) || s.timeoutMs < 1) problems.push('Timeout (ms) must be a whole number of milliseconds, at least 1');
  for (const [key, name, allowed] of CHOICES) {
    if (!(allowed as readonly string[]).includes(s[key])) problems.push(`${name} "${s[key]}" is not one of: ${allowed.join(', ')}`);
  }
  const endpoint = (name: string, url: string, httpAllowed = isLoopback(url)) => {
    const p = httpUrlProblem(name, url);
    if (p) problems.push(p);
    else if (url.startsWith('http:') && !s.allowHttpAuth && !httpAllowed) {
      problems.push(`${name} "${url}" uses plain http: use https, or tick "Allow plain HTTP token endpoint"`);
    }
  };
  switch (s.authType) {
    case 'none':
      break;
    case 'bearer':
      if (!secrets.bearerToken) problems.push('Bearer token is required for static bearer authentication');
      break;
    case 'google-service-account':
      if (!secrets.serviceAccountKey) {
        problems.push('Service account key (the JSON key file) is required for a Google service account');
        break;
      }
      try {
        const key = parseServiceAccountKey(secrets.serviceAccountKey);
        endpoint(s.tokenUrl ? 'Token URL' : "The key's token_uri", s.tokenUrl || key.token_uri);
      } catch (err) {
        problems.push((err as Error).message);
      }
      break;
    case 'azure-client-secret':
    case 'azure-certificate':
      if (!s.tenantId && !s.tokenUrl) problems.push('Tenant ID (or a Token URL) is required for Entra ID');
      else endpoint('Token URL', entraTokenUrlOf(s));
      if (!s.clientId) problems.push('Client ID (the application ID) is required for Entra ID');
      if (s.authType === 'azure-client-secret' && !secrets.clientSecret)
        problems.push('Client secret is required for Entra ID client credentials');
      if (s.authType === 'azure-certificate') {
        if (!secrets.privateKey) problems.push('Private key is required for the Entra ID certificate credential');
        if (!secrets.certificate) problems.push('Certificate is required for the Entra ID certificate credential');
        if (secrets.privateKey && secrets.certificate) {
          try {
            certificateThumbprints(secrets.certificate, secrets.privateKey);
          } catch (err) {
            problems.push((err as Error).message);
          }
        }
      }
      break;
    case 'azure-managed-identity': {
      // IMDS is plain http on its link-local address by design; App Service's endpoint is on loopback.
      const url = s.tokenUrl || IMDS_TOKEN_URL;
      endpoint('Identity endpoint', url, isLoopback(url) || /^http:\/\/169\.254\.169\.254[:/]/.test(url));
      break;
    }
    case 'oauth-password':
    case 'oauth-client-credentials':
    case 'private-key-jwt': {
      const name = s.issuer ? 'Issuer' : 'Token URL';
      const url = s.issuer || s.tokenUrl;
      if (!url) problems.push('Issuer or Token URL is required for OAuth2');
      else endpoint(name, url);
      if (!s.clientId) problems.push('Client ID is required for OAuth2');
      if (s.authType === 'oauth-password') {
        if (!secrets.username) problems.push('Username is required for the password grant');
        if (!secrets.password) problems.push('Password is required for the password grant');
      }
      if (s.authType === 'oauth-client-credentials' && !secrets.clientSecret) {
        problems.push('Client secret is required for client_credentials');
      }
      if (s.authType === 'private-key-jwt' && !secrets.privateKey) {
        problems.push('Private key is required for private_key_jwt');
      }
      break;
    }
  }
  return problems;
}

/** The Entra ID token endpoint the Azure client secret and certificate grants use. */
export function entraTokenUrlOf(s: Pick<ExternalSystemSettings, 'tenantId' | 'tokenUrl'>): string {
  return s.tokenUrl || entraTokenUrl(s.tenantId);
}

/** Usable but doubtful choices, shown as warnings (GPR's own tests use the bare System "localhost"). */
export function settingsWarnings(s: ExternalSystemSettings): string[] {
  const warnings: string[] = [];
  if (s.system && !isAbsoluteUri(s.system)) warnings.push(`System "${s.system}" is not an absolute URI`);
  if (s.authType === 'none') warnings.push('no authentication: requests to the FHIR server carry no token');
  return warnings;
}

/**
 * GPR's rule: an external system belongs to one organization and only that organization's sync
 * configurations may use it. Returns the configuration error, or undefined when allowed.
 */
export function organizationProblem(
  system: Pick<ExternalSystemSettings, 'organization' | 'systemId'>,
  nodeOrganization: string,
): string | undefined {
  const org = nodeOrganization.trim();
  if (!org) return 'Organization is required';
  if (org !== system.organization) {
    return `external system "${system.systemId}" belongs to organization "${system.organization}", not "${org}"`;
  }
  return undefined;
}
