'use strict';
// Self-test of the local FHIR server peer (test/peers/fhir-server.mjs): the behaviour the integration tests and
// the sandbox rely on. Run it after any medplum upgrade.
const { randomUUID } = require('node:crypto');
const { expect } = require('chai');
const { startPeer } = require('./support/peers');

const SYS = 'https://example.org/geofhir/code';
const TAG = { system: 'https://example.org/geofhir/tag', code: 'peers-spec' };

async function call(base, method, path, body, headers = {}) {
  const init = { method, headers: { ...headers } };
  if (body !== undefined) {
    init.body = typeof body === 'string' ? body : JSON.stringify(body);
    init.headers['content-type'] ??= 'application/fhir+json';
  }
  const res = await fetch(new URL(path, base), init);
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
}

/** 1 country, 2 provinces, 4 districts, 4 facilities (Location + Organization): 15 conditional PUTs. */
function hierarchyBundle() {
  const entry = [];
  const add = (resource) => {
    const fullUrl = `urn:uuid:${randomUUID()}`;
    const code = resource.identifier[0].value;
    entry.push({
      fullUrl,
      resource,
      request: { method: 'PUT', url: `${resource.resourceType}?identifier=${SYS}|${code}` },
    });
    return fullUrl;
  };
  const location = (code, parent, extra = {}) =>
    add({
      resourceType: 'Location',
      meta: { tag: [TAG] },
      identifier: [{ system: SYS, value: code }],
      name: code,
      ...(parent ? { partOf: { reference: parent } } : {}),
      ...extra,
    });
  const country = location('UG');
  for (const p of ['P1', 'P2']) {
    const province = location(`UG-${p}`, country);
    for (const d of ['D1', 'D2']) {
      const district = location(`UG-${p}-${d}`, province);
      const code = `UG-${p}-${d}-F1`;
      const org = add({ resourceType: 'Organization', identifier: [{ system: SYS, value: code }], name: code });
      location(code, district, { managingOrganization: { reference: org } });
    }
  }
  return { resourceType: 'Bundle', type: 'transaction', entry };
}

/** Transaction of n conditional PUTs of Locations, for the native medplum limits. */
function conditionalPuts(n, prefix) {
  const entry = Array.from({ length: n }, (_, i) => ({
    fullUrl: `urn:uuid:${randomUUID()}`,
    resource: {
      resourceType: 'Location',
      identifier: [{ system: SYS, value: `${prefix}-${i}` }],
      name: `${prefix} ${i}`,
    },
    request: { method: 'PUT', url: `Location?identifier=${SYS}|${prefix}-${i}` },
  }));
  return { resourceType: 'Bundle', type: 'transaction', entry };
}

const idOf = (e) => e.response.location.split('/')[1];

