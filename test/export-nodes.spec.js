'use strict';
// gpr-hierarchy-source → fhir-export / bundle-generate in Node-RED, against the sandbox FHIR server.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { expect } = require('chai');
const helper = require('node-red-node-test-helper');
const { syncStateOf } = require('../nodes/lib/node-red/sync-state.js');
const { nodeRedPath } = require('./support/node-red');
const { control, closedPortUrl } = require('./support/peers');
const { requests: requestsOf } = require('./support/fhir');
const { startGprStandIn, USER, PASSWORD } = require('./support/gpr-standin');
const { syncQueue } = require('../nodes/lib/node-red/sync-queue.js');
const { loadGprFiles } = require('../nodes/lib/registry/files.js');
const { gprFilesSource, sandboxSystem } = require('./support/flows');

helper.init(nodeRedPath);

const NODES = ['fhir-external-system', 'gpr-registry', 'gpr-hierarchy-source', 'fhir-export', 'bundle-generate'].map((n) =>
  require(`../nodes/${n}.js`),
);
const { FIXTURES, requiresReferenceData } = require('./support/requirements');

function flow({ organization = 'MOH', url = process.env.FHIR_BASE, exportExtra = {}, sourceExtra = {} } = {}) {
  return [
    { id: 'f1', type: 'tab' },
    sandboxSystem({ url }),
    gprFilesSource([['exp', 'gen']], sourceExtra),
    {
      id: 'exp',
      z: 'f1',
      type: 'fhir-export',
      name: 'Push',
      organization,
      system: 'sys',
      hierarchies: 'USATestDataAdminCode',
      idStrategy: 'server',
      ...exportExtra,
      wires: [['out']],
    },
    { id: 'gen', z: 'f1', type: 'bundle-generate', exportNode: 'exp', wires: [['bundles']] },
    { id: 'out', z: 'f1', type: 'helper' },
    { id: 'bundles', z: 'f1', type: 'helper' },
    { id: 'c', z: 'f1', type: 'catch', scope: null, wires: [['caught']] },
    { id: 'caught', z: 'f1', type: 'helper' },
  ];
}

const next = (id) => new Promise((resolve) => helper.getNode(id).once('input', resolve));
const requests = () => requestsOf(process.env.FHIR_BASE);

