'use strict';
// The OpenSRP extras through the gateway pipeline, against the seeded sandbox FHIR server: `_syncLocations`
// (RelatedEntityLocation callers with ALL_LOCATIONS choose the synced Locations) and List expansion
// (`mode=list-entries`, items read in one batch, paged by the gateway, filtered by assignment) and the Location
// lineage tags written after a Location write. On the sandbox and on HAPI FHIR with Keycloak's tokens.
const { expect } = require('chai');
const { PUBLIC, makeGatewayOn, useGatewayOn, call, idsOf, expectDenial, linkRequest, answered } = require('../support/gateway');
const { onEachBackend } = require('../support/gateway-backends');

// The OpenSRP tag systems, the gateway's defaults.
const { DEFAULT_TAG_SYSTEMS: SYS } = require('../../nodes/lib/gateway/assignment/tags.js');
const L1_SUBTREE = ['L1', 'L1a', 'L1a1', 'L1b', 'L1c'];
const list = (id, location, patients) => ({
  resourceType: 'List',
  id,
  meta: { tag: [{ system: SYS.Location, code: location }] },
  status: 'current',
  mode: 'working',
  entry: patients.map((p) => ({ item: { reference: `Patient/${p}` } })),
});
const linkOf = (bundle, relation) => bundle.link.find((l) => l.relation === relation)?.url;

