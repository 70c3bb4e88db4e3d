// Google Cloud service accounts: the JSON key file Google issues, and the JWT signed with its private key that the
// token endpoint exchanges for an access token (JWT-bearer grant, RFC 7523), as Google's "Using OAuth 2.0 for Server
// to Server Applications" describes. Node-RED-free.

/** The OAuth scope of the Cloud Healthcare API. */
export const CLOUD_HEALTHCARE_SCOPE = 'https://www.googleapis.com/auth/cloud-healthcare';
export const JWT_BEARER_GRANT = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
/** Google's token endpoint, for a key file that names none. */
const GOOGLE_TOKEN_URI = 'https://oauth2.googleapis.com/token';
/** Google accepts assertions valid for at most one hour. */
const ASSERTION_LIFETIME_S = 3600;

export interface ServiceAccountKey {
  client_email: string;
  private_key: string;
  private_key_id?: string;
  token_uri: string;
}

/** The key file's fields this module uses; throws a message naming what is wrong (never the key itself). */
export function parseServiceAccountKey(text: string): ServiceAccountKey {
  let key: unknown;
  try {
    key = JSON.parse(text);
  } catch {
    throw new Error('Service account key is not JSON: paste the whole JSON key file Google issued');
  }
  if (typeof key !== 'object' || key === null || Array.isArray(key)) throw new Error('Service account key is not a JSON object');
  const k = key as Record<string, unknown>;
  if (k.type !== 'service_account') throw new Error(`Service account key has type "${String(k.type)}", not "service_account"`);
  for (const field of ['client_email', 'private_key'] as const) {
    if (typeof k[field] !== 'string' || !k[field]) throw new Error(`Service account key has no ${field}`);
  }
  return {
    client_email: k.client_email as string,
    private_key: k.private_key as string,
    private_key_id: typeof k.private_key_id === 'string' && k.private_key_id ? k.private_key_id : undefined,
    token_uri: typeof k.token_uri === 'string' && k.token_uri ? k.token_uri : GOOGLE_TOKEN_URI,
  };
}

/**
 * The signed JWT for the token request: RS256 with the key's private_key_id as kid; iss and sub the service
 * account, aud the token endpoint, the scope asked for, valid from now for one hour.
 */
export async function serviceAccountAssertion(key: ServiceAccountKey, audience: string, scope: string, nowMs: number): Promise<string> {
  const jose = await import('jose');
  let privateKey: CryptoKey;
  try {
    privateKey = await jose.importPKCS8(key.private_key, 'RS256');
  } catch (err) {
    throw new Error(`the service account key's private_key cannot be read as an RSA PKCS#8 PEM: ${(err as Error).message}`);
  }
  const iat = Math.floor(nowMs / 1000);
  return new jose.SignJWT({ scope })
    .setProtectedHeader({ alg: 'RS256', typ: 'JWT', ...(key.private_key_id && { kid: key.private_key_id }) })
    .setIssuer(key.client_email)
    .setSubject(key.client_email)
    .setAudience(audience)
    .setIssuedAt(iat)
    .setExpirationTime(iat + ASSERTION_LIFETIME_S)
    .sign(privateKey);
}
