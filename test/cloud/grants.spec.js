'use strict';
// fhir-external-system's cloud grants against the stand-ins' token endpoints: Google's JWT-bearer grant with a
// service-account key, Entra ID's client credentials (secret, certificate assertion) and managed-identity endpoints.
// Success, a refused key with the endpoint's own text, renewal after the stand-in's short expires_in (token requests
// counted) and after a token the FHIR API refuses; Test connection.
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const { expect } = require('chai');
const helper = require('node-red-node-test-helper');
const { nodeRedPath } = require('../support/node-red');
const { control } = require('../support/peers');
const { useCloudPeer } = require('../support/cloud');
const systemNode = require('../../nodes/fhir-external-system.js');
const { validateSettings } = require('../../nodes/lib/fhir/external-system.js');
const { createTokenSource } = require('../../nodes/lib/fhir/token-source.js');
const { FhirConnection } = require('../../nodes/lib/fhir/connection.js');
const { parseServiceAccountKey, serviceAccountAssertion } = require('../../nodes/lib/fhir/google-service-account.js');

helper.init(nodeRedPath);

const KEYS = path.join(__dirname, '..', 'peers', 'keys');
const claims = (jwt) => JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url'));
const header = (jwt) => JSON.parse(Buffer.from(jwt.split('.')[0], 'base64url'));
const failure = (promise) =>
  promise.then(
    () => expect.fail('expected a failure'),
    (e) => e,
  );

/** Checks every grant of `cloud` as a token the stand-in's FHIR API accepts. */
function grantSuccess(cloud) {
  it('every grant gets a token the FHIR API accepts on a long or root base', async function () {
    for (const [name, [, secrets]] of Object.entries(cloud.grants)) {
      const s = cloud.settings(name);
      expect(validateSettings(s, secrets), name).to.deep.equal([]);
      const tokens = createTokenSource(s, secrets);
      const cs = await new FhirConnection(s, tokens).capabilities();
      expect(cs.software.name, name).to.match(/geofhir stand-in/);
      const res = await fetch(`${cloud.base}Location?_count=1`, { headers: { authorization: `Bearer ${await tokens.token()}` } });
      expect(res.status, name).to.equal(200);
    }
  });
}

/** Renewal: the stand-in's short expires_in, and a token its FHIR API stops accepting. */
function renewal(cloud, grant) {
  afterEach(() => control(cloud.base, '/__token-ttl', { seconds: 3599 }));

  it(`${grant}: renews the token after the stand-in's short expires_in, once, and not before`, async function () {
    await control(cloud.base, '/__token-ttl', { seconds: 20 });
    let now = Date.now();
    const tokens = createTokenSource(cloud.settings(grant), cloud.secrets(grant), { now: () => now });
    const before = await cloud.tokenRequests();
    const first = await tokens.token();
    now += 15 * 1000; // within 20 s less the 10 % margin
    expect(await tokens.token()).to.equal(first);
    expect(await cloud.tokenRequests()).to.equal(before + 1);
    now += 5 * 1000;
    const second = await tokens.token();
    expect(second).to.not.equal(first);
    expect(await cloud.tokenRequests()).to.equal(before + 2);
  });

  it(`${grant}: gets a new token once when the FHIR API refuses the cached one (401)`, async function () {
    const s = cloud.settings(grant);
    const connection = new FhirConnection(s, createTokenSource(s, cloud.secrets(grant)));
    await connection.capabilities();
    const before = await cloud.tokenRequests();
    await control(cloud.base, '/__expire-tokens');
    const cs = await connection.capabilities();
    expect(cs.resourceType).to.equal('CapabilityStatement');
    expect(await cloud.tokenRequests()).to.equal(before + 1);
  });
}