onEachBackend('gateway pipeline: OpenSRP extras', function (backend) {
  this.timeout(30000);
  const { put, read, logged } = backend;
  const makeGateway = (overrides) => makeGatewayOn(backend, overrides);
  const gw = useGatewayOn(backend, {
    async prepare() {
      await put(list('list-two', 'L1b', ['patient-L1a', 'patient-L1a1']));
      await put(list('list-L9', 'L9', ['patient-L1a']));
    },
  });

  describe('_syncLocations (§3.3, §4 #18)', () => {
    it('RelatedEntityLocation with ALL_LOCATIONS: the chosen Locations and their descendants, not the assignment', async () => {
      const { result, log } = await logged(() => call(gw.gateway, 'rita', 'GET', 'Patient', { query: { _syncLocations: ['L1'] } }));
      expect(result.status, result.text).to.equal(200);
      expect(result.info.strategy).to.equal('RelatedEntityLocation');
      expect(result.info.ids).to.have.members(L1_SUBTREE);
      expect(idsOf(result.json)).to.have.members(['patient-L1a', 'patient-L1b', 'patient-L1a1']);
      expect(idsOf(result.json)).not.to.include.members(['patient-L2', 'patient-L2a']);
      expect(result.info.mutation._tag[0].split(',')).to.include(`${SYS.LocationLineage}|L1a1`);
      // Never forwarded.
      expect(JSON.stringify(log)).not.to.include('_syncLocations');
    });

    it('caches the expansion by the sorted id set, for every caller', async () => {
      const fresh = await makeGateway();
      try {
        const partof = (log) => log.filter((r) => r.url.startsWith('Location?')).length;
        const first = await logged(() => call(fresh.gateway, 'rita', 'GET', 'Patient', { query: { _syncLocations: ['L2a,L1b'] } }));
        expect(first.result.info.ids).to.have.members(['L1b', 'L2a']);
        expect(partof(first.log)).to.be.above(0);
        const again = await logged(() => call(fresh.gateway, 'rita', 'GET', 'Observation', { query: { _syncLocations: ['L1b', 'L2a'] } }));
        expect(again.result.status).to.equal(200);
        expect(idsOf(again.result.json)).to.have.members(['observation-L1b', 'observation-L2a']);
        expect(partof(again.log)).to.equal(0);
      } finally {
        fresh.close();
      }
    });

    it('403 without ALL_LOCATIONS, for unfiltered callers and under another strategy; 400 when it names nothing', async () => {
      const { result, log } = await logged(() => call(gw.gateway, 'carol', 'GET', 'Patient', { query: { _syncLocations: ['L2'] } }));
      expectDenial(result, 403, 'forbidden');
      expect(log).to.deep.equal([]);
      expectDenial(await call(gw.gateway, 'webby', 'GET', 'Patient', { query: { _syncLocations: ['L2'] } }), 403, 'forbidden');
      const located = await makeGateway({ staticSyncStrategy: 'Location' });
      try {
        expectDenial(await call(located.gateway, 'rita', 'GET', 'Patient', { query: { _syncLocations: ['L1'] } }), 403, 'forbidden');
      } finally {
        located.close();
      }
      expectDenial(await call(gw.gateway, 'rita', 'GET', 'Patient', { query: { _syncLocations: [','] } }), 400, 'invalid');
      expectDenial(await call(gw.gateway, 'rita', 'GET', 'Patient', { query: { _syncLocations: ['a/b'] } }), 400, 'invalid');
    });
  });

  describe("PractitionerDetail, for the caller's own identity only (§3.7, §4 #18)", () => {
    const { users } = require('../peers/realm.mjs');
    const subOf = (name) => users.find((u) => u.username === name).sub;

    it("answers what the FHIR server holds of the caller, under both of the endpoint's names", async () => {
      for (const path of ['PractitionerDetail', 'practitioner-details']) {
        const res = await call(gw.gateway, 'carol', 'GET', path, { query: { 'keycloak-uuid': [subOf('carol')] } });
        expect(res.status, res.text).to.equal(200);
        expect(res.json).to.include({ resourceType: 'Bundle', type: 'searchset', total: 1 });
        const detail = res.json.entry[0].resource;
        expect(detail).to.include({ resourceType: path, id: 'practitioner-carol' });
        expect(detail.fhir.practitioner.map((p) => p.id)).to.deep.equal(['practitioner-carol']);
        expect(detail.fhir.teams.map((o) => o.id)).to.deep.equal(['O1']);
        expect(detail.fhir.locations.map((l) => l.id)).to.deep.equal(['L1']);
        expect(detail.fhir.practitionerRoles).to.have.length(1);
        expect(res.json.link[0].url).to.equal(`${PUBLIC}/${path}?keycloak-uuid=${subOf('carol')}`);
      }
      const own = await call(gw.gateway, 'dave', 'GET', 'PractitionerDetail');
      expect(own.json.entry[0].resource.fhir.teams.map((o) => o.id)).to.have.members(['O2', 'O3']);
    });

    it("refuses another user's keycloak-uuid, a request without a token, and answers PRACTITIONER_NOT_FOUND for a user without one", async () => {
      expectDenial(
        await call(gw.gateway, 'carol', 'GET', 'PractitionerDetail', { query: { 'keycloak-uuid': [subOf('dave')] } }),
        403,
        'forbidden',
      );
      expectDenial(await call(gw.gateway, undefined, 'GET', 'PractitionerDetail'), 401, 'login');
      const none = await call(gw.gateway, 'stranger', 'GET', 'practitioner-details');
      expect(none.json.entry[0].resource).to.include({ id: 'PRACTITIONER_NOT_FOUND' });
      expect(none.json.entry[0].resource.fhir.careteams).to.deep.equal([]);
    });
  });

  describe('LocationHierarchy, of Locations within the assignment (§3.7, §4 #18)', () => {
    const ids = (node) => [node.nodeId, ...node.children.flatMap((c) => ids(c.treeNode))];

    it("answers the tree below the caller's Location as OpenSRP's LocationHierarchy", async () => {
      const res = await call(gw.gateway, 'carol', 'GET', 'LocationHierarchy', { query: { _id: ['L1'] } });
      expect(res.status, res.text).to.equal(200);
      const [hierarchy] = res.json.entry.map((e) => e.resource);
      expect(hierarchy).to.include({ resourceType: 'LocationHierarchy', id: 'L1', locationId: 'L1' });
      const { listOfNodes, parentChildren } = hierarchy.LocationHierarchyTree.locationsHierarchy;
      expect(listOfNodes.treeNodeId).to.equal('Location/L1');
      expect(ids(listOfNodes.treeNode)).to.have.members(['Location/L1', 'Location/L1a', 'Location/L1a1', 'Location/L1b', 'Location/L1c']);
      expect(listOfNodes.treeNode.children.map((c) => c.childId)).to.have.members(['Location/L1a', 'Location/L1b', 'Location/L1c']);
      expect(parentChildren).to.deep.include({ identifier: 'Location/L1a', childIdentifiers: ['Location/L1a1'] });
      expect(ids(listOfNodes.treeNode)).not.to.include('Location/R1');
    });

    it('pages the Locations with mode=list', async () => {
      const first = await call(gw.gateway, 'carol', 'GET', 'LocationHierarchy', { query: { _id: ['L1'], mode: ['list'], _count: ['2'] } });
      expect(first.json.total).to.equal(5);
      expect(idsOf(first.json)).to.have.length(2);
      const next = first.json.link.find((l) => l.relation === 'next').url;
      expect(next).to.match(/_page=2/);
      const last = await call(gw.gateway, 'carol', 'GET', 'LocationHierarchy', {
        query: { _id: ['L1'], mode: ['list'], _count: ['2'], _page: ['3'] },
      });
      expect(idsOf(last.json)).to.have.length(1);
    });

    it('refuses a Location outside the assignment, a caller without GET_LOCATION, and an unknown mode', async () => {
      expectDenial(await call(gw.gateway, 'carol', 'GET', 'LocationHierarchy', { query: { _id: ['R1'] } }), 403, 'forbidden');
      expectDenial(await call(gw.gateway, 'carol', 'GET', 'LocationHierarchy', { query: { _id: ['L1,L2'] } }), 403, 'forbidden');
      expectDenial(await call(gw.gateway, 'dave', 'GET', 'LocationHierarchy', { query: { _id: ['L1'] } }), 403, 'forbidden');
      expectDenial(
        await call(gw.gateway, 'carol', 'GET', 'LocationHierarchy', { query: { _id: ['L1'], mode: ['tree2'] } }),
        400,
        'invalid',
      );
      expectDenial(await call(gw.gateway, 'carol', 'GET', 'LocationHierarchy'), 400, 'invalid');
    });

    it('lets an ALL_LOCATIONS caller ask for the Locations it chose with _syncLocations', async () => {
      const res = await call(gw.gateway, 'rita', 'GET', 'LocationHierarchy', { query: { _id: ['R1'], _syncLocations: ['R1'] } });
      expect(res.status, res.text).to.equal(200);
      expect(res.json.entry[0].resource.id).to.equal('R1');
      expectDenial(await call(gw.gateway, 'rita', 'GET', 'LocationHierarchy', { query: { _id: ['R1'] } }), 403, 'forbidden');
    });
  });

  describe("the caller's own app configuration (fhircore's bootstrap)", () => {
    it('reads its Composition by identifier and the Binaries it references, unfiltered', async () => {
      const composition = await call(gw.gateway, 'carol', 'GET', 'Composition', { query: { identifier: ['sandbox-app'] } });
      expect(composition.status).to.equal(200);
      expect(idsOf(composition.json)).to.deep.equal(['composition-sandbox-app']);
      expect(composition.info.reason).to.equal("the caller's own app configuration");
      for (const id of ['sandbox-app-config', 'sandbox-navigation']) {
        expect((await call(gw.gateway, 'carol', 'GET', `Binary/${id}`)).status, id).to.equal(200);
      }
      // (The sandbox server searches no Binaries: what counts is that the search is relayed as it came.)
      const both = await call(gw.gateway, 'carol', 'GET', 'Binary', { query: { _id: ['sandbox-app-config,sandbox-navigation'] } });
      expect([both.status, both.info.reason]).to.deep.equal([200, "the caller's own app configuration"]);
    });

    it("keeps another app's configuration out of reach, and any other search of them filtered", async () => {
      const other = await call(gw.gateway, 'carol', 'GET', 'Composition', { query: { identifier: ['sandbox-app-org'] } });
      expect(idsOf(other.json)).to.deep.equal([]);
      expectDenial(await call(gw.gateway, 'carol', 'GET', 'Binary/sandbox-app-org-config'), 403, 'forbidden');
      const mixed = await call(gw.gateway, 'carol', 'GET', 'Binary', { query: { _id: ['sandbox-app-config,sandbox-app-org-config'] } });
      expect(mixed.info.reason).to.equal('search restricted by _tag');
      const extra = await call(gw.gateway, 'carol', 'GET', 'Composition', {
        query: { identifier: ['sandbox-app'], _revinclude: ['List:item'] },
      });
      expect(extra.info.reason).not.to.equal("the caller's own app configuration");
    });

    it('is a setting: off, the configuration is filtered like any resource', async () => {
      const off = await makeGateway({ appConfigReads: false });
      try {
        const res = await call(off.gateway, 'carol', 'GET', 'Composition', { query: { identifier: ['sandbox-app'] } });
        expect(idsOf(res.json)).to.deep.equal([]);
      } finally {
        off.close();
      }
    });
  });

  describe('List expansion (§3.6, §4 #7)', () => {
    const expand = (user, id, query = {}, headers = {}) =>
      call(gw.gateway, user, 'GET', `List/${id}`, { query: { mode: ['list-entries'], ...query }, headers });

    it('reads the items in one backend batch and answers a searchset with total and a self link (§5.5)', async () => {
      const { result, log } = await logged(() => expand('carol', 'list-two'));
      expect(result.status, result.text).to.equal(200);
      expect(result.json).to.include({ resourceType: 'Bundle', type: 'searchset', total: 2 });
      expect(idsOf(result.json)).to.deep.equal(['patient-L1a', 'patient-L1a1']);
      expect(linkOf(result.json, 'self')).to.match(/^https:\/\/gateway\.example\.org\/fhir\/List\/list-two\?mode=list-entries&/);
      expect(linkOf(result.json, 'next')).to.equal(undefined);
      const reads = log.filter((r) => r.url.startsWith('List') || r.method === 'POST');
      expect(reads).to.deep.equal([
        { method: 'GET', url: 'List/list-two' },
        { method: 'POST', url: '', entries: 2 },
      ]);
    });

    it('pages with _count and _page; the next and previous links are bound to the caller (§5.5)', async () => {
      const first = await expand('carol', 'list-two', { _count: ['1'], _page: ['1'] });
      // A filtered caller's page that does not hold the whole List has no total: the List's would count hidden items.
      expect(first.json).not.to.have.property('total');
      expect(idsOf(first.json)).to.deep.equal(['patient-L1a']);
      expect(linkOf(first.json, 'previous')).to.equal(undefined);
      const next = linkOf(first.json, 'next');
      expect(next)
        .to.match(/_page=2/)
        .and.to.match(/_gw=/);
      const second = await call(gw.gateway, 'carol', 'GET', linkRequest(next).path, { query: linkRequest(next).query });
      expect(second.status, second.text).to.equal(200);
      expect(idsOf(second.json)).to.deep.equal(['patient-L1a1']);
      expect(linkOf(second.json, 'next')).to.equal(undefined);
      expect(linkOf(second.json, 'previous')).to.match(/_page=1/);
      expectDenial(await call(gw.gateway, 'dave', 'GET', linkRequest(next).path, { query: linkRequest(next).query }), 403, 'forbidden');
    });

    it('drops the items outside the assignment of a filtered caller, and counts only those it sees', async () => {
      const res = await expand('carol', 'list-L1');
      expect(res.json.total).to.equal(2);
      expect(idsOf(res.json)).to.have.members(['patient-L1a', 'patient-L1b']);
      const last = await expand('carol', 'list-L1', { _count: ['1'], _page: ['2'] });
      expect(last.status).to.equal(200);
      expect(idsOf(last.json)).to.deep.equal([]);
    });

    it('takes the deprecated FHIR-Gateway-Mode header', async () => {
      const res = await call(gw.gateway, 'carol', 'GET', 'List/list-two', { headers: { 'fhir-gateway-mode': 'list-entries' } });
      expect(res.json.type).to.equal('searchset');
      expect(idsOf(res.json)).to.deep.equal(['patient-L1a', 'patient-L1a1']);
    });

    it('403 for a List outside the assignment, 404 relayed for none, 400 for an unknown mode or bad paging', async () => {
      const { result, log } = await logged(() => expand('carol', 'list-L9'));
      expectDenial(result, 403, 'forbidden');
      expect(log.filter((r) => r.method === 'POST')).to.deep.equal([]);
      expect((await expand('carol', 'no-such-list')).status).to.equal(404);
      expectDenial(await call(gw.gateway, 'carol', 'GET', 'List/list-two', { query: { mode: ['changes'] } }), 400, 'invalid');
      expectDenial(await call(gw.gateway, 'carol', 'GET', 'List/list-two', { headers: { 'fhir-gateway-mode': 'x' } }), 400, 'invalid');
      expectDenial(await expand('carol', 'list-two', { _page: ['0'] }), 400, 'invalid');
      expectDenial(await expand('carol', 'list-two', { _count: ['x'] }), 400, 'invalid');
      expectDenial(
        await call(gw.gateway, 'carol', 'GET', 'List', { headers: { 'fhir-gateway-mode': 'list-entries' } }),
        400,
        'not-supported',
      );
      // Without the role for the List, no expansion either.
      expectDenial(await expand('dave', 'list-two'), 403, 'forbidden');
    });
  });

  describe('Location lineage (§3.6, §4 #17)', () => {
    const json = { 'content-type': 'application/fhir+json' };
    const location = {
      resourceType: 'Location',
      name: 'New clinic',
      status: 'active',
      partOf: { reference: 'Location/L1a' },
      meta: {
        tag: [
          { system: SYS.Location, code: 'L1a' },
          { system: SYS.LocationLineage, code: 'L9' },
        ],
      },
    };
    // Compared as sets: HAPI keeps tags in an order of its own.
    const lineageOf = (resource) => resource.meta.tag.filter((t) => t.system === SYS.LocationLineage).map((t) => t.code);
    afterEach(() => backend.fault({ clear: true }));

    // carol's assignment is L1 and below: R1 is an ancestor she may not see, so her lineages stop below it.
    it('writes the ids of the new Location and its ancestors the writer may see as lineage tags and answers the updated Location', async () => {
      const res = await call(gw.gateway, 'carol', 'POST', 'Location', { headers: json, body: JSON.stringify(location) });
      expect(res.status, res.text).to.equal(201);
      expect(res.info.warnings).to.equal(undefined);
      const { id } = res.json;
      expect(lineageOf(res.json)).to.have.members(['L1', 'L1a', id]);
      const stored = await read('Location', id);
      expect(lineageOf(stored)).to.have.members(['L1', 'L1a', id]);
      expect(stored.meta.tag).to.deep.include({ system: SYS.Location, code: 'L1a' });
      expect(stored.meta.versionId).to.equal(res.json.meta.versionId);
      expect(res.headers.location).to.match(/^https:\/\/gateway\.example\.org\/fhir\/Location\//);
    });

    it('writes the lineage after a PUT that moves a Location within the assignment', async () => {
      const moved = { resourceType: 'Location', id: 'L1c', name: 'L1c', partOf: { reference: 'Location/L1b' } };
      moved.meta = { tag: [{ system: SYS.Location, code: 'L1c' }] };
      const { result: res, log } = await logged(() =>
        call(gw.gateway, 'carol', 'PUT', 'Location/L1c', { headers: json, body: JSON.stringify(moved) }),
      );
      expect(res.status, res.text).to.equal(200);
      expect(lineageOf(res.json)).to.have.members(['L1', 'L1b', 'L1c']);
      // HAPI kept the old lineage (R1 above L1) through both PUTs: the gateway removed it with $meta-delete.
      const metaDeletes = log.filter((r) => r.url === 'Location/L1c/$meta-delete');
      expect(metaDeletes).to.have.length(backend.tagsKeptAcrossVersions ? 1 : 0);
      // Its answer (the meta left) is the answer's meta: the Location is not read again after it.
      expect(log.slice(log.findIndex((r) => r.url === 'Location/L1c/$meta-delete'))).to.not.deep.include({
        method: 'GET',
        url: 'Location/L1c',
      });
      const stored = await read('Location', 'L1c');
      expect(lineageOf(stored)).to.have.members(['L1', 'L1b', 'L1c']);
      expect(res.json.meta.versionId).to.equal(stored.meta.versionId);
    });

    it('after a PUT answered without a body: the Location read back by the path id (return=minimal); every ancestor for an unfiltered writer', async () => {
      const { updateLineage, writesLocation } = require('../../nodes/lib/gateway/opensrp/lineage.js');
      const { parseRequest } = require('../../nodes/lib/gateway/http/request.js');
      await put({ resourceType: 'Location', id: 'moved', name: 'Moved', partOf: { reference: 'Location/L2a' } });
      const req = parseRequest({ method: 'PUT', path: 'Location/moved', query: {}, headers: {} });
      expect(writesLocation(req)).to.equal(true);
      expect(writesLocation({ ...req, method: 'POST' })).to.equal(false);
      expect(writesLocation(parseRequest({ ...req, path: 'Location/_search', method: 'POST' }))).to.equal(false);
      const res = await updateLineage(gw.backend, req, { status: 200, headers: {}, body: Buffer.alloc(0) }, SYS.LocationLineage);
      expect(res.status).to.equal(200);
      expect(lineageOf(JSON.parse(res.body.toString()))).to.have.members(['R1', 'L2', 'L2a', 'moved']);
      expect(lineageOf(await read('Location', 'moved'))).to.have.members(['R1', 'L2', 'L2a', 'moved']);
    });

    it('a failing lineage write leaves the original answer, with a warning', async () => {
      await backend.fault({ status: 503, match: 'PUT Location/', count: 1 });
      const res = await call(gw.gateway, 'carol', 'POST', 'Location', { headers: json, body: JSON.stringify(location) });
      expect(res.status, res.text).to.equal(201);
      expect(res.info.decision).to.equal('allow');
      expect(res.info.warnings).to.have.length(1);
      expect(res.info.warnings[0]).to.match(/lineage/);
      expect(lineageOf(res.json)).to.have.members(['L9']);
      expect(lineageOf(await read('Location', res.json.id))).to.have.members(['L9']);
    });
  });

  // In a suite of its own: mocha runs a suite's own tests before its nested suites.
  describe('afterwards', () => {
    it('answered no request with a 5xx', () => {
      expect(answered.filter((a) => a.status >= 500)).to.deep.equal([]);
    });
  });
});
