'use strict';
// A runtime killed mid-export (SIGKILL, the file context store at its default flush interval) and the FHIR
// server with it: after both restart, the job is in the history as an interrupted FAILURE that says what
// reached the server, the server still holds that (it keeps its data across restarts), and a new run converges.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { expect } = require('chai');
const { startPeer, startProcess, control } = require('./support/peers');
const { requests, searchAll } = require('./support/fhir');
const { until } = require('./support/until');
const { gprFilesSource, sandboxSystem } = require('./support/flows');
const { requiresReferenceData } = require('./support/requirements');

const SYSTEM = 'http://moh.example/registry';
const RUNTIME = path.join(__dirname, 'support', 'runtime-process.js');

const flows = (fhirBase) => [
  { id: 'f1', type: 'tab', label: 'export' },
  sandboxSystem({ url: fhirBase, system: SYSTEM }),
  gprFilesSource([[]]),
  {
    id: 'exp',
    z: 'f1',
    type: 'fhir-export',
    organization: 'MOH',
    system: 'sys',
    source: 'src',
    hierarchies: 'USATestDataAdminCode',
    idStrategy: 'server',
    chunkSize: 8,
    concurrency: 1,
    wires: [[]],
  },
];

describe('a runtime killed mid-export', function () {
  before(function () {
    requiresReferenceData(this);
  });
  this.timeout(120000);
  let dir;
  let fhir;
  let runtime;
  const started = [];
  const startFhir = async (port = 0) => {
    fhir = await startPeer('fhir-server.mjs', [String(port)], { FHIR_DATA: path.join(dir, 'fhir.json') });
    started.push(fhir);
    return fhir;
  };
  const startRuntime = async () => {
    runtime = await startProcess('Node-RED', process.execPath, [RUNTIME, path.join(dir, 'user')]);
    started.push(runtime);
    return runtime;
  };
  const admin = (route, init) => fetch(`${runtime.url}${route}`, init).then((r) => r.json());
  const held = () => searchAll(`${fhir.url}Organization?identifier=${encodeURIComponent(SYSTEM)}|&_count=100`);

  before(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'geofhir-restart-'))));
  after(async () => {
    await Promise.all(started.map((p) => p.stop('SIGKILL')));
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('is reported with what reached the server, which still holds it, and the next run converges', async function () {
    await startFhir();
    fs.mkdirSync(path.join(dir, 'user'));
    fs.writeFileSync(path.join(dir, 'user', 'flows.json'), JSON.stringify(flows(fhir.url)));
    await startRuntime();
    // The third transaction never comes back before the kill.
    await control(fhir.url, '/__fault', { delayMs: 60000, skip: 2, match: 'POST ' });
    const { id } = await admin('/fhir-export/exp/run', { method: 'POST' });
    await until('the third transaction', async () => (await requests(fhir.url)).filter((r) => r.method === 'POST').length >= 3);
    await until('the second chunk in the job', async () => (await admin('/fhir-export/exp/jobs')).jobs[0]?.objectsExported === 8);
    const journal = path.join(dir, 'user', 'geofhir-jobs', 'exp.json');
    await until(
      'the journal of the second chunk',
      () => fs.existsSync(journal) && JSON.parse(fs.readFileSync(journal, 'utf8')).objectsExported === 8,
    );
    // Killed with the runtime: no close handlers, no flush of the context store.
    await Promise.all([runtime.stop('SIGKILL'), fhir.stop('SIGKILL')]);

    await startFhir(new URL(fhir.url).port);
    await startRuntime();
    const { jobs } = await admin('/fhir-export/exp/jobs');
    expect(jobs[0]).to.deep.include({ id, status: 'FAILURE', workTotal: 19, objectsExported: 8, resourcesExported: 16 });
    expect(jobs[0].exception.message).to.equal(
      'interrupted: the runtime stopped while this job was running; before the stop 8 of 19 objects were exported (16 resources), as the server answered',
    );
    expect(await held()).to.have.length(8);

    const again = await admin('/fhir-export/exp/run', { method: 'POST' });
    await until('the second run', async () => (await admin(`/fhir-export/exp/jobs/${again.id}`)).status === 'SUCCESS');
    expect(await held()).to.have.length(19);
  });
});
