// Bearer-token verification for the gateway: JWTs signed by the issuer's keys, found by `kid` in its JWKS
// (discovered from the issuer, refetched on an unknown `kid` at most once per cooldown), with a configured
// public key as fallback. Every failure the caller can cause is a 401 denial; an unreachable issuer is a 503.
// A token that passed is kept for a minute (never past its expiry, nor past a change of the key that signed it): a
// client sends the same token with every request, and checking its signature again is most of the gateway's work.
import { createPublicKey } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type * as Jose from 'jose' with { 'resolution-mode': 'import' };
import { describeFailure } from '../../fhir/errors.js';
import { GatewayDenial, LoginDenial } from '../http/denial.js';
import { bearerChallenge } from '../http/answer.js';

export interface TokenConfig {
  /** The exact `iss` of accepted tokens. */
  issuer: string;
  /** A token's `aud` (string or array) or its `azp` must be one of these. */
  audiences: string[];
  algorithms: string[];
  clockSkewSec: number;
  /** Else `jwks_uri` of the issuer's discovery document. */
  jwksUri?: string;
  /** PEM or base64 SPKI, used when the JWKS gives no key (or cannot be fetched). */
  publicKey?: string;
  /** Minimum gap between two JWKS fetches caused by unknown `kid`s. */
  jwksCooldownSec: number;
  requiredClaims: string[];
}

export type TokenSettings = Pick<TokenConfig, 'issuer' | 'audiences'> & Partial<TokenConfig>;

/** The verified claims; Keycloak's (realm_access, azp, …) and custom ones through the index signature. */
export type VerifiedToken = Jose.JWTPayload;

export interface TokenVerifier {
  /** The claims of the token in an `Authorization` header value, or a 401 denial (503 if the issuer is unreachable). */
  verify(authorization: string | undefined): Promise<VerifiedToken>;
  /** The issuer's OpenID discovery document, fetched once (the SMART configuration and the OAuth endpoints come from it). */
  discovery(): Promise<Record<string, unknown>>;
}

export interface TokenVerifierOptions {
  /** The verifier's clock, for tests. */
  now?: () => Date;
}

// Public-key algorithms only: `none` and HMAC with a public key are the classic forgeries.
const ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'];
const JWT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;
// jose errors meaning "no key for this token", as opposed to "the key set could not be had".
const NO_KEY = new Set(['ERR_JWKS_NO_MATCHING_KEY', 'ERR_JWKS_MULTIPLE_MATCHING_KEYS', 'ERR_JOSE_NOT_SUPPORTED', 'ERR_JWK_INVALID']);
const FETCH_TIMEOUT_MS = 5000;
// How long a verified token is taken as verified (a key withdrawn from the JWKS stops counting after that), and how
// many are kept.
const VERIFIED_TTL_MS = 60_000;
const VERIFIED_MAX = 10_000;

function configError(message: string): Error {
  return new Error(`token settings: ${message}`);
}

/** A setting that is a number ≥ 0 (the fallback when absent); `fail` words the error. */
export function nonNegative(value: unknown, fallback: number, fail: (message: string) => Error): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) throw fail('must be a number ≥ 0');
  return value;
}

function pem(publicKey: string): string {
  const text = publicKey.trim();
  return text.startsWith('-----BEGIN') ? text : `-----BEGIN PUBLIC KEY-----\n${text}\n-----END PUBLIC KEY-----`;
}

