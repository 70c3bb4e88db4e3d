// Stand-in for a Google Cloud Healthcare API FHIR store (R4), on loopback: the FHIR API under
// /v1/projects/P/locations/L/datasets/D/fhirStores/S/fhir, Google's OAuth 2.0 token endpoint for service accounts
// (JWT-bearer grant), opaque access tokens checked on every FHIR call, `_page_token` next links and
// fhir.executeBundle's limits. README ("Cloud FHIR stand-ins") lists what it reproduces and from which documentation.
// Out-of-band: GET /__service-account (the key file of the one service account), POST /__token-ttl {seconds},
// GET /__token-requests (count since the last reset), POST /__expire-tokens, POST /__reset.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { decodeProtectedHeader, importSPKI, jwtVerify } from 'jose';
import { startCloudStandIn, formOf, outcome, send } from './cloud-standin.mjs';

export const BASE_PATH = '/v1/projects/geofhir-sandbox/locations/us-central1/datasets/registry/fhirStores/mcsd/fhir';
const SCOPES = ['https://www.googleapis.com/auth/cloud-healthcare', 'https://www.googleapis.com/auth/cloud-platform'];
/** fhir.executeBundle: transaction bundles of more entries are refused at once; FHIR requests are limited to 50 MB. */
const MAX_TRANSACTION_ENTRIES = 4500;
const MAX_REQUEST_BYTES = 50 * 1024 * 1024;
const JSON_TYPE = { 'content-type': 'application/json; charset=utf-8' };

/** Google's token endpoint error body (RFC 6749 §5.2). */
const oauthError = (res, status, error, description) => send(res, status, { error, error_description: description }, JSON_TYPE);

/** Google's API error body (google.rpc.Status). */
const apiError = (res, code, status, message, headers = {}) =>
  send(res, code, { error: { code, message, status } }, { ...JSON_TYPE, ...headers });

export async function startGoogleHealthcare({ port = 0 } = {}) {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const account = {
    email: 'geofhir-exporter@geofhir-sandbox.iam.gserviceaccount.com',
    keyId: randomBytes(20).toString('hex'),
    publicKey: await importSPKI(publicKey.export({ type: 'spki', format: 'pem' }), 'RS256'),
    privatePem: privateKey.export({ type: 'pkcs8', format: 'pem' }),
  };
  const tokens = new Map(); // access token -> expiry (ms)
  let ttl = 3599;
  let tokenRequests = 0;

  const provider = {
    basePath: BASE_PATH,
    pageParam: '_page_token',
    keepQuery: false,
    routes: (ctx) => ({
      'POST /token': async (req, res, raw) => {
        tokenRequests++;
        const form = formOf(raw);
        if (form.grant_type !== 'urn:ietf:params:oauth:grant-type:jwt-bearer') {
          return oauthError(res, 400, 'unsupported_grant_type', `Invalid grant_type: ${form.grant_type ?? ''}`);
        }
        let header;
        try {
          header = decodeProtectedHeader(form.assertion ?? '');
        } catch {
          return oauthError(res, 400, 'invalid_request', 'Invalid JWT: Token must be a short-lived token and in a reasonable timeframe');
        }
        if (header.alg !== 'RS256') return oauthError(res, 400, 'invalid_grant', 'Invalid JWT Signature.');
        let claims;
        try {
          ({ payload: claims } = await jwtVerify(form.assertion, account.publicKey, { algorithms: ['RS256'] }));
        } catch (err) {
          if (err.code === 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED') return oauthError(res, 400, 'invalid_grant', 'Invalid JWT Signature.');
          return oauthError(
            res,
            400,
            'invalid_grant',
            'Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim.',
          );
        }
        if (claims.iss !== account.email) return oauthError(res, 400, 'invalid_grant', 'Invalid grant: account not found');
        if (header.kid && header.kid !== account.keyId) return oauthError(res, 400, 'invalid_grant', 'Invalid JWT Signature.');
        if (claims.aud !== `${ctx.origin}/token`) return oauthError(res, 400, 'invalid_grant', 'Invalid JWT: Failed audience check.');
        if (!claims.exp || !claims.iat || claims.exp - claims.iat > 3600) {
          return oauthError(
            res,
            400,
            'invalid_grant',
            'Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim.',
          );
        }
        const scopes = String(claims.scope ?? '').split(' ');
        if (!scopes.some((s) => SCOPES.includes(s))) {
          return oauthError(res, 400, 'invalid_scope', 'Invalid OAuth scope or ID token audience provided.');
        }
        const token = `ya29.${randomBytes(48).toString('base64url')}`;
        tokens.set(token, Date.now() + ttl * 1000);
        return send(res, 200, { access_token: token, expires_in: ttl, token_type: 'Bearer' }, JSON_TYPE);
      },
      'GET /__service-account': (req, res) =>
        send(
          res,
          200,
          {
            type: 'service_account',
            project_id: 'geofhir-sandbox',
            private_key_id: account.keyId,
            private_key: account.privatePem,
            client_email: account.email,
            client_id: '100000000000000000001',
            auth_uri: 'https://accounts.google.com/o/oauth2/auth',
            token_uri: `${ctx.origin}/token`,
          },
          JSON_TYPE,
        ),
      'POST /__token-ttl': (req, res, raw) => {
        ttl = Number(JSON.parse(raw.toString('utf8')).seconds) || 3599;
        return send(res, 204);
      },
      'GET /__token-requests': (req, res) => send(res, 200, { count: tokenRequests }, JSON_TYPE),
      'POST /__expire-tokens': (req, res) => {
        for (const token of tokens.keys()) tokens.set(token, 0);
        return send(res, 204);
      },
    }),
    reset() {
      tokenRequests = 0;
      ttl = 3599;
    },
    authorise: (token) => (tokens.get(token) ?? 0) > Date.now(),
    unauthorized: (res) =>
      apiError(
        res,
        401,
        'UNAUTHENTICATED',
        'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.',
        { 'www-authenticate': 'Bearer realm="https://accounts.google.com/"' },
      ),
    notFound: (res, path) => apiError(res, 404, 'NOT_FOUND', `The requested URL ${path} was not found on this server.`),
    bundleProblem(bundle, bytes, contentType) {
      if (!/^application\/fhir\+json/i.test(contentType ?? '')) {
        return [400, outcome('invalid', 'executeBundle requires the header Content-Type: application/fhir+json')];
      }
      if (bytes > MAX_REQUEST_BYTES)
        return [413, outcome('too-costly', `request of ${bytes} bytes exceeds the limit of ${MAX_REQUEST_BYTES} bytes`)];
      const entries = bundle?.entry?.length ?? 0;
      if (bundle?.type === 'transaction' && entries > MAX_TRANSACTION_ENTRIES) {
        return [
          400,
          outcome('too-costly', `transaction bundle has ${entries} entries, more than the maximum of ${MAX_TRANSACTION_ENTRIES}`),
        ];
      }
      return undefined;
    },
    capabilities: (cs) => ({ ...cs, software: { name: 'Cloud Healthcare API (geofhir stand-in)', version: 'v1' } }),
  };
  return startCloudStandIn({ port, provider });
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { url } = await startGoogleHealthcare({ port: Number(process.argv[2] ?? 0) });
  console.log(`Cloud Healthcare API stand-in on ${url}`);
}
