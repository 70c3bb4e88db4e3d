'use strict';
// Data access through the gateway pipeline for filtered (ANDROID_CLIENT) users against the seeded sandbox FHIR
// server: the `_tag` mutation per sync strategy (§5.5), the negative cases (§5.6), reads, history and includes
// post-filtered, writes checked against the assignment (reject and rewrite), transaction and batch Bundles entry
// by entry, paging links bound to their user, and the caches. On the sandbox and on HAPI FHIR with Keycloak's tokens.
const { expect } = require('chai');
const { makeGatewayOn, useGatewayOn, call, idsOf, expectDenial, linkRequest, answered } = require('../support/gateway');
const { onEachBackend } = require('../support/gateway-backends');

// The OpenSRP tag systems, the gateway's defaults.
const { DEFAULT_TAG_SYSTEMS: SYS } = require('../../nodes/lib/gateway/assignment/tags.js');
const CAROL_IDS = ['L1', 'L1a', 'L1b', 'L1c', 'L1a1'];
const tagValue = (systems, ids) => ids.flatMap((id) => systems.map((s) => `${s}|${id}`));
const json = { 'content-type': 'application/fhir+json' };
const tags = (...pairs) => ({ tag: pairs.map(([system, code]) => ({ system, code })) });

/** The codes of a resource's location tags (HAPI keeps tags in an order of its own). */
const locationTags = (resource) => resource.meta.tag.filter((t) => t.system === SYS.Location).map((t) => t.code);

/** The `_tag` values the gateway sent, split (order of ids as the assignment lists them). */
const mutationValues = (res) => res.info.mutation._tag[0].split(',');

