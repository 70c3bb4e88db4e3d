'use strict';
// gateway-authorize in a running Node-RED: http in (one per verb) → gateway-authorize → http response, in
// front of the sandbox FHIR server seeded with tagged data, with tokens from the sandbox issuer.
const net = require('node:net');
const { expect } = require('chai');
const { startRuntime, deploy } = require('./support/runtime');
const { control } = require('./support/peers');
const { until } = require('./support/until');
const { tokenOf } = require('./support/gateway');
const { gatewayFlow } = require('./support/flows');

const PUBLIC = 'https://gateway.example.org/fhir';
/** The gateway flow with audit records, answers to flow requests and caught errors kept in global context. */
function flow(gateway = {}, system = {}) {
  return gatewayFlow({
    publicBase: PUBLIC,
    gateway,
    system,
    wires: [['out', 'responses'], ['audit']],
    extra: [
      {
        id: 'audit',
        z: 't1',
        type: 'function',
        func: "global.set('audit', [...(global.get('audit') || []), msg.payload]); return null;",
        wires: [],
      },
      {
        id: 'responses',
        z: 't1',
        type: 'function',
        func: "if (!msg.res) global.set('responses', [...(global.get('responses') || []), msg]); return null;",
        wires: [],
      },
      { id: 'c', z: 't1', type: 'catch', scope: ['gw'], wires: [['caught']] },
      {
        id: 'caught',
        z: 't1',
        type: 'function',
        func: "global.set('caught', [...(global.get('caught') || []), msg.error.message]); return null;",
        wires: [],
      },
    ],
  });
}

