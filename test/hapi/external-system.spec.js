'use strict';
// fhir-external-system against Keycloak (every grant, wrong secrets, renewal) and HAPI FHIR's OAuth base, whose
// bearer check verifies Keycloak's tokens against its JWKS with the FHIR base as audience.
const { expect } = require('chai');
const helper = require('node-red-node-test-helper');
const { nodeRedPath } = require('../support/node-red');
const systemNode = require('../../nodes/fhir-external-system.js');
const { normaliseSettings, validateSettings } = require('../../nodes/lib/fhir/external-system.js');
const { createTokenSource } = require('../../nodes/lib/fhir/token-source.js');
const { FhirConnection } = require('../../nodes/lib/fhir/connection.js');
const { useJavaPeers } = require('../support/hapi');
const { GRANTS } = require('../support/grants');

helper.init(nodeRedPath);

const claims = (jwt) => JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url'));

describe('fhir-external-system with Keycloak and HAPI FHIR (OAuth)', function () {
  this.timeout(60000);
  const peers = useJavaPeers();
  afterEach(() => helper.unload());

  const settings = (extra) =>
    normaliseSettings({
      organization: 'MOH',
      systemId: 'hapi',
      label: 'HAPI FHIR',
      url: peers.hapi.oauthBase,
      system: 'http://moh.example/registry',
      issuer: peers.keycloak.issuer,
      ...extra,
    });
  /** A search on HAPI's OAuth base with the token: its bearer check accepted it. */
  const search = (token) => fetch(`${peers.hapi.oauthBase}Location?_count=1`, { headers: { authorization: `Bearer ${token}` } });

  describe('grants', function () {
    for (const [name, [extra, secrets]] of Object.entries(GRANTS)) {
      it(`${name}: a Keycloak token HAPI accepts, for the FHIR base as audience`, async function () {
        const s = settings(extra);
        expect(validateSettings(s, secrets)).to.deep.equal([]);
        const tokens = createTokenSource(s, secrets);
        const cs = await new FhirConnection(s, tokens).capabilities();
        expect(cs.software.name).to.match(/HAPI FHIR/);
        const token = await tokens.token();
        const c = claims(token);
        expect(c).to.include({ iss: peers.keycloak.issuer, azp: extra.clientId, typ: 'Bearer' });
        expect([c.aud].flat()).to.include(peers.hapi.oauthBase.replace(/\/$/, ''));
        expect((await search(token)).status).to.equal(200);
      });
    }

    it('carries realm roles, client roles and user attributes as Keycloak issues them', async function () {
      const [extra, secrets] = GRANTS['oauth-client-credentials (client_secret_basic)'];
      const service = claims(await createTokenSource(settings(extra), secrets).token());
      expect(service.preferred_username).to.equal('service-account-geo-exporter');
      expect(service.realm_access.roles).to.include.members(['MANAGE_LOCATION', 'MANAGE_ORGANIZATION']);
      expect(service.resource_access['geo-exporter'].roles).to.deep.equal(['uma_protection']);
      const [pw, pwSecrets] = GRANTS['oauth-password'];
      const carol = claims(await createTokenSource(settings(pw), { ...pwSecrets, username: 'carol', password: 'carol-password' }).token());
      expect(carol).to.include({
        sub: '2fd59e29-ec18-4cd7-9e5c-eb4649826619',
        fhir_core_app_id: 'sandbox-app',
        practitioner_id: 'practitioner-carol',
      });
      expect(carol).to.deep.include({ location_ids: ['L1'], organization_ids: ['O1'], care_team_ids: ['CT1'] });
      // Keycloak leaves an attribute without values out; oidc-provider.mjs sends [].
      const alice = claims(await createTokenSource(settings(pw), pwSecrets).token());
      expect(alice).to.not.have.property('organization_ids');
      expect(alice.fhir_core_app_id).to.equal('sandbox-app');
    });

    for (const [name, method] of [
      ['client_secret_basic', 'oauth-client-credentials (client_secret_basic)'],
      ['client_secret_post', 'oauth-client-credentials (client_secret_post)'],
    ]) {
      it(`reports Keycloak's error for a wrong secret (${name})`, async function () {
        const err = await createTokenSource(settings(GRANTS[method][0]), { clientSecret: 'wrong' })
          .token()
          .catch((e) => e);
        // Keycloak answers unauthorized_client where oidc-provider says invalid_client.
        expect(err.message).to.match(/^token request to .*\/realms\/sandbox failed: HTTP 401 unauthorized_client/);
        expect(err.message).to.not.include('wrong');
      });
    }

    it('reports a wrong password as invalid_grant with Keycloak’s description', async function () {
      const [extra, secrets] = GRANTS['oauth-password'];
      const err = await createTokenSource(settings(extra), { ...secrets, password: 'nope' })
        .token()
        .catch((e) => e);
      expect(err.message).to.match(/HTTP 401 invalid_grant: Invalid user credentials/);
    });

    it('renews a user token with Keycloak’s refresh token (same session) before it expires', async function () {
      const [extra, secrets] = GRANTS['oauth-password'];
      let now = Date.now();
      const tokens = createTokenSource(settings(extra), secrets, { now: () => now });
      const first = await tokens.token();
      expect(await tokens.token()).to.equal(first);
      now += 300 * 1000; // the realm's access token lifespan
      const second = await tokens.token();
      expect(second).to.not.equal(first);
      // A refresh keeps the session; a new password grant would open another one.
      expect(claims(second).sid).to.equal(claims(first).sid);
      expect((await search(second)).status).to.equal(200);
    });

    it('renews a service token with a new client_credentials grant (Keycloak gives it no refresh token)', async function () {
      const [extra, secrets] = GRANTS['oauth-client-credentials (client_secret_basic)'];
      let now = Date.now();
      const tokens = createTokenSource(settings(extra), secrets, { now: () => now });
      const first = await tokens.token();
      now += 300 * 1000;
      const second = await tokens.token();
      expect(claims(second).jti).to.not.equal(claims(first).jti);
      expect((await search(second)).status).to.equal(200);
    });

    it('is refused by HAPI’s OAuth base without a valid token; its open base asks for none', async function () {
      const none = await fetch(`${peers.hapi.oauthBase}Location?_count=1`);
      expect(none.status).to.equal(401);
      expect(none.headers.get('www-authenticate')).to.equal('Bearer error="invalid_token"');
      const [extra, secrets] = GRANTS['oauth-client-credentials (client_secret_basic)'];
      const token = await createTokenSource(settings(extra), secrets).token();
      const [header, , signature] = token.split('.');
      const otherAudience = Buffer.from(JSON.stringify({ ...claims(token), aud: 'http://127.0.0.1:1/fhir' })).toString('base64url');
      expect((await search(`${header}.${otherAudience}.${signature}`)).status).to.equal(401);
      expect((await fetch(`${peers.hapi.base}Location?_count=1`)).status).to.equal(200);
    });
  });

  describe('Test connection', function () {
    const test = (body) => helper.request().post('/fhir-external-system/test').send(body).expect(200);
    const sysNode = (extra) => {
      const { label, ...rest } = settings({ ...GRANTS['oauth-client-credentials (client_secret_basic)'][0], ...extra });
      return { id: 'sys', type: 'fhir-external-system', name: label, ...rest };
    };

    it('shows HAPI’s FHIR version and software through Keycloak', async function () {
      await helper.load(systemNode, []);
      const { body } = await test({ ...sysNode(), credentials: { clientSecret: 'geo-exporter-secret' } });
      expect(body).to.include({ ok: true, fhirVersion: '4.0.1', authenticated: true });
      expect(body.software).to.equal(`HAPI FHIR Server ${peers.hapi.version}`);
    });

    it('shows Keycloak’s error for a wrong secret', async function () {
      await helper.load(systemNode, []);
      const { body } = await test({ ...sysNode(), credentials: { clientSecret: 'wrong' } });
      expect(body.ok).to.equal(false);
      expect(body.error).to.match(/HTTP 401 unauthorized_client/);
    });

    it('reaches HAPI’s open base without authentication', async function () {
      await helper.load(systemNode, []);
      const { body } = await test({ ...sysNode({ url: peers.hapi.base, authType: 'none' }) });
      expect(body).to.include({ ok: true, fhirVersion: '4.0.1', authenticated: false });
    });
  });
});
