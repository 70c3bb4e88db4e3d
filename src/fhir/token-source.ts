// Access tokens for a FHIR server: obtained with openid-client (or from a managed-identity endpoint), cached,
// refreshed before expiry and dropped on demand (after a 401). Node-RED-free.
import type * as Oidc from 'openid-client' with { 'resolution-mode': 'import' };
import type { ExternalSystemSecrets, ExternalSystemSettings } from './external-system.js';
import { AUTH_TYPES, IMDS_TOKEN_URL, entraTokenUrlOf, isLoopback } from './external-system.js';
import { describeFailure } from './errors.js';
import { CLOUD_HEALTHCARE_SCOPE, JWT_BEARER_GRANT, parseServiceAccountKey, serviceAccountAssertion } from './google-service-account.js';
import type { TokenAnswer } from './azure-credentials.js';
import { CLIENT_ASSERTION_TYPE, certificateAssertion, managedIdentityToken } from './azure-credentials.js';

export interface TokenSource {
  /** A bearer token, or undefined when the system needs none. */
  token(): Promise<string | undefined>;
  /** Forget the cached token (the server refused it); the next token() gets a new one. */
  invalidate(): void;
}

export interface TokenSourceOptions {
  /** Clock in ms, for tests of expiry. */
  now?: () => number;
}

interface CachedToken {
  accessToken: string;
  /** Epoch ms after which the token is no longer used. */
  refreshAt: number;
  refreshToken?: string;
}

/** Used when the token endpoint gives no expires_in. */
const DEFAULT_LIFETIME_S = 300;

/** Renew when 10 % of the lifetime (at most 30 s) is left, so a token never expires in flight. */
function refreshTime(issuedAt: number, expiresInS: number | undefined): number {
  const lifetime = (expiresInS && expiresInS > 0 ? expiresInS : DEFAULT_LIFETIME_S) * 1000;
  return issuedAt + lifetime - Math.min(30_000, lifetime / 10);
}

/** Keycloak's token URL `<issuer>/protocol/openid-connect/token` names its issuer; other URLs stand for themselves. */
function issuerOfTokenUrl(tokenUrl: string): string {
  const m = /^(.*\/realms\/[^/]+)\/protocol\/openid-connect\/token$/.exec(tokenUrl);
  return m ? m[1] : tokenUrl;
}

async function clientAuth(oidc: typeof Oidc, s: ExternalSystemSettings, secrets: ExternalSystemSecrets): Promise<Oidc.ClientAuth> {
  if (s.authType === 'google-service-account') return oidc.None();
  if (s.authType === 'azure-client-secret') return oidc.ClientSecretPost(secrets.clientSecret ?? '');
  if (s.authType === 'azure-certificate') {
    // A fresh assertion (own jti) for every token request, dated by the real clock: the token endpoint checks it.
    return async (_as, client, body) => {
      body.set('client_id', client.client_id);
      body.set('client_assertion_type', CLIENT_ASSERTION_TYPE);
      body.set(
        'client_assertion',
        await certificateAssertion(s.clientId, s.tokenUrl, secrets.privateKey ?? '', secrets.certificate ?? '', Date.now()),
      );
    };
  }
  if (s.authType === 'private-key-jwt') {
    const jose = await import('jose');
    const raw = (secrets.privateKey ?? '').trim();
    let key: CryptoKey;
    try {
      key = raw.startsWith('{')
        ? ((await jose.importJWK(JSON.parse(raw) as import('jose').JWK, s.signingAlg)) as CryptoKey)
        : await jose.importPKCS8(raw, s.signingAlg);
    } catch (err) {
      throw new Error(`private key cannot be read as ${s.signingAlg} PKCS#8 PEM or JWK: ${(err as Error).message}`);
    }
    return oidc.PrivateKeyJwt(s.keyId ? { key, kid: s.keyId } : key);
  }
  const secret = secrets.clientSecret || undefined;
  if (!secret) return oidc.None();
  return s.clientAuthMethod === 'client_secret_post' ? oidc.ClientSecretPost(secret) : oidc.ClientSecretBasic(secret);
}

