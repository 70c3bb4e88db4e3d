// Stand-in for an Azure Health Data Services FHIR service (R4), on loopback: the FHIR API at the root of its
// origin (as at https://<workspace>-<service>.fhir.azurehealthcareapis.com), Microsoft Entra ID's v2.0 token endpoint
// of one tenant (client credentials with a client secret or a certificate assertion, scope `<FHIR URL>/.default`),
// the managed-identity endpoints of IMDS and App Service, JWT access tokens checked on every FHIR call, continuation
// tokens (`ct=`) in next links and the 500-entry Bundle limit. README ("Cloud FHIR stand-ins") lists what it
// reproduces and from which documentation. Out-of-band: GET /__app (tenant, application, secret, certificate, key
// and endpoints), POST /__token-ttl {seconds}, GET /__token-requests, POST /__expire-tokens, POST /__reset.
import { X509Certificate, createHash, generateKeyPairSync, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { SignJWT, decodeProtectedHeader, importX509, jwtVerify } from 'jose';
import { startCloudStandIn, formOf, send } from './cloud-standin.mjs';

const KEYS = new URL('./keys/', import.meta.url);
const TENANT = '72f988bf-0000-4000-8000-00000000a11e';
const CLIENT_ID = '0b8d5e4a-1c2f-4e3a-9d7b-5a6c7e8f9a01';
const CLIENT_SECRET = 'Qx8~geofhir-sandbox-client-secret-value';
const IDENTITY_HEADER = 'geofhir-app-service-identity-header';
const MANAGED_IDENTITY_ID = '5e2c7a9d-3b4f-4c1e-8a6d-9f0b1c2d3e4f';
/** Bundles (batch or transaction) of more entries are refused. */
const MAX_BUNDLE_ENTRIES = 500;
const JSON_TYPE = { 'content-type': 'application/json; charset=utf-8' };

const certificatePem = readFileSync(new URL('azure-app.cert.pem', KEYS), 'utf8');
const thumbprints = (pem) => {
  const der = new X509Certificate(pem).raw;
  return { s256: createHash('sha256').update(der).digest('base64url'), sha1: createHash('sha1').update(der).digest('base64url') };
};
const registered = thumbprints(certificatePem);

/** Entra ID's error body: the AADSTS code and message, with trace and correlation ids and the timestamp. */
function entraError(res, status, error, code, message) {
  const trace = randomUUID();
  const correlation = randomUUID();
  const timestamp = new Date()
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d+Z$/, 'Z');
  send(
    res,
    status,
    {
      error,
      error_description: `AADSTS${code}: ${message} Trace ID: ${trace} Correlation ID: ${correlation} Timestamp: ${timestamp}`,
      error_codes: [code],
      timestamp,
      trace_id: trace,
      correlation_id: correlation,
      error_uri: `https://login.microsoftonline.com/error?code=${code}`,
    },
    JSON_TYPE,
  );
}

