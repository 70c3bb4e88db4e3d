'use strict';
// The FHIR Information Gateway with Keycloak's tokens in front of HAPI FHIR's open base (as OpenSRP deploys
// it): the token checks, each sync strategy's filtering on the seeded data, reads outside the assignment, and
// HAPI's paging links handed out at the gateway base.
const { expect } = require('chai');
const { gatewaySettings } = require('../../nodes/lib/gateway/config/settings.js');
const { Gateway } = require('../../nodes/lib/gateway/gateway.js');
const { Backend } = require('../../nodes/lib/gateway/proxy/backend.js');
const { useJavaPeers, expungeEverything, seedGatewayData } = require('../support/hapi');
const { tokenOf: keycloakToken } = require('../support/gateway');

const PUBLIC = 'https://gateway.example.org/fhir';
const L1_SUBTREE = ['L1', 'L1a', 'L1a1', 'L1b', 'L1c'];

describe('gateway with Keycloak in front of HAPI FHIR', function () {
  this.timeout(60000);
  const peers = useJavaPeers();
  let gateway;
  let backend;

  const tokenOf = (username) => keycloakToken(username, peers.keycloak.issuer);

  async function call(user, method, path, { query = {}, authorization } = {}) {
    const auth = authorization ?? (user && `Bearer ${await tokenOf(user)}`);
    const result = await gateway.handle({ method, path, query, headers: auth ? { authorization: auth } : {} });
    const text = Buffer.from(result.payload).toString('utf8');
    return { status: result.statusCode, headers: result.headers, text, json: JSON.parse(text), info: result.gateway };
  }
  const ids = (bundle) => (bundle.entry ?? []).filter((e) => e.search?.mode !== 'include').map((e) => e.resource.id);

  before(async function () {
    const seed = await import('../peers/gateway-seed.mjs');
    await expungeEverything(peers.hapi.base);
    await seedGatewayData(peers.hapi.base);
    backend = new Backend({ baseUrl: peers.hapi.base });
    gateway = new Gateway(
      gatewaySettings({
        publicBase: PUBLIC,
        issuer: peers.keycloak.issuer,
        // Keycloak's audience mapper names the FHIR base; the gateway's own base is not the token's audience here.
        audiences: [peers.hapi.oauthBase.replace(/\/$/, '')],
        practitionerIdentifierSystem: seed.KEYCLOAK_USER_SYSTEM,
      }),
      backend,
    );
  });
  after(() => backend?.close());

  describe('tokens', function () {
    it('401 with the Bearer challenge without a token, or with a forged one', async function () {
      for (const authorization of [undefined, 'Bearer TTT', `Bearer ${(await tokenOf('webby')).slice(0, -4)}AAAA`]) {
        const res = await call(undefined, 'GET', 'Patient', { authorization });
        expect(res.status, res.text).to.equal(401);
        // RFC 6750: no error code when no token came.
        expect(res.headers['www-authenticate']).to.equal(authorization ? 'Bearer error="invalid_token"' : 'Bearer');
      }
    });

    it('403 for a Keycloak user with no client role, or both', async function () {
      for (const user of ['noclient', 'twoclients']) {
        const res = await call(user, 'GET', 'Patient');
        expect(res.status, res.text).to.equal(403);
        expect(res.json.issue[0].diagnostics).to.equal('exactly one of ANDROID_CLIENT, WEB_CLIENT required');
      }
    });
  });

  describe('sync strategies on HAPI', function () {
    it('Location (carol): the Patients tagged with her Locations and their descendants', async function () {
      const res = await call('carol', 'GET', 'Patient');
      expect(res.status, res.text).to.equal(200);
      expect(res.info).to.include({ strategy: 'Location', appId: 'sandbox-app', decision: 'allow' });
      expect(res.info.ids).to.have.members(L1_SUBTREE);
      expect(ids(res.json)).to.have.members(['patient-L1a', 'patient-L1b', 'patient-L1a1']);
    });

    it('Organization (dave), CareTeam (erin)', async function () {
      const dave = await call('dave', 'GET', 'Patient');
      expect(dave.info.strategy).to.equal('Organization');
      expect(ids(dave.json)).to.have.members(['patient-L2a', 'patient-L2']);
      const erin = await call('erin', 'GET', 'Patient');
      expect(erin.info.strategy).to.equal('CareTeam');
      expect(ids(erin.json)).to.have.members(['patient-L1a', 'patient-L1a1']);
    });

    it('WEB_CLIENT (webby) unfiltered', async function () {
      const res = await call('webby', 'GET', 'Patient');
      expect(res.status, res.text).to.equal(200);
      expect(ids(res.json)).to.include.members(['patient-L1a', 'patient-L9', 'patient-untagged']);
    });

    it('403 for a read outside the assignment, 200 within', async function () {
      expect((await call('carol', 'GET', 'Patient/patient-L9')).status).to.equal(403);
      const own = await call('carol', 'GET', 'Patient/patient-L1a');
      expect(own.status, own.text).to.equal(200);
      expect(own.json.id).to.equal('patient-L1a');
    });

    it("hands out HAPI's _getpages links at the gateway base, and serves them", async function () {
      const first = await call('webby', 'GET', 'Patient', { query: { _count: ['2'] } });
      expect(first.status, first.text).to.equal(200);
      const next = first.json.link.find((l) => l.relation === 'next').url;
      expect(next.startsWith(PUBLIC)).to.equal(true);
      expect(next).to.not.include(peers.hapi.base);
      const url = new URL(next);
      const query = {};
      for (const [k, v] of url.searchParams) (query[k] ??= []).push(v);
      const second = await call('webby', 'GET', url.pathname.slice(new URL(PUBLIC).pathname.length + 1), { query });
      expect(second.status, second.text).to.equal(200);
      expect(ids(second.json)).to.have.length(2);
      expect(ids(second.json)).to.not.include.members(ids(first.json));
    });
  });
});
