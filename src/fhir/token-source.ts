// Access tokens for a FHIR server: obtained with openid-client, cached, refreshed before expiry and
// dropped on demand (after a 401). Node-RED-free.
import type * as Oidc from 'openid-client' with { 'resolution-mode': 'import' };
import type { ExternalSystemSecrets, ExternalSystemSettings } from './external-system.js';
import { isLoopback } from './external-system.js';
import { describeFailure } from './errors.js';

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

async function grant(config: Oidc.Configuration, s: ExternalSystemSettings, secrets: ExternalSystemSecrets, refreshToken?: string) {
  const oidc = await import('openid-client');
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

class OAuthTokenSource implements TokenSource {
  private config?: Promise<Oidc.Configuration>;
  private cached?: CachedToken;
  private pending?: Promise<string>;

  constructor(
    private readonly settings: ExternalSystemSettings,
    private readonly secrets: ExternalSystemSecrets,
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
    const endpoint = this.settings.issuer || this.settings.tokenUrl;
    this.config ??= configuration(this.settings, this.secrets);
    let config: Oidc.Configuration;
    try {
      config = await this.config;
    } catch (err) {
      this.config = undefined; // retry discovery next time: the issuer may come back
      throw err;
    }
    const issuedAt = this.now();
    let response: Awaited<ReturnType<typeof grant>>;
    try {
      response = await grant(config, this.settings, this.secrets, this.cached?.refreshToken);
    } catch (err) {
      this.cached = undefined;
      throw new Error(`token request to ${endpoint} failed: ${describeFailure(err)}`);
    }
    if (response.token_type?.toLowerCase() !== 'bearer') {
      throw new Error(`token endpoint ${endpoint} returned token type "${response.token_type}", not Bearer`);
    }
    this.cached = {
      accessToken: response.access_token,
      refreshAt: refreshTime(issuedAt, response.expires_in),
      refreshToken: response.refresh_token ?? this.cached?.refreshToken,
    };
    return response.access_token;
  }
}

export function createTokenSource(
  settings: ExternalSystemSettings,
  secrets: ExternalSystemSecrets,
  options: TokenSourceOptions = {},
): TokenSource {
  switch (settings.authType) {
    case 'none':
      return { token: async () => undefined, invalidate: () => undefined };
    case 'bearer':
      return { token: async () => secrets.bearerToken, invalidate: () => undefined };
    default:
      return new OAuthTokenSource(settings, secrets, options.now ?? Date.now);
  }
}