async function configuration(s: ExternalSystemSettings, secrets: ExternalSystemSecrets): Promise<Oidc.Configuration> {
  const oidc = await import('openid-client');
  const auth = await clientAuth(oidc, s, secrets);
  const endpoint = s.issuer || s.tokenUrl;
  const insecure = endpoint.startsWith('http:') && (s.allowHttpAuth || isLoopback(endpoint));
  const timeout = Math.ceil(s.timeoutMs / 1000);
  let config: Oidc.Configuration;
  if (s.issuer) {
    try {
      config = await oidc.discovery(new URL(s.issuer), s.clientId, undefined, auth, {
        execute: insecure ? [oidc.allowInsecureRequests] : [],
        timeout,
      });
    } catch (err) {
      throw new Error(`issuer discovery at ${s.issuer} failed: ${describeFailure(err)}`);
    }
  } else {
    config = new oidc.Configuration({ issuer: issuerOfTokenUrl(s.tokenUrl), token_endpoint: s.tokenUrl }, s.clientId, undefined, auth);
    if (insecure) oidc.allowInsecureRequests(config);
  }
  config.timeout = timeout;
  return config;
}

async function grant(
  config: Oidc.Configuration,
  s: ExternalSystemSettings,
  secrets: ExternalSystemSecrets,
  refreshToken?: string,
): Promise<TokenAnswer> {
  const oidc = await import('openid-client');
  if (s.authType === 'google-service-account') {
    const key = parseServiceAccountKey(secrets.serviceAccountKey ?? '');
    const assertion = await serviceAccountAssertion(key, s.tokenUrl, s.scope, Date.now());
    return oidc.genericGrantRequest(config, JWT_BEARER_GRANT, { assertion });
  }
  const extra: Record<string, string> = {};
  if (s.scope) extra.scope = s.scope;
  if (s.resource) extra.resource = s.resource;
  if (refreshToken) {
    try {
      return await oidc.refreshTokenGrant(config, refreshToken, extra);
    } catch {
      // An expired or revoked refresh token: fall through to a full grant.
    }
  }
  if (s.authType === 'oauth-password') {
    return oidc.genericGrantRequest(config, 'password', { ...extra, username: secrets.username ?? '', password: secrets.password ?? '' });
  }
  return oidc.clientCredentialsGrant(config, extra);
}

/** One token request; `refreshToken` is the last answer's, when it gave one. */
type TokenRequest = (refreshToken?: string) => Promise<TokenAnswer>;

/** Tokens of one endpoint, cached until shortly before they expire. */
class CachingTokenSource implements TokenSource {
  private cached?: CachedToken;
  private pending?: Promise<string>;

  constructor(
    /** Named in messages. */
    private readonly endpoint: string,
    private readonly request: TokenRequest,
    private readonly now: () => number,
  ) {}

  async token(): Promise<string> {
    if (this.cached && this.now() < this.cached.refreshAt) return this.cached.accessToken;
    // One request at a time: concurrent callers share the same grant.
    this.pending ??= this.fetch().finally(() => (this.pending = undefined));
    return this.pending;
  }

  invalidate(): void {
    if (this.cached) this.cached.refreshAt = 0;
  }

  private async fetch(): Promise<string> {
    const issuedAt = this.now();
    let response: TokenAnswer;
    try {
      response = await this.request(this.cached?.refreshToken);
    } catch (err) {
      this.cached = undefined;
      if (err instanceof SetupError) throw err.cause;
      throw new Error(`token request to ${this.endpoint} failed: ${describeFailure(err)}`);
    }
    if (response.token_type?.toLowerCase() !== 'bearer') {
      throw new Error(`token endpoint ${this.endpoint} returned token type "${response.token_type}", not Bearer`);
    }
    this.cached = {
      accessToken: response.access_token,
      refreshAt: refreshTime(issuedAt, response.expires_in),
      refreshToken: response.refresh_token ?? this.cached?.refreshToken,
    };
    return response.access_token;
  }
}