describe('cloud grants: Google service account against the Cloud Healthcare API stand-in', function () {
  const cloud = useCloudPeer('google');
  grantSuccess(cloud);
  renewal(cloud, 'google-service-account');

  it('signs RS256 with the key id, iss and sub the service account, aud the token URI, the Cloud Healthcare scope, one hour', async function () {
    const key = parseServiceAccountKey(cloud.secrets().serviceAccountKey);
    const now = Date.now();
    const jwt = await serviceAccountAssertion(key, key.token_uri, 'https://www.googleapis.com/auth/cloud-healthcare', now);
    expect(header(jwt)).to.deep.equal({ alg: 'RS256', typ: 'JWT', kid: key.private_key_id });
    const c = claims(jwt);
    expect(c).to.include({ iss: key.client_email, sub: key.client_email, aud: `${new URL(cloud.base).origin}/token` });
    expect(c.scope).to.equal('https://www.googleapis.com/auth/cloud-healthcare');
    expect(c.exp - c.iat).to.equal(3600);
    expect(c.iat).to.equal(Math.floor(now / 1000));
  });

  it("reports a key Google does not know with the token endpoint's text", async function () {
    const key = JSON.parse(cloud.secrets().serviceAccountKey);
    const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
    key.private_key = privateKey.export({ type: 'pkcs8', format: 'pem' });
    const err = await failure(createTokenSource(cloud.settings(), { serviceAccountKey: JSON.stringify(key) }).token());
    expect(err.message).to.equal(`token request to ${key.token_uri} failed: HTTP 400 invalid_grant: Invalid JWT Signature.`);
  });

  it('reports a scope the Cloud Healthcare API does not grant', async function () {
    const err = await failure(createTokenSource(cloud.settings(undefined, { scope: 'openid' }), cloud.secrets()).token());
    expect(err.message).to.match(/HTTP 400 invalid_scope: Invalid OAuth scope or ID token audience provided\.$/);
  });

  it('uses the Token URL instead of the key file’s token_uri when one is set', async function () {
    const key = JSON.parse(cloud.secrets().serviceAccountKey);
    const elsewhere = { serviceAccountKey: JSON.stringify({ ...key, token_uri: 'https://oauth2.googleapis.com/token' }) };
    const s = cloud.settings(undefined, { tokenUrl: key.token_uri });
    expect(validateSettings(s, elsewhere)).to.deep.equal([]);
    expect(await createTokenSource(s, elsewhere).token()).to.match(/^ya29\./);
  });

  it("answers a missing or refused token with Google's 401, reported with its message", async function () {
    const res = await fetch(`${cloud.base}Location`, { headers: { authorization: 'Bearer ya29.not-issued' } });
    expect(res.status).to.equal(401);
    expect(res.headers.get('www-authenticate')).to.equal('Bearer realm="https://accounts.google.com/"');
    expect((await res.json()).error).to.include({ code: 401, status: 'UNAUTHENTICATED' });
    const s = cloud.settings(undefined, { authType: 'bearer' });
    const err = await failure(new FhirConnection(s, createTokenSource(s, { bearerToken: 'ya29.not-issued' })).capabilities());
    expect(err.message).to.match(/failed: HTTP 401: UNAUTHENTICATED: Request had invalid authentication credentials/);
  });

  it('names what is wrong with a key file that is not one', function () {
    const problems = (serviceAccountKey) => validateSettings(cloud.settings(), { serviceAccountKey });
    expect(problems(undefined)).to.deep.equal(['Service account key (the JSON key file) is required for a Google service account']);
    expect(problems('-----BEGIN PRIVATE KEY-----')).to.deep.equal([
      'Service account key is not JSON: paste the whole JSON key file Google issued',
    ]);
    expect(problems('{"type":"authorized_user"}')).to.deep.equal(['Service account key has type "authorized_user", not "service_account"']);
    expect(problems('{"type":"service_account","client_email":"x@y"}')).to.deep.equal(['Service account key has no private_key']);
    // Also when a Token URL stands for the key's token_uri.
    const withUrl = cloud.settings(undefined, { tokenUrl: 'https://oauth2.googleapis.com/token' });
    expect(validateSettings(withUrl, { serviceAccountKey: '{}' })).to.deep.equal([
      'Service account key has type "undefined", not "service_account"',
    ]);
  });
});