/** Checked settings with defaults; throws an Error naming the bad setting. */
export function tokenConfig(settings: TokenSettings): TokenConfig {
  const { issuer, audiences, jwksUri, publicKey } = settings;
  if (typeof issuer !== 'string' || !URL.canParse(issuer)) throw configError('issuer must be a URL');
  if (!Array.isArray(audiences) || audiences.length === 0 || !audiences.every((a) => typeof a === 'string' && a)) {
    throw configError('at least one audience is required');
  }
  const algorithms = settings.algorithms ?? ['RS256'];
  if (!Array.isArray(algorithms) || algorithms.length === 0) throw configError('algorithms must list at least one algorithm');
  for (const alg of algorithms) {
    if (!ALGORITHMS.includes(alg))
      throw configError(`algorithm '${alg}' is not allowed (public-key algorithms only: ${ALGORITHMS.join(', ')})`);
  }
  if (jwksUri !== undefined && !URL.canParse(jwksUri)) throw configError('jwksUri must be a URL');
  if (publicKey !== undefined) {
    try {
      createPublicKey(pem(publicKey));
    } catch (err) {
      throw configError(`publicKey is not a PEM or base64 SPKI public key (${(err as Error).message})`);
    }
  }
  const requiredClaims = settings.requiredClaims ?? [];
  if (!Array.isArray(requiredClaims) || !requiredClaims.every((c) => typeof c === 'string' && c)) {
    throw configError('requiredClaims must be claim names');
  }
  return {
    issuer,
    audiences: [...audiences],
    algorithms: [...algorithms],
    clockSkewSec: nonNegative(settings.clockSkewSec, 30, (message) => configError(`clockSkewSec ${message}`)),
    ...(jwksUri !== undefined && { jwksUri }),
    ...(publicKey !== undefined && { publicKey }),
    jwksCooldownSec: nonNegative(settings.jwksCooldownSec, 30, (message) => configError(`jwksCooldownSec ${message}`)),
    requiredClaims: [...requiredClaims],
  };
}

function loginDenial(reason: string): GatewayDenial {
  return new GatewayDenial(401, 'login', reason);
}

// jose's error codes (ERR_JWS_…) would pass for socket error codes in describeFailure.
function reason(err: unknown): string {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && code.startsWith('ERR_J') ? (err as Error).message : describeFailure(err);
}

function unavailable(what: string, err: unknown): GatewayDenial {
  return new GatewayDenial(503, 'transient', `token issuer unavailable: ${what}: ${reason(err)}`);
}

/** Memoises an async value; a failure is not kept, so the next call tries again. */
function once<T>(load: () => Promise<T>): () => Promise<T> {
  let pending: Promise<T> | undefined;
  return () =>
    (pending ??= load().catch((err: unknown) => {
      pending = undefined;
      throw err;
    }));
}