describe('FHIR server peer', function () {
  this.timeout(10000);
  let peer;
  let base;
  const fhir = (...args) => call(base, ...args);
  const control = (path, body) => call(new URL('/', base), 'POST', path, body, { 'content-type': 'application/json' });

  before(async function () {
    this.timeout(30000);
    peer = await startPeer('fhir-server.mjs', ['0']);
    base = peer.url;
  });

  after(async () => peer?.stop());

  it('serves a CapabilityStatement', async () => {
    const { status, body } = await fhir('GET', 'metadata');
    expect(status).to.equal(200);
    expect(body).to.include({ resourceType: 'CapabilityStatement', fhirVersion: '4.0.1' });
    expect(body.format).to.deep.equal(['json']);
    expect(body.software.name).to.equal('geofhir sandbox FHIR server');
    expect(body.rest[0].resource.map((r) => r.type)).to.include.members(['Location', 'Organization']);
  });

  describe('hierarchy transaction', () => {
    let first;

    before(async () => {
      await control('__reset');
      first = await fhir('POST', '', hierarchyBundle());
    });

    it('creates every entry (all 201)', () => {
      expect(first.status).to.equal(200);
      expect(first.body.type).to.equal('transaction-response');
      expect(first.body.entry).to.have.length(15);
      expect(first.body.entry.map((e) => e.response.status)).to.satisfy((s) => s.every((x) => x.startsWith('201')));
    });

    it('is idempotent: all 200, same ids, parents linked by Location/<id>', async () => {
      const again = await fhir('POST', '', hierarchyBundle());
      expect(again.status).to.equal(200);
      expect(again.body.entry.map((e) => e.response.status)).to.satisfy((s) => s.every((x) => x.startsWith('200')));
      expect(again.body.entry.map(idOf)).to.deep.equal(first.body.entry.map(idOf));

      const [province] = (await fhir('GET', `Location?identifier=${SYS}|UG-P1`)).body.entry;
      const [district] = (await fhir('GET', `Location?identifier=${SYS}|UG-P1-D1`)).body.entry;
      expect(district.resource.partOf.reference).to.equal(`Location/${province.resource.id}`);
      const all = (await fhir('GET', 'Location?_count=100')).body;
      expect(all.total).to.equal(11);
    });

    it('leaves the resources out of its answer when asked for return=minimal, as HAPI FHIR does unasked', async () => {
      const minimal = await call(base, 'POST', '', hierarchyBundle(), { prefer: 'return=minimal' });
      expect(minimal.status).to.equal(200);
      expect(minimal.body.entry).to.have.length(15);
      expect(minimal.body.entry.every((e) => e.response.location && !e.resource)).to.equal(true);
      expect(first.body.entry.every((e) => e.resource)).to.equal(true);
    });

    it('searches by identifier with and without system', async () => {
      for (const q of [`${SYS}|UG-P2-D2`, 'UG-P2-D2']) {
        const { body } = await fhir('GET', `Location?identifier=${encodeURIComponent(q)}`);
        expect(body.total).to.equal(1);
        expect(body.entry[0].resource.name).to.equal('UG-P2-D2');
      }
      expect((await fhir('GET', `Location?identifier=${SYS}|nope`)).body.total).to.equal(0);
    });

    it('searches by _tag', async () => {
      expect((await fhir('GET', `Location?_tag=${TAG.system}|${TAG.code}`)).body.total).to.equal(11);
      expect((await fhir('GET', `Location?_tag=${TAG.code}`)).body.total).to.equal(11);
      expect((await fhir('GET', `Location?_tag=${TAG.system}|other`)).body.total).to.equal(0);
    });

    it('pages through next links with absolute fullUrls', async () => {
      const seen = new Set();
      let url = `Location?_tag=${TAG.code}&_count=4`;
      let pages = 0;
      while (url) {
        const { status, body } = await fhir('GET', url);
        expect(status).to.equal(200);
        pages++;
        for (const e of body.entry ?? []) {
          expect(e.fullUrl).to.equal(`${base}Location/${e.resource.id}`);
          seen.add(e.resource.id);
        }
        expect(body.link.find((l) => l.relation === 'self').url).to.match(/^http:\/\/127\.0\.0\.1:\d+\/fhir\/R4\/Location\?/);
        if (pages > 1) expect(body.link.some((l) => l.relation === 'previous')).to.equal(true);
        url = body.link.find((l) => l.relation === 'next')?.url;
      }
      expect(pages).to.equal(3);
      expect(seen.size).to.equal(11);
    });

    it('searches by POST _search (form encoded)', async () => {
      const { status, body } = await fhir('POST', 'Location/_search', `identifier=${encodeURIComponent(`${SYS}|UG`)}`, {
        'content-type': 'application/x-www-form-urlencoded',
      });
      expect(status).to.equal(200);
      expect(body.total).to.equal(1);
    });

    it('filters by _lastUpdated', async () => {
      const before = new Date().toISOString();
      await new Promise((r) => setTimeout(r, 5)); // the next write must get a later timestamp
      const { body: found } = await fhir('GET', `Location?identifier=${SYS}|UG-P1`);
      const resource = { ...found.entry[0].resource, name: 'Province 1' };
      expect((await fhir('PUT', `Location/${resource.id}`, resource)).status).to.equal(200);
      const newer = (await fhir('GET', `Location?_tag=${TAG.code}&_lastUpdated=gt${before}`)).body;
      expect(newer.entry.map((e) => e.resource.id)).to.deep.equal([resource.id]);
      expect((await fhir('GET', `Location?_tag=${TAG.code}&_lastUpdated=lt${before}`)).body.total).to.equal(10);
    });

    it('keeps versions: headers, vread and history', async () => {
      const { body: found } = await fhir('GET', `Location?identifier=${SYS}|UG`);
      const { id } = found.entry[0].resource;
      const read = await fhir('GET', `Location/${id}`);
      expect(read.headers.get('etag')).to.equal(`W/"${read.body.meta.versionId}"`);
      expect(read.headers.get('content-type')).to.equal('application/fhir+json');
      const put = await fhir('PUT', `Location/${id}`, { ...read.body, name: 'Uganda' });
      expect(put.headers.get('location')).to.equal(`${base}Location/${id}/_history/${put.body.meta.versionId}`);
      const history = (await fhir('GET', `Location/${id}/_history`)).body;
      expect(history.entry[0].resource.meta.versionId).to.equal(put.body.meta.versionId);
      expect((await fhir('GET', `Location/${id}/_history`)).body.entry[0].resource.name).to.equal('Uganda');
      const old = await fhir('GET', `Location/${id}/_history/${read.body.meta.versionId}`);
      expect(old.body.name).to.equal('UG');
    });
  });

  describe('atomicity and validation', () => {
    it('rolls back a transaction whose second entry is invalid', async () => {
      const bundle = {
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [
          {
            resource: { resourceType: 'Location', identifier: [{ system: SYS, value: 'ATOMIC-1' }] },
            request: { method: 'POST', url: 'Location' },
          },
          { resource: { resourceType: 'Location', bogusField: 1 }, request: { method: 'POST', url: 'Location' } },
        ],
      };
      const { status, body } = await fhir('POST', '', bundle);
      expect(status).to.equal(400);
      expect(body.resourceType).to.equal('OperationOutcome');
      expect((await fhir('GET', `Location?identifier=${SYS}|ATOMIC-1`)).body.total).to.equal(0);
    });

    it('keeps the valid entries of a batch', async () => {
      const bundle = {
        resourceType: 'Bundle',
        type: 'batch',
        entry: [
          { resource: { resourceType: 'Location', name: 'ok' }, request: { method: 'POST', url: 'Location' } },
          { resource: { resourceType: 'Location', bogusField: 1 }, request: { method: 'POST', url: 'Location' } },
          { request: { method: 'GET', url: 'Location/does-not-exist' } },
        ],
      };
      const { status, body } = await fhir('POST', '', bundle);
      expect(status).to.equal(200);
      expect(body.entry.map((e) => e.response.status)).to.deep.equal(['201', '400', '404']);
    });

    it('rejects unknown elements on create and update', async () => {
      const created = await fhir('POST', 'Location', { resourceType: 'Location', bogusField: true });
      expect(created.status).to.equal(400);
      expect(created.body.resourceType).to.equal('OperationOutcome');
      const updated = await fhir('PUT', `Location?identifier=${SYS}|BOGUS`, {
        resourceType: 'Location',
        identifier: [{ system: SYS, value: 'BOGUS' }],
        bogusField: true,
      });
      expect(updated.status).to.equal(400);
    });

    it('answers invalid JSON and unsupported content with 4xx OperationOutcomes', async () => {
      const bad = await fhir('POST', 'Location', '{"resourceType": ');
      expect(bad.status).to.equal(400);
      expect(bad.body.resourceType).to.equal('OperationOutcome');
      const xml = await fhir('POST', 'Location', '<Location/>', { 'content-type': 'application/fhir+xml' });
      expect(xml.status).to.be.within(400, 499);
      expect(xml.body.resourceType).to.equal('OperationOutcome');
      const unknown = await fhir('GET', 'NoSuchType?name=x');
      expect(unknown.status).to.be.within(400, 499);
      expect((await fhir('GET', 'metadata')).status).to.equal(200);
    });
  });

  describe('control routes', () => {
    it('injects faults, then recovers', async () => {
      expect((await control('__fault', { status: 503, count: 2, retryAfter: 1, match: 'GET metadata' })).status).to.equal(204);
      expect((await fhir('GET', 'Location?_count=1')).status).to.equal(200); // does not match
      for (let i = 0; i < 2; i++) {
        const res = await fhir('GET', 'metadata');
        expect(res.status).to.equal(503);
        expect(res.headers.get('retry-after')).to.equal('1');
        expect(res.body.resourceType).to.equal('OperationOutcome');
      }
      expect((await fhir('GET', 'metadata')).status).to.equal(200);
    });

    it('resets the store and logs requests relative to the base', async () => {
      await control('__reset');
      expect((await fhir('GET', 'Location?_count=1')).body.total).to.equal(0);
      await fhir('POST', 'Location', { resourceType: 'Location', name: 'logged' });
      const log = await fetch(new URL('/__requests', base)).then((r) => r.json());
      expect(log).to.deep.equal([
        { method: 'GET', url: 'Location?_count=1' },
        { method: 'POST', url: 'Location' },
      ]);
    });

    it('requires a bearer token once auth is on', async () => {
      await control('__auth', { issuer: 'http://127.0.0.1:9/realms/none', audience: base });
      try {
        const none = await fhir('GET', 'metadata');
        expect(none.status).to.equal(401);
        expect(none.headers.get('www-authenticate')).to.equal('Bearer error="invalid_token"');
        expect(none.body.resourceType).to.equal('OperationOutcome');
        expect((await fhir('GET', 'metadata', undefined, { authorization: 'Bearer not.a.jwt' })).status).to.equal(401);
      } finally {
        await control('__auth', {});
      }
      expect((await fhir('GET', 'metadata')).status).to.equal(200);
    });
  });

  describe('native medplum transactions (TX=medplum)', () => {
    let native;
    before(async function () {
      this.timeout(30000);
      native = await startPeer('fhir-server.mjs', ['0'], { TX: 'medplum' });
    });
    after(async () => native?.stop());

    it('accepts 8 conditional PUTs and rejects 9', async () => {
      const eight = await call(native.url, 'POST', '', conditionalPuts(8, 'N8'));
      expect(eight.status).to.equal(200);
      expect(eight.body.entry.map((e) => e.response.status)).to.satisfy((s) => s.every((x) => x.startsWith('201')));
      const nine = await call(native.url, 'POST', '', conditionalPuts(9, 'N9'));
      expect(nine.status).to.equal(400);
      expect(nine.body.resourceType).to.equal('OperationOutcome');
      expect((await call(native.url, 'GET', `Location?identifier=${SYS}|N9-0`)).body.total).to.equal(0);
    });
  });
});