describe('cloud grants: Entra ID against the Azure Health Data Services stand-in', function () {
  const cloud = useCloudPeer('azure');
  grantSuccess(cloud);
  renewal(cloud, 'azure-client-secret');
  renewal(cloud, 'azure-certificate');
  renewal(cloud, 'azure-managed-identity (IMDS)');

  it('asks for the FHIR service’s /.default scope and gets a token for it as audience', async function () {
    const token = await createTokenSource(cloud.settings('azure-client-secret'), cloud.secrets('azure-client-secret')).token();
    expect(claims(token).aud).to.equal(cloud.base.replace(/\/$/, ''));
  });

  it("reports a wrong client secret with Entra ID's AADSTS text", async function () {
    const err = await failure(createTokenSource(cloud.settings('azure-client-secret'), { clientSecret: 'wrong' }).token());
    expect(err.message).to.match(
      /^token request to http:\/\/127\.0\.0\.1:\d+\/[\w-]+\/oauth2\/v2\.0\/token failed: HTTP 401 invalid_client: AADSTS7000215: Invalid client secret provided\./,
    );
    expect(err.message).to.not.include('wrong');
  });

  it('signs the certificate assertion PS256 with x5t#S256 and x5t of the certificate, aud the token endpoint', async function () {
    const { certificateAssertion } = require('../../nodes/lib/fhir/azure-credentials.js');
    const { privateKey, certificate } = cloud.secrets('azure-certificate');
    const s = cloud.settings('azure-certificate');
    const jwt = await certificateAssertion(s.clientId, s.tokenUrl, privateKey, certificate, Date.now());
    const der = new crypto.X509Certificate(certificate).raw;
    expect(header(jwt)).to.deep.equal({
      alg: 'PS256',
      typ: 'JWT',
      'x5t#S256': crypto.createHash('sha256').update(der).digest('base64url'),
      x5t: crypto.createHash('sha1').update(der).digest('base64url'),
    });
    expect(claims(jwt)).to.include({ iss: s.clientId, sub: s.clientId, aud: s.tokenUrl });
    expect(claims(jwt).jti).to.be.a('string');
  });

  it("reports a certificate the application does not have with Entra ID's AADSTS text", async function () {
    const other = {
      privateKey: fs.readFileSync(path.join(KEYS, 'azure-unregistered.key.pem'), 'utf8'),
      certificate: fs.readFileSync(path.join(KEYS, 'azure-unregistered.cert.pem'), 'utf8'),
    };
    const err = await failure(createTokenSource(cloud.settings('azure-certificate'), other).token());
    expect(err.message).to.match(
      /HTTP 401 invalid_client: AADSTS700027: The certificate with identifier used to sign the client assertion is not registered on application\./,
    );
  });

  it('refuses a private key that does not belong to the certificate before any request', function () {
    const { certificate } = cloud.secrets('azure-certificate');
    const privateKey = fs.readFileSync(path.join(KEYS, 'azure-unregistered.key.pem'), 'utf8');
    expect(validateSettings(cloud.settings('azure-certificate'), { certificate, privateKey })).to.deep.equal([
      'Private key does not belong to the certificate',
    ]);
  });

  it('reports a scope of another resource (AADSTS500011) and a managed identity asked for another resource', async function () {
    const scoped = cloud.settings('azure-client-secret', { scope: 'https://other.fhir.azurehealthcareapis.com/.default' });
    const err = await failure(createTokenSource(scoped, cloud.secrets('azure-client-secret')).token());
    expect(err.message).to.match(/HTTP 400 invalid_resource: AADSTS500011: The resource principal named https:\/\/other/);
    const imds = cloud.settings('azure-managed-identity (IMDS)', { resource: 'https://other.fhir.azurehealthcareapis.com' });
    const mi = await failure(createTokenSource(imds, {}).token());
    expect(mi.message).to.match(/^token request to .*\/metadata\/identity\/oauth2\/token failed: HTTP 400 invalid_resource: AADSTS500011/);
  });

  it('calls App Service’s identity endpoint with X-IDENTITY-HEADER, and reports a wrong one', async function () {
    const grant = 'azure-managed-identity (App Service)';
    const token = await createTokenSource(cloud.settings(grant), cloud.secrets(grant)).token();
    expect(claims(token).aud).to.equal(cloud.base.replace(/\/$/, ''));
    const err = await failure(createTokenSource(cloud.settings(grant), { identityHeader: 'wrong' }).token());
    expect(err.message).to.match(/failed: HTTP 401 Unauthorized: the X-IDENTITY-HEADER is missing or does not match$/);
  });

  it("answers a refused token with Azure's 401 OperationOutcome and challenge", async function () {
    const res = await fetch(`${cloud.base}Location`, { headers: { authorization: 'Bearer eyJ.not.issued' } });
    expect(res.status).to.equal(401);
    expect(res.headers.get('www-authenticate')).to.match(
      /^Bearer authorization_uri="https:\/\/login\.microsoftonline\.com\/[\w-]+", resource_id="/,
    );
    expect((await res.json()).issue[0]).to.include({ code: 'login', diagnostics: 'Authentication failed.' });
  });

  it('asks for what each Entra ID grant needs', function () {
    const problems = (grant, extra, secrets = {}) => validateSettings(cloud.settings(grant, extra), secrets);
    expect(problems('azure-client-secret', { tenantId: '', tokenUrl: '', clientId: '' })).to.deep.equal([
      'Tenant ID (or a Token URL) is required for Entra ID',
      'Client ID (the application ID) is required for Entra ID',
      'Client secret is required for Entra ID client credentials',
    ]);
    expect(problems('azure-certificate', {})).to.deep.equal([
      'Private key is required for the Entra ID certificate credential',
      'Certificate is required for the Entra ID certificate credential',
    ]);
    // Entra ID's own endpoint for the tenant when no Token URL is given.
    expect(problems('azure-client-secret', { tokenUrl: '' }, { clientSecret: 's' })).to.deep.equal([]);
    // IMDS is plain http on its link-local address; another plain-http identity endpoint is refused.
    expect(problems('azure-managed-identity (IMDS)', { tokenUrl: '' })).to.deep.equal([]);
    expect(problems('azure-managed-identity (IMDS)', { tokenUrl: 'http://identity.example.org/token' })).to.deep.equal([
      'Identity endpoint "http://identity.example.org/token" uses plain http: use https, or tick "Allow plain HTTP token endpoint"',
    ]);
  });
});

