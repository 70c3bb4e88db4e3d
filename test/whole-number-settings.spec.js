'use strict';
// Whole-number settings (chunk size, concurrency, page sizes, timeouts, job history): empty or absent from an older
// flow, the default applies; anything else that is not a whole number in range is refused, naming the setting, and
// never replaced by the default.
const { expect } = require('chai');
const helper = require('node-red-node-test-helper');
const { nodeRedPath } = require('./support/node-red');
const { sandboxSystem } = require('./support/flows');
const { wholeNumber } = require('../nodes/lib/settings/whole-number.js');
const { exportOptionsFrom } = require('../nodes/lib/sync/export-options.js');
const { importOptionsFrom } = require('../nodes/lib/sync/import-options.js');
const { retentionOf } = require('../nodes/lib/sync/job-store.js');
const { registrySourceFrom } = require('../nodes/lib/registry/source.js');
const { normaliseSettings, validateSettings } = require('../nodes/lib/fhir/external-system.js');

helper.init(nodeRedPath);

const SYSTEM = 'http://moh.example/registry';
const BAD = ['abc', '0', '1.5', '-3', '5 objects', 1.5, true];

describe('whole-number settings', function () {
  it('take the default when empty or absent, and refuse anything but a whole number in range', function () {
    for (const empty of [undefined, null, '']) expect(wholeNumber('page size', empty, 7)).to.equal(7);
    expect(wholeNumber('page size', ' 12 ', 7)).to.equal(12);
    expect(wholeNumber('page size', 12, 7)).to.equal(12);
    expect(wholeNumber('clock skew', '0', 30, 0)).to.equal(0);
    for (const bad of BAD)
      expect(() => wholeNumber('page size', bad, 7), String(bad)).to.throw(`page size must be a whole number of at least 1 (got "${bad}")`);
  });

  it('are refused by each setting that has one, naming it', function () {
    expect(() => exportOptionsFrom({ chunkSize: '1' }, SYSTEM)).to.throw('chunk size must be a whole number of at least 2 (got "1")');
    expect(() => importOptionsFrom({ pageSize: 'all' }, SYSTEM)).to.throw('page size must be a whole number of at least 1 (got "all")');
    expect(() => importOptionsFrom({ maxPages: '0' }, SYSTEM)).to.throw('max pages must be a whole number of at least 1 (got "0")');
    expect(() => retentionOf('many')).to.throw('job history must be a whole number of at least 1 (got "many")');
    const gpr = (pageSize) => registrySourceFrom({ source: 'gpr', pageSize }, { gpr: () => ({}) });
    expect(() => gpr('x')).to.throw('page size must be a whole number of at least 1 (got "x")');
    // Absent (a flow saved before the setting existed): the defaults.
    expect(exportOptionsFrom({}, SYSTEM).chunkSize).to.equal(500);
    expect(importOptionsFrom({}, SYSTEM)).to.include({ pageSize: 2000, maxPages: 10000 });
    expect(retentionOf(undefined)).to.equal(20);
    expect(gpr(undefined).pageSize).to.equal(gpr('100000').pageSize);
  });

  it("are checked with an external system's other settings: a timeout that is not a whole number is a problem", function () {
    const raw = { organization: 'MOH', systemId: 's', label: 'S', url: 'https://fhir.example.org/fhir', system: SYSTEM, authType: 'none' };
    expect(normaliseSettings(raw).timeoutMs).to.equal(60000);
    expect(validateSettings(normaliseSettings(raw), {})).to.deep.equal([]);
    for (const timeoutMs of ['soon', '0', '2.5'])
      expect(validateSettings(normaliseSettings({ ...raw, timeoutMs }), {}), timeoutMs).to.deep.equal([
        'Timeout (ms) must be a whole number of milliseconds, at least 1',
      ]);
  });

  describe('in Node-RED', function () {
    const NODES = ['fhir-external-system', 'gpr-registry', 'gpr-hierarchy-source', 'fhir-export'].map((n) => require(`../nodes/${n}.js`));
    afterEach(() => helper.unload());

    const exporter = (extra) => [
      { id: 'f1', type: 'tab' },
      sandboxSystem(),
      { id: 'exp', z: 'f1', type: 'fhir-export', organization: 'MOH', system: 'sys', ...extra, wires: [[]] },
    ];

    /** What the node with `id` logged as errors, and the status it shows, since the flow was loaded. */
    const startOf = (id) => {
      const mine = (method) => helper._NodePrototype[method].getCalls().filter((call) => call.thisValue.id === id);
      return { errors: mine('error').map((call) => String(call.args[0])), status: mine('status').at(-1)?.args[0] };
    };
    // The test runtime has no catalogs: a status text is its key.
    const CONFIGURATION_ERROR = { fill: 'red', shape: 'ring', text: 'fhir-export.status.configurationError' };
    const MODEL = { objects: [], links: [], types: [], hierarchies: [], forDate: '2024-01-01' };

    it('shows a bad concurrency as a configuration error on start, and refuses a run with it', async function () {
      await helper.load(NODES, exporter({ concurrency: 'fast' }));
      const problem = 'concurrency must be a whole number of at least 1 (got "fast")';
      expect(startOf('exp')).to.deep.equal({ errors: [problem], status: CONFIGURATION_ERROR });
      const exp = helper.getNode('exp');
      const failed = new Promise((resolve) => exp.on('call:error', (call) => resolve(call.args[0])));
      exp.receive({ payload: MODEL });
      expect(String(await failed)).to.include(problem);
    });

    it("shows an export's other bad settings on start, before any run", async function () {
      await helper.load(NODES, exporter({ chunkSize: '1', idStrategy: 'guess' }));
      expect(startOf('exp')).to.deep.equal({
        errors: ['chunk size must be a whole number of at least 2 (got "1")'],
        status: CONFIGURATION_ERROR,
      });
      helper.unload();
      await helper.load(NODES, exporter({ idStrategy: 'guess' }));
      expect(startOf('exp').errors).to.deep.equal(['id strategy must be one of code, safe, server (got "guess")']);
    });

    it("shows an import's bad page size on start", async function () {
      await helper.load(
        [...NODES, require('../nodes/fhir-import.js')],
        [
          { id: 'f1', type: 'tab' },
          sandboxSystem(),
          { id: 'imp', z: 'f1', type: 'fhir-import', organization: 'MOH', system: 'sys', pageSize: 'all', wires: [[]] },
        ],
      );
      expect(startOf('imp')).to.deep.equal({
        errors: ['page size must be a whole number of at least 1 (got "all")'],
        status: { ...CONFIGURATION_ERROR, text: 'fhir-import.status.configurationError' },
      });
    });

    it("logs a node's configuration problem once, though its own check meets its external system's too", async function () {
      await helper.load(NODES, [
        { id: 'f1', type: 'tab' },
        { id: 'exp', z: 'f1', type: 'fhir-export', organization: 'MOH', system: 'nowhere', wires: [[]] },
      ]);
      expect(startOf('exp')).to.deep.equal({
        errors: ['no FHIR external system is configured (or it is disabled)'],
        status: CONFIGURATION_ERROR,
      });
    });

    describe('fhirExportJobConcurrency in settings.js', function () {
      afterEach(() => helper.settings({}));

      it('is refused when it is not a whole number: every sync node shows it and runs nothing', async function () {
        const { syncQueue } = require('../nodes/lib/node-red/sync-queue.js');
        const before = syncQueue.concurrency;
        helper.settings({ fhirExportJobConcurrency: 'lots' });
        await helper.load(NODES, exporter({}));
        const problem = 'fhirExportJobConcurrency in settings.js must be a whole number of at least 1 (got "lots")';
        expect(startOf('exp')).to.deep.equal({ errors: [problem], status: CONFIGURATION_ERROR });
        expect(syncQueue.concurrency).to.equal(before);
        const exp = helper.getNode('exp');
        const failed = new Promise((resolve) => exp.on('call:error', (call) => resolve(call.args[0])));
        exp.receive({ payload: MODEL });
        expect(String(await failed)).to.include(problem);
      });
    });

    it('shows a bad job history as a configuration error', async function () {
      await helper.load(NODES, exporter({ retention: 'all' }));
      const exp = helper.getNode('exp');
      const failed = new Promise((resolve) => exp.on('call:error', (call) => resolve(call.args[0])));
      expect(String(await failed)).to.include('job history must be a whole number of at least 1 (got "all")');
    });

    it('refuses to read from a GeoPrism Registry whose timeout is not a whole number', async function () {
      await helper.load(NODES, [
        { id: 'f1', type: 'tab' },
        { id: 'reg', type: 'gpr-registry', name: 'GPR', url: 'https://gpr.example.org', timeoutMs: 'later' },
        { id: 'src', z: 'f1', type: 'gpr-hierarchy-source', source: 'gpr', registry: 'reg', wires: [[]] },
      ]);
      const src = helper.getNode('src');
      const failed = new Promise((resolve) => src.on('call:error', (call) => resolve(call.args[0])));
      src.receive({ payload: 'read' });
      expect(String(await failed)).to.include('GeoPrism Registry "GPR": timeout (ms) must be a whole number of at least 1 (got "later")');
    });
  });
});
