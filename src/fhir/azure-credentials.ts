// Microsoft Entra ID credentials for Azure Health Data Services: the certificate client assertion (a JWT signed with
// the application's private key, naming its certificate by thumbprint, as "Microsoft identity platform certificate
// credentials" describes), and managed-identity tokens from the Instance Metadata Service (IMDS) or App Service's
// identity endpoint. Node-RED-free.
import { X509Certificate, createHash, createPrivateKey, randomUUID } from 'node:crypto';
import { describeFailure } from './errors.js';

export const CLIENT_ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
/** Entra ID accepts client assertions of at most ten minutes. */
const ASSERTION_LIFETIME_S = 600;

/** The certificate of a PEM text (line breaks may be lost when pasted into a one-line field). */
function readCertificate(pem: string): X509Certificate {
  const m = /-----BEGIN CERTIFICATE-----([A-Za-z0-9+/=\s]+)-----END CERTIFICATE-----/.exec(pem);
  if (!m) throw new Error('Certificate is not a PEM certificate (-----BEGIN CERTIFICATE----- …)');
  try {
    return new X509Certificate(Buffer.from(m[1].replace(/\s+/g, ''), 'base64'));
  } catch (err) {
    throw new Error(`Certificate cannot be read: ${(err as Error).message}`);
  }
}

/** PKCS#8 PEM with its line breaks restored, whatever white space the paste left. */
function normalisePem(pem: string): string {
  const m = /-----BEGIN PRIVATE KEY-----([A-Za-z0-9+/=\s]+)-----END PRIVATE KEY-----/.exec(pem);
  if (!m) return pem;
  const body = m[1].replace(/\s+/g, '');
  return `-----BEGIN PRIVATE KEY-----\n${body.replace(/(.{64})/g, '$1\n').replace(/\n$/, '')}\n-----END PRIVATE KEY-----\n`;
}

/** The certificate's SHA-256 and SHA-1 thumbprints (base64url), after checking the private key belongs to it. */
export function certificateThumbprints(certificatePem: string, privateKeyPem: string): { x5tS256: string; x5t: string } {
  const cert = readCertificate(certificatePem);
  let key;
  try {
    key = createPrivateKey(normalisePem(privateKeyPem));
  } catch (err) {
    throw new Error(`Private key cannot be read as a PKCS#8 PEM: ${(err as Error).message}`);
  }
  if (!cert.checkPrivateKey(key)) throw new Error('Private key does not belong to the certificate');
  return {
    x5tS256: createHash('sha256').update(cert.raw).digest('base64url'),
    x5t: createHash('sha1').update(cert.raw).digest('base64url'),
  };
}

/** The client assertion: PS256, x5t#S256 (and x5t for older tenants) from the certificate, aud the token endpoint. */
export async function certificateAssertion(
  clientId: string,
  tokenUrl: string,
  privateKeyPem: string,
  certificatePem: string,
  nowMs: number,
): Promise<string> {
  const { x5tS256, x5t } = certificateThumbprints(certificatePem, privateKeyPem);
  const jose = await import('jose');
  const key = await jose.importPKCS8(normalisePem(privateKeyPem), 'PS256');
  const iat = Math.floor(nowMs / 1000);
  return new jose.SignJWT({})
    .setProtectedHeader({ alg: 'PS256', typ: 'JWT', 'x5t#S256': x5tS256, x5t })
    .setIssuer(clientId)
    .setSubject(clientId)
    .setAudience(tokenUrl)
    .setJti(randomUUID())
    .setNotBefore(iat)
    .setIssuedAt(iat)
    .setExpirationTime(iat + ASSERTION_LIFETIME_S)
    .sign(key);
}

export interface ManagedIdentityRequest {
  /** IMDS (http://169.254.169.254/metadata/identity/oauth2/token) or App Service's IDENTITY_ENDPOINT. */
  endpoint: string;
  /** The FHIR service's URL: the token's audience. */
  resource: string;
  /** A user-assigned identity's client ID; empty = the system-assigned identity. */
  clientId: string;
  /** App Service's IDENTITY_HEADER; when given, the App Service shape is used. */
  identityHeader?: string;
  timeoutMs: number;
  nowMs: number;
}

export interface TokenAnswer {
  access_token: string;
  token_type?: string;
  expires_in?: number;
  refresh_token?: string;
}

/**
 * A token from a managed-identity endpoint: IMDS is called with `api-version=2018-02-01` and `Metadata: true`,
 * App Service's endpoint with `api-version=2019-08-01` and `X-IDENTITY-HEADER`. Both answer `expires_in` or
 * `expires_on` as strings of seconds.
 */
export async function managedIdentityToken(r: ManagedIdentityRequest): Promise<TokenAnswer> {
  const url = new URL(r.endpoint);
  url.searchParams.set('api-version', r.identityHeader ? '2019-08-01' : '2018-02-01');
  url.searchParams.set('resource', r.resource);
  if (r.clientId) url.searchParams.set('client_id', r.clientId);
  const headers: Record<string, string> = r.identityHeader ? { 'X-IDENTITY-HEADER': r.identityHeader } : { Metadata: 'true' };
  let res: Response;
  try {
    res = await fetch(url, { headers, signal: AbortSignal.timeout(r.timeoutMs) });
  } catch (err) {
    throw new Error(describeFailure(err));
  }
  const text = await res.text();
  let body: Record<string, unknown> = {};
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // not JSON: reported as text below
  }
  if (!res.ok || typeof body.access_token !== 'string') {
    const detail =
      typeof body.error === 'string'
        ? `${body.error}${typeof body.error_description === 'string' ? `: ${body.error_description}` : ''}`
        : typeof body.message === 'string'
          ? body.message
          : text.slice(0, 200);
    throw new Error(`HTTP ${res.status}${detail ? ` ${detail}` : ''}`);
  }
  const expiresIn = Number(body.expires_in);
  const expiresOn = Number(body.expires_on);
  return {
    access_token: body.access_token,
    token_type: typeof body.token_type === 'string' ? body.token_type : undefined,
    expires_in:
      Number.isFinite(expiresIn) && expiresIn > 0
        ? expiresIn
        : Number.isFinite(expiresOn)
          ? expiresOn - Math.floor(r.nowMs / 1000)
          : undefined,
  };
}