describe('cloud grants: Test connection', function () {
  const google = useCloudPeer('google');
  const azure = useCloudPeer('azure');
  afterEach(() => helper.unload());

  const test = (body) => helper.request().post('/fhir-external-system/test').send(body).expect(200);
  const form = (cloud, grant) => {
    const { label, ...rest } = cloud.settings(grant);
    return { id: 'sys', type: 'fhir-external-system', name: label, ...rest };
  };

  it('connects to each stand-in with its grant and shows its software', async function () {
    await helper.load(systemNode, []);
    for (const [cloud, grant, software] of [
      [google, 'google-service-account', 'Cloud Healthcare API (geofhir stand-in) v1'],
      [azure, 'azure-client-secret', 'Microsoft FHIR Server (geofhir stand-in) 4.0'],
      [azure, 'azure-certificate', 'Microsoft FHIR Server (geofhir stand-in) 4.0'],
    ]) {
      const { body } = await test({ ...form(cloud, grant), credentials: cloud.secrets(grant) });
      expect(body, grant).to.include({ ok: true, fhirVersion: '4.0.1', authenticated: true, software });
    }
  });

  it("shows the token endpoint's text for a refused key", async function () {
    await helper.load(systemNode, []);
    const { body } = await test({ ...form(azure, 'azure-client-secret'), credentials: { clientSecret: 'wrong' } });
    expect(body.ok).to.equal(false);
    expect(body.error).to.match(/HTTP 401 invalid_client: AADSTS7000215/);
  });

  it('keeps the service-account key, certificate and identity header as credentials, out of the flow', async function () {
    const flow = [{ ...form(google, 'google-service-account') }];
    await helper.load(systemNode, flow, { sys: google.secrets('google-service-account') });
    const node = helper.getNode('sys');
    expect(node.problems).to.deep.equal([]);
    expect(JSON.stringify(node.settings)).to.not.include('PRIVATE KEY');
    const cs = await node.connection.capabilities();
    expect(cs.software.name).to.match(/Cloud Healthcare API/);
    expect(Object.keys(helper._RED.nodes.getCredentials('sys') ?? {})).to.include('serviceAccountKey');
  });
});