/** A failure before any token request (discovery, a key that cannot be read): reported as it is. */
class SetupError extends Error {
  constructor(override readonly cause: Error) {
    super(cause.message);
  }
}

/** The openid-client grants: configuration (discovery) once, retried after a failure; then one grant per token. */
function oauthRequest(s: ExternalSystemSettings, secrets: ExternalSystemSecrets): TokenRequest {
  let config: Promise<Oidc.Configuration> | undefined;
  return async (refreshToken) => {
    config ??= configuration(s, secrets);
    let c: Oidc.Configuration;
    try {
      c = await config;
    } catch (err) {
      config = undefined; // retry discovery next time: the issuer may come back
      throw new SetupError(err as Error);
    }
    return grant(c, s, secrets, refreshToken);
  };
}

/**
 * The cloud grants as the OAuth grants they are: Google's JWT-bearer grant at the key's token_uri (or the Token URL),
 * with the Cloud Healthcare scope unless another is set; Entra ID's client credentials at the tenant's endpoint with
 * the FHIR service's `/.default` scope unless another is set.
 */
function cloudSettings(s: ExternalSystemSettings, secrets: ExternalSystemSecrets): ExternalSystemSettings {
  if (s.authType === 'google-service-account') {
    const key = parseServiceAccountKey(secrets.serviceAccountKey ?? '');
    return {
      ...s,
      issuer: '',
      tokenUrl: s.tokenUrl || key.token_uri,
      clientId: key.client_email,
      scope: s.scope || CLOUD_HEALTHCARE_SCOPE,
      resource: '',
    };
  }
  return { ...s, issuer: '', tokenUrl: entraTokenUrlOf(s), scope: s.scope || `${s.url}/.default`, resource: '' };
}

/** A token source that refuses every request with `problem` (an unknown authentication type, an unreadable key). */
function refusing(problem: string): TokenSource {
  return { token: () => Promise.reject(new Error(problem)), invalidate: () => undefined };
}

export function createTokenSource(
  settings: ExternalSystemSettings,
  secrets: ExternalSystemSecrets,
  options: TokenSourceOptions = {},
): TokenSource {
  const now = options.now ?? Date.now;
  switch (settings.authType) {
    case 'none':
      return { token: async () => undefined, invalidate: () => undefined };
    case 'bearer':
      return { token: async () => secrets.bearerToken, invalidate: () => undefined };
    case 'oauth-password':
    case 'oauth-client-credentials':
    case 'private-key-jwt':
      return new CachingTokenSource(settings.issuer || settings.tokenUrl, oauthRequest(settings, secrets), now);
    case 'google-service-account':
    case 'azure-client-secret':
    case 'azure-certificate': {
      let s: ExternalSystemSettings;
      try {
        s = cloudSettings(settings, secrets);
      } catch (err) {
        return refusing((err as Error).message); // a key file that cannot be read
      }
      return new CachingTokenSource(s.tokenUrl, oauthRequest(s, secrets), now);
    }
    case 'azure-managed-identity': {
      const endpoint = settings.tokenUrl || IMDS_TOKEN_URL;
      const request = () =>
        managedIdentityToken({
          endpoint,
          resource: settings.resource || settings.url,
          clientId: settings.clientId,
          identityHeader: secrets.identityHeader,
          timeoutMs: settings.timeoutMs,
          nowMs: Date.now(), // expires_on is by the real clock
        });
      return new CachingTokenSource(endpoint, request, now);
    }
    default:
      return refusing(`Authentication "${String(settings.authType)}" is not one of: ${AUTH_TYPES.join(', ')}`);
  }
}
