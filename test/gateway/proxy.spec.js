'use strict';
// The forwarding half of the gateway against the sandbox FHIR server: relaying with URL rewriting, headers both
// ways, the backend's own credentials, failures as 502 denials, the connection pool, gzip, bound paging links and
// the CapabilityStatement. What the backend was sent is read from Node's HTTP client diagnostics channel.
const dc = require('node:diagnostics_channel');
const http = require('node:http');
const net = require('node:net');
const zlib = require('node:zlib');
const { expect } = require('chai');
const { denial } = require('../support/gateway');
const { control, closedPortUrl } = require('../support/peers');
const { requests } = require('../support/fhir');
const { Backend, tokenAuthorization } = require('../../nodes/lib/gateway/proxy/backend.js');
const { UrlRewriter } = require('../../nodes/lib/gateway/proxy/rewrite.js');
const { encodeForClient, requestHeaders } = require('../../nodes/lib/gateway/proxy/headers.js');
const { PagingBinder, mayHoldPagingLinks } = require('../../nodes/lib/gateway/proxy/paging.js');
const { secureCapabilities, RESTFUL_SECURITY_SERVICE } = require('../../nodes/lib/gateway/proxy/metadata.js');
const { GatewayDenial } = require('../../nodes/lib/gateway/http/denial.js');
const { parseQuery } = require('../../nodes/lib/gateway/http/request.js');
const { normaliseSettings } = require('../../nodes/lib/fhir/external-system.js');
const { createTokenSource } = require('../../nodes/lib/fhir/token-source.js');

const PUBLIC = 'https://gw.example.org/fhir';
const fhir = () => process.env.FHIR_BASE;
const issuer = () => process.env.OIDC_ISSUER;

const RESPONSE_ALLOWED = [
  'content-type',
  'last-modified',
  'date',
  'expires',
  'content-location',
  'content-encoding',
  'etag',
  'location',
  'x-progress',
  'x-request-id',
  'x-correlation-id',
];

function gwRequest(method, path, { query = {}, headers = {}, body } = {}) {
  return { method, path, query, headers, body };
}

/** Requests the process sends with node:http while `fn` runs: [{request, headers}]. */
async function outgoing(fn) {
  const sent = [];
  const onStart = ({ request }) => sent.push({ request, headers: request.getHeaders() });
  dc.subscribe('http.client.request.start', onStart);
  try {
    return { result: await fn(), sent };
  } finally {
    dc.unsubscribe('http.client.request.start', onStart);
  }
}

function patient(family, extra = {}) {
  return { resourceType: 'Patient', name: [{ family, given: ['Test'] }], ...extra };
}

