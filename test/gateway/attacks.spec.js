'use strict';
// Classes of attack on a filtered user's limits, through Gateway.handle against the seeded sandbox server: writes
// outside the assignment (PATCH results, Location parents and lineage, _syncLocations), search and existence oracles
// (conditional requests, history, create ids, totals, allow-listed counts), signed links found in stored resources,
// and client names that would key plain objects. Each case checks what the backend holds afterwards as well.
// On the sandbox and on HAPI FHIR with Keycloak's tokens.
const { expect } = require('chai');
const { useGatewayOn, call, idsOf, expectDenial, linkRequest, answered } = require('../support/gateway');
const { onEachBackend } = require('../support/gateway-backends');
const { DEFAULT_TAG_SYSTEMS: SYS } = require('../../nodes/lib/gateway/assignment/tags.js');

const PATCH = { 'content-type': 'application/json-patch+json' };
const JSON_TYPE = { 'content-type': 'application/fhir+json' };
const tagged = (system, code) => ({ tag: [{ system, code }] });
const binary = (ops) => ({
  resourceType: 'Binary',
  contentType: 'application/json-patch+json',
  data: Buffer.from(JSON.stringify(ops)).toString('base64'),
});

onEachBackend('gateway attacks on the limits of filtered users', function (backend) {
  this.timeout(30000);
  const { put, read, logged } = backend;
  const gw = useGatewayOn(backend);

  describe('PATCH is checked as a PUT of its result', () => {
    const cases = [
      [[{ op: 'replace', path: '/id', value: 'patient-L9' }], 403],
      [[{ op: 'add', path: '/id', value: 'patient-L9' }], 403],
      [[{ op: 'replace', path: '/resourceType', value: 'Observation' }], 403],
      [
        [
          { op: 'copy', from: '/id', path: '/id' },
          { op: 'replace', path: '/id', value: 'patient-L2a' },
        ],
        403,
      ],
      [[{ op: 'add', path: '/meta/tag/-', value: { system: SYS.Location, code: 'L9' } }], 403],
      [[{ op: 'replace', path: '/meta/tag/0/code', value: 'L9' }], 403],
      [[{ op: 'remove', path: '/meta' }], 403],
      [[{ op: 'move', from: '/meta', path: '/extension' }], 403],
      [[{ op: 'replace', path: '', value: { resourceType: 'Patient', id: 'patient-L9' } }], 403],
      [[{ op: 'add', path: '/__proto__/x', value: 1 }], 400],
      [[{ op: 'test', path: '/gender', value: 'unknown' }], 400],
    ];
    for (const [ops, status] of cases) {
      it(`refuses ${JSON.stringify(ops)} (${status}) and changes nothing`, async () => {
        const before = [await read('Patient', 'patient-L1a1'), await read('Patient', 'patient-L9')];
        const res = await call(gw.gateway, 'carol', 'PATCH', 'Patient/patient-L1a1', { headers: PATCH, body: JSON.stringify(ops) });
        expectDenial(res, status, status === 403 ? 'forbidden' : 'invalid');
        expect([await read('Patient', 'patient-L1a1'), await read('Patient', 'patient-L9')]).to.deep.equal(before);
      });
    }

    it('applies a harmless patch to the checked version and answers the result', async () => {
      const { result, log } = await logged(() =>
        call(gw.gateway, 'carol', 'PATCH', 'Patient/patient-L1b', {
          headers: PATCH,
          body: JSON.stringify([{ op: 'add', path: '/gender', value: 'female' }]),
        }),
      );
      expect(result.status, result.text).to.equal(200);
      expect(result.json).to.include({ id: 'patient-L1b', gender: 'female' });
      expect(result.json.meta.tag).to.deep.include({ system: SYS.Location, code: 'L1b' });
      expect(log.map((r) => `${r.method} ${r.url}`)).to.deep.equal(['GET Patient/patient-L1b', 'PUT Patient/patient-L1b']);
    });

    it('answers 412 for a stale If-Match and 404 for a resource that does not exist', async () => {
      const current = await read('Patient', 'patient-L1b');
      const stale = await call(gw.gateway, 'carol', 'PATCH', 'Patient/patient-L1b', {
        headers: { ...PATCH, 'if-match': 'W/"0"' },
        body: JSON.stringify([{ op: 'add', path: '/active', value: true }]),
      });
      expectDenial(stale, 412, 'conflict');
      expect((await read('Patient', 'patient-L1b')).meta.versionId).to.equal(current.meta.versionId);
      const missing = await call(gw.gateway, 'carol', 'PATCH', 'Patient/nobody-here', { headers: PATCH, body: '[]' });
      expectDenial(missing, 404, 'not-found');
    });

    it('refuses a FHIRPath Patch, which the gateway cannot apply to check', async () => {
      const body = { resourceType: 'Parameters', parameter: [{ name: 'operation', part: [{ name: 'type', valueCode: 'delete' }] }] };
      expectDenial(await call(gw.gateway, 'carol', 'PATCH', 'Patient/patient-L1b', { headers: JSON_TYPE, body }), 400, 'not-supported');
    });

    it('checks a JSON Patch Binary inside a transaction the same way, and sends the entry as a PUT', async () => {
      const before = await read('Patient', 'patient-L9');
      const bad = {
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [
          {
            resource: binary([{ op: 'replace', path: '/id', value: 'patient-L9' }]),
            request: { method: 'PATCH', url: 'Patient/patient-L1a1' },
          },
        ],
      };
      const res = await call(gw.gateway, 'carol', 'POST', '', { headers: JSON_TYPE, body: bad });
      expectDenial(res, 403, 'forbidden');
      expect(res.json.issue[0].diagnostics).to.match(/^Bundle entry 0: /);
      expect(await read('Patient', 'patient-L9')).to.deep.equal(before);
      const good = {
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [
          { resource: binary([{ op: 'add', path: '/active', value: true }]), request: { method: 'PATCH', url: 'Patient/patient-L1a1' } },
        ],
      };
      const { result, log } = await logged(() => call(gw.gateway, 'carol', 'POST', '', { headers: JSON_TYPE, body: good }));
      expect(result.status, result.text).to.equal(200);
      expect((await read('Patient', 'patient-L1a1')).active).to.equal(true);
      expect(log.find((r) => r.url === '')).to.include({ method: 'POST', entries: 1 });
    });
  });

  describe('Locations only under Locations the writer may see', () => {
    const location = (partOf, code = 'L1a') => ({
      resourceType: 'Location',
      name: 'Clinic',
      status: 'active',
      partOf: { reference: partOf },
      meta: tagged(SYS.Location, code),
    });

    for (const partOf of ['Location/L2', 'Location/L9', 'Location/R1', 'Location/does-not-exist']) {
      it(`refuses a Location under ${partOf} alike, by POST, PUT and in a Bundle`, async () => {
        const post = await call(gw.gateway, 'carol', 'POST', 'Location', { headers: JSON_TYPE, body: location(partOf) });
        expectDenial(post, 403, 'forbidden');
        expect(post.json.issue[0].diagnostics).to.equal(`partOf ${partOf} lies outside the user's assignment`);
        const moved = { ...location(partOf, 'L1c'), id: 'L1c' };
        expectDenial(await call(gw.gateway, 'carol', 'PUT', 'Location/L1c', { headers: JSON_TYPE, body: moved }), 403, 'forbidden');
        const entry = [{ resource: location(partOf), request: { method: 'POST', url: 'Location' } }];
        const transaction = { resourceType: 'Bundle', type: 'transaction', entry };
        expectDenial(await call(gw.gateway, 'carol', 'POST', '', { headers: JSON_TYPE, body: transaction }), 403, 'forbidden');
        const batch = await call(gw.gateway, 'carol', 'POST', '', { headers: JSON_TYPE, body: { ...transaction, type: 'batch' } });
        expect(batch.json.entry[0].response.status).to.equal('403 Forbidden');
      });
    }

    it('writes a lineage of the Locations the writer may see only, and never shows the others', async () => {
      const res = await call(gw.gateway, 'carol', 'POST', 'Location', { headers: JSON_TYPE, body: location('Location/L1a1') });
      expect(res.status, res.text).to.equal(201);
      const lineage = res.json.meta.tag.filter((t) => t.system === SYS.LocationLineage).map((t) => t.code);
      // HAPI keeps tags in an order of its own.
      expect(lineage).to.have.members(['L1', 'L1a', 'L1a1', res.json.id]);
      expect(res.text).not.to.include('"R1"');
    });
  });

  describe('_syncLocations widens what is read, never what is written', () => {
    it('refuses a write tagged with a chosen Location outside the assignment', async () => {
      const patient = (code) => ({ resourceType: 'Patient', meta: tagged(SYS.RelatedEntityLocation, code) });
      const outside = await call(gw.gateway, 'rita', 'POST', 'Patient', {
        query: { _syncLocations: ['L1'] },
        headers: JSON_TYPE,
        body: patient('L1'),
      });
      expectDenial(outside, 403, 'forbidden');
      const own = await call(gw.gateway, 'rita', 'POST', 'Patient', {
        query: { _syncLocations: ['L1'] },
        headers: JSON_TYPE,
        body: patient('L2'),
      });
      expect(own.status, own.text).to.equal(201);
      const read1 = await call(gw.gateway, 'rita', 'GET', 'Patient', { query: { _syncLocations: ['L1'] } });
      expect(idsOf(read1.json)).to.include('patient-L1a');
      const entry = {
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [{ request: { method: 'GET', url: 'Patient?_syncLocations=L1' } }],
      };
      expectDenial(await call(gw.gateway, 'rita', 'POST', '', { headers: JSON_TYPE, body: entry }), 400, 'not-supported');
    });
  });

  describe('transactions all or nothing, batches entry by entry', () => {
    it('refuses a transaction whose read by id lies outside, before sending it, and writes nothing', async () => {
      const before = await read('Patient', 'patient-L1b');
      const body = {
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [
          { resource: { ...before, active: false }, request: { method: 'PUT', url: 'Patient/patient-L1b' } },
          { request: { method: 'GET', url: 'Patient/patient-L9' } },
        ],
      };
      const { result, log } = await logged(() => call(gw.gateway, 'carol', 'POST', '', { headers: JSON_TYPE, body }));
      expectDenial(result, 403, 'forbidden');
      expect(result.json.issue[0].diagnostics).to.equal("Bundle entry 1: Patient/patient-L9 lies outside the user's assignment");
      expect(log.filter((r) => r.url === '')).to.deep.equal([]);
      expect((await read('Patient', 'patient-L1b')).meta.versionId).to.equal(before.meta.versionId);
    });

    it('answers a batch read outside in its place, the other entries as the server answered them', async () => {
      const body = {
        resourceType: 'Bundle',
        type: 'batch',
        entry: [{ request: { method: 'GET', url: 'Patient/patient-L1a' } }, { request: { method: 'GET', url: 'Patient/patient-L9' } }],
      };
      const res = await call(gw.gateway, 'carol', 'POST', '', { headers: JSON_TYPE, body });
      expect(res.status).to.equal(200);
      expect(res.json.entry[0].resource.id).to.equal('patient-L1a');
      expect(res.json.entry[1].response.status).to.equal('403 Forbidden');
      expect(res.text).not.to.include('"patient-L9"');
    });
  });

  describe('no search or existence oracle', () => {
    it('refuses conditional creates, alone and in Bundles, without searching', async () => {
      for (const condition of ['family=Patient L9', 'family=nobody', '_has:Observation:subject:status=final', 'subject.name=x']) {
        const { result, log } = await logged(() =>
          call(gw.gateway, 'carol', 'POST', 'Patient', {
            headers: { ...JSON_TYPE, 'if-none-exist': condition },
            body: { resourceType: 'Patient', meta: tagged(SYS.Location, 'L1a') },
          }),
        );
        expectDenial(result, 400, 'not-supported');
        expect(result.text).not.to.include('patient-L9');
        expect(log).to.deep.equal([]);
        const bundle = {
          resourceType: 'Bundle',
          type: 'transaction',
          entry: [
            {
              resource: { resourceType: 'Patient', meta: tagged(SYS.Location, 'L1a') },
              request: { method: 'POST', url: 'Patient', ifNoneExist: condition },
            },
          ],
        };
        const { result: refused, log: none } = await logged(() =>
          call(gw.gateway, 'dave', 'POST', '', { headers: JSON_TYPE, body: bundle }),
        );
        expectDenial(refused, 400, 'not-supported');
        expect(none.filter((r) => r.url === '' || r.url.startsWith('Patient'))).to.deep.equal([]);
        const batch = await call(gw.gateway, 'dave', 'POST', '', { headers: JSON_TYPE, body: { ...bundle, type: 'batch' } });
        expect(batch.json.entry[0].response.status).to.equal('400 Bad Request');
      }
    });

    it('answers conditional reads with the resource, not a 304 that would tell about one it hides', async () => {
      const { meta } = await read('Patient', 'patient-L9');
      const res = await call(gw.gateway, 'carol', 'GET', 'Patient/patient-L9', { headers: { 'if-none-match': `W/"${meta.versionId}"` } });
      expectDenial(res, 403, 'forbidden');
      const own = await read('Patient', 'patient-L1a');
      const mine = await call(gw.gateway, 'carol', 'GET', 'Patient/patient-L1a', {
        headers: { 'if-none-match': `W/"${own.meta.versionId}"` },
      });
      expect(mine.status).to.equal(200);
    });

    it('answers the history of a resource outside as its read: 403, where a missing one is 404', async () => {
      expectDenial(await call(gw.gateway, 'carol', 'GET', 'Patient/patient-L9/_history'), 403, 'forbidden');
      expectDenial(await call(gw.gateway, 'carol', 'GET', 'Patient/patient-L9'), 403, 'forbidden');
      expect((await call(gw.gateway, 'carol', 'GET', 'Patient/never-was/_history')).status).to.equal(404);
      expect((await call(gw.gateway, 'carol', 'GET', 'Patient/never-was')).status).to.equal(404);
    });

    it("creates with a client id as with none: the id is not the backend's to refuse", async () => {
      const res = await call(gw.gateway, 'carol', 'POST', 'Patient', {
        headers: JSON_TYPE,
        body: { resourceType: 'Patient', id: 'patient-L9', meta: tagged(SYS.Location, 'L1a') },
      });
      expect(res.status, res.text).to.equal(201);
      expect(res.json.id).not.to.equal('patient-L9');
      expect((await read('Patient', 'patient-L9')).meta.tag).to.deep.include({ system: SYS.Location, code: 'L9' });
    });

    it('keeps the total of matches when only included resources were removed, and drops counts of what it hides', async () => {
      const plain = await call(gw.gateway, 'carol', 'GET', 'Observation');
      const included = await call(gw.gateway, 'carol', 'GET', 'Observation', {
        query: { _include: ['Observation:subject'], _total: ['accurate'] },
      });
      expect(included.status).to.equal(200);
      if (plain.json.total !== undefined) expect(included.json.total).to.equal(plain.json.total);
      const count = await call(gw.gateway, 'carol', 'GET', 'Observation/_history', { query: { _summary: ['count'] } });
      expect(count.json?.total).to.equal(undefined);
    });
  });

  describe('paging links', () => {
    it('never signs links found inside stored resources, and a stored _getpages link stays refused', async () => {
      const stored = {
        resourceType: 'Bundle',
        id: 'stored-links',
        // HAPI stores no searchset Bundles (HAPI-0522); links are allowed on any Bundle.
        type: 'collection',
        meta: tagged(SYS.Location, 'L1a'),
        link: [{ relation: 'next', url: 'https://gateway.example.org/fhir/?_getpages=abc&_type=Practitioner,Organization' }],
      };
      await put(stored);
      const res = await call(gw.gateway, 'webby', 'GET', 'Bundle/stored-links');
      if (res.status === 200) {
        const next = res.json.link.find((l) => l.relation === 'next').url;
        expect(next).not.to.include('_gw=');
        const { path, query } = linkRequest(next);
        expectDenial(await call(gw.gateway, 'carol', 'GET', path, { query }), 403, 'forbidden');
      } else {
        expect(res.status).to.equal(403);
      }
    });

    it('binds the links of a search to its types: a signed page still needs the role for them', async () => {
      const first = await call(gw.gateway, 'carol', 'GET', 'Patient', { query: { _count: ['1'] } });
      const next = first.json.link.find((l) => l.relation === 'next')?.url;
      expect(next).to.match(/_gw=\d+\.Patient\./);
    });
  });

  describe('client names that are Object.prototype properties', () => {
    it('takes them as parameters like any other, in queries and search forms', async () => {
      for (const name of ['constructor', '__proto__', 'toString', 'hasOwnProperty']) {
        const form = await call(gw.gateway, 'carol', 'POST', 'Patient/_search', {
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: `${name}=1&family=x`,
        });
        expect(form.status, `${name}: ${form.text}`).to.be.below(500);
        const parsed = await call(gw.gateway, 'carol', 'POST', 'Patient/_search', {
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: JSON.parse(`{"${name}":"1"}`),
        });
        expect(parsed.status, `${name}: ${parsed.text}`).to.be.below(500);
      }
    });
  });

  after(() => expect(answered.filter((a) => a.status >= 500)).to.deep.equal([]));
});
