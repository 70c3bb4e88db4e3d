'use strict';
// The FHIR Information Gateway in front of the cloud stand-ins (Google Cloud Healthcare API, Azure Health Data
// Services), reaching them with its external system's grant, users' tokens from the sandbox issuer: the token checks,
// each sync strategy's filtering on the seeded data, reads outside the assignment, the providers' page-token links
// (`_page_token=`, `ct=`) handed out at the gateway base and bound to their user, and Location headers of creates.
const { expect } = require('chai');
const { gatewaySettings } = require('../../nodes/lib/gateway/config/settings.js');
const { Gateway } = require('../../nodes/lib/gateway/gateway.js');
const { Backend, tokenAuthorization } = require('../../nodes/lib/gateway/proxy/backend.js');
const { createTokenSource } = require('../../nodes/lib/fhir/token-source.js');
const { PUBLIC, rawSettings, call, idsOf, expectDenial, linkRequest } = require('../support/gateway');
const { useCloudPeer } = require('../support/cloud');

const L1_SUBTREE = ['L1', 'L1a', 'L1a1', 'L1b', 'L1c'];
const PAGE_PARAM = { google: '_page_token', azure: 'ct' };

for (const kind of ['google', 'azure']) {
  describe(`gateway in front of the ${kind === 'google' ? 'Google Cloud Healthcare API' : 'Azure Health Data Services'} stand-in`, function () {
    this.timeout(60000);
    const cloud = useCloudPeer(kind);
    let gateway;
    let backend;
    let tokenRequests;

    before(async function () {
      const { seedBundle } = await import('../peers/gateway-seed.mjs');
      await cloud.reset();
      const res = await cloud.fetch(cloud.base, {
        method: 'POST',
        headers: { 'content-type': 'application/fhir+json' },
        body: JSON.stringify(seedBundle()),
      });
      expect(res.status, await res.clone().text()).to.equal(200);
      const settings = cloud.settings();
      backend = new Backend({ baseUrl: settings.url, ...tokenAuthorization(createTokenSource(settings, cloud.secrets())) });
      gateway = new Gateway(gatewaySettings(await rawSettings()), backend);
      tokenRequests = await cloud.tokenRequests();
    });
    after(() => backend?.close());

    const get = (user, path, query = {}) => call(gateway, user, 'GET', path, { query });

    it('401 with the Bearer challenge without a token; the backend is reached with the grant’s token only', async function () {
      expectDenial(await call(gateway, undefined, 'GET', 'Patient'), 401, 'login');
      const res = await get('webby', 'Patient');
      expect(res.status, res.text).to.equal(200);
      // One token for the gateway's backend, reused.
      await get('webby', 'Location');
      expect(await cloud.tokenRequests()).to.equal(tokenRequests + 1);
    });

    it('Location (carol), Organization (dave), CareTeam (erin) strategies filter as on HAPI', async function () {
      const carol = await get('carol', 'Patient');
      expect(carol.status, carol.text).to.equal(200);
      expect(carol.info).to.include({ strategy: 'Location', decision: 'allow' });
      expect(carol.info.ids).to.have.members(L1_SUBTREE);
      expect(idsOf(carol.json, 'match')).to.have.members(['patient-L1a', 'patient-L1b', 'patient-L1a1']);
      expect(idsOf((await get('dave', 'Patient')).json, 'match')).to.have.members(['patient-L2a', 'patient-L2']);
      expect(idsOf((await get('erin', 'Patient')).json, 'match')).to.have.members(['patient-L1a', 'patient-L1a1']);
    });

    it('403 for a read outside the assignment, 200 within', async function () {
      expectDenial(await get('carol', 'Patient/patient-L9'), 403, 'forbidden');
      const own = await get('carol', 'Patient/patient-L1a');
      expect(own.status, own.text).to.equal(200);
      expect(own.json.id).to.equal('patient-L1a');
    });

    it(`hands out the provider's ${PAGE_PARAM[kind]} links at the gateway base, bound to their user, and serves them`, async function () {
      const first = await get('webby', 'Patient', { _count: ['2'] });
      expect(first.status, first.text).to.equal(200);
      const next = first.json.link.find((l) => l.relation === 'next').url;
      expect(next.startsWith(`${PUBLIC}/Patient?`)).to.equal(true);
      expect(next).to.not.include(cloud.base);
      const { path, query } = linkRequest(next);
      expect(query[PAGE_PARAM[kind]]).to.have.length(1);
      expect(query._gw).to.have.length(1);
      const second = await call(gateway, 'webby', 'GET', path, { query });
      expect(second.status, second.text).to.equal(200);
      expect(idsOf(second.json)).to.have.length(2);
      expect(idsOf(second.json)).to.not.include.members(idsOf(first.json));
      // Another user, or the token without its binding: refused.
      expectDenial(await call(gateway, 'carol', 'GET', path, { query }), 403, 'forbidden');
      const { _gw, ...unbound } = query;
      expect(_gw).to.have.length(1);
      expectDenial(await call(gateway, 'webby', 'GET', path, { query: unbound }), 403, 'forbidden');
    });

    it("filters a filtered user's later pages to the assignment", async function () {
      const seen = [];
      let page = await get('carol', 'Patient', { _count: ['1'] });
      for (;;) {
        expect(page.status, page.text).to.equal(200);
        seen.push(...idsOf(page.json, 'match'));
        const next = page.json.link?.find((l) => l.relation === 'next')?.url;
        if (!next) break;
        const { path, query } = linkRequest(next);
        page = await call(gateway, 'carol', 'GET', path, { query });
      }
      expect(seen).to.have.members(['patient-L1a', 'patient-L1b', 'patient-L1a1']);
    });

    it('rewrites the Location of a create to the gateway base', async function () {
      const body = JSON.stringify({ resourceType: 'Patient', name: [{ family: 'Created through the gateway' }] });
      const res = await call(gateway, 'webby', 'POST', 'Patient', { headers: { 'content-type': 'application/fhir+json' }, body });
      expect(res.status, res.text).to.equal(201);
      expect(res.headers.location).to.match(new RegExp(`^${PUBLIC}/Patient/${res.json.id}/_history/`));
    });
  });
}
