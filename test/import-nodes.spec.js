'use strict';
// fhir-import in Node-RED: custom transforms (JSONata, JS module), the watermark, the embedded registry
// read back by gpr-hierarchy-source.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { expect } = require('chai');
const helper = require('node-red-node-test-helper');
const { syncStateOf } = require('../nodes/lib/node-red/sync-state.js');
const { nodeRedPath } = require('./support/node-red');
const { control } = require('./support/peers');
const { FAST_RETRY, connectionTo, requests: requestsOf } = require('./support/fhir');
const { startGprStandIn, USER, PASSWORD } = require('./support/gpr-standin');
const { sandboxSystem } = require('./support/flows');
const { requiresReferenceData } = require('./support/requirements');
const { loadSample } = require('../nodes/lib/registry/sample.js');
const { DEFAULT_EXPORT_OPTIONS } = require('../nodes/lib/sync/export-plan.js');
const { runExport } = require('../nodes/lib/sync/export-run.js');
const { syncQueue } = require('../nodes/lib/node-red/sync-queue.js');

helper.init(nodeRedPath);

const NODES = ['fhir-external-system', 'gpr-registry', 'fhir-import', 'gpr-hierarchy-source'].map((n) => require(`../nodes/${n}.js`));
const SYSTEM = 'http://moh.example/registry';

function flow(importExtra = {}) {
  return [
    { id: 'f1', type: 'tab' },
    sandboxSystem(),
    {
      id: 'imp',
      z: 'f1',
      type: 'fhir-import',
      organization: 'MOH',
      system: 'sys',
      hierarchy: 'UgandaAdmin',
      pageSize: 500,
      ...importExtra,
      wires: [['out']],
    },
    { id: 'src', z: 'f1', type: 'gpr-hierarchy-source', source: 'embedded', forDate: '', wires: [['read']] },
    { id: 'out', z: 'f1', type: 'helper' },
    { id: 'read', z: 'f1', type: 'helper' },
    { id: 'c', z: 'f1', type: 'catch', scope: null, wires: [['caught']] },
    { id: 'caught', z: 'f1', type: 'helper' },
  ];
}

const next = (id) => new Promise((resolve) => helper.getNode(id).once('input', resolve));
const requests = () => requestsOf(process.env.FHIR_BASE);

