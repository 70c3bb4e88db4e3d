'use strict';
// The gateway pipeline against answers the sandbox FHIR server does not give: a stand-in in front of it relays every
// request to it except those a test overrides (garbage, wrong resource types, type history, operation answers,
// HAPI `_getpages` links, errors naming the backend). Security post-filters must fail closed (502, no data); what
// they can read, they filter. Also: backend and app-config failures.
const http = require('node:http');
const { expect } = require('chai');
const { control, closedPortUrl } = require('../support/peers');
const { PUBLIC, makeGateway, call, idsOf, expectDenial, seedPeer, linkRequest } = require('../support/gateway');

const LOCATION = 'https://smartregister.org/location-tag-id';
const patient = (id, code) => ({ resourceType: 'Patient', id, meta: { tag: [{ system: LOCATION, code }] } });
const observation = (id, code) => ({
  resourceType: 'Observation',
  id,
  status: 'final',
  code: { text: 'x' },
  meta: { tag: [{ system: LOCATION, code }] },
});
const FHIR_JSON = 'application/fhir+json';

/** An HTTP stand-in at <url>fhir/ relaying to the sandbox server, with answers overridden by `METHOD path?query` prefix. */
async function startStandIn() {
  const overrides = [];
  const seen = [];
  const server = http.createServer(async (req, res) => {
    const chunks = [];
    for await (const chunk of req) chunks.push(chunk);
    const rel = req.url.replace(/^\/fhir\//, '');
    seen.push({ method: req.method, url: rel, accept: req.headers.accept });
    const override = overrides.find((o) => `${req.method} ${rel}`.startsWith(o.match));
    if (override) {
      const { status = 200, contentType = FHIR_JSON, body } = override;
      const value = typeof body === 'function' ? body(base) : body;
      const text = typeof value === 'string' ? value : JSON.stringify(value);
      res.writeHead(status, { 'content-type': contentType });
      return res.end(text);
    }
    const relayed = await fetch(`${process.env.FHIR_BASE}${rel}`, {
      method: req.method,
      headers: { ...(req.headers['content-type'] && { 'content-type': req.headers['content-type'] }) },
      ...(chunks.length && { body: Buffer.concat(chunks) }),
    });
    const headers = { 'content-type': relayed.headers.get('content-type') ?? FHIR_JSON };
    if (relayed.headers.get('location')) headers.location = relayed.headers.get('location');
    res.writeHead(relayed.status, headers);
    res.end(Buffer.from(await relayed.arrayBuffer()));
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${server.address().port}/fhir/`;
  return {
    base,
    seen,
    override: (match, answer) => overrides.unshift({ match, ...answer }),
    clear: () => {
      overrides.length = 0;
      seen.length = 0;
    },
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

describe('gateway pipeline: answers of a stand-in backend', function () {
  this.timeout(30000);
  let standIn;
  let gw;

  before(async () => {
    await seedPeer();
    standIn = await startStandIn();
    gw = await makeGateway({ backendAliases: [process.env.FHIR_BASE], allowedOperations: ['$everything', '$lastn'] }, standIn.base);
  });
  afterEach(() => standIn.clear());
  after(async () => {
    gw?.close();
    await standIn?.close();
  });

  describe('security post-filters fail closed', () => {
    it('502 without data for a read answered with garbage', async () => {
      standIn.override('GET Patient/patient-L1a', { body: '{"resourceType":"Patient","id":"patient-L1a", garbage' });
      const res = await call(gw.gateway, 'carol', 'GET', 'Patient/patient-L1a');
      expectDenial(res, 502, 'exception');
      expect(res.text).not.to.include('garbage');
      expect(res.info.decision).to.equal('deny');
      // Unfiltered users get what the backend said: nothing is checked for them.
      expect((await call(gw.gateway, 'webby', 'GET', 'Patient/patient-L1a')).text).to.include('garbage');
    });

    it('502 for a read answered with another resource, an empty body or XML; JSON was asked for', async () => {
      standIn.override('GET Patient/patient-L1a', {
        body: { resourceType: 'Bundle', type: 'searchset', entry: [{ resource: patient('patient-L1a', 'L1a') }] },
      });
      expectDenial(await call(gw.gateway, 'carol', 'GET', 'Patient/patient-L1a'), 502, 'exception');
      standIn.override('GET Patient/patient-L1a', { body: '' });
      expectDenial(await call(gw.gateway, 'carol', 'GET', 'Patient/patient-L1a'), 502, 'exception');
      standIn.override('GET Patient/patient-L1a', { contentType: 'application/fhir+xml', body: '<Patient xmlns="http://hl7.org/fhir"/>' });
      const res = await call(gw.gateway, 'carol', 'GET', 'Patient/patient-L1a', {
        query: { _format: ['xml'] },
        headers: { accept: 'application/fhir+xml' },
      });
      expectDenial(res, 502, 'exception');
      expect(standIn.seen.filter((r) => r.url.startsWith('Patient/patient-L1a'))).to.deep.include({
        method: 'GET',
        url: 'Patient/patient-L1a',
        accept: FHIR_JSON,
      });
    });

    it('502 for a search with includes answered with something else than a Bundle', async () => {
      standIn.override('GET Observation?', { body: patient('patient-L9', 'L9') });
      expectDenial(
        await call(gw.gateway, 'carol', 'GET', 'Observation', { query: { _include: ['Observation:subject'] } }),
        502,
        'exception',
      );
      standIn.override('GET Observation?', { body: { resourceType: 'Bundle', type: 'searchset', entry: 'not a list' } });
      expectDenial(
        await call(gw.gateway, 'carol', 'GET', 'Observation', { query: { _include: ['Observation:subject'] } }),
        502,
        'exception',
      );
    });

    it('502 for a batch answer whose entries do not match the request', async () => {
      standIn.override('POST ', { body: { resourceType: 'Bundle', type: 'batch-response', entry: [] } });
      const bundle = { resourceType: 'Bundle', type: 'batch', entry: [{ request: { method: 'GET', url: 'Patient/patient-L1a' } }] };
      expectDenial(await call(gw.gateway, 'carol', 'POST', '', { body: bundle }), 502, 'exception');
      standIn.override('POST ', { body: patient('patient-L1a', 'L1a') });
      expectDenial(await call(gw.gateway, 'carol', 'POST', '', { body: bundle }), 502, 'exception');
    });
  });

  describe('answers the filters can read', () => {
    it('type history: entries outside the assignment and deletions removed', async () => {
      standIn.override('GET Patient/_history', {
        body: {
          resourceType: 'Bundle',
          type: 'history',
          total: 3,
          entry: [
            { resource: patient('patient-L1a', 'L1a'), request: { method: 'PUT', url: 'Patient/patient-L1a' } },
            { resource: patient('patient-L9', 'L9'), request: { method: 'PUT', url: 'Patient/patient-L9' } },
            { request: { method: 'DELETE', url: 'Patient/patient-gone' }, response: { status: '204' } },
          ],
        },
      });
      const res = await call(gw.gateway, 'carol', 'GET', 'Patient/_history');
      expect(res.status).to.equal(200);
      expect(idsOf(res.json)).to.deep.equal(['patient-L1a']);
      expect(res.json).not.to.have.property('total');
      expect(res.info.reason).to.equal('history filtered by assignment');
    });

    it('allowed operations: Bundle entries and Parameters parts outside removed, a resource outside refused', async () => {
      const outcome = { resourceType: 'OperationOutcome', issue: [{ severity: 'information', code: 'informational' }] };
      standIn.override('GET Patient/patient-L1a/$everything', {
        body: {
          resourceType: 'Bundle',
          type: 'searchset',
          entry: [
            { resource: patient('patient-L1a', 'L1a') },
            { resource: observation('obs-L9', 'L9') },
            { resource: observation('obs-L1b', 'L1b') },
            { resource: outcome },
          ],
        },
      });
      const everything = await call(gw.gateway, 'carol', 'GET', 'Patient/patient-L1a/$everything');
      expect(everything.status).to.equal(200);
      expect(idsOf(everything.json)).to.deep.equal(['patient-L1a', 'obs-L1b', undefined]);
      standIn.override('GET Observation/$lastn', {
        body: {
          resourceType: 'Parameters',
          parameter: [
            { name: 'result', resource: observation('obs-L9', 'L9') },
            { name: 'result', resource: observation('obs-L1a', 'L1a') },
            {
              name: 'nested',
              part: [
                { name: 'result', resource: observation('obs-L9b', 'L9') },
                { name: 'count', valueInteger: 2 },
              ],
            },
          ],
        },
      });
      const lastn = await call(gw.gateway, 'carol', 'GET', 'Observation/$lastn');
      expect(lastn.json.parameter.map((p) => p.resource?.id ?? p.name)).to.deep.equal(['obs-L1a', 'nested']);
      expect(lastn.json.parameter[1].part).to.deep.equal([{ name: 'count', valueInteger: 2 }]);
      standIn.override('GET Observation/$lastn', { body: observation('obs-L9', 'L9') });
      expectDenial(await call(gw.gateway, 'carol', 'GET', 'Observation/$lastn'), 403, 'forbidden');
    });

    it('a write answered with a resource outside the assignment is not shown', async () => {
      // A backend answering a create with someone else's resource.
      standIn.override('POST Patient', { status: 200, body: patient('patient-L9', 'L9') });
      const body = JSON.stringify(patient(undefined, 'L1a'));
      const res = await call(gw.gateway, 'carol', 'POST', 'Patient', { headers: { 'content-type': FHIR_JSON }, body });
      expectDenial(res, 403, 'forbidden');
    });

    it('HAPI paging ids: bound to the user, the page filtered, another user refused', async () => {
      const page = (id, code) => ({
        resourceType: 'Bundle',
        type: 'searchset',
        link: [{ relation: 'next', url: `${standIn.base}?_getpages=abc&_getpagesoffset=1&_count=1&_bundletype=searchset` }],
        entry: [{ search: { mode: 'match' }, resource: patient(id, code) }],
      });
      standIn.override('GET Patient?', { body: page('patient-L1a', 'L1a') });
      standIn.override('GET ?_getpages=abc', { body: page('patient-L9', 'L9') });
      const first = await call(gw.gateway, 'carol', 'GET', 'Patient', { query: { _count: ['1'] } });
      const next = first.json.link.find((l) => l.relation === 'next').url;
      expect(next).to.match(new RegExp(`^${PUBLIC}/?\\?_getpages=abc&.*_gw=`));
      const { path, query } = linkRequest(next);
      const second = await call(gw.gateway, 'carol', 'GET', path, { query });
      expect(second.status).to.equal(200);
      expect(second.info.reason).to.equal('bound paging link, page filtered by assignment');
      expect(idsOf(second.json)).to.deep.equal([]);
      expectDenial(await call(gw.gateway, 'dave', 'GET', path, { query }), 403, 'forbidden');
      const { _gw, ...unbound } = query;
      expect(_gw).to.have.length(1);
      expectDenial(await call(gw.gateway, 'carol', 'GET', path, { query: unbound }), 403, 'forbidden');
    });
  });

  describe('backend failures', () => {
    it('relays a backend 500 with its OperationOutcome, URLs rewritten', async () => {
      standIn.override('GET Patient/patient-L1a', {
        status: 500,
        body: (base) => ({
          resourceType: 'OperationOutcome',
          issue: [{ severity: 'error', code: 'exception', diagnostics: `failed at ${base}Patient/patient-L1a` }],
        }),
      });
      const res = await call(gw.gateway, 'webby', 'GET', 'Patient/patient-L1a');
      expect(res.status).to.equal(500);
      expect(res.json.issue[0].diagnostics).to.equal(`failed at ${PUBLIC}/Patient/patient-L1a`);
      expect(res.info.decision).to.equal('allow');
    });

    it('rewrites URLs the backend names under an alias', async () => {
      const res = await call(gw.gateway, 'webby', 'GET', 'Patient', { query: { _count: ['1'] } });
      expect(res.text).not.to.include(process.env.FHIR_BASE.replace(/\/$/, ''));
      expect(res.text).not.to.include(standIn.base.replace(/\/$/, ''));
    });

    it('502 when the backend cannot be reached, 503 when the app configuration cannot be read', async () => {
      const down = await makeGateway({}, `${await closedPortUrl()}/fhir/`);
      try {
        expectDenial(await call(down.gateway, 'webby', 'GET', 'Patient'), 502, 'exception');
        const res = await call(down.gateway, 'carol', 'GET', 'Patient');
        expectDenial(res, 503, 'exception');
        expect(res.json.issue[0].diagnostics).to.include("'sandbox-app'");
      } finally {
        down.close();
      }
    });

    it('503 for a broken app configuration, 502 for a failed assignment lookup', async () => {
      const fresh = await makeGateway();
      try {
        await control(process.env.FHIR_BASE, '/__fault', { match: 'GET Binary/sandbox-app-config', status: 500 });
        expectDenial(await call(fresh.gateway, 'carol', 'GET', 'Patient'), 503, 'exception');
        await control(process.env.FHIR_BASE, '/__fault', { match: 'GET Practitioner?', status: 500 });
        expectDenial(await call(fresh.gateway, 'carol', 'GET', 'Patient'), 502, 'exception');
        // Failures are not cached.
        expect((await call(fresh.gateway, 'carol', 'GET', 'Patient')).status).to.equal(200);
      } finally {
        await control(process.env.FHIR_BASE, '/__fault', { clear: true });
        fresh.close();
      }
    });
  });
});