export async function startAzureHealth({ port = 0 } = {}) {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const appCertificate = await importX509(certificatePem, 'PS256');
  const appCertificateRs = await importX509(certificatePem, 'RS256');
  let ttl = 3599;
  let tokenRequests = 0;
  let fhirUrl = ''; // the FHIR service URL without its trailing '/', the tokens' audience
  let issuer = '';
  const revoked = new Set(); // jti of tokens made invalid by POST /__expire-tokens
  const issued = new Set();

  async function accessToken(appid, seconds = ttl) {
    const iat = Math.floor(Date.now() / 1000);
    const jti = randomUUID();
    issued.add(jti);
    const jwt = await new SignJWT({ appid, azp: appid, oid: randomUUID(), tid: TENANT, ver: '1.0', roles: [] })
      .setProtectedHeader({ alg: 'RS256', typ: 'JWT' })
      .setJti(jti)
      .setIssuer(issuer)
      .setAudience(fhirUrl)
      .setSubject(appid)
      .setIssuedAt(iat)
      .setNotBefore(iat)
      .setExpirationTime(iat + seconds)
      .sign(privateKey);
    return { jwt, iat, seconds };
  }

  /** The resource a scope names (`<resource>/.default`), or an error answered. */
  function resourceOfScope(res, scope) {
    if (!scope) {
      entraError(res, 400, 'invalid_request', 90014, "The required field 'scope' is missing from the credential.");
      return undefined;
    }
    if (!/\/\.default$/.test(scope)) {
      entraError(
        res,
        400,
        'invalid_scope',
        1002012,
        `The provided value for scope ${scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).`,
      );
      return undefined;
    }
    const resource = scope.replace(/\/\.default$/, '');
    if (resource.replace(/\/$/, '') !== fhirUrl) {
      entraError(
        res,
        400,
        'invalid_resource',
        500011,
        `The resource principal named ${resource} was not found in the tenant named ${TENANT}. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant.`,
      );
      return undefined;
    }
    return resource;
  }

  /** Checks a client assertion as Entra ID does; true, or an error answered. */
  async function assertionValid(res, assertion, tokenUrl) {
    let header;
    try {
      header = decodeProtectedHeader(assertion);
    } catch {
      entraError(res, 400, 'invalid_request', 50027, 'JWT token is invalid or malformed.');
      return false;
    }
    const known = header['x5t#S256'] === registered.s256 || (header['x5t#S256'] === undefined && header.x5t === registered.sha1);
    if (!known) {
      const thumbprint = header['x5t#S256'] ?? header.x5t ?? '';
      entraError(
        res,
        401,
        'invalid_client',
        700027,
        `The certificate with identifier used to sign the client assertion is not registered on application. [Reason - The key was not found., Thumbprint of key used by client: '${Buffer.from(thumbprint, 'base64url').toString('hex').toUpperCase()}', Please visit the Azure Portal, Graph Explorer or directly use MS Graph to see configured keys for app Id '${CLIENT_ID}'.]`,
      );
      return false;
    }
    try {
      await jwtVerify(assertion, header.alg === 'RS256' ? appCertificateRs : appCertificate, {
        algorithms: ['PS256', 'RS256'],
        audience: tokenUrl,
        issuer: CLIENT_ID,
        subject: CLIENT_ID,
        maxTokenAge: '10m',
      });
    } catch (err) {
      const message =
        err.code === 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED'
          ? 'Client assertion failed signature validation.'
          : err.code === 'ERR_JWT_EXPIRED'
            ? 'Client assertion is not within its valid time range.'
            : `Client assertion contains an invalid claim: ${err.message}`;
      entraError(res, 401, 'invalid_client', 700027, message);
      return false;
    }
    return true;
  }

  /** A managed-identity answer: every number a string, as IMDS and App Service send them. */
  async function identityAnswer(res, resource, extra) {
    const { jwt, iat, seconds } = await accessToken(MANAGED_IDENTITY_ID);
    send(
      res,
      200,
      {
        access_token: jwt,
        client_id: MANAGED_IDENTITY_ID,
        expires_on: String(iat + seconds),
        not_before: String(iat),
        resource,
        token_type: 'Bearer',
        ...extra(seconds),
      },
      JSON_TYPE,
    );
  }

  const provider = {
    basePath: '',
    pageParam: 'ct',
    keepQuery: true,
    routes: (ctx) => ({
      [`POST /${TENANT}/oauth2/v2.0/token`]: async (req, res, raw) => {
        tokenRequests++;
        const form = formOf(raw);
        if (form.grant_type !== 'client_credentials') {
          return entraError(
            res,
            400,
            'unsupported_grant_type',
            70003,
            `The app requested an unsupported grant type '${form.grant_type ?? ''}'.`,
          );
        }
        if (form.client_id !== CLIENT_ID) {
          return entraError(
            res,
            400,
            'unauthorized_client',
            700016,
            `Application with identifier '${form.client_id ?? ''}' was not found in the directory '${TENANT}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.`,
          );
        }
        if (form.client_assertion !== undefined) {
          if (form.client_assertion_type !== 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer') {
            return entraError(res, 400, 'invalid_request', 50027, `Invalid client_assertion_type '${form.client_assertion_type ?? ''}'.`);
          }
          if (!(await assertionValid(res, form.client_assertion, `${ctx.origin}/${TENANT}/oauth2/v2.0/token`))) return undefined;
        } else if (form.client_secret !== CLIENT_SECRET) {
          return entraError(
            res,
            401,
            'invalid_client',
            7000215,
            `Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${CLIENT_ID}'.`,
          );
        }
        if (!resourceOfScope(res, form.scope)) return undefined;
        const { jwt, seconds } = await accessToken(CLIENT_ID);
        return send(res, 200, { token_type: 'Bearer', expires_in: seconds, ext_expires_in: seconds, access_token: jwt }, JSON_TYPE);
      },
      // IMDS: GET with `Metadata: true`, api-version 2018-02-01, the resource as a query parameter.
      'GET /metadata/identity/oauth2/token': async (req, res, raw, url) => {
        tokenRequests++;
        if (req.headers.metadata !== 'true') {
          return send(res, 400, { error: 'invalid_request', error_description: 'Required metadata header not specified' }, JSON_TYPE);
        }
        if (!url.searchParams.get('api-version')) {
          return send(
            res,
            400,
            { error: 'invalid_request', error_description: "Required query variable 'api-version' is missing" },
            JSON_TYPE,
          );
        }
        const resource = url.searchParams.get('resource') ?? '';
        if (resource.replace(/\/$/, '') !== fhirUrl) {
          return send(
            res,
            400,
            {
              error: 'invalid_resource',
              error_description: `AADSTS500011: The resource principal named ${resource} was not found in the tenant named ${TENANT}.`,
            },
            JSON_TYPE,
          );
        }
        return identityAnswer(res, resource, (s) => ({ expires_in: String(s), ext_expires_in: String(s) }));
      },
      // App Service: GET IDENTITY_ENDPOINT with X-IDENTITY-HEADER, api-version 2019-08-01.
      'GET /msi/token': async (req, res, raw, url) => {
        tokenRequests++;
        if (req.headers['x-identity-header'] !== IDENTITY_HEADER) {
          return send(
            res,
            401,
            { statusCode: 401, message: 'Unauthorized: the X-IDENTITY-HEADER is missing or does not match' },
            JSON_TYPE,
          );
        }
        const resource = url.searchParams.get('resource') ?? '';
        if (resource.replace(/\/$/, '') !== fhirUrl) {
          return send(
            res,
            400,
            {
              statusCode: 400,
              message: `AADSTS500011: The resource principal named ${resource} was not found in the tenant named ${TENANT}.`,
            },
            JSON_TYPE,
          );
        }
        return identityAnswer(res, resource, () => ({}));
      },
      'GET /__app': (req, res) =>
        send(
          res,
          200,
          {
            tenantId: TENANT,
            clientId: CLIENT_ID,
            clientSecret: CLIENT_SECRET,
            certificate: certificatePem,
            privateKey: readFileSync(new URL('azure-app.key.pem', KEYS), 'utf8'),
            tokenUrl: `${ctx.origin}/${TENANT}/oauth2/v2.0/token`,
            imdsUrl: `${ctx.origin}/metadata/identity/oauth2/token`,
            appServiceUrl: `${ctx.origin}/msi/token`,
            identityHeader: IDENTITY_HEADER,
          },
          JSON_TYPE,
        ),
      'POST /__token-ttl': (req, res, raw) => {
        ttl = Number(JSON.parse(raw.toString('utf8')).seconds) || 3599;
        return send(res, 204);
      },
      'GET /__token-requests': (req, res) => send(res, 200, { count: tokenRequests }, JSON_TYPE),
      'POST /__expire-tokens': (req, res) => {
        for (const jti of issued) revoked.add(jti);
        return send(res, 204);
      },
    }),
    reset() {
      tokenRequests = 0;
      ttl = 3599;
    },
    async authorise(token) {
      try {
        const { payload } = await jwtVerify(token, publicKey, { issuer, audience: fhirUrl, algorithms: ['RS256'] });
        return !revoked.has(payload.jti);
      } catch {
        return false;
      }
    },
    unauthorized: (res) =>
      send(
        res,
        401,
        {
          resourceType: 'OperationOutcome',
          id: randomUUID(),
          meta: { lastUpdated: new Date().toISOString() },
          issue: [{ severity: 'error', code: 'login', diagnostics: 'Authentication failed.' }],
        },
        {
          'www-authenticate': `Bearer authorization_uri="https://login.microsoftonline.com/${TENANT}", resource_id="${fhirUrl}", realm="${fhirUrl}"`,
        },
      ),
    notFound: (res) =>
      send(res, 404, {
        resourceType: 'OperationOutcome',
        issue: [{ severity: 'error', code: 'not-found', diagnostics: 'The requested route was not found.' }],
      }),
    bundleProblem(bundle) {
      const entries = bundle?.entry?.length ?? 0;
      if (['batch', 'transaction'].includes(bundle?.type) && entries > MAX_BUNDLE_ENTRIES) {
        return [
          400,
          {
            resourceType: 'OperationOutcome',
            id: randomUUID(),
            issue: [
              {
                severity: 'error',
                code: 'invalid',
                diagnostics: `The number of entries in the bundle exceeded the configured limit of ${MAX_BUNDLE_ENTRIES}.`,
              },
            ],
          },
        ];
      }
      return undefined;
    },
    capabilities: (cs) => ({ ...cs, software: { name: 'Microsoft FHIR Server (geofhir stand-in)', version: '4.0' } }),
  };
  const started = await startCloudStandIn({ port, provider });
  fhirUrl = started.url.replace(/\/$/, '');
  issuer = `https://sts.windows.net/${TENANT}/`;
  return started;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { url } = await startAzureHealth({ port: Number(process.argv[2] ?? 0) });
  console.log(`Azure Health Data Services FHIR stand-in on ${url}`);
}
