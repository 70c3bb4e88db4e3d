'use strict';
// The jobs routes read the state the live updates publish: a running job's progress, not its first save.
const { expect } = require('chai');
const helper = require('node-red-node-test-helper');
const { nodeRedPath } = require('./support/node-red');
const { control } = require('./support/peers');
const { requests } = require('./support/fhir');
const { until } = require('./support/until');
const { gprFilesSource, sandboxSystem } = require('./support/flows');
const { syncQueue } = require('../nodes/lib/node-red/sync-queue.js');

helper.init(nodeRedPath);

const NODES = ['fhir-external-system', 'gpr-hierarchy-source', 'fhir-export'].map((n) => require(`../nodes/${n}.js`));
const { requiresReferenceData } = require('./support/requirements');

const flow = () => [
  { id: 'f1', type: 'tab' },
  sandboxSystem(),
  gprFilesSource([['exp']]),
  {
    id: 'exp',
    z: 'f1',
    type: 'fhir-export',
    organization: 'MOH',
    system: 'sys',
    hierarchies: 'USATestDataAdminCode',
    idStrategy: 'server',
    chunkSize: 8,
    concurrency: 1,
    wires: [[]],
  },
];

describe('job routes', function () {
  before(function () {
    requiresReferenceData(this);
  });
  this.timeout(30000);
  beforeEach(async () => {
    await control(process.env.FHIR_BASE, '/__reset');
    await new Promise((resolve) => helper.startServer(resolve));
  });
  afterEach(async () => {
    await helper.unload();
    await new Promise((resolve) => helper.stopServer(resolve));
    await control(process.env.FHIR_BASE, '/__fault', { clear: true });
  });

  it('show a running job as the live updates do: its stage and progress, not its first save', async function () {
    await helper.load(NODES, flow());
    // The second transaction is held, so the job is caught mid-run.
    await control(process.env.FHIR_BASE, '/__fault', { delayMs: 3000, match: 'POST ', skip: 1 });
    const published = [];
    const exp = helper.getNode('exp');
    exp.on('call:status', (call) => published.push(call.args[0].text));
    helper.getNode('src').receive({ payload: 'run' });
    await until(
      'the second transaction',
      async () => (await requests(process.env.FHIR_BASE)).filter((r) => r.method === 'POST').length >= 2,
    );
    const live = syncQueue.current('exp');
    const { body } = await helper.request().get('/fhir-export/exp/jobs').expect(200);
    expect(body.jobs[0]).to.deep.include({
      id: live.id,
      status: 'RUNNING',
      stage: 'EXPORT',
      workTotal: 19,
      workProgress: 4,
      objectsExported: 4,
    });
    // The progress text (the test helper's RED._ gives its catalog key; node-status.spec.js reads the text itself).
    expect(published.at(-1)).to.equal('fhir-export.status.progress');
    const details = (await helper.request().get(`/fhir-export/exp/jobs/${live.id}`).expect(200)).body;
    expect(details).to.deep.include({ stage: 'EXPORT', workProgress: 4 });
    await syncQueue.settled(live.id);
  });
});