async function fetchJson(url: string): Promise<Record<string, unknown>> {
  const res = await fetch(url, { headers: { accept: 'application/json' }, signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
  if (!res.ok) throw new Error(`HTTP ${res.status} from ${url}`);
  const json: unknown = await res.json();
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new Error(`${url} did not answer a JSON object`);
  return json as Record<string, unknown>;
}

function audienceOk(payload: Jose.JWTPayload, audiences: string[]): boolean {
  const aud = payload.aud === undefined ? [] : Array.isArray(payload.aud) ? payload.aud : [payload.aud];
  return aud.some((a) => audiences.includes(a)) || (typeof payload.azp === 'string' && audiences.includes(payload.azp));
}

/** The configured public key, imported once per algorithm it is used with. */
function spkiKeys(publicKey: string): (alg: string) => Promise<CryptoKey> {
  const keys = new Map<string, Promise<CryptoKey>>();
  return (alg) => {
    let key = keys.get(alg);
    if (!key) keys.set(alg, (key = import('jose').then((jose) => jose.importSPKI(pem(publicKey), alg))));
    return key;
  };
}

/** A token's verification, kept: its claims, and the header and key it was verified with. */
interface Verified {
  payload: VerifiedToken;
  header: Jose.JWTHeaderParameters;
  key: Jose.CryptoKey | Uint8Array | Jose.KeyObject;
}

export function createTokenVerifier(config: TokenConfig, options: TokenVerifierOptions = {}): TokenVerifier {
  const now = options.now ?? (() => new Date());
  const verified = new LRUCache<string, Verified>({ max: VERIFIED_MAX, ttl: VERIFIED_TTL_MS });
  const discoveryUrl = `${config.issuer.replace(/\/$/, '')}/.well-known/openid-configuration`;
  const discovery = once(async () => {
    try {
      return await fetchJson(discoveryUrl);
    } catch (err) {
      throw unavailable(discoveryUrl, err);
    }
  });

  const remoteKeys = once(async () => {
    const jose = await import('jose');
    let uri = config.jwksUri;
    if (uri === undefined) {
      const jwksUri = (await discovery()).jwks_uri;
      if (typeof jwksUri !== 'string' || !URL.canParse(jwksUri)) throw unavailable(discoveryUrl, new Error('no jwks_uri'));
      uri = jwksUri;
    }
    return jose.createRemoteJWKSet(new URL(uri), { cooldownDuration: config.jwksCooldownSec * 1000, timeoutDuration: FETCH_TIMEOUT_MS });
  });

  const fallback = config.publicKey === undefined ? undefined : spkiKeys(config.publicKey);
  const key = async (header: Jose.JWTHeaderParameters, token?: Jose.FlattenedJWSInput): Promise<Verified['key']> => {
    try {
      const keys = await remoteKeys();
      return await keys(header, token);
    } catch (err) {
      if (fallback) return fallback(header.alg ?? '');
      if (err instanceof GatewayDenial || NO_KEY.has((err as { code?: string }).code ?? '')) throw err;
      throw unavailable('JWKS', err);
    }
  };

  /** Whether a token verified before still is: not expired since (jose's check, with the skew), its key unchanged. */
  async function stillValid(known: Verified, currentDate: Date): Promise<boolean> {
    const { exp } = known.payload;
    if (typeof exp !== 'number' || exp <= currentDate.getTime() / 1000 - config.clockSkewSec) return false;
    try {
      // The key set's key for this header: the same object unless the JWKS was fetched again since.
      return (await key(known.header)) === known.key;
    } catch {
      return false;
    }
  }

  return {
    async verify(authorization) {
      if (!authorization) throw new LoginDenial('no Authorization header', bearerChallenge);
      // The scheme is case-insensitive (RFC 7235); `BearerTTT x` is another scheme.
      const bearer = /^Bearer +(\S.*)$/i.exec(authorization);
      if (!bearer) throw new LoginDenial('the Authorization header is not a Bearer token', bearerChallenge);
      const token = bearer[1].trim();
      if (!JWT.test(token)) throw loginDenial('the bearer token is not a JWT');
      const currentDate = now();
      const known = verified.get(token);
      if (known && (await stillValid(known, currentDate))) return known.payload;
      const jose = await import('jose');
      let payload: Jose.JWTPayload;
      let verifiedBy: Verified['key'];
      let protectedHeader: Jose.JWTHeaderParameters;
      try {
        ({
          payload,
          protectedHeader,
          key: verifiedBy,
        } = await jose.jwtVerify(token, key, {
          issuer: config.issuer,
          algorithms: config.algorithms,
          clockTolerance: config.clockSkewSec,
          requiredClaims: ['exp', ...config.requiredClaims],
          currentDate,
        }));
      } catch (err) {
        if (err instanceof GatewayDenial) throw err;
        throw loginDenial(`invalid token: ${reason(err)}`);
      }
      // jose checks `iat` only against a maximum age; a token issued in the future is refused here.
      if (payload.iat !== undefined && payload.iat > currentDate.getTime() / 1000 + config.clockSkewSec) {
        throw loginDenial('invalid token: issued in the future');
      }
      if (!audienceOk(payload, config.audiences)) throw loginDenial('invalid token: neither aud nor azp is an accepted audience');
      // Shared by the requests that bring the same token: nobody may change it.
      verified.set(token, { payload: Object.freeze(payload), header: protectedHeader, key: verifiedBy });
      return payload;
    },
    // A copy: the cached document must not change with what a caller does to the answer.
    discovery: async () => structuredClone(await discovery()),
  };
}