describe('export nodes', function () {
  before(function () {
    requiresReferenceData(this);
  });
  this.timeout(30000);
  beforeEach(() => control(process.env.FHIR_BASE, '/__reset'));
  afterEach(() => helper.unload());

  it('runs an export from the source and keeps the job record', async function () {
    await helper.load(NODES, flow());
    const done = next('out');
    helper.getNode('src').receive({ payload: 'run' });
    const msg = await done;
    expect(msg.payload).to.deep.include({ status: 'SUCCESS', objectsExported: 19, resourcesExported: 38 });
    const jobs = await syncStateOf(helper.getNode('exp')).get('jobs');
    expect(jobs.map((j) => j.id)).to.deep.equal([msg.payload.id]);
  });

  it('runs now from the editor, reading its registry source, and answers a second press with the same job', async function () {
    const f = flow();
    f.find((n) => n.id === 'exp').source = 'src';
    await helper.load(NODES, f);
    const out = next('out');
    const first = (await helper.request().post('/fhir-export/exp/run').expect(200)).body;
    const second = (await helper.request().post('/fhir-export/exp/run').expect(200)).body;
    expect(first).to.deep.include({ existing: false });
    expect(second).to.deep.include({ id: first.id, existing: true });
    const msg = await out;
    expect(msg.payload).to.deep.include({ id: first.id, status: 'SUCCESS', objectsExported: 19 });
    await helper.request().post('/fhir-export/nope/run').expect(404);
  });

  it('runs now at its own For date, reading the source at that date (one date to set, not two)', async function () {
    const f = flow({ exportExtra: { forDate: '2019-01-01', source: 'src' }, sourceExtra: { forDate: '' } });
    await helper.load(NODES, f);
    const out = next('out');
    await helper.request().post('/fhir-export/exp/run').expect(200);
    const msg = await out;
    expect(msg.payload.status).to.equal('SUCCESS');
    expect((await helper.getNode('exp').readSource()).forDate).to.equal('2019-01-01');
  });

  it('says why it cannot run now without a registry source', async function () {
    await helper.load(NODES, flow());
    const res = await helper.request().post('/fhir-export/exp/run').expect(400);
    expect(res.body.error).to.match(/or select a registry source for Run now$/);
  });

  it('serves its job history to the editor: a list without rows, details with a page of rows', async function () {
    await helper.load(NODES, flow());
    const rows = Array.from({ length: 5 }, (_, i) => ({ code: `C${i}`, severity: 'ERROR', message: `m${i}` }));
    await syncStateOf(helper.getNode('exp')).set('jobs', [
      { id: 'j2', status: 'WARNING', errors: rows },
      { id: 'j1', status: 'SUCCESS', errors: [] },
    ]);
    const list = (await helper.request().get('/fhir-export/exp/jobs?pageSize=1&page=1').expect(200)).body;
    expect(list).to.deep.equal({ count: 2, page: 1, pageSize: 1, jobs: [{ id: 'j2', status: 'WARNING', errorCount: 5 }] });
    const details = (await helper.request().get('/fhir-export/exp/jobs/j2?pageSize=2&page=2').expect(200)).body;
    expect(details).to.deep.include({ id: 'j2', errorCount: 5, page: 2, pageSize: 2 });
    expect(details.errors.map((r) => r.code)).to.deep.equal(['C2', 'C3']);
    await helper.request().get('/fhir-export/exp/jobs/nope').expect(404);
    await helper.request().get('/fhir-export/nope/jobs').expect(404);
    const cancel = await helper.request().post('/fhir-export/exp/jobs/j2/cancel').expect(409);
    expect(cancel.body.error).to.equal('job j2 is not queued or running');
  });

  it('generates the Bundle a run would send without any request to the server', async function () {
    await helper.load(NODES, flow({ url: await closedPortUrl() }));
    const done = next('bundles');
    helper.getNode('src').receive({ payload: 'run' });
    const msg = await done;
    expect(msg.payload).to.have.length(1);
    expect(msg.payload[0].type).to.equal('transaction');
    expect(msg.payload[0].entry).to.have.length(38);
    expect(msg.rows).to.deep.equal([]);
    expect(await requests()).to.deep.equal([]);
  });

  it('writes the generated Bundle to a file, in place of the one there, with nothing else left beside it', async function () {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'geofhir-'));
    const file = path.join(dir, 'bundle.json');
    fs.writeFileSync(file, 'an earlier Bundle');
    const f = flow();
    f.find((n) => n.id === 'gen').file = file;
    await helper.load(NODES, f);
    const done = next('bundles');
    helper.getNode('src').receive({ payload: 'run' });
    expect((await done).filename).to.equal(file);
    const text = fs.readFileSync(file, 'utf8');
    // One Bundle: its text on one line, as a run sends it.
    expect(text.indexOf('\n')).to.equal(text.length - 1);
    expect(JSON.parse(text).entry).to.have.length(38);
    expect(fs.readdirSync(dir)).to.deep.equal(['bundle.json']);
  });

  it('fails a file it cannot write with an error naming it, for a Catch node, leaving what was there and no part of the file', async function () {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'geofhir-'));
    // A folder where the file should go: the whole file is written beside it, then cannot take its place.
    const taken = path.join(dir, 'bundle.json');
    fs.mkdirSync(taken);
    fs.writeFileSync(path.join(taken, 'kept'), 'x');
    const missing = path.join(dir, 'no-such-folder', 'bundle.json');
    for (const [file, code] of [
      [taken, 'EISDIR'],
      [missing, 'ENOENT'],
    ]) {
      const f = flow();
      f.find((n) => n.id === 'gen').file = file;
      await helper.load(NODES, f);
      const caught = next('caught');
      helper.getNode('src').receive({ payload: 'run' });
      const { error } = await caught;
      expect(error.source.id).to.equal('gen');
      expect(error.message).to.equal(`Error: cannot write the Bundle file ${file}: ${code}`);
      await helper.unload();
    }
    expect(fs.readdirSync(dir)).to.deep.equal(['bundle.json']);
    expect(fs.readdirSync(taken)).to.deep.equal(['kept']);
  });

  it('downloads Generate Bundle from the editor: the Bundle a run would send, from either node, nothing sent', async function () {
    const f = flow({ url: await closedPortUrl() });
    f.find((n) => n.id === 'exp').source = 'src';
    await helper.load(NODES, f);
    const generated = next('bundles');
    helper.getNode('src').receive({ payload: 'run' });
    const [expected] = (await generated).payload;
    for (const type of ['fhir-export/exp', 'bundle-generate/gen']) {
      const res = await helper.request().get(`/${type}/bundle`).expect(200);
      expect(res.headers['content-disposition']).to.match(/^attachment; filename="(Push|gen)-bundle.json"$/);
      expect(res.headers['content-type']).to.match(/^application\/fhir\+json/);
      expect(JSON.parse(res.text)).to.deep.equal(expected);
    }
    expect(await requests()).to.deep.equal([]);
    await helper.request().get('/fhir-export/nope/bundle').expect(404);
  });

  it('says why Generate Bundle cannot download without a registry source or an export node', async function () {
    const f = flow();
    f.find((n) => n.id === 'gen').exportNode = '';
    await helper.load(NODES, f);
    expect((await helper.request().get('/fhir-export/exp/bundle').expect(400)).body.error).to.match(/select a registry source/);
    expect((await helper.request().get('/bundle-generate/gen/bundle').expect(400)).body.error).to.match(/no fhir-export node is selected/);
  });

  it('does not run for another organization, and says why to a Catch node', async function () {
    await helper.load(NODES, flow({ organization: 'NGO' }));
    const caught = [];
    const both = new Promise((resolve) => helper.getNode('caught').on('input', (m) => caught.push(m) === 2 && resolve()));
    helper.getNode('src').receive({ payload: 'run' });
    await both;
    // The export and the Generate Bundle that shares its configuration both refuse.
    expect(caught.map((m) => m.error.source.id)).to.have.members(['exp', 'gen']);
    for (const m of caught) expect(m.error.message).to.equal('Error: external system "sb" belongs to organization "MOH", not "NGO"');
    expect(await requests()).to.deep.equal([]);
  });

  it('refuses a payload that is not a registry model', async function () {
    await helper.load(NODES, flow());
    let caught = next('caught');
    helper.getNode('exp').receive({ payload: 'hello' });
    expect((await caught).error.message).to.equal(
      'Error: expected a registry model (from gpr-hierarchy-source) on msg.payload; or select a registry source for Run now',
    );
    caught = next('caught');
    helper.getNode('exp').receive({ payload: { objects: [] } });
    expect((await caught).error.message).to.equal(
      'Error: msg.payload is not a registry model: no valid forDate, types, hierarchies, links',
    );
  });

  it('ends a run the server cannot take in FAILURE, caught with the job', async function () {
    helper.settings({ fhirExportRetry: { retries: 2, minTimeoutMs: 10, maxTimeoutMs: 20 } });
    await helper.load(NODES, flow({ url: await closedPortUrl(), exportExtra: { hierarchies: '' } }));
    await syncStateOf(helper.getNode('exp')).set('jobs', []);
    const caught = new Promise((resolve) => {
      helper.getNode('caught').on('input', (m) => m.error.source.id === 'exp' && resolve(m));
    });
    // Retries back off for a while before giving up: one object keeps that short.
    const model = {
      forDate: '2020-06-01',
      types: [{ code: 'T', label: { default: 'T' }, geometryType: 'POINT', isAbstract: false }],
      hierarchies: [{ code: 'H', label: { default: 'H' }, tree: [{ type: 'T', children: [] }] }],
      objects: [{ code: 'A', type: 'T', label: { default: 'A' }, exists: true, invalid: false }],
      links: [],
    };
    helper.getNode('exp').receive({ payload: model });
    const msg = await caught;
    expect(msg.error.message).to.match(/^Error: export to "Sandbox" failed: transaction of 2 entries at .* failed: cannot connect/);
    expect(msg.payload.status).to.equal('FAILURE');
    expect((await syncStateOf(helper.getNode('exp')).get('jobs'))[0].status).to.equal('FAILURE');
    helper.settings({});
  });

  it('reads a GeoJSON FeatureCollection with parent codes', async function () {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'geofhir-')), 'sites.geojson');
    const feature = (code, type, parent, geometry) => ({
      type: 'Feature',
      geometry,
      properties: { code, name: `Name ${code}`, type, parent },
    });
    fs.writeFileSync(
      file,
      JSON.stringify({
        type: 'FeatureCollection',
        features: [
          feature('C', 'Country', null, {
            type: 'Polygon',
            coordinates: [
              [
                [0, 0],
                [4, 0],
                [4, 4],
                [0, 4],
                [0, 0],
              ],
            ],
          }),
          feature('R1', 'Region', 'C', {
            type: 'Polygon',
            coordinates: [
              [
                [0, 0],
                [2, 0],
                [2, 2],
                [0, 2],
                [0, 0],
              ],
            ],
          }),
          feature('F1', 'Facility', 'R1', { type: 'MultiPoint', coordinates: [[1, 1]] }),
        ],
      }),
    );
    await helper.load(NODES, flow({ sourceExtra: { source: 'geojson', geojsonFile: file }, exportExtra: { hierarchies: '' } }));
    const done = next('bundles');
    helper.getNode('src').receive({ payload: 'run' });
    const [bundle] = (await done).payload;
    const locations = bundle.entry.filter((e) => e.resource.resourceType === 'Location').map((e) => e.resource);
    expect(locations.map((l) => l.name)).to.deep.equal(['Name C', 'Name R1', 'Name F1']);
    expect(locations[2].physicalType.coding[0].code).to.equal('bu');
    expect(locations[2].partOf.reference).to.equal(
      bundle.entry.find((e) => e.resource.resourceType === 'Location' && e.resource.name === 'Name R1').fullUrl,
    );
  });

  it('reads a live GPR configured in a gpr-registry node, its credentials kept as Node-RED credentials', async function () {
    const gpr = await startGprStandIn();
    try {
      const f = flow({ sourceExtra: { source: 'gpr', registry: 'gpr', hierarchies: 'USATestDataAdminCode', pageSize: 2 } });
      f.push({ id: 'gpr', type: 'gpr-registry', name: 'GPR', url: gpr.url });
      await helper.load(NODES, f, { gpr: { username: USER, password: PASSWORD } });
      const done = next('bundles');
      helper.getNode('src').receive({ payload: 'run' });
      expect((await done).payload[0].entry).to.have.length(38);
    } finally {
      await gpr.stop();
    }
  });

  it('exports the embedded sample twice to the same resources, without duplicates', async function () {
    await helper.load(NODES, flow({ sourceExtra: { source: 'sample', forDate: '' }, exportExtra: { hierarchies: '' } }));
    const ids = async (type) => {
      const bundle = await (await fetch(`${process.env.FHIR_BASE}${type}?_count=1000&_elements=id`)).json();
      return bundle.entry.map((e) => e.resource.id).sort();
    };
    let done = next('out');
    helper.getNode('src').receive({ payload: 'run' });
    expect((await done).payload).to.deep.include({ status: 'SUCCESS', objectsExported: 324 });
    const first = { locations: await ids('Location'), orgs: await ids('Organization') };
    expect(first.locations).to.have.length(324);
    done = next('out');
    helper.getNode('src').receive({ payload: 'run' });
    expect((await done).payload).to.deep.include({ status: 'SUCCESS', objectsExported: 324 });
    expect(await ids('Location')).to.deep.equal(first.locations);
    expect(await ids('Organization')).to.deep.equal(first.orgs);
  });

  it('starts no second run while one is queued or running, and cancels at a chunk boundary', async function () {
    await helper.load(NODES, flow({ exportExtra: { chunkSize: 4, concurrency: 1 } }));
    const exp = helper.getNode('exp');
    const warned = new Promise((resolve) => exp.on('call:warn', (call) => resolve(call.args[0])));
    const caught = next('caught');
    const model = await loadGprFiles(
      {
        events: path.join(FIXTURES, 'events.json'),
        types: path.join(FIXTURES, 'geo-object-types.json'),
        hierarchies: path.join(FIXTURES, 'hierarchy-types.json'),
      },
      '2020-06-01',
    );
    exp.receive({ payload: model });
    exp.receive({ payload: model });
    expect(await warned).to.match(/^not started: job .* of this node is already (queued|running)$/);
    const current = syncQueue.current('exp');
    expect(syncQueue.cancel(current.id)).to.equal(true);
    const msg = await caught;
    // Where the cancel lands depends on the machine's load: before the run starts, while it gets its token, or between
    // chunks; a transaction still in flight may outlast the cancel's grace, and then the message says what the server
    // holds of it, or why that could not be asked. (The message is repeated so that a failure shows it whole.)
    expect(msg.error.message, msg.error.message).to.match(
      /^Error: export to "Sandbox" cancelled (while queued|while connecting|after \d+ of 19 objects(; \d+ objects were sent without an answer, and (the server holds \d+ of them|whether the server holds them could not be checked: .+))?)$/,
    );
    expect(msg.payload.status).to.equal('CANCELED');
    expect((await syncStateOf(exp).get('jobs'))[0].status).to.equal('CANCELED');
  });
});
