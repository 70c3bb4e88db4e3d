'use strict';
// The module as Node-RED's registry loads it: nodes, editor files, catalogs, icons, examples, and
// where credentials end up. The test helper bypasses all of this.
const fs = require('node:fs');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const { expect } = require('chai');
const { startRuntime, deploy, ROOT } = require('./support/runtime');
const { sandboxSystem } = require('./support/flows');

const MODULE = require('../package.json').name;
const SECRET = 'geo-exporter-secret';

describe('package wiring', function () {
  this.timeout(60000);
  let nr;
  const get = async (route, accept = 'application/json') => {
    const res = await fetch(`${nr.admin}${route}`, { headers: { accept } });
    expect(res.status, route).to.equal(200);
    return accept === 'application/json' ? res.json() : res.text();
  };

  before(async () => (nr = await startRuntime()));
  after(() => nr && nr.stop());

  it('loads every node of the module without error', async function () {
    const sets = (await get('/nodes')).filter((s) => s.module === MODULE);
    const declared = Object.keys(require('../package.json')['node-red'].nodes);
    expect(sets.map((s) => s.name)).to.have.members(declared);
    for (const s of sets) {
      expect(s.err, `${s.name}: ${s.err}`).to.equal(undefined);
      expect(s.enabled).to.equal(true);
    }
  });

  it('serves the editor definition and the en-US catalog', async function () {
    const html = await get('/nodes', 'text/html');
    expect(html).to.include('data-template-name="fhir-external-system"').and.include('data-help-name="fhir-external-system"');
    const messages = await get(`/nodes/${MODULE}/fhir-external-system/messages?lng=en-US`);
    expect(messages['fhir-external-system'].label.test).to.equal('Test connection');
  });

  it('serves the editor helpers its nodes share', async function () {
    const js = await get(`/resources/${MODULE}/geofhir-editor.js`, 'application/javascript');
    expect(js).to.include('window.geofhirEditor');
    expect(await get(`/resources/${MODULE}/geofhir-jobs.js`, 'application/javascript')).to.include("id: 'geofhir-jobs'");
  });

  it('lists its icons', async function () {
    const icons = await get('/icons');
    expect(icons[MODULE]).to.include('geofhir-fhir.svg');
  });

  it('offers its example flows under Import ▸ Examples', async function () {
    const files = fs.readdirSync(path.join(ROOT, 'flows')).map((f) => f.replace(/\.json$/, ''));
    const listing = await get(`/library/examples/flows/${MODULE}`);
    expect(listing.map((e) => e.fn)).to.have.members(files);
    for (const f of files) {
      const flow = await get(`/library/examples/flows/${MODULE}/${encodeURIComponent(f)}`);
      expect(flow, f).to.be.an('array').that.is.not.empty;
      expect(flow[0].type, `${f} starts with a comment`).to.equal('comment');
    }
  });

  it('keeps credentials out of the flow file and out of exports', async function () {
    const flows = [
      { id: 't1', type: 'tab', label: 'Secrets' },
      {
        id: 'sys',
        type: 'fhir-external-system',
        organization: 'MOH',
        systemId: 'sb',
        label: 'Sandbox',
        url: 'http://127.0.0.1:1/fhir',
        system: 'http://example.org/registry',
        authType: 'oauth-client-credentials',
        tokenUrl: 'http://127.0.0.1:1/token',
        clientId: 'geo-exporter',
      },
    ];
    await deploy(nr.admin, flows, { sys: { clientSecret: SECRET } });
    expect(fs.readFileSync(path.join(nr.userDir, 'flows.json'), 'utf8')).to.not.include(SECRET);
    expect(fs.readFileSync(path.join(nr.userDir, 'flows_cred.json'), 'utf8')).to.not.include(SECRET);
    const exported = JSON.stringify(await get('/flows'));
    expect(exported).to.include('geo-exporter').and.not.include(SECRET);
    // The editor learns only that a secret is set.
    const creds = await get('/credentials/fhir-external-system/sys');
    expect(creds).to.deep.equal({
      username: '',
      has_password: false,
      has_clientSecret: true,
      has_privateKey: false,
      has_serviceAccountKey: false,
      has_certificate: false,
      has_identityHeader: false,
      has_bearerToken: false,
    });
  });

  it('names its repository, author, issue tracker and homepage, and is found by the Flow Library as a Node-RED module', function () {
    const pkg = require('../package.json');
    expect(pkg.keywords).to.include('node-red');
    expect(pkg.author).to.be.a('string').that.is.not.empty;
    expect(pkg.repository).to.deep.equal({ type: 'git', url: 'git+https://github.com/geofhir/node-red-geofhir.git' });
    expect(pkg.bugs.url).to.equal('https://github.com/geofhir/node-red-geofhir/issues');
    expect(pkg.homepage).to.equal('https://github.com/geofhir/node-red-geofhir#readme');
  });

  it('packs the built nodes, editor files, catalogs, icons and examples, and no tests', function () {
    const [pack] = JSON.parse(execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, encoding: 'utf8' }));
    const files = pack.files.map((f) => f.path);
    expect(files).to.include.members([
      'package.json',
      'README.md',
      'nodes/fhir-external-system.js',
      'nodes/fhir-external-system.html',
      'nodes/locales/en-US/fhir-external-system.json',
      'nodes/icons/geofhir-fhir.svg',
      'nodes/lib/fhir/token-source.js',
      'nodes/data/uganda.geojson',
      'resources/geofhir-editor.js',
    ]);
    expect(files.filter((f) => f.startsWith('examples/'))).to.not.be.empty;
    expect(files.filter((f) => /^(test|src|scripts|flows|icons|bench)\//.test(f))).to.deep.equal([]);
  });
});

