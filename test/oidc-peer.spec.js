'use strict';
// Self-test of the Keycloak-shaped OIDC peer (test/peers/oidc-provider.mjs), driven with the same
// libraries the nodes use: openid-client for discovery and grants, jose for verification.
const fs = require('node:fs');
const path = require('node:path');
const { expect } = require('chai');
const { startPeer } = require('./support/peers');

const FHIR = 'http://127.0.0.1:9/fhir/R4/';
const GATEWAY = 'http://127.0.0.1:9/gateway/fhir/';
const OIDC = '/protocol/openid-connect';
const BACKEND_KEY = path.join(__dirname, 'peers', 'keys', 'backend-service.private.jwk.json');

describe('OIDC peer (Keycloak-shaped oidc-provider)', function () {
  this.timeout(30000);
  let peer, issuer, client, jose;

  before(async () => {
    client = await import('openid-client');
    jose = await import('jose');
    peer = await startPeer('oidc-provider.mjs', ['0', '--audience', FHIR, '--audience', GATEWAY]);
    issuer = peer.url;
  });
  after(() => peer?.stop());

  const configure = (clientId, auth) =>
    client.discovery(new URL(issuer), clientId, undefined, auth, { execute: [client.allowInsecureRequests] });
  const claimsOf = (token) => jose.decodeJwt(token);
  async function oauthError(promise) {
    const err = await promise.then(
      () => expect.fail('expected an OAuth error'),
      (e) => e,
    );
    // A 401 with a Basic challenge surfaces as a WWWAuthenticateChallengeError: the code is in the challenge.
    return err.error ?? err.cause?.[0]?.parameters?.error;
  }

  it('serves discovery with the realm issuer and Keycloak endpoint paths', async () => {
    expect(issuer).to.match(/^http:\/\/127\.0\.0\.1:\d+\/realms\/sandbox$/);
    const meta = (await configure('geo-exporter', client.ClientSecretBasic('geo-exporter-secret'))).serverMetadata();
    expect(meta.issuer).to.equal(issuer);
    expect(meta.token_endpoint).to.equal(`${issuer}${OIDC}/token`);
    expect(meta.jwks_uri).to.equal(`${issuer}${OIDC}/certs`);
    expect(meta.introspection_endpoint).to.equal(`${issuer}${OIDC}/token/introspect`);
    expect(meta.revocation_endpoint).to.equal(`${issuer}${OIDC}/revoke`);
    expect(meta.userinfo_endpoint).to.equal(`${issuer}${OIDC}/userinfo`);
    expect(meta.authorization_endpoint).to.equal(`${issuer}${OIDC}/auth`);
    expect(meta.end_session_endpoint).to.equal(`${issuer}${OIDC}/logout`);
    expect(meta.token_endpoint_auth_methods_supported).to.have.members(['client_secret_basic', 'client_secret_post', 'private_key_jwt']);
    expect(meta.grant_types_supported).to.include.members(['client_credentials', 'password']);
  });

  it('answers 404 outside the realm and serves the Keycloak realm key', async () => {
    const origin = new URL(issuer).origin;
    expect((await fetch(`${origin}/realms/other/.well-known/openid-configuration`)).status).to.equal(404);
    expect((await fetch(`${origin}/`)).status).to.equal(404);
    const info = await (await fetch(issuer)).json();
    expect(info.realm).to.equal('sandbox');
    expect(info['token-service']).to.equal(`${issuer}${OIDC}`);
    const key = await jose.importSPKI(`-----BEGIN PUBLIC KEY-----\n${info.public_key}\n-----END PUBLIC KEY-----`, 'RS256');
    const cfg = await configure('geo-exporter', client.ClientSecretBasic('geo-exporter-secret'));
    const { access_token } = await client.clientCredentialsGrant(cfg, { scope: 'fhir' });
    await jose.jwtVerify(access_token, key, { issuer, audience: FHIR });
  });

  it('issues a verifiable Keycloak-style service-account JWT (client_secret_basic)', async () => {
    const cfg = await configure('geo-exporter', client.ClientSecretBasic('geo-exporter-secret'));
    const res = await client.clientCredentialsGrant(cfg, { scope: 'fhir' });
    expect(res.token_type.toLowerCase()).to.equal('bearer');
    expect(res.expires_in).to.equal(300);
    const header = jose.decodeProtectedHeader(res.access_token);
    expect(header).to.include({ typ: 'JWT', alg: 'RS256' });
    expect(header.kid).to.be.a('string');
    const jwks = jose.createRemoteJWKSet(new URL(cfg.serverMetadata().jwks_uri));
    const { payload } = await jose.jwtVerify(res.access_token, jwks, { issuer, audience: FHIR, algorithms: ['RS256'] });
    expect(payload).to.include({
      iss: issuer,
      aud: FHIR,
      typ: 'Bearer',
      azp: 'geo-exporter',
      client_id: 'geo-exporter',
      preferred_username: 'service-account-geo-exporter',
      scope: 'fhir',
    });
    expect(payload.exp - payload.iat).to.equal(300);
    expect(payload.realm_access.roles).to.have.members(['MANAGE_LOCATION', 'MANAGE_ORGANIZATION', 'offline_access']);
    expect(payload.resource_access['geo-exporter'].roles).to.deep.equal(['uma_protection']);
  });

  it('authenticates client_secret_post clients and gives a listed resource as aud', async () => {
    const cfg = await configure('fhir-gateway', client.ClientSecretPost('fhir-gateway-secret'));
    const { access_token } = await client.clientCredentialsGrant(cfg, { resource: GATEWAY });
    const claims = claimsOf(access_token);
    expect(claims).to.include({
      aud: GATEWAY,
      azp: 'fhir-gateway',
      preferred_username: 'service-account-fhir-gateway',
    });
    expect(claims.realm_access.roles).to.deep.equal([]);
  });

  it('rejects a wrong client secret with invalid_client', async () => {
    const basic = await configure('geo-exporter', client.ClientSecretBasic('wrong'));
    expect(await oauthError(client.clientCredentialsGrant(basic))).to.equal('invalid_client');
    const post = await configure('fhir-gateway', client.ClientSecretPost('wrong'));
    expect(await oauthError(client.clientCredentialsGrant(post))).to.equal('invalid_client');
  });

  it('rejects an unknown resource with invalid_target', async () => {
    const cfg = await configure('geo-exporter', client.ClientSecretBasic('geo-exporter-secret'));
    const err = await oauthError(client.clientCredentialsGrant(cfg, { resource: 'http://127.0.0.1:9/other/' }));
    expect(err).to.equal('invalid_target');
  });

  it('issues user tokens through the password grant', async () => {
    const cfg = await configure('mobile-app', client.ClientSecretBasic('mobile-app-secret'));
    const res = await client.genericGrantRequest(cfg, 'password', {
      username: 'alice',
      password: 'alice-password',
      scope: 'openid fhir',
    });
    const jwks = jose.createRemoteJWKSet(new URL(cfg.serverMetadata().jwks_uri));
    const { payload } = await jose.jwtVerify(res.access_token, jwks, { issuer, audience: FHIR });
    expect(payload.sub).to.match(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(payload).to.include({
      typ: 'Bearer',
      azp: 'mobile-app',
      preferred_username: 'alice',
      fhir_core_app_id: 'sandbox-app',
      practitioner_id: 'practitioner-alice',
      scope: 'openid fhir',
    });
    expect(payload.realm_access.roles).to.have.members(['GET_LOCATION', 'GET_ORGANIZATION']);
    expect(payload.location_ids).to.deep.equal(['UG-P1-D1']);
    expect(payload.organization_ids).to.deep.equal([]);
  });

  it('rejects a wrong password with invalid_grant', async () => {
    const cfg = await configure('mobile-app', client.ClientSecretBasic('mobile-app-secret'));
    const err = await client.genericGrantRequest(cfg, 'password', { username: 'alice', password: 'nope' }).catch((e) => e);
    expect(err.error).to.equal('invalid_grant');
    expect(err.error_description).to.match(/invalid user credentials/i);
  });

  describe('private_key_jwt (SMART backend services)', () => {
    let key;
    before(async () => {
      const jwk = JSON.parse(fs.readFileSync(BACKEND_KEY, 'utf8'));
      key = { key: await jose.importJWK(jwk), kid: jwk.kid };
    });

    it('accepts an assertion whose aud is the issuer', async () => {
      const cfg = await configure('backend-service', client.PrivateKeyJwt(key));
      const { access_token } = await client.clientCredentialsGrant(cfg, { scope: 'system/*.read' });
      const claims = claimsOf(access_token);
      expect(claims).to.include({ aud: FHIR, azp: 'backend-service', scope: 'system/*.read' });
      expect(claims.realm_access.roles).to.have.members(['MANAGE_LOCATION', 'MANAGE_ORGANIZATION']);
    });

    it('accepts an assertion whose aud is the token endpoint', async () => {
      const auth = client.PrivateKeyJwt(key, {
        [client.modifyAssertion]: (header, payload) => void (payload.aud = `${issuer}${OIDC}/token`),
      });
      const cfg = await configure('backend-service', auth);
      const { access_token } = await client.clientCredentialsGrant(cfg);
      expect(claimsOf(access_token).azp).to.equal('backend-service');
    });

    it('rejects an assertion signed by another key', async () => {
      const { privateKey } = await jose.generateKeyPair('RS384');
      const cfg = await configure('backend-service', client.PrivateKeyJwt({ key: privateKey, kid: key.kid }));
      expect(await oauthError(client.clientCredentialsGrant(cfg))).to.equal('invalid_client');
    });
  });

  it('rotates its signing key on restart (new kid) and honours OIDC_AUDIENCE and ACCESS_TOKEN_TTL', async () => {
    const kids = async (iss) => (await (await fetch(`${iss}${OIDC}/certs`)).json()).keys.map((k) => k.kid);
    const before = await kids(issuer);
    const again = await startPeer('oidc-provider.mjs', ['0'], {
      OIDC_AUDIENCE: `${GATEWAY},${FHIR}`,
      ACCESS_TOKEN_TTL: '60',
    });
    try {
      const after = await kids(again.url);
      expect(after).to.have.lengthOf(1);
      expect(before).to.not.include(after[0]);
      const cfg = await client.discovery(new URL(again.url), 'geo-exporter', undefined, client.ClientSecretBasic('geo-exporter-secret'), {
        execute: [client.allowInsecureRequests],
      });
      const { access_token } = await client.clientCredentialsGrant(cfg);
      expect(jose.decodeProtectedHeader(access_token).kid).to.equal(after[0]);
      const claims = claimsOf(access_token);
      expect(claims.aud).to.equal(GATEWAY);
      expect(claims.exp - claims.iat).to.equal(60);
    } finally {
      await again.stop();
    }
  });
});