describe('gateway forwarding', function () {
  this.timeout(20000);

  let backend;
  let rewriter;
  let family;
  const relay = async (req) => rewriter.response(await backend.forward(req));
  const create = async (resource, headers = {}) => backend.forward(gwRequest('POST', resource.resourceType, { headers, body: resource }));

  before(async () => {
    backend = new Backend({ baseUrl: fhir() });
    rewriter = new UrlRewriter({ backendBase: fhir(), publicBase: PUBLIC });
    family = `Gw${Date.now()}`;
    for (let i = 0; i < 5; i++) expect((await create(patient(family))).status).to.equal(201);
  });
  after(() => backend.close());

  describe('relaying', function () {
    it('relays a read byte for byte', async function () {
      const { id } = JSON.parse((await create(patient('Plain'))).body);
      const res = await relay(gwRequest('GET', `Patient/${id}`));
      const direct = Buffer.from(await (await fetch(`${fhir()}Patient/${id}`)).arrayBuffer());
      expect(res.status).to.equal(200);
      expect(Buffer.from(res.body).equals(direct)).to.equal(true);
    });

    it('changes nothing in a read but the backend base', async function () {
      const system = `${fhir()}NamingSystem/mrn`;
      const { id } = JSON.parse((await create(patient('Linked', { identifier: [{ system, value: '1' }] }))).body);
      const res = await relay(gwRequest('GET', `Patient/${id}`));
      const direct = await (await fetch(`${fhir()}Patient/${id}`)).text();
      expect(res.body).to.equal(direct.replaceAll(fhir(), `${PUBLIC}/`));
      expect(JSON.parse(res.body).identifier[0].system).to.equal(`${PUBLIC}/NamingSystem/mrn`);
    });

    it('points every fullUrl and link of a searchset at the public base', async function () {
      const res = await relay(gwRequest('GET', 'Patient', { query: { family: [family], _count: ['2'], _offset: ['2'] } }));
      expect(res.status).to.equal(200);
      expect(res.body).not.to.include(fhir().replace(/\/$/, ''));
      const bundle = JSON.parse(res.body);
      expect(bundle.entry).to.have.length(2);
      for (const e of bundle.entry) expect(e.fullUrl).to.equal(`${PUBLIC}/Patient/${e.resource.id}`);
      expect(bundle.link.map((l) => l.relation)).to.have.members(['self', 'next', 'previous']);
      for (const l of bundle.link) expect(l.url.startsWith(`${PUBLIC}/Patient?`), l.url).to.equal(true);
    });

    for (const status of [500, 503]) {
      it(`relays a backend ${status} with its OperationOutcome`, async function () {
        await control(fhir(), '/__fault', { status, match: `GET Patient?family=${family}&fault=${status}` });
        const res = await relay(gwRequest('GET', 'Patient', { query: { family: [family], fault: [String(status)] } }));
        expect(res.status).to.equal(status);
        expect(res.contentType).to.equal('application/fhir+json');
        const outcome = JSON.parse(res.body);
        expect(outcome.resourceType).to.equal('OperationOutcome');
        expect(outcome.issue[0].code).to.equal('transient');
      });
    }

    it('relays a backend 404 with its OperationOutcome', async function () {
      const res = await relay(gwRequest('GET', 'Patient/no-such-patient'));
      expect(res.status).to.equal(404);
      expect(JSON.parse(res.body).resourceType).to.equal('OperationOutcome');
    });

    it('rewrites the Location of a create to the public base', async function () {
      const res = await relay(
        gwRequest('POST', 'Patient', { headers: { 'content-type': 'application/fhir+json' }, body: JSON.stringify(patient('Loc')) }),
      );
      expect(res.status).to.equal(201);
      const { id, meta } = JSON.parse(res.body);
      expect(res.headers.location).to.equal(`${PUBLIC}/Patient/${id}/_history/${meta.versionId}`);
    });

    it('sends a search form from a body parser as a form', async function () {
      const req = gwRequest('POST', 'Patient/_search', {
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: { family, _count: '1' },
      });
      const bundle = JSON.parse((await relay(req)).body);
      expect(bundle.total).to.equal(5);
      expect(bundle.entry).to.have.length(1);
    });

    it('searches with POST <type>/_search and a form body', async function () {
      await control(fhir(), '/__reset-log');
      const res = await backend.searchPost('Patient', { family: [family], _count: ['2'] });
      expect(res.status).to.equal(200);
      const bundle = JSON.parse(res.body);
      expect(bundle.total).to.equal(5);
      expect(bundle.entry).to.have.length(2);
      expect(await requests(fhir())).to.deep.equal([{ method: 'POST', url: 'Patient/_search' }]);
    });

    it('keeps the request on the backend whatever the path says', async function () {
      const err = await denial(backend.forward(gwRequest('GET', 'Patient/../../__requests')));
      expect([err.status, err.code]).to.deep.equal([400, 'invalid']);
      const { result, sent } = await outgoing(() => backend.forward(gwRequest('GET', 'http://evil.example/Patient')));
      expect(result.status).to.equal(404);
      expect(sent[0].headers.host).to.equal(new URL(fhir()).host);
      expect((await denial(backend.forward(gwRequest('TRACE', 'Patient')))).code).to.equal('not-supported');
    });
  });

  describe('headers', function () {
    it('forwards only allow-listed client headers, Accept included', async function () {
      const headers = {
        Accept: 'application/fhir+xml',
        'Content-Type': 'application/fhir+json',
        'X-Request-Id': 'rid-1',
        Prefer: 'return=representation',
        'If-None-Exist': `identifier=urn:gw|${family}`,
        Cookie: 'session=1',
        Host: 'gw.example.org',
        Authorization: 'Bearer client-token',
        'Accept-Encoding': 'gzip',
        'X-Custom': 'kept out',
      };
      const body = JSON.stringify(patient('Conditional', { identifier: [{ system: 'urn:gw', value: family }] }));
      const { result, sent } = await outgoing(() => backend.forward(gwRequest('POST', 'Patient', { headers, body })));
      expect(result.status).to.equal(201);
      const got = sent[0].headers;
      expect(got).to.include({
        accept: 'application/fhir+xml',
        'content-type': 'application/fhir+json',
        'x-request-id': 'rid-1',
        prefer: 'return=representation',
        'if-none-exist': `identifier=urn:gw|${family}`,
        'accept-encoding': 'identity',
        host: new URL(fhir()).host,
      });
      expect(got).not.to.have.any.keys('cookie', 'authorization', 'x-custom');
      // The peer received If-None-Exist: the same create again finds the first one.
      const again = await backend.forward(gwRequest('POST', 'Patient', { headers, body }));
      expect(again.status).to.equal(200);
      expect(JSON.parse(again.body).id).to.equal(JSON.parse(result.body).id);
    });

    it('forwards If-Match, so a stale version is refused by the backend', async function () {
      const created = JSON.parse((await create(patient('Versioned'))).body);
      const put = (version) =>
        backend.forward(gwRequest('PUT', `Patient/${created.id}`, { headers: { 'if-match': `W/"${version}"` }, body: created }));
      expect((await put(created.meta.versionId)).status).to.equal(200);
      expect((await put(created.meta.versionId)).status).to.equal(412);
    });

    it('asks for XML when the client does and keeps the Content-Type the backend answers with', async function () {
      const { id } = JSON.parse((await create(patient('Xml'))).body);
      const { result, sent } = await outgoing(() =>
        relay(gwRequest('GET', `Patient/${id}`, { headers: { accept: 'application/fhir+xml' } })),
      );
      expect(sent[0].headers.accept).to.equal('application/fhir+xml');
      const direct = await fetch(`${fhir()}Patient/${id}`, { headers: { accept: 'application/fhir+xml' } });
      expect(result.contentType).to.equal(direct.headers.get('content-type'));
      expect(result.headers['content-type']).to.equal(result.contentType);
    });

    it('asks for FHIR JSON when the client names no format', async function () {
      const { sent } = await outgoing(() => backend.forward(gwRequest('GET', 'Patient', { query: { _count: ['1'] } })));
      expect(sent[0].headers.accept).to.equal('application/fhir+json');
    });

    it('passes only allow-listed backend headers to the client', async function () {
      const res = await relay(gwRequest('POST', 'Patient', { body: patient('Headers') }));
      expect(RESPONSE_ALLOWED).to.include.members(Object.keys(res.headers));
      expect(res.headers).to.include.keys('content-type', 'etag', 'last-modified', 'location', 'date');
      expect(res.headers).not.to.have.any.keys('connection', 'keep-alive', 'content-length', 'transfer-encoding');
    });

    it('lower-cases header names and joins repeated values', function () {
      expect(requestHeaders({ 'X-Correlation-Id': ['a', 'b'], FHIRVersion: '4.0', Cookie: 'x' })).to.deep.equal({
        'x-correlation-id': 'a, b',
        fhirversion: '4.0',
      });
    });
  });

  describe('backend credentials', function () {
    const settings = () =>
      normaliseSettings({ url: fhir(), issuer: issuer(), authType: 'oauth-client-credentials', clientId: 'geo-exporter' });
    let tokens;

    before(async () => {
      await control(fhir(), '/__auth', { issuer: issuer(), audience: fhir() });
      tokens = createTokenSource(settings(), { clientSecret: 'geo-exporter-secret' });
    });
    after(() => control(fhir(), '/__auth', {}));

    it("sends the backend's token and never the client's", async function () {
      const authed = new Backend({ baseUrl: fhir(), ...tokenAuthorization(tokens) });
      try {
        const req = gwRequest('GET', 'Patient', { query: { _count: ['1'] }, headers: { authorization: 'Bearer client-token' } });
        const { result, sent } = await outgoing(() => authed.forward(req));
        expect(result.status).to.equal(200);
        expect(sent).to.have.length(1);
        expect(sent[0].headers.authorization).to.equal(`Bearer ${await tokens.token()}`);
      } finally {
        authed.close();
      }
    });

    it("does not pass a client's valid token on to the backend", async function () {
      const req = gwRequest('GET', 'Patient', { query: { _count: ['1'] }, headers: { authorization: `Bearer ${await tokens.token()}` } });
      const { result, sent } = await outgoing(() => backend.forward(req));
      expect(result.status).to.equal(401);
      expect(sent[0].headers).not.to.have.key('authorization');
    });

    it('renews a token the backend refuses and sends the request once more', async function () {
      const given = ['Bearer stale', `Bearer ${await tokens.token()}`];
      let refused = 0;
      const renewing = new Backend({ baseUrl: fhir(), authorization: async () => given[refused], onUnauthorized: () => refused++ });
      try {
        const { result, sent } = await outgoing(() => renewing.forward(gwRequest('GET', 'Patient', { query: { _count: ['1'] } })));
        expect(result.status).to.equal(200);
        expect(refused).to.equal(1);
        expect(sent.map((s) => s.headers.authorization)).to.deep.equal(given);
      } finally {
        renewing.close();
      }
    });

    it('answers 502 when the backend token cannot be obtained', async function () {
      const bad = new Backend({ baseUrl: fhir(), ...tokenAuthorization(createTokenSource(settings(), { clientSecret: 'wrong' })) });
      try {
        const err = await denial(bad.forward(gwRequest('GET', 'Patient')));
        expect([err.status, err.code]).to.deep.equal([502, 'exception']);
      } finally {
        bad.close();
      }
    });
  });

  describe('backend failures', function () {
    const servers = [];
    /** A local HTTP server answering every request with `handler`, for backends that misbehave. */
    async function server(handler) {
      const s = http.createServer(handler).listen(0, '127.0.0.1');
      await new Promise((resolve) => s.once('listening', resolve));
      servers.push(s);
      return `http://127.0.0.1:${s.address().port}/fhir/`;
    }
    after(() => servers.forEach((s) => s.close()));

    it('answers 502 when it is unreachable, naming the backend without its credentials in the detail only', async function () {
      const closed = new URL(await closedPortUrl());
      const dead = new Backend({ baseUrl: `http://user:secret@${closed.host}/fhir` });
      const err = await denial(dead.forward(gwRequest('GET', 'Patient/1')));
      expect([err.status, err.code]).to.deep.equal([502, 'exception']);
      expect(err.message).to.equal('the FHIR server could not be reached');
      expect(err.detail).to.include(`http://${closed.host}/fhir/Patient/1`);
      expect(err.detail).not.to.include('secret');
      expect((await denial(dead.get('Patient/1'))).status).to.equal(502);
      dead.close();
    });

    it('answers 502 when the backend drops the connection', async function () {
      const fresh = new Backend({ baseUrl: fhir() });
      await control(fhir(), '/__fault', { drop: true, match: `GET Patient?family=${family}&drop=1` });
      const err = await denial(fresh.forward(gwRequest('GET', 'Patient', { query: { family: [family], drop: ['1'] } })));
      expect([err.status, err.code]).to.deep.equal([502, 'exception']);
      fresh.close();
    });

    it('sends a read again when a pooled connection turns out to be closed', async function () {
      const pooled = new Backend({ baseUrl: fhir() });
      await pooled.forward(gwRequest('GET', 'Patient', { query: { _count: ['1'] } }));
      await control(fhir(), '/__fault', { drop: true, match: `GET Patient?family=${family}&drop=2` });
      const res = await pooled.forward(gwRequest('GET', 'Patient', { query: { family: [family], drop: ['2'] } }));
      expect(res.status).to.equal(200);
      pooled.close();
    });

    it('answers 502 when the backend does not answer within the timeout', async function () {
      const sockets = [];
      const silent = net.createServer((socket) => sockets.push(socket)).listen(0, '127.0.0.1');
      await new Promise((resolve) => silent.once('listening', resolve));
      const slow = new Backend({ baseUrl: `http://127.0.0.1:${silent.address().port}/fhir`, timeoutMs: 200 });
      try {
        const err = await denial(slow.forward(gwRequest('GET', 'Patient')));
        expect([err.status, err.code]).to.deep.equal([502, 'exception']);
        expect(err.detail).to.match(/timed out/);
      } finally {
        slow.close();
        sockets.forEach((s) => s.destroy());
        silent.close();
      }
    });

    it('does not send a request again that timed out on a pooled connection', async function () {
      let seen = 0;
      const hanging = [];
      const base = await server((req, res) => {
        seen++;
        if (seen === 1) res.end('{}');
        else hanging.push(res);
      });
      const pooled = new Backend({ baseUrl: base, timeoutMs: 200 });
      try {
        await pooled.forward(gwRequest('GET', 'Patient'));
        const err = await denial(pooled.forward(gwRequest('GET', 'Patient')));
        expect(err.detail).to.match(/timed out after 200 ms/);
        expect(seen).to.equal(2);
      } finally {
        pooled.close();
        hanging.forEach((res) => res.destroy());
      }
    });

    it("sends the user info of the backend's URL as Basic credentials, on forwards and lookups", async function () {
      const seen = [];
      const base = await server((req, res) => {
        seen.push(`${req.url} ${req.headers.authorization}`);
        res.setHeader('content-type', 'application/fhir+json');
        res.end(JSON.stringify({ resourceType: 'Patient', id: '1' }));
      });
      const withUser = new Backend({ baseUrl: base.replace('http://', 'http://us%20er:se:cret@') });
      await withUser.forward(gwRequest('GET', 'Patient', { query: { name: ['a b'] } }));
      await withUser.read('Patient', '1');
      const basic = `Basic ${Buffer.from('us er:se:cret').toString('base64')}`;
      expect(seen).to.deep.equal([`/fhir/Patient?name=a+b ${basic}`, `/fhir/Patient/1 ${basic}`]);
      withUser.close();
    });

    it('answers 502 when an internal lookup gets something other than JSON', async function () {
      const odd = new Backend({ baseUrl: await server((req, res) => res.end('<html>not FHIR</html>')) });
      const err = await denial(odd.get('Patient/1'));
      expect([err.status, err.code]).to.deep.equal([502, 'exception']);
      odd.close();
    });
  });

  describe('internal lookups', function () {
    it('reads, searches and follows next links; a missing resource is undefined', async function () {
      const bundle = await backend.search('Patient', { family: [family], _count: ['2'] });
      expect(bundle.resourceType).to.equal('Bundle');
      expect(bundle.total).to.equal(5);
      const next = bundle.link.find((l) => l.relation === 'next').url;
      expect((await backend.page(next)).entry).to.have.length(2);
      const id = bundle.entry[0].resource.id;
      expect((await backend.get(`Patient/${id}`)).id).to.equal(id);
      expect((await backend.read('Patient', id)).id).to.equal(id);
      expect(await backend.get('Patient/no-such-patient')).to.equal(undefined);
      expect((await denial(backend.read('Patient', 'no-such-patient'))).status).to.equal(502);
    });

    it('refuses to follow URLs off the backend', async function () {
      const err = await denial(backend.get('http://evil.example/fhir/Patient'));
      expect([err.status, err.code]).to.deep.equal([502, 'exception']);
      expect((await denial(backend.get('../../__requests'))).status).to.equal(502);
    });
  });

  describe('connections', function () {
    it('reuses one keep-alive connection for sequential requests', async function () {
      const pooled = new Backend({ baseUrl: fhir() });
      try {
        const { sent } = await outgoing(async () => {
          for (let i = 0; i < 5; i++) await pooled.forward(gwRequest('GET', 'Patient', { query: { _count: ['1'] } }));
        });
        expect(sent).to.have.length(5);
        expect(sent.map((s) => s.request.reusedSocket)).to.deep.equal([false, true, true, true, true]);
      } finally {
        pooled.close();
      }
    });
  });

  describe('gzip', function () {
    for (const acceptEncoding of ['gzip', 'GZIP', 'gzip, deflate, br']) {
      it(`compresses the answer for Accept-Encoding: ${acceptEncoding}`, async function () {
        const res = await relay(gwRequest('GET', 'Patient', { query: { family: [family] } }));
        const encoded = await encodeForClient(res.body, res.headers, acceptEncoding);
        expect(encoded.headers['content-encoding']).to.equal('gzip');
        expect(zlib.gunzipSync(encoded.body).toString()).to.equal(res.body);
      });
    }

    for (const acceptEncoding of [undefined, 'deflate', 'gzip;q=0']) {
      it(`leaves the answer uncompressed for Accept-Encoding: ${acceptEncoding}`, async function () {
        const res = await relay(gwRequest('GET', 'Patient', { query: { family: [family] } }));
        const encoded = await encodeForClient(res.body, res.headers, acceptEncoding);
        expect(encoded.body).to.equal(res.body);
        expect(encoded.headers).not.to.have.key('content-encoding');
      });
    }
  });

  describe('paging links bound to the user', function () {
    let binder;
    let clock;
    /** The gateway request a client makes by following a link. */
    const follow = (url) => {
      const u = new URL(url);
      return gwRequest('GET', u.pathname.slice(new URL(PUBLIC).pathname.length + 1), { query: parseQuery(u.searchParams) });
    };
    async function firstPage(sub) {
      const res = await relay(gwRequest('GET', 'Patient', { query: { family: [family], _count: ['2'] } }));
      return binder.bindLinks(rewriter.parseJson(res.body), sub, ['Patient']);
    }
    const link = (bundle, relation) => bundle.link.find((l) => l.relation === relation).url;

    beforeEach(() => {
      clock = Date.now();
      binder = new PagingBinder({ publicBase: PUBLIC, ttlSec: 60, now: () => clock });
    });

    it('finds a paging link in the text of the answers that have one, and none in those with only a self link', async function () {
      expect(mayHoldPagingLinks(JSON.stringify(await firstPage('alice')))).to.equal(true);
      const single = await relay(gwRequest('GET', 'Patient', { query: { family: [family], _count: ['100'] } }));
      expect(mayHoldPagingLinks(single.body.toString())).to.equal(false);
      expect(JSON.parse(single.body).link.map((l) => l.relation)).to.deep.equal(['self']);
      // As a server may write it: spaced and pretty-printed.
      for (const relation of ['next', 'previous', 'prev', 'first', 'last'])
        expect(mayHoldPagingLinks(JSON.stringify({ link: [{ relation, url: 'x' }] }, null, 2)), relation).to.equal(true);
    });

    it('lets the same user follow a next link, and strips the binding before forwarding', async function () {
      const next = link(await firstPage('alice'), 'next');
      expect(next.startsWith(`${PUBLIC}/Patient?`)).to.equal(true);
      const req = follow(next);
      const binding = binder.checkBinding(req, 'alice');
      expect(binding.types).to.deep.equal(['Patient']);
      req.query = binding.query;
      await control(fhir(), '/__reset-log');
      const page = JSON.parse((await relay(req)).body);
      expect(page.entry).to.have.length(2);
      const [logged] = await requests(fhir());
      expect(logged.url)
        .to.match(/^Patient\?/)
        .and.not.include('_gw');
      // The next link of the second page is bound again.
      expect(() => binder.checkBinding(follow(link(binder.bindLinks(page, 'alice', ['Patient']), 'next')), 'alice')).not.to.throw();
    });

    it('leaves the self link alone', async function () {
      expect(link(await firstPage('alice'), 'self')).not.to.include('_gw');
    });

    it('refuses a next link to another user', async function () {
      const next = link(await firstPage('alice'), 'next');
      const err = expectDenial(() => binder.checkBinding(follow(next), 'bob'));
      expect([err.status, err.code]).to.deep.equal([403, 'forbidden']);
    });

    it('refuses a next link whose query or path was altered', async function () {
      const next = link(await firstPage('alice'), 'next');
      const req = follow(next);
      expectDenial(() => binder.checkBinding({ ...req, query: { ...req.query, _offset: ['0'] } }, 'alice'));
      expectDenial(() => binder.checkBinding({ ...req, query: { ...req.query, _tag: ['x'] } }, 'alice'));
      expectDenial(() => binder.checkBinding({ ...req, path: 'Observation' }, 'alice'));
      expectDenial(() => binder.checkBinding({ ...req, query: { ...req.query, _gw: ['garbage'] } }, 'alice'));
      // The types the link continues are signed too: claiming another search's type breaks the signature.
      const [expires, , mac] = req.query._gw[0].split('.');
      expectDenial(() => binder.checkBinding({ ...req, query: { ...req.query, _gw: [`${expires}.Observation.${mac}`] } }, 'alice'));
    });

    it('refuses a next link after its lifetime', async function () {
      const req = follow(link(await firstPage('alice'), 'next'));
      clock += 61_000;
      expect(expectDenial(() => binder.checkBinding(req, 'alice')).status).to.equal(403);
    });

    it('refuses a bound link under a gateway with another key', async function () {
      const req = follow(link(await firstPage('alice'), 'next'));
      expectDenial(() => new PagingBinder({ publicBase: PUBLIC }).checkBinding(req, 'alice'));
    });

    it('requires a binding for server-side page ids (_getpages) but not for plain searches', function () {
      expectDenial(() => binder.checkBinding({ path: '', query: { _getpages: ['abc'], _getpagesoffset: ['20'] } }, 'alice'));
      const query = { family: [family], _offset: ['2'] };
      expect({ ...binder.checkBinding({ path: 'Patient', query }, 'alice').query }).to.deep.equal(query);
    });

    it("requires a binding for Google's _page_token and Azure's ct, binds their links and accepts them for their user only", function () {
      for (const [name, token] of [
        ['_page_token', 'AYwGbtKb1YxT'],
        ['ct', 'W3sidG9rZW4iOiIrUklEOn4'],
      ]) {
        expectDenial(() => binder.checkBinding({ path: 'Patient', query: { [name]: [token] } }, 'alice'));
        const bundle = {
          resourceType: 'Bundle',
          type: 'searchset',
          link: [{ relation: 'next', url: `${PUBLIC}/Patient?_count=2&${name}=${token}` }],
        };
        const req = follow(binder.bindLinks(bundle, 'alice', ['Patient']).link[0].url);
        expect(req.path).to.equal('Patient');
        const binding = binder.checkBinding(req, 'alice');
        expect({ ...binding.query }).to.deep.equal({ _count: ['2'], [name]: [token] });
        expect(binding.types).to.deep.equal(['Patient']);
        expectDenial(() => binder.checkBinding(req, 'bob'));
        expectDenial(() => binder.checkBinding({ ...req, query: { ...req.query, [name]: ['another'] } }, 'alice'));
      }
    });

    it('binds links under a long public base path (as behind Google Cloud Healthcare)', function () {
      const longBase = 'https://gw.example.org/v1/projects/p/locations/l/datasets/d/fhirStores/s/fhir';
      const long = new PagingBinder({ publicBase: longBase, secret: 'k' });
      const bundle = {
        resourceType: 'Bundle',
        type: 'searchset',
        link: [{ relation: 'next', url: `${longBase}/Location?_page_token=abc` }],
      };
      const url = new URL(long.bindLinks(bundle, 'alice', ['Location']).link[0].url);
      expect(url.pathname).to.equal(`${new URL(longBase).pathname}/Location`);
      const query = {};
      for (const [k, v] of url.searchParams) (query[k] ??= []).push(v);
      expect(long.checkBinding({ path: 'Location', query }, 'alice').types).to.deep.equal(['Location']);
    });

    it('binds _getpages links at the root and accepts them for their user only', function () {
      const bundle = {
        resourceType: 'Bundle',
        type: 'searchset',
        link: [{ relation: 'next', url: `${PUBLIC}?_getpages=abc&_getpagesoffset=20&_count=20` }],
      };
      const req = follow(binder.bindLinks(bundle, 'alice', ['Patient']).link[0].url);
      expect(req.path).to.equal('');
      const binding = binder.checkBinding(req, 'alice');
      expect({ ...binding.query }).to.deep.equal({ _getpages: ['abc'], _getpagesoffset: ['20'], _count: ['20'] });
      expect(binding.types).to.deep.equal(['Patient']);
      expectDenial(() => binder.checkBinding(req, 'bob'));
    });
  });

  describe('metadata', function () {
    it('declares CORS and the OAuth security service once, with the public base', async function () {
      const res = await relay(gwRequest('GET', 'metadata'));
      const statement = secureCapabilities(secureCapabilities(rewriter.parseJson(res.body)));
      expect(statement.implementation.url).to.equal(`${PUBLIC}/`);
      for (const rest of statement.rest) {
        expect(rest.security.cors).to.equal(true);
        const oauth = rest.security.service
          .flatMap((s) => s.coding)
          .filter((c) => c.system === RESTFUL_SECURITY_SERVICE && c.code === 'OAuth');
        expect(oauth).to.have.length(1);
      }
      expect(rewriter.text(JSON.stringify(statement))).not.to.include(fhir());
    });

    it('gives a statement without rest a secured server entry', function () {
      const statement = secureCapabilities({
        resourceType: 'CapabilityStatement',
        status: 'active',
        kind: 'instance',
        date: '2024',
        fhirVersion: '4.0.1',
        format: ['json'],
      });
      expect(statement.rest).to.have.length(1);
      expect(statement.rest[0]).to.include({ mode: 'server' });
      expect(statement.rest[0].security.cors).to.equal(true);
    });
  });
});

/** The GatewayDenial `fn` throws (a 403 for paging). */
function expectDenial(fn) {
  let err;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err, 'expected a GatewayDenial').to.be.instanceOf(GatewayDenial);
  expect(err.status).to.equal(403);
  return err;
}