describe('import nodes', function () {
  this.timeout(60000);
  const userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'geofhir-userdir-'));

  before(async function () {
    await control(process.env.FHIR_BASE, '/__reset');
    const job = await runExport({
      model: await loadSample('2026-01-01'),
      options: { ...DEFAULT_EXPORT_OPTIONS, system: SYSTEM, idStrategy: 'server' },
      connection: connectionTo(process.env.FHIR_BASE, SYSTEM),
      concurrency: 2,
      retry: FAST_RETRY,
    });
    expect(job.status).to.equal('SUCCESS');
  });
  // Each test starts without the sync state (job history, watermark) an earlier one left in the user directory.
  beforeEach(() => {
    fs.rmSync(path.join(userDir, 'geofhir'), { recursive: true, force: true });
    helper.settings({ userDir });
  });
  afterEach(async () => {
    await helper.unload();
    helper.settings({});
  });

  it('imports into the embedded registry, which the source reads back', async function () {
    await helper.load(NODES, flow({ target: 'embedded' }));
    const done = next('out');
    helper.getNode('imp').receive({ payload: 'run' });
    const msg = await done;
    expect(msg.job).to.deep.include({ status: 'SUCCESS', objectsImported: 324 });
    expect(msg.payload.objects).to.have.length(324);
    const read = next('read');
    helper.getNode('src').receive({ payload: 'go' });
    const model = (await read).payload;
    expect(model.objects).to.have.length(324);
    expect(model.links).to.have.length(323);
  });

  it('takes the job concurrency from settings.js in a runtime with import nodes only', async function () {
    helper.settings({ fhirExportJobConcurrency: 3 });
    try {
      await helper.load(NODES, flow());
      expect(syncQueue.concurrency).to.equal(3);
    } finally {
      helper.settings({});
    }
  });

  it('runs now from the editor', async function () {
    await helper.load(NODES, flow());
    const out = next('out');
    const started = (await helper.request().post('/fhir-import/imp/run').expect(200)).body;
    const msg = await out;
    expect(msg.job).to.deep.include({ id: started.id, status: 'SUCCESS', objectsImported: 324 });
  });

  it('moves the watermark after a run, and ignores it for a full resync', async function () {
    await helper.load(NODES, flow());
    let done = next('out');
    helper.getNode('imp').receive({ payload: 'run' });
    const first = await done;
    expect(await syncStateOf(helper.getNode('imp')).get('importState')).to.deep.equal({ since: first.job.startedAt });
    await control(process.env.FHIR_BASE, '/__reset-log');
    done = next('out');
    helper.getNode('imp').receive({ payload: 'run' });
    expect((await done).job.objectsImported).to.equal(0);
    expect(decodeURIComponent((await requests())[0].url)).to.include(`_lastUpdated=gt${first.job.startedAt}`);
    done = next('out');
    helper.getNode('imp').receive({ payload: 'run', fullResync: true });
    expect((await done).job.objectsImported).to.equal(324);
  });

  it('leaves the watermark where it was when a run fails', async function () {
    helper.settings({ userDir, fhirImportRetry: FAST_RETRY });
    await helper.load(NODES, flow());
    await syncStateOf(helper.getNode('imp')).set('importState', { since: '2026-01-01T00:00:00.000Z' });
    await control(process.env.FHIR_BASE, '/__fault', { status: 500, count: 100 });
    const caught = next('caught');
    helper.getNode('imp').receive({ payload: 'run' });
    const msg = await caught;
    await control(process.env.FHIR_BASE, '/__fault', { clear: true });
    expect(msg.error.message).to.match(/^Error: import from "Sandbox" failed: search Location at .* failed: HTTP 500/);
    expect(msg.job.status).to.equal('FAILURE');
    expect(await syncStateOf(helper.getNode('imp')).get('importState')).to.deep.equal({ since: '2026-01-01T00:00:00.000Z' });
  });

  it('runs a JSONata transform per resource; one that throws fails only its resource', async function () {
    // Districts only, labelled from the name in upper case; the one named Kampala throws.
    const expression = `resourceType = 'Location' and resource.type[0].coding[0].code = 'District' ? (
      resource.name = 'Kampala' ? $error('no Kampala') : {
        'objects': [{ 'code': resource.identifier[0].value, 'type': 'District', 'label': $uppercase(resource.name) }]
      })`;
    await helper.load(NODES, flow({ processor: 'jsonata', transform: expression }));
    const done = next('out');
    helper.getNode('imp').receive({ payload: 'run' });
    const msg = await done;
    expect(msg.job.status).to.equal('WARNING');
    expect(msg.job.errors.map((r) => r.message)).to.deep.equal(['no Kampala']);
    expect(msg.payload.objects).to.have.length(111);
    expect(msg.payload.objects.every((o) => o.label.default === o.label.default.toUpperCase())).to.equal(true);
  });

  it('reports a JSONata syntax error as a configuration error', async function () {
    await helper.load(NODES, flow({ processor: 'jsonata', transform: 'resource.(' }));
    const caught = next('caught');
    helper.getNode('imp').receive({ payload: 'run' });
    expect((await caught).error.message).to.match(/^Error: transform: /);
  });

  it('runs a JS module from the user directory, as GPR’s FhirResourceProcessor', async function () {
    fs.writeFileSync(
      path.join(userDir, 'processor.js'),
      `exports.process = (resource, { system }) => {
        if (resource.resourceType !== 'Organization') return undefined;
        const code = resource.identifier.find((i) => i.system === system).value;
        if (code === 'UG') throw new Error('not the country');
        return { objects: [{ code, type: 'Org', label: resource.name }] };
      };`,
    );
    await helper.load(NODES, flow({ processor: 'module', module: 'processor.js' }));
    const done = next('out');
    helper.getNode('imp').receive({ payload: 'run' });
    const msg = await done;
    expect(msg.job.status).to.equal('WARNING');
    expect(msg.job.errors.map((r) => r.message)).to.deep.equal(['not the country']);
    expect(msg.payload.objects).to.have.length(323);
    expect(msg.payload.types.map((t) => t.code)).to.deep.equal(['Org']);
  });

  it('refuses a module outside the user directory', async function () {
    await helper.load(NODES, flow({ processor: 'module', module: '../elsewhere.js' }));
    const caught = next('caught');
    helper.getNode('imp').receive({ payload: 'run' });
    expect((await caught).error.message).to.match(/must be a file inside the user directory/);
  });

  it('writes to a live GPR: creates, then updates, and links each object to its parent', async function () {
    requiresReferenceData(this);
    const gpr = await startGprStandIn();
    try {
      const before = gpr.features.length;
      const f = [...flow({ target: 'gpr', registry: 'gpr' }), { id: 'gpr', type: 'gpr-registry', url: gpr.url }];
      await helper.load(NODES, f, { gpr: { username: USER, password: PASSWORD } });
      let done = next('out');
      helper.getNode('imp').receive({ payload: 'run' });
      let msg = await done;
      expect(msg.job).to.deep.include({ status: 'SUCCESS', written: { created: 324, updated: 0, linked: 323 } });
      expect(gpr.features.length - before).to.equal(324);
      const district = gpr.features.find((f) => f.properties.type === 'District');
      const edge = gpr.edges.find((e) => e.code === district.properties.code && e.edgeType === 'UgandaAdmin');
      expect(edge.parentType).to.equal('Region');
      expect(district.properties.displayLabel.localizedValue).to.be.a('string').and.not.equal('');
      done = next('out');
      helper.getNode('imp').receive({ payload: 'run', fullResync: true });
      msg = await done;
      expect(msg.job.written).to.deep.equal({ created: 0, updated: 324, linked: 323 });
      expect(gpr.features.length - before).to.equal(324);
    } finally {
      await gpr.stop();
    }
  });

  it('fails the run, keeping the watermark, when GPR refuses the credentials', async function () {
    requiresReferenceData(this);
    const gpr = await startGprStandIn();
    try {
      const f = [...flow({ target: 'gpr', registry: 'gpr' }), { id: 'gpr', type: 'gpr-registry', url: gpr.url }];
      await helper.load(NODES, f, { gpr: { username: USER, password: 'wrong' } });
      const caught = next('caught');
      helper.getNode('imp').receive({ payload: 'run' });
      const msg = await caught;
      expect(msg.error.message).to.match(/failed: GPR refused the configured credentials \(HTTP 401\)$/);
      expect(JSON.stringify(await syncStateOf(helper.getNode('imp')).get('jobs'))).not.to.include(USER);
      expect(await syncStateOf(helper.getNode('imp')).get('importState')).to.equal(undefined);
    } finally {
      await gpr.stop();
    }
  });
});
