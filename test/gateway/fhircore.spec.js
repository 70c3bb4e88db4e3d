'use strict';
// The OpenSRP app's (fhircore's) whole sequence through the gateway, for the user of each sync strategy: its token,
// PractitionerDetail, the app's Composition and the Binaries it references, a `_lastUpdated`-ordered paged sync
// of each resource type (following the gateway's paging links), the upload of local changes as a transaction,
// and an incremental sync that returns exactly what changed. On the sandbox and on HAPI FHIR with Keycloak's tokens.
const { randomUUID } = require('node:crypto');
const { expect } = require('chai');
const { useGatewayOn, call, linkRequest, answered } = require('../support/gateway');
const { onEachBackend } = require('../support/gateway-backends');
const { DEFAULT_TAG_SYSTEMS: SYS } = require('../../nodes/lib/gateway/assignment/tags.js');

// Each strategy's user, the tags that place its data, and a tag its uploads carry.
const USERS = {
  carol: { systems: [SYS.Location], ids: ['L1', 'L1a', 'L1a1', 'L1b', 'L1c'], upload: [SYS.Location, 'L1a'] },
  dave: { systems: [SYS.Organization], ids: ['O2', 'O3'], upload: [SYS.Organization, 'O2'] },
  erin: { systems: [SYS.CareTeam], ids: ['CT1'], upload: [SYS.CareTeam, 'CT1'] },
  rita: { systems: [SYS.RelatedEntityLocation, SYS.LocationLineage], ids: ['L2', 'L2a'], upload: [SYS.RelatedEntityLocation, 'L2'] },
  pia: { systems: [SYS.Practitioner], ids: ['practitioner-pia'], upload: [SYS.Practitioner, 'practitioner-pia'] },
};
const TYPES = ['Patient', 'Observation', 'Encounter'];

onEachBackend("fhircore's sequence through the gateway, for each sync strategy", function (backend) {
  this.timeout(60000);
  let realm;
  before(async () => (realm = await import('../peers/realm.mjs')));
  const gw = useGatewayOn(backend);

  /** Every page of a sync search, following the gateway's next links; the resources of the pages. */
  async function sync(user, type, since) {
    const found = [];
    let page = await call(gw.gateway, user, 'GET', type, {
      query: { _lastUpdated: [`gt${since}`], _sort: ['_lastUpdated'], _count: ['2'] },
    });
    for (let pages = 0; page; pages++) {
      expect(page.status, `${user} ${type}: ${page.text}`).to.equal(200);
      expect(pages, 'pages').to.be.below(50);
      found.push(...(page.json.entry ?? []).map((e) => e.resource));
      const next = page.json.link?.find((l) => l.relation === 'next')?.url;
      page = next ? await call(gw.gateway, user, 'GET', linkRequest(next).path, { query: linkRequest(next).query }) : undefined;
    }
    return found;
  }

  const within = (user, resource) =>
    (resource.meta?.tag ?? []).some((t) => USERS[user].systems.includes(t.system) && USERS[user].ids.includes(t.code));

  for (const user of Object.keys(USERS)) {
    it(`${user}: bootstrap, full sync, upload, incremental sync`, async () => {
      const { sub, roles, fhir_core_app_id: appId } = realm.users.find((u) => u.username === user);
      const detail = await call(gw.gateway, user, 'GET', 'practitioner-details', { query: { 'keycloak-uuid': [sub] } });
      expect(detail.json.entry[0].resource.fhir.practitioner[0].id).to.equal(`practitioner-${user}`);

      const composition = await call(gw.gateway, user, 'GET', 'Composition', { query: { identifier: [appId] } });
      const [config] = composition.json.entry.map((e) => e.resource);
      expect(config.identifier.value).to.equal(appId);
      const binaries = JSON.stringify(config.section).match(/Binary\/[A-Za-z0-9\-.]+/g);
      for (const binary of new Set(binaries)) expect((await call(gw.gateway, user, 'GET', binary)).status, binary).to.equal(200);

      let latest = '1970-01-01T00:00:00Z';
      for (const type of TYPES) {
        const resources = await sync(user, type, latest);
        for (const r of resources) expect(within(user, r), `${user} got ${type}/${r.id}`).to.equal(true);
        if (type === 'Patient') expect(resources.length, `${user}'s Patients`).to.be.above(0);
        for (const r of resources) if (r.meta.lastUpdated > latest) latest = r.meta.lastUpdated;
      }

      const id = randomUUID();
      const [system, code] = USERS[user].upload;
      const patient = { resourceType: 'Patient', id, name: [{ family: `Uploaded by ${user}` }], meta: { tag: [{ system, code }] } };
      const put = roles.includes('PUT_PATIENT');
      const upload = await call(gw.gateway, user, 'POST', '', {
        headers: { 'content-type': 'application/fhir+json' },
        body: {
          resourceType: 'Bundle',
          type: 'transaction',
          entry: [{ resource: patient, request: put ? { method: 'PUT', url: `Patient/${id}` } : { method: 'POST', url: 'Patient' } }],
        },
      });
      expect(upload.status, upload.text).to.equal(200);
      expect(upload.json.entry[0].response.status).to.match(/^20[01]/);

      const changed = await sync(user, 'Patient', latest);
      expect(changed.map((r) => r.name[0].family)).to.deep.equal([`Uploaded by ${user}`]);
      for (const type of TYPES.slice(1)) expect(await sync(user, type, latest), type).to.deep.equal([]);
    });
  }

  after(() => expect(answered.filter((a) => a.status >= 500)).to.deep.equal([]));
});