onEachBackend('gateway pipeline: data access', function (backend) {
  this.timeout(30000);
  const { put, read, logged } = backend;
  const makeGateway = (overrides) => makeGatewayOn(backend, overrides);
  // Bait: resources that would reach carol through references unless the gateway filters them out.
  const bait = (id, location, patient) => ({
    resourceType: 'Observation',
    id,
    meta: tags([SYS.Location, location]),
    status: 'final',
    code: { text: 'height' },
    subject: { reference: `Patient/${patient}` },
  });
  const gw = useGatewayOn(backend, {
    async prepare() {
      await put(bait('bait-L9-about-L1a', 'L9', 'patient-L1a'));
      await put(bait('bait-L1a-about-L9', 'L1a', 'patient-L9'));
    },
  });

  describe('more than one gateway behind one address', () => {
    it("accepts a paging link from another gateway with the same paging secret, and refuses one signed with another's", async () => {
      const [a, b, c] = await Promise.all([
        makeGateway({ pagingSecret: 'shared-secret' }),
        makeGateway({ pagingSecret: 'shared-secret' }),
        makeGateway({ pagingSecret: 'another-secret' }),
      ]);
      try {
        const first = await call(a.gateway, 'carol', 'GET', 'Patient', { query: { _count: ['1'] } });
        const next = first.json.link.find((l) => l.relation === 'next').url;
        const { path, query } = linkRequest(next);
        const second = await call(b.gateway, 'carol', 'GET', path, { query });
        expect(second.status, second.text).to.equal(200);
        expect(idsOf(second.json)).to.have.length(1);
        expectDenial(await call(c.gateway, 'carol', 'GET', path, { query }), 403, 'forbidden');
      } finally {
        [a, b, c].forEach((g) => g.close());
      }
    });
  });

  describe('_tag mutation per sync strategy (§5.5)', () => {
    it('Location: the location tag of every assigned Location and descendant, nothing else', async () => {
      const { result, log } = await logged(() => call(gw.gateway, 'carol', 'GET', 'Patient'));
      expect(result.status).to.equal(200);
      expect(result.info).to.include({ strategy: 'Location', appId: 'sandbox-app', decision: 'allow' });
      expect(result.info.ids).to.have.members(CAROL_IDS);
      expect(Object.keys(result.info.mutation)).to.deep.equal(['_tag']);
      expect(mutationValues(result)).to.have.members(tagValue([SYS.Location], CAROL_IDS));
      expect(idsOf(result.json)).to.have.members(['patient-L1a', 'patient-L1b', 'patient-L1a1']);
      const search = log.filter((r) => r.url.startsWith('Patient?'));
      expect(search).to.have.length(1);
      expect(new URL(search[0].url, 'http://x/').searchParams.get('_tag')).to.equal(result.info.mutation._tag[0]);
    });

    it('CareTeam: the care-team system only', async () => {
      const res = await call(gw.gateway, 'erin', 'GET', 'Patient');
      expect(res.info.strategy).to.equal('CareTeam');
      expect(mutationValues(res)).to.deep.equal([`${SYS.CareTeam}|CT1`]);
      expect(idsOf(res.json)).to.have.members(['patient-L1a', 'patient-L1a1']);
    });

    it('Organization: exactly one extra parameter, _tag, with the organisation system', async () => {
      const res = await call(gw.gateway, 'dave', 'GET', 'Patient', { query: { family: ['Patient'] } });
      expect(res.info.strategy).to.equal('Organization');
      expect(res.info.mutation).to.have.all.keys('_tag');
      expect(mutationValues(res)).to.have.members([`${SYS.Organization}|O2`, `${SYS.Organization}|O3`]);
      expect(idsOf(res.json)).to.have.members(['patient-L2a', 'patient-L2']);
    });

    it('RelatedEntityLocation: each id under both systems, sent as a form search', async () => {
      const { result, log } = await logged(() => call(gw.gateway, 'rita', 'GET', 'Patient'));
      expect(result.info.strategy).to.equal('RelatedEntityLocation');
      expect(mutationValues(result)).to.have.members(tagValue([SYS.RelatedEntityLocation, SYS.LocationLineage], ['L2', 'L2a']));
      expect(idsOf(result.json)).to.have.members(['patient-L2a', 'patient-L2']);
      expect(log.filter((r) => r.url.startsWith('Patient'))).to.deep.equal([{ method: 'POST', url: 'Patient/_search' }]);
    });

    it("replaces the client's _tag, takes _syncLocations and keeps the other parameters", async () => {
      const query = { _syncLocations: ['L2'], _tag: ['preExistingTag'], family: ['Patient L2a'] };
      const res = await call(gw.gateway, 'rita', 'GET', 'Patient', { query });
      expect(res.status).to.equal(200);
      expect(idsOf(res.json)).to.deep.equal(['patient-L2a']);
    });

    it('restricts a search by POST Type/_search exactly like the GET (§5.6)', async () => {
      const get = await call(gw.gateway, 'carol', 'GET', 'Location', { query: { name: ['Location'] } });
      const { result: post, log } = await logged(() =>
        call(gw.gateway, 'carol', 'POST', 'Location/_search', {
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: 'name=Location',
        }),
      );
      expect(post.status).to.equal(200);
      expect(post.info.mutation).to.deep.equal(get.info.mutation);
      expect(post.info.reason).to.equal(get.info.reason);
      expect(idsOf(post.json)).to.have.members(CAROL_IDS);
      expect(idsOf(post.json)).to.have.members(idsOf(get.json));
      expect(log.filter((r) => r.url.startsWith('Location'))).to.deep.equal([{ method: 'POST', url: 'Location/_search' }]);
      // A parsed form body (what a body parser gives) too.
      const parsed = await call(gw.gateway, 'carol', 'POST', 'Location/_search', {
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: { name: 'Location' },
      });
      expect(idsOf(parsed.json)).to.have.members(CAROL_IDS);
    });

    it('discards filter_mode_lineage', async () => {
      const { result, log } = await logged(() => call(gw.gateway, 'carol', 'GET', 'Patient', { query: { filter_mode_lineage: ['true'] } }));
      expect(result.status).to.equal(200);
      const sent = log.find((r) => r.url.startsWith('Patient?'));
      expect(sent.url).not.to.include('filter_mode_lineage');
      expect(sent.url).to.include('_tag=');
    });

    it('lets ignore-listed configuration searches through unmutated, and filters the rest', async () => {
      const res = await call(gw.gateway, 'carol', 'GET', 'Questionnaire', { query: { _id: ['questionnaire-registration'] } });
      expect(res.status).to.equal(200);
      expect(res.info.reason).to.equal('sync-filter ignore list');
      expect(res.info).not.to.have.property('mutation');
      expect(idsOf(res.json)).to.deep.equal(['questionnaire-registration']);
      // A read by id is the search by _id it stands for.
      expect((await call(gw.gateway, 'carol', 'GET', 'Questionnaire/questionnaire-registration')).status).to.equal(200);
      // Without _id, Questionnaires are data like any other: untagged, so none.
      const all = await call(gw.gateway, 'carol', 'GET', 'Questionnaire');
      expect(all.info.mutation).to.have.property('_tag');
      expect(idsOf(all.json)).to.deep.equal([]);
    });

    it('still confines what an ignore-listed search includes, and includes nothing on a read', async () => {
      // An Observation tagged L9 whose focus is carol's Questionnaire: a revinclude would bring it along.
      const bait = {
        resourceType: 'Observation',
        id: 'bait-focus-L9',
        status: 'final',
        code: { text: 'bait' },
        focus: [{ reference: 'Questionnaire/questionnaire-registration' }],
        meta: { tag: [{ system: SYS.Location, code: 'L9' }] },
      };
      await put(bait);
      const query = { _id: ['questionnaire-registration'], _revinclude: ['Observation:focus'] };
      const res = await call(gw.gateway, 'carol', 'GET', 'Questionnaire', { query });
      expect(res.status).to.equal(200);
      expect(res.info.reason).to.equal('sync-filter ignore list, includes filtered by assignment');
      expect(idsOf(res.json)).to.deep.equal(['questionnaire-registration']);
      const { result, log } = await logged(() =>
        call(gw.gateway, 'carol', 'GET', 'Questionnaire/questionnaire-registration', { query: { _revinclude: ['Observation:focus'] } }),
      );
      expect(result.status).to.equal(200);
      expect(result.json.id).to.equal('questionnaire-registration');
      expect(log.map((r) => r.url)).to.deep.equal(['Questionnaire/questionnaire-registration']);
    });

    it('matches an ignore entry with a list of ids only for exactly that set', async () => {
      const custom = await makeGateway({
        syncFilterIgnore: { entries: [{ path: 'StructureMap', methodType: 'GET', queryParams: { _id: ['1000', '2000', '3000'] } }] },
      });
      try {
        const exact = await call(custom.gateway, 'carol', 'GET', 'StructureMap', { query: { _id: ['3000,1000,2000'] } });
        expect(exact.info).not.to.have.property('mutation');
        const subset = await call(custom.gateway, 'carol', 'GET', 'StructureMap', { query: { _id: ['1000,2000'] } });
        expect(subset.info.mutation).to.have.property('_tag');
      } finally {
        custom.close();
      }
    });

    it('filters GET List with no parameters (#13)', async () => {
      const res = await call(gw.gateway, 'carol', 'GET', 'List');
      expect(res.status).to.equal(200);
      expect(res.info.mutation).to.have.property('_tag');
    });
  });

  describe('Practitioner strategy: what the caller wrote', () => {
    const PIA = `${SYS.Practitioner}|practitioner-pia`;

    it("restricts pia's searches to her own practitioner tag", async () => {
      const res = await call(gw.gateway, 'pia', 'GET', 'Patient');
      expect(res.status).to.equal(200);
      expect(res.info).to.include({ strategy: 'Practitioner', appId: 'sandbox-app-practitioner', decision: 'allow' });
      expect(res.info.ids).to.deep.equal(['practitioner-pia']);
      expect(res.info.mutation).to.deep.equal({ _tag: [PIA] });
      expect(idsOf(res.json)).to.have.members(['patient-L1b', 'patient-L2']);
      const observations = await call(gw.gateway, 'pia', 'GET', 'Observation', {
        query: { _tag: [`${SYS.Practitioner}|practitioner-carol`] },
      });
      expect(idsOf(observations.json)).to.have.members(['observation-L1b', 'observation-L2']);
    });

    it('finds the same id in the practitioner_id claim, and takes the strategy from the node in any case', async () => {
      const claims = await makeGateway({ assignmentSource: 'claims' });
      const fixed = await makeGateway({ staticSyncStrategy: 'practitioner' });
      try {
        const res = await call(claims.gateway, 'pia', 'GET', 'Encounter');
        expect(res.info).to.include({ strategy: 'Practitioner' });
        expect(res.info.ids).to.deep.equal(['practitioner-pia']);
        expect(idsOf(res.json)).to.have.members(['encounter-L1b', 'encounter-L2']);
        // carol's app says Location; the node's static strategy wins.
        const carol = await call(fixed.gateway, 'carol', 'GET', 'Patient');
        expect(carol.info).to.include({ strategy: 'Practitioner' });
        expect(idsOf(carol.json)).to.have.members(['patient-L1a', 'patient-L1a1']);
      } finally {
        claims.close();
        fixed.close();
      }
    });

    it("403 for a read of another's resource; includes and histories keep only hers", async () => {
      await put({
        resourceType: 'Observation',
        id: 'observation-by-carol-about-L1b',
        meta: tags([SYS.Location, 'L1b'], [SYS.Practitioner, 'practitioner-carol']),
        status: 'final',
        code: { text: 'height' },
        subject: { reference: 'Patient/patient-L1b' },
      });
      expectDenial(await call(gw.gateway, 'pia', 'GET', 'Patient/patient-L1a'), 403, 'forbidden');
      expectDenial(await call(gw.gateway, 'pia', 'GET', 'Observation/observation-by-carol-about-L1b'), 403, 'forbidden');
      expectDenial(await call(gw.gateway, 'pia', 'GET', 'Patient/patient-untagged'), 403, 'forbidden');
      expect((await call(gw.gateway, 'pia', 'GET', 'Patient/patient-L2')).status).to.equal(200);
      const rev = await call(gw.gateway, 'pia', 'GET', 'Patient', {
        query: { _id: ['patient-L1b'], _revinclude: ['Observation:subject'] },
      });
      expect(idsOf(rev.json, 'match')).to.deep.equal(['patient-L1b']);
      expect(idsOf(rev.json, 'include')).to.deep.equal(['observation-L1b']);
      // Answered as the read of that resource: an empty history would tell it exists.
      expectDenial(await call(gw.gateway, 'pia', 'GET', 'Patient/patient-L1a/_history'), 403, 'forbidden');
    });

    it("403 for a write without her tag or with another practitioner's; rewrite mode sets hers", async () => {
      const patient = (...pairs) => ({ resourceType: 'Patient', name: [{ family: 'Written by pia' }], meta: tags(...pairs) });
      for (const body of [patient([SYS.Location, 'L1b']), patient([SYS.Practitioner, 'practitioner-carol']), { resourceType: 'Patient' }]) {
        const { result, log } = await logged(() => call(gw.gateway, 'pia', 'POST', 'Patient', { headers: json, body }));
        expectDenial(result, 403, 'forbidden');
        expect(log.filter((r) => r.method === 'POST')).to.deep.equal([]);
      }
      const own = await call(gw.gateway, 'pia', 'POST', 'Patient', {
        headers: json,
        body: patient([SYS.Practitioner, 'practitioner-pia']),
      });
      expect(own.status).to.equal(201);
      const rewriting = await makeGateway({ writeTags: 'rewrite' });
      try {
        const body = patient([SYS.Location, 'L1b'], [SYS.Practitioner, 'practitioner-carol']);
        const res = await call(rewriting.gateway, 'pia', 'POST', 'Patient', { headers: json, body });
        expect(res.status).to.equal(201);
        expect((await read('Patient', res.json.id)).meta.tag).to.deep.equal([
          { system: SYS.Location, code: 'L1b' },
          { system: SYS.Practitioner, code: 'practitioner-pia' },
        ]);
      } finally {
        rewriting.close();
      }
    });
  });

  describe('reads, history and includes (§5.6)', () => {
    it('403 for a read outside the assignment, 200 within', async () => {
      expectDenial(await call(gw.gateway, 'carol', 'GET', 'Patient/patient-L9'), 403, 'forbidden');
      expectDenial(await call(gw.gateway, 'carol', 'GET', 'Patient/patient-untagged'), 403, 'forbidden');
      const ok = await call(gw.gateway, 'carol', 'GET', 'Patient/patient-L1a');
      expect(ok.status).to.equal(200);
      expect(ok.json.id).to.equal('patient-L1a');
      expect(ok.info.reason).to.equal('read checked against the assignment');
      // Under another strategy the same resource is judged by that strategy's tags.
      expect((await call(gw.gateway, 'erin', 'GET', 'Patient/patient-L1b')).status).to.equal(403);
      expect((await call(gw.gateway, 'dave', 'GET', 'Patient/patient-L2')).status).to.equal(200);
    });

    it('refuses operations unless allowed', async () => {
      expectDenial(await call(gw.gateway, 'carol', 'GET', 'Patient/$everything'), 403, 'forbidden');
      expectDenial(await call(gw.gateway, 'carol', 'GET', 'Patient/patient-L1a/$everything'), 403, 'forbidden');
    });

    it('forwards an allowed operation, on an instance only within the assignment', async function () {
      // HAPI loads its validator on the first $validate.
      this.timeout(180000);
      const ops = await makeGateway({ allowedOperations: ['$validate'] });
      try {
        const body = JSON.stringify({ resourceType: 'Patient', meta: tags([SYS.Location, 'L1a']) });
        // The backend's own answer is relayed: the sandbox server has no $validate (404), HAPI validates (200).
        const { result, log } = await logged(() => call(ops.gateway, 'carol', 'POST', 'Patient/$validate', { headers: json, body }));
        const direct = await fetch(`${backend.base()}Patient/$validate`, { method: 'POST', headers: json, body });
        expect(result.status, result.text).to.equal(direct.status);
        expect(result.info).to.include({ decision: 'allow', reason: 'operation $validate allowed, answer filtered by assignment' });
        expect(log.filter((r) => r.method === 'POST')).to.deep.equal([{ method: 'POST', url: 'Patient/$validate' }]);
        expectDenial(await call(ops.gateway, 'carol', 'POST', 'Patient/patient-L9/$validate', { headers: json, body }), 403, 'forbidden');
        expectDenial(await call(ops.gateway, 'carol', 'GET', 'Patient/$everything'), 403, 'forbidden');
      } finally {
        ops.close();
      }
    });

    it('restricts a compartment search with _tag', async () => {
      // What reaches the backend is the point; its answer is relayed (the sandbox server has no compartment
      // searches, HAPI has).
      const { result, log } = await logged(() =>
        call(gw.gateway, 'carol', 'GET', 'Patient/patient-L1a/Observation', { query: { _tag: ['x'] } }),
      );
      expect(result.info.mutation).to.have.property('_tag');
      const sent = log.find((r) => r.url.startsWith('Patient/patient-L1a/Observation'));
      expect(new URL(sent.url, 'http://x/').searchParams.getAll('_tag')).to.deep.equal(result.info.mutation._tag);
      expect(result.status, result.text).to.equal((await fetch(`${backend.base()}${sent.url}`)).status);
      // Both types need their role.
      expectDenial(await call(gw.gateway, 'erin', 'GET', 'Patient/patient-L1a/Location'), 403, 'forbidden');
    });

    it('removes history entries outside the assignment (instance, type and version reads)', async () => {
      // Tagged L9, then L1b, then L1a: only the first version lies outside carol's assignment, on the sandbox
      // (tags replaced by each version) and on HAPI (tags kept from version to version).
      const patient = { resourceType: 'Patient', id: 'patient-moving', name: [{ family: 'Moving' }] };
      await put({ ...patient, meta: tags([SYS.Location, 'L9']) });
      await put({ ...patient, meta: tags([SYS.Location, 'L1b']) });
      await put({ ...patient, meta: tags([SYS.Location, 'L1a']) });
      const history = await call(gw.gateway, 'carol', 'GET', 'Patient/patient-moving/_history');
      expect(history.status).to.equal(200);
      const codes = history.json.entry.map((e) => e.resource.meta.tag.map((t) => t.code).sort());
      expect(codes).to.deep.equal(
        backend.tagsKeptAcrossVersions
          ? [
              ['L1a', 'L1b', 'L9'],
              ['L1b', 'L9'],
            ]
          : [['L1a'], ['L1b']],
      );
      expect(history.json).not.to.have.property('total');
      const versions = (await call(gw.gateway, 'webby', 'GET', 'Patient/patient-moving/_history')).json.entry.map(
        (e) => e.resource.meta.versionId,
      );
      expect(versions).to.have.length(3);
      expectDenial(await call(gw.gateway, 'carol', 'GET', `Patient/patient-moving/_history/${versions[2]}`), 403, 'forbidden');
      expect((await call(gw.gateway, 'carol', 'GET', `Patient/patient-moving/_history/${versions[1]}`)).status).to.equal(200);
      expectDenial(await call(gw.gateway, 'carol', 'GET', 'Patient/patient-L9/_history'), 403, 'forbidden');
    });

    it('removes included and revincluded entries outside the assignment', async () => {
      const rev = await call(gw.gateway, 'carol', 'GET', 'Patient', {
        query: { _id: ['patient-L1a'], _revinclude: ['Observation:subject'] },
      });
      expect(rev.status).to.equal(200);
      expect(idsOf(rev.json, 'match')).to.deep.equal(['patient-L1a']);
      expect(idsOf(rev.json, 'include')).to.deep.equal(['observation-L1a']);
      expect(rev.info.reason).to.equal('search restricted by _tag, includes filtered by assignment');
      const inc = await call(gw.gateway, 'carol', 'GET', 'Observation', {
        query: { _id: ['bait-L1a-about-L9,observation-L1a'], '_include:iterate': ['Observation:subject'] },
      });
      expect(idsOf(inc.json, 'match')).to.have.members(['bait-L1a-about-L9', 'observation-L1a']);
      expect(idsOf(inc.json, 'include')).to.deep.equal(['patient-L1a']);
      const unfiltered = await call(gw.gateway, 'webby', 'GET', 'Observation', {
        query: { _id: ['bait-L1a-about-L9,observation-L1a'], '_include:iterate': ['Observation:subject'] },
      });
      expect(idsOf(unfiltered.json, 'include')).to.have.members(['patient-L1a', 'patient-L9']);
    });

    it('400 for _has (any form), chains and the other unsafe parameters', async () => {
      const unsafe = [
        { subject: ['Patient/patient-L1a'], '_has:Encounter:patient:status': ['x'] },
        { _has: ['x'] },
        { 'subject:Patient.name': ['x'] },
        { _filter: ['x'] },
        { _query: ['x'] },
        { _contained: ['true'] },
        { _list: ['x'] },
      ];
      for (const query of unsafe) expectDenial(await call(gw.gateway, 'carol', 'GET', 'Observation', { query }), 400, 'invalid');
      // The unfiltered client role is not concerned.
      expect((await call(gw.gateway, 'webby', 'GET', 'Observation', { query: { 'subject:Patient.name': ['x'] } })).status).to.equal(200);
    });

    it('lets configured search parameters through', async () => {
      const lenient = await makeGateway({ allowedSearchParams: ['_list'] });
      try {
        expect((await call(lenient.gateway, 'carol', 'GET', 'Observation', { query: { _list: ['x'] } })).status).to.be.below(500);
      } finally {
        lenient.close();
      }
    });

    it('403 for a custom endpoint without its role (PractitionerDetail)', async () => {
      expectDenial(
        await call(gw.gateway, 'carol', 'GET', 'PractitionerDetail', { query: { 'keycloak-uuid': ['someone-else'] } }),
        403,
        'forbidden',
      );
    });
  });

  describe('writes', () => {
    const patient = (extra = {}) => ({ resourceType: 'Patient', name: [{ family: 'Written by carol' }], ...extra });

    it('creates a resource tagged within the assignment, at the gateway base', async () => {
      const body = JSON.stringify(patient({ meta: tags([SYS.Location, 'L1b']) }));
      const res = await call(gw.gateway, 'carol', 'POST', 'Patient', { headers: json, body });
      expect(res.status).to.equal(201);
      expect(res.headers.location).to.match(/^https:\/\/gateway\.example\.org\/fhir\/Patient\//);
      expect(res.info.reason).to.equal('create checked against the assignment');
      expect((await read('Patient', res.json.id)).meta.tag).to.deep.include({ system: SYS.Location, code: 'L1b' });
    });

    it('403 for a body without an assigned tag, or with one outside (§5.6)', async () => {
      const outside = { resourceType: 'Observation', status: 'final', code: { text: 'x' }, meta: tags([SYS.Location, 'L9']) };
      const { result, log } = await logged(() =>
        call(gw.gateway, 'carol', 'POST', 'Observation', { headers: json, body: JSON.stringify(outside) }),
      );
      expectDenial(result, 403, 'forbidden');
      expect(log.filter((r) => r.method === 'POST')).to.deep.equal([]);
      expectDenial(await call(gw.gateway, 'carol', 'POST', 'Patient', { headers: json, body: patient() }), 403, 'forbidden');
      const mixed = patient({ meta: tags([SYS.Location, 'L1a'], [SYS.Location, 'L9']) });
      expectDenial(await call(gw.gateway, 'carol', 'POST', 'Patient', { headers: json, body: mixed }), 403, 'forbidden');
      // Another system's tag does not count for the Location strategy.
      expectDenial(
        await call(gw.gateway, 'carol', 'POST', 'Patient', { headers: json, body: patient({ meta: tags([SYS.Organization, 'O1']) }) }),
        403,
        'forbidden',
      );
    });

    it('400 for a body that is not the addressed resource', async () => {
      const observation = { resourceType: 'Observation', status: 'final', code: { text: 'x' }, meta: tags([SYS.Location, 'L1a']) };
      expectDenial(await call(gw.gateway, 'carol', 'POST', 'Patient', { headers: json, body: observation }), 400, 'invalid');
      expectDenial(await call(gw.gateway, 'carol', 'POST', 'Patient', { headers: json, body: 'null' }), 400, 'invalid');
      const wrongId = patient({ id: 'patient-L1b', meta: tags([SYS.Location, 'L1b']) });
      expectDenial(await call(gw.gateway, 'carol', 'PUT', 'Patient/patient-L1a', { headers: json, body: wrongId }), 400, 'invalid');
    });

    it('gives bodies the assignment tags in rewrite mode', async () => {
      const rewriting = await makeGateway({ writeTags: 'rewrite' });
      try {
        const untagged = await call(rewriting.gateway, 'carol', 'POST', 'Patient', { headers: json, body: JSON.stringify(patient()) });
        expect(untagged.status).to.equal(201);
        expect((await read('Patient', untagged.json.id)).meta.tag).to.deep.equal([{ system: SYS.Location, code: 'L1' }]);
        const foreign = patient({ meta: tags([SYS.Location, 'L9'], [SYS.Organization, 'O9'], [SYS.Location, 'L1c']) });
        const res = await call(rewriting.gateway, 'carol', 'POST', 'Patient', { headers: json, body: foreign });
        expect(res.status).to.equal(201);
        expect((await read('Patient', res.json.id)).meta.tag).to.have.deep.members([
          { system: SYS.Organization, code: 'O9' },
          { system: SYS.Location, code: 'L1c' },
        ]);
      } finally {
        rewriting.close();
      }
    });

    it('updates within the assignment, creates by PUT, and refuses a target outside it (§5.6)', async () => {
      const update = patient({ id: 'patient-L1b', meta: tags([SYS.Location, 'L1b']), active: false });
      expect(
        (await call(gw.gateway, 'carol', 'PUT', 'Patient/patient-L1b', { headers: json, body: JSON.stringify(update) })).status,
      ).to.equal(200);
      const created = patient({ id: 'patient-put-by-carol', meta: tags([SYS.Location, 'L1c']) });
      const res = await call(gw.gateway, 'carol', 'PUT', 'Patient/patient-put-by-carol', { headers: json, body: created });
      expect(res.status).to.be.oneOf([200, 201]);
      expect((await read('Patient', 'patient-put-by-carol')).meta.tag).to.deep.include({ system: SYS.Location, code: 'L1c' });
      // Taking patient-L9 over by tagging it L1a is refused: the stored resource lies outside.
      const takeover = patient({ id: 'patient-L9', meta: tags([SYS.Location, 'L1a']) });
      const { result, log } = await logged(() => call(gw.gateway, 'carol', 'PUT', 'Patient/patient-L9', { headers: json, body: takeover }));
      expectDenial(result, 403, 'forbidden');
      expect(log.filter((r) => r.method === 'PUT')).to.deep.equal([]);
      expect(locationTags(await read('Patient', 'patient-L9'))).to.deep.equal(['L9']);
      // Moving one's own resource out of the assignment is refused too.
      const away = patient({ id: 'patient-L1b', meta: tags([SYS.Location, 'L9']) });
      expectDenial(await call(gw.gateway, 'carol', 'PUT', 'Patient/patient-L1b', { headers: json, body: away }), 403, 'forbidden');
      // Conditional updates cannot be checked.
      expectDenial(
        await call(gw.gateway, 'carol', 'PUT', 'Patient', { query: { name: ['x'] }, headers: json, body: update }),
        400,
        'not-supported',
      );
    });

    it('patches within the assignment, never meta, never a target outside', async () => {
      const patchHeaders = { 'content-type': 'application/json-patch+json' };
      const ok = await call(gw.gateway, 'carol', 'PATCH', 'Patient/patient-L1a1', {
        headers: patchHeaders,
        body: JSON.stringify([{ op: 'replace', path: '/name/0/family', value: 'Patched' }]),
      });
      expect(ok.status).to.equal(200);
      expect(ok.json.name[0].family).to.equal('Patched');
      for (const op of [
        { op: 'replace', path: '/meta/tag/0/code', value: 'L9' },
        { op: 'remove', path: '/meta' },
        { op: 'replace', path: '', value: {} },
      ]) {
        const res = await call(gw.gateway, 'carol', 'PATCH', 'Patient/patient-L1a1', { headers: patchHeaders, body: JSON.stringify([op]) });
        expectDenial(res, 403, 'forbidden');
      }
      expect(locationTags(await read('Patient', 'patient-L1a1'))).to.deep.equal(['L1a1']);
      const body = JSON.stringify([{ op: 'add', path: '/active', value: true }]);
      expectDenial(await call(gw.gateway, 'carol', 'PATCH', 'Patient/patient-L9', { headers: patchHeaders, body }), 403, 'forbidden');
      expectDenial(
        await call(gw.gateway, 'carol', 'PATCH', 'Patient/patient-L1a1', { headers: patchHeaders, body: '{"op":"add"}' }),
        400,
        'invalid',
      );
    });

    it('deletes within the assignment only', async () => {
      await put({ resourceType: 'Patient', id: 'patient-to-delete', meta: tags([SYS.Location, 'L1c']) });
      expectDenial(await call(gw.gateway, 'carol', 'DELETE', 'Patient/patient-L9'), 403, 'forbidden');
      expect(await read('Patient', 'patient-L9')).to.not.equal(undefined);
      const res = await call(gw.gateway, 'carol', 'DELETE', 'Patient/patient-to-delete');
      expect(res.status).to.be.oneOf([200, 204]);
      expect(await read('Patient', 'patient-to-delete')).to.equal(undefined);
      // An absent target is the backend's to answer.
      expect((await call(gw.gateway, 'carol', 'DELETE', 'Patient/patient-to-delete')).status).to.be.below(500);
    });
  });

  describe('transaction and batch Bundles', () => {
    const entry = (method, url, resource) => ({ request: { method, url }, ...(resource && { resource }) });

    it('filters a batch entry by entry: searches restricted, reads outside refused (§5.6)', async () => {
      const bundle = {
        resourceType: 'Bundle',
        type: 'batch',
        entry: [
          entry('GET', 'Patient?_count=50'),
          entry('GET', 'Patient/patient-L9'),
          entry('GET', 'Patient/patient-L1a'),
          entry('GET', 'Questionnaire?_id=questionnaire-registration'),
        ],
      };
      const res = await call(gw.gateway, 'carol', 'POST', '', { headers: json, body: JSON.stringify(bundle) });
      expect(res.status).to.equal(200);
      expect(res.json.type).to.equal('batch-response');
      const [search, outside, inside, config] = res.json.entry;
      expect(idsOf(search.resource)).to.include.members(['patient-L1a', 'patient-L1b', 'patient-L1a1']).and.not.include('patient-L9');
      expect(
        search.resource.entry.every((e) => e.resource.meta.tag.some((t) => t.system === SYS.Location && CAROL_IDS.includes(t.code))),
      ).to.equal(true);
      expect(outside.resource).to.equal(undefined);
      expect(outside.response.status).to.equal('403 Forbidden');
      expect(outside.response.outcome.issue[0].code).to.equal('forbidden');
      expect(inside.resource.id).to.equal('patient-L1a');
      expect(idsOf(config.resource)).to.deep.equal(['questionnaire-registration']);
      expect(res.text).not.to.include(backend.base());
    });

    it('checks the writes of a transaction and commits them when all pass', async () => {
      const bundle = {
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [
          entry('POST', 'Patient', { resourceType: 'Patient', meta: tags([SYS.Location, 'L1a']), name: [{ family: 'Tx 1' }] }),
          entry('PUT', 'Patient/patient-tx-carol', { resourceType: 'Patient', id: 'patient-tx-carol', meta: tags([SYS.Location, 'L1b']) }),
          entry('GET', 'Patient?family=Tx'),
        ],
      };
      const res = await call(gw.gateway, 'carol', 'POST', '', { body: bundle });
      expect(res.status).to.equal(200);
      expect(res.json.type).to.equal('transaction-response');
      expect(await read('Patient', 'patient-tx-carol')).to.not.equal(undefined);
    });

    it('refuses a whole transaction with one entry outside, writing nothing', async () => {
      const bundle = {
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [
          entry('PUT', 'Patient/patient-tx-2', { resourceType: 'Patient', id: 'patient-tx-2', meta: tags([SYS.Location, 'L1a']) }),
          entry('DELETE', 'Patient/patient-L9'),
        ],
      };
      const { result, log } = await logged(() => call(gw.gateway, 'carol', 'POST', '', { body: bundle }));
      expectDenial(result, 403, 'forbidden');
      expect(result.json.issue[0].diagnostics).to.match(/^Bundle entry 1: /);
      expect(log.filter((r) => r.url === '')).to.deep.equal([]);
      expect(await read('Patient', 'patient-tx-2')).to.equal(undefined);
      const untagged = { ...bundle, entry: [entry('POST', 'Patient', { resourceType: 'Patient' })] };
      expectDenial(await call(gw.gateway, 'carol', 'POST', '', { body: untagged }), 403, 'forbidden');
    });
  });

  describe('paging', () => {
    it('binds next links to their user: carol pages through her patients, dave is refused (§5.6)', async () => {
      let res = await call(gw.gateway, 'carol', 'GET', 'Patient', { query: { _count: ['2'] } });
      const seen = [];
      const links = [];
      for (let page = 0; page < 10 && res; page++) {
        expect(res.status).to.equal(200);
        seen.push(...idsOf(res.json));
        const next = res.json.link.find((l) => l.relation === 'next');
        if (!next) break;
        expect(next.url).to.match(/_gw=/);
        links.push(next.url);
        const { path, query } = linkRequest(next.url);
        res = await call(gw.gateway, 'carol', 'GET', path, { query });
      }
      expect(links.length).to.be.at.least(2);
      const webby = idsOf((await call(gw.gateway, 'webby', 'GET', 'Patient', { query: { _count: ['200'] } })).json);
      const carols = webby.filter((id) => seen.includes(id));
      expect(seen).to.have.members(carols);
      expect(seen).to.include.members(['patient-L1a', 'patient-L1b', 'patient-L1a1']);
      expect(seen).not.to.include('patient-L9');

      const { path, query } = linkRequest(links[0]);
      expectDenial(await call(gw.gateway, 'dave', 'GET', path, { query }), 403, 'forbidden');
      expectDenial(await call(gw.gateway, 'carol', 'GET', path, { query: { ...query, _count: ['100'] } }), 403, 'forbidden');
    });

    it('refuses _getpages without a binding, and a binding of another user (§5.6)', async () => {
      expectDenial(await call(gw.gateway, 'carol', 'GET', '', { query: { _getpages: ['abc'] } }), 403, 'forbidden');
      expectDenial(await call(gw.gateway, 'webby', 'GET', '', { query: { _getpages: ['abc'], _gw: ['1.x'] } }), 403, 'forbidden');
    });
  });

  describe('caches', () => {
    it('looks the app configuration up once within the TTL, again after invalidate()', async () => {
      const fresh = await makeGateway();
      try {
        const count = (log, type) => log.filter((r) => r.url.startsWith(type)).length;
        const { log } = await logged(async () => {
          await call(fresh.gateway, 'carol', 'GET', 'Patient');
          await call(fresh.gateway, 'carol', 'GET', 'Observation');
        });
        expect(count(log, 'Composition')).to.equal(1);
        expect(count(log, 'Binary')).to.equal(1);
        expect(count(log, 'Practitioner?')).to.equal(1);
        const sub = (await call(fresh.gateway, 'carol', 'GET', 'Patient')).info.sub;
        const one = await logged(async () => {
          fresh.gateway.invalidate(sub);
          await call(fresh.gateway, 'carol', 'GET', 'Patient');
        });
        expect(count(one.log, 'Practitioner?')).to.equal(1);
        expect(count(one.log, 'Composition')).to.equal(0);
        const all = await logged(async () => {
          fresh.gateway.invalidate();
          await call(fresh.gateway, 'carol', 'GET', 'Patient');
        });
        expect(count(all.log, 'Composition')).to.equal(1);
        expect(count(all.log, 'Practitioner?')).to.equal(1);
      } finally {
        fresh.close();
      }
    });
  });

  // After every test of this file, nested ones included (a plain test here would run before them).
  let first;
  before(() => (first = answered.length));
  after(() => expect(answered.slice(first).filter((a) => a.status >= 500)).to.deep.equal([]));
});