describe('gateway-authorize node', function () {
  this.timeout(60000);
  let nr;
  let carol;
  const global = (key) => nr.RED.nodes.getNode('audit').context().global.get(key) || [];
  const call = (path, { token, ...init } = {}) =>
    fetch(`${nr.nodes}/fhir/${path}`, { ...init, headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...init.headers } });

  before(async function () {
    await control(process.env.FHIR_BASE, '/__reset');
    const { seed } = await import('./peers/gateway-seed.mjs');
    await seed(process.env.FHIR_BASE);
    carol = await tokenOf('carol');
    nr = await startRuntime();
  });
  beforeEach(async function () {
    await deploy(nr.admin, flow());
    nr.RED.nodes.getNode('audit').context().global.set('audit', undefined);
    nr.RED.nodes.getNode('audit').context().global.set('caught', undefined);
    nr.RED.nodes.getNode('audit').context().global.set('responses', undefined);
  });
  after(async function () {
    if (nr) await nr.stop();
  });

  it("answers a search with the caller's resources only, its URLs on the public base, and audits it", async function () {
    const res = await call('Patient', { token: carol });
    expect(res.status).to.equal(200);
    const bundle = await res.json();
    expect(bundle.entry.map((e) => e.resource.id).sort()).to.deep.equal(['patient-L1a', 'patient-L1a1', 'patient-L1b']);
    expect(bundle.entry.every((e) => e.fullUrl.startsWith(`${PUBLIC}/Patient/`))).to.equal(true);
    expect(JSON.stringify(bundle)).to.not.include(process.env.FHIR_BASE);
    const [audit] = global('audit');
    expect(audit).to.include({ method: 'GET', path: 'Patient', decision: 'allow', status: 200 });
    expect(audit.sub).to.be.a('string');
  });

  it('parses application/fhir+json bodies that arrive as strings, and refuses one that is not JSON', async function () {
    const patient = {
      resourceType: 'Patient',
      name: [{ family: 'Created' }],
      meta: { tag: [{ system: 'https://smartregister.org/location-tag-id', code: 'L1a' }] },
    };
    const headers = { 'content-type': 'application/fhir+json' };
    const created = await call('Patient', { token: carol, method: 'POST', headers, body: JSON.stringify(patient) });
    expect(created.status).to.equal(201);
    expect(created.headers.get('location')).to.match(new RegExp(`^${PUBLIC}/Patient/[^/]+/_history/`));
    const broken = await call('Patient', { token: carol, method: 'POST', headers, body: '{"resourceType":' });
    expect(broken.status).to.equal(400);
    expect((await broken.json()).issue[0].code).to.equal('invalid');
  });

  it('answers a request without a token with 401, WWW-Authenticate and an OperationOutcome, audited as denied', async function () {
    const res = await call('Patient');
    expect(res.status).to.equal(401);
    expect(res.headers.get('www-authenticate')).to.equal('Bearer');
    expect((await res.json()).issue[0].code).to.equal('login');
    expect(global('audit')[0]).to.include({ decision: 'deny', status: 401 });
  });

  it('shows the last outcome in its status, sending one only when the outcome changes', async function () {
    const seen = [];
    const watch = ({ id, status }) => id === 'gw' && seen.push(status.text);
    nr.RED.events.on('node-status', watch);
    const answered = async (path, init) => {
      const res = await call(path, init);
      await res.arrayBuffer();
      return res.status;
    };
    try {
      for (let i = 0; i < 3; i++) expect(await answered('Patient', { token: carol })).to.equal(200);
      for (let i = 0; i < 2; i++) expect(await answered('Patient')).to.equal(401);
      expect(await answered('Patient', { token: carol })).to.equal(200);
    } finally {
      nr.RED.events.off('node-status', watch);
    }
    // Six requests, three changes: what an open editor is sent.
    expect(seen).to.deep.equal(['allow 200', 'deny 401', 'allow 200']);
    expect(global('audit')).to.have.length(6);
  });

  it('answers writes outside the assignment with 403 for every verb', async function () {
    const headers = { 'content-type': 'application/fhir+json' };
    const outside = {
      resourceType: 'Patient',
      id: 'patient-L9',
      meta: { tag: [{ system: 'https://smartregister.org/location-tag-id', code: 'L9' }] },
    };
    for (const [method, path, body] of [
      ['PUT', 'Patient/patient-L9', JSON.stringify(outside)],
      ['DELETE', 'Patient/patient-L9'],
      ['PATCH', 'Patient/patient-L9', '[]'],
    ]) {
      const res = await call(path, {
        token: carol,
        method,
        headers: method === 'PATCH' ? { 'content-type': 'application/json-patch+json' } : headers,
        body,
      });
      expect(res.status, `${method} ${path}`).to.equal(403);
    }
  });

  it('takes msg.fhirRequest from a flow, and drops its caches on gateway/invalidate without an answer', async function () {
    const gw = nr.RED.nodes.getNode('gw');
    gw.receive({ topic: 'gateway/invalidate' });
    gw.receive({ fhirRequest: { method: 'GET', path: 'metadata' } });
    const [answer, ...more] = await until('the metadata answer', () => global('responses').length && global('responses'));
    expect(more).to.deep.equal([]);
    expect(answer.statusCode).to.equal(200);
    expect(JSON.parse(answer.payload).rest[0].security.cors).to.equal(true);
  });

  it('refuses writes that would reach outside the assignment: a PATCH of id, a conditional create, a foreign parent', async function () {
    const before = await (await fetch(`${process.env.FHIR_BASE}Patient/patient-L9`)).json();
    const patch = await call('Patient/patient-L1a1', {
      token: carol,
      method: 'PATCH',
      headers: { 'content-type': 'application/json-patch+json' },
      body: JSON.stringify([{ op: 'replace', path: '/id', value: 'patient-L9' }]),
    });
    expect(patch.status).to.equal(403);
    const conditional = await call('Patient', {
      token: carol,
      method: 'POST',
      headers: { 'content-type': 'application/fhir+json', 'if-none-exist': 'family=Patient L9' },
      body: JSON.stringify({
        resourceType: 'Patient',
        meta: { tag: [{ system: 'https://smartregister.org/location-tag-id', code: 'L1a' }] },
      }),
    });
    expect(conditional.status).to.equal(400);
    expect(await conditional.text()).not.to.include('patient-L9');
    const parent = await call('Location', {
      token: carol,
      method: 'POST',
      headers: { 'content-type': 'application/fhir+json' },
      body: JSON.stringify({
        resourceType: 'Location',
        name: 'Outside',
        partOf: { reference: 'Location/L2' },
        meta: { tag: [{ system: 'https://smartregister.org/location-tag-id', code: 'L1a' }] },
      }),
    });
    expect(parent.status).to.equal(403);
    expect(await (await fetch(`${process.env.FHIR_BASE}Patient/patient-L9`)).json()).to.deep.equal(before);
  });

  it('tells nothing of resources outside: history as the read, ids of creates dropped, stored links unsigned, chosen Locations not writable', async function () {
    const headers = { 'content-type': 'application/fhir+json' };
    expect((await call('Patient/patient-L9/_history', { token: carol })).status).to.equal(403);
    expect((await call('Patient/never-was/_history', { token: carol })).status).to.equal(404);
    const tag = { system: 'https://smartregister.org/location-tag-id', code: 'L1a' };
    const created = await call('Patient', {
      token: carol,
      method: 'POST',
      headers,
      body: JSON.stringify({ resourceType: 'Patient', id: 'patient-L9', meta: { tag: [tag] } }),
    });
    expect(created.status).to.equal(201);
    expect((await created.json()).id).not.to.equal('patient-L9');
    const rita = await tokenOf('rita');
    const chosen = await call('Patient?_syncLocations=L1', {
      token: rita,
      method: 'POST',
      headers,
      body: JSON.stringify({
        resourceType: 'Patient',
        meta: { tag: [{ system: 'https://smartregister.org/related-entity-location-tag-id', code: 'L1' }] },
      }),
    });
    expect(chosen.status).to.equal(403);
    const stored = {
      resourceType: 'Bundle',
      id: 'node-stored-links',
      type: 'searchset',
      link: [{ relation: 'next', url: `${PUBLIC}/?_getpages=abc&_type=Practitioner` }],
    };
    await fetch(`${process.env.FHIR_BASE}Bundle/node-stored-links`, { method: 'PUT', headers, body: JSON.stringify(stored) });
    const webby = await tokenOf('webby');
    const read = await call('Bundle/node-stored-links', { token: webby });
    if (read.status === 200) expect(JSON.stringify((await read.json()).link)).not.to.include('_gw=');
    expect((await call('?_getpages=abc&_type=Practitioner', { token: webby })).status).to.equal(403);
  });

  it('restricts a filtered user matching an allow-list entry not marked unfiltered', async function () {
    const entry = { path: 'Observation', requestType: 'GET', queryParams: { _summary: 'ANY_VALUE' }, allowExtraParams: true };
    await deploy(nr.admin, flow({ allowedQueries: JSON.stringify({ entries: [entry] }) }));
    const restricted = await (await call('Observation?_summary=count', { token: carol })).json();
    const visible = await (await call('Observation', { token: carol })).json();
    expect(restricted.total).to.equal(visible.entry.length);
    expect((await call('Observation?_summary=count&subject.name=x', { token: carol })).status).to.equal(400);
  });

  it("calls the backend with its external system's timeout", async function () {
    const sockets = [];
    const silent = net.createServer((socket) => sockets.push(socket)).listen(0, '127.0.0.1');
    await new Promise((resolve) => silent.once('listening', resolve));
    try {
      await deploy(nr.admin, flow({}, { url: `http://127.0.0.1:${silent.address().port}/fhir`, timeoutMs: 300 }));
      const res = await call('metadata');
      expect(res.status).to.equal(502);
      expect(global('audit')[0].reason).to.include('timed out after 300 ms');
    } finally {
      sockets.forEach((s) => s.destroy());
      silent.close();
    }
  });

  it('answers the FHIR base without its trailing slash: a transaction POSTed to /fhir', async function () {
    const bundle = { resourceType: 'Bundle', type: 'batch', entry: [{ request: { method: 'GET', url: 'Patient?_count=1' } }] };
    const res = await fetch(`${nr.nodes}/fhir`, {
      method: 'POST',
      headers: { authorization: `Bearer ${carol}`, 'content-type': 'application/fhir+json' },
      body: JSON.stringify(bundle),
    });
    expect(res.status).to.equal(200);
    expect((await res.json()).type).to.equal('batch-response');
    expect(global('audit')[0]).to.include({ method: 'POST', path: '', decision: 'allow' });
  });

  it('answers CORS preflights for every verb from an allowed origin, and adds CORS headers to every answer', async function () {
    const app = 'https://app.example.org';
    await deploy(nr.admin, flow({ corsOrigins: `${app}, https://other.example.org`, corsCredentials: true }));
    for (const method of ['GET', 'POST', 'PUT', 'PATCH', 'DELETE']) {
      const pre = await fetch(`${nr.nodes}/fhir/Patient`, {
        method: 'OPTIONS',
        headers: { origin: app, 'access-control-request-method': method, 'access-control-request-headers': 'authorization, content-type' },
      });
      expect(pre.status, method).to.equal(204);
      expect(pre.headers.get('access-control-allow-origin')).to.equal(app);
      expect(pre.headers.get('access-control-allow-methods')).to.include(method);
      expect(pre.headers.get('access-control-allow-headers')).to.equal('authorization, content-type');
      expect(pre.headers.get('access-control-allow-credentials')).to.equal('true');
    }
    const refused = await fetch(`${nr.nodes}/fhir/Patient`, {
      method: 'OPTIONS',
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'GET' },
    });
    expect(refused.headers.get('access-control-allow-origin')).to.equal(null);
    const unauthenticated = await call('Patient', { headers: { origin: app } });
    expect(unauthenticated.status).to.equal(401);
    expect(unauthenticated.headers.get('access-control-allow-origin')).to.equal(app);
    expect(unauthenticated.headers.get('access-control-expose-headers')).to.include('Location').and.to.include('ETag');
    const read = await call('Patient/patient-L1a', { token: carol, headers: { origin: app } });
    expect(read.headers.get('access-control-allow-origin')).to.equal(app);
    expect(read.headers.get('vary')).to.include('Origin');
    const tooLarge = await call('Patient', {
      token: carol,
      method: 'POST',
      headers: { origin: app, 'content-type': 'application/fhir+json' },
      body: `"${'x'.repeat(6 * 1024 * 1024)}"`,
    });
    expect(tooLarge.status).to.equal(413);
    expect(tooLarge.headers.get('access-control-allow-origin')).to.equal(app);
  });

  it('refuses CORS settings that are not origins, at deploy', async function () {
    await deploy(nr.admin, flow({ corsOrigins: 'app.example.org/path' }));
    expect((await call('Patient', { token: carol })).status).to.equal(503);
    expect(global('caught')[0]).to.match(/corsOrigins.*not an origin/);
  });

  describe('client input the gateway answers itself', function () {
    const PROTOTYPE_NAMES = ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf', '__defineGetter__'];
    const timed = (path, init = {}) => call(path, { ...init, signal: AbortSignal.timeout(10000) });

    it('answers query parameters named like Object.prototype properties, with and without a token', async function () {
      const answers = await Promise.all(
        Array.from({ length: 100 }, (_, i) => {
          const name = PROTOTYPE_NAMES[i % PROTOTYPE_NAMES.length];
          return timed(`Patient?${encodeURIComponent(name)}=x&family=y`, i % 2 ? { token: carol } : {});
        }),
      );
      // Tokenless requests are refused by the gateway, the others are the backend's to answer (it knows no such parameter).
      expect(answers.filter((r, i) => i % 2 === 0 && r.status !== 401)).to.deep.equal([]);
      expect(answers.filter((r) => r.status >= 500)).to.deep.equal([]);
      const form = await timed('Patient/_search', {
        token: carol,
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: PROTOTYPE_NAMES.map((n) => `${n}=1`).join('&'),
      });
      expect(form.status).to.be.below(500);
      const json = await timed('Patient/_search', {
        token: carol,
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"constructor":"1","__proto__":"2","toString":"3"}',
      });
      expect(json.status).to.be.below(500);
    });

    it('answers malformed bodies with 4xx OperationOutcomes, never 500', async function () {
      const deep = `${'['.repeat(5000)}${']'.repeat(5000)}`;
      const cases = [
        ['malformed JSON as application/json', { 'content-type': 'application/json' }, '{"resourceType":', 400],
        ['malformed JSON as application/fhir+json', { 'content-type': 'application/fhir+json' }, '{"resourceType":', 400],
        ['a Content-Type that does not parse', { 'content-type': ';;;' }, '{"resourceType":"Patient"}', 400],
        ['JSON nested 5,000 deep', { 'content-type': 'application/json' }, deep, 400],
        ['a body over the size limit', { 'content-type': 'application/fhir+json' }, `"${'x'.repeat(6 * 1024 * 1024)}"`, 413],
      ];
      for (const [what, headers, body, status] of cases) {
        const res = await timed('Patient', { token: carol, method: 'POST', headers, body });
        expect(res.status, what).to.equal(status);
        expect((await res.json()).resourceType, what).to.equal('OperationOutcome');
      }
      const fields = Array.from({ length: 1500 }, (_, i) => `p${i}=v`).join('&');
      const many = await timed('Patient/_search', {
        token: carol,
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: fields,
      });
      expect(many.status, 'more than 1,000 form parameters').to.be.within(200, 499);
    });

    it("never names the backend in an answer's text", async function () {
      const backend = new URL(process.env.FHIR_BASE);
      // Twice: a read is sent again once when a pooled connection turns out closed.
      await control(process.env.FHIR_BASE, '/__fault', { drop: true, match: 'GET Patient/patient-L1a1', count: 2 });
      const dropped = await timed('Patient/patient-L1a1', { token: carol });
      await control(process.env.FHIR_BASE, '/__fault', { status: 503, match: 'GET Patient/patient-L1a', count: 1 });
      const target = await timed('Patient/patient-L1a', {
        token: carol,
        method: 'DELETE',
      });
      for (const [what, res] of [
        ['a dropped connection', dropped],
        ['a 503 during a target check', target],
      ]) {
        expect(res.status, what).to.equal(502);
        const text = await res.text();
        expect(text, what).not.to.include(backend.host);
        expect(text, what).not.to.include(backend.hostname + ':');
      }
      const reasons = global('audit').map((a) => a.reason);
      expect(reasons.join(' '), 'the audit keeps the detail').to.include(backend.host);
    });
  });

  it('refuses a bad configuration: clients get 503, Catch nodes get the cause', async function () {
    await deploy(nr.admin, flow({ allowedQueries: '{"entries": [' }));
    const res = await call('Patient', { token: carol });
    expect(res.status).to.equal(503);
    expect((await res.json()).issue[0].code).to.equal('exception');
    expect(global('caught')[0]).to.match(/gateway: allowedQueries is not valid JSON/);
  });
});