// Node-RED is one runtime per process: this suite starts after the one above has stopped.
describe('admin routes with adminAuth', function () {
  this.timeout(60000);
  let secured;
  const { home } = require('./support/node-red');
  const bcrypt = require(require.resolve('bcryptjs', { paths: [home] }));
  const users = [
    { username: 'viewer', password: bcrypt.hashSync('viewer-pw', 8), permissions: 'read' },
    { username: 'editor', password: bcrypt.hashSync('editor-pw', 8), permissions: '*' },
  ];
  async function token(username, password) {
    const res = await fetch(`${secured.admin}/auth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        client_id: 'node-red-admin',
        grant_type: 'password',
        scope: users.find((u) => u.username === username).permissions,
        username,
        password,
      }),
    });
    const { access_token } = await res.json();
    expect(access_token, `a token for ${username}`).to.be.a('string');
    return access_token;
  }
  const testConnection = async (bearer) =>
    fetch(`${secured.admin}/fhir-external-system/test`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(bearer ? { authorization: `Bearer ${bearer}` } : {}) },
      body: JSON.stringify({ url: 'http://127.0.0.1:1/fhir' }),
    });

  before(async () => (secured = await startRuntime({ settings: { adminAuth: { type: 'credentials', users } } })));
  after(() => secured && secured.stop());

  it('lets only users with write permission test a connection', async function () {
    expect((await testConnection()).status).to.equal(401);
    expect((await testConnection(await token('viewer', 'viewer-pw'))).status).to.equal(401);
    const res = await testConnection(await token('editor', 'editor-pw'));
    expect(res.status).to.equal(200);
    expect((await res.json()).ok).to.equal(false);
  });

  it('lets a read-only user see jobs and download Generate Bundle, but not run or cancel', async function () {
    const editor = { authorization: `Bearer ${await token('editor', 'editor-pw')}` };
    const viewer = { authorization: `Bearer ${await token('viewer', 'viewer-pw')}` };
    const flows = [
      { id: 't1', type: 'tab' },
      sandboxSystem(),
      { id: 'src', z: 't1', type: 'gpr-hierarchy-source', source: 'sample', wires: [] },
      { id: 'exp', z: 't1', type: 'fhir-export', organization: 'MOH', system: 'sys', idStrategy: 'server', source: 'src', wires: [] },
    ];
    await deploy(secured.admin, flows, {}, editor);
    const call = (method, route, headers) => fetch(`${secured.admin}/fhir-export/exp/${route}`, { method, headers });
    expect((await call('GET', 'jobs', viewer)).status).to.equal(200);
    expect((await call('GET', 'bundle', viewer)).status).to.equal(200);
    expect((await call('POST', 'run', viewer)).status).to.equal(401);
    expect((await call('GET', 'jobs', {})).status).to.equal(401);
    const run = await (await call('POST', 'run', editor)).json();
    expect((await call('POST', `jobs/${run.id}/cancel`, viewer)).status).to.equal(401);
    const cancel = await call('POST', `jobs/${run.id}/cancel`, editor);
    expect([200, 409]).to.include(cancel.status); // 409 when the run had already finished
    expect((await call('GET', `jobs/${run.id}`, viewer)).status).to.equal(200);
  });
});
