'use strict';
// Where job history and incremental state live: they survive full deploys, edits of unrelated fields and
// restarts, and are dropped (with a warning that says so) when the sync identity changes or the node is
// deleted. The export and import examples in a runtime with a user directory, as users run Node-RED.
const fs = require('node:fs');
const path = require('node:path');
const { EventEmitter } = require('node:events');
const { expect } = require('chai');
const { startRuntime, deploy, jobsOf } = require('./support/runtime');
const { exampleDeployment } = require('./support/examples');
const { control } = require('./support/peers');
const { until } = require('./support/until');

const RUN_NOW = 'a2c0000000000002';
const EXPORT = 'a2c0000000000004';
const IMPORT_NOW = 'a3c0000000000002';
const IMPORT = 'a3c0000000000003';

describe('sync state across deploys and restarts', function () {
  this.timeout(120000);
  let nr;
  let deployment;
  const warnings = [];
  const logged = new EventEmitter().on('log', (m) => m.level === 30 && warnings.push(`${m.id}: ${m.msg}`));

  async function start(userDir) {
    nr = await startRuntime(userDir ? { settings: { userDir } } : {});
    nr.RED.log.addHandler(logged);
  }

  before(async function () {
    await control(process.env.FHIR_BASE, '/__reset');
    await control(process.env.FHIR_BASE, '/__auth', { issuer: process.env.OIDC_ISSUER, audience: process.env.FHIR_BASE });
    await start();
    deployment = await exampleDeployment({ fhir: process.env.FHIR_BASE, issuer: process.env.OIDC_ISSUER, gateway: `${nr.nodes}/fhir` });
    await deploy(nr.admin, deployment.flows, deployment.credentials);
  });

  after(async function () {
    if (nr) await nr.stop();
    await control(process.env.FHIR_BASE, '/__auth', {});
  });

  const stateFile = (id) => path.join(nr.userDir, 'geofhir', 'sync-state', `${id}.json`);
  const stored = (id) => JSON.parse(fs.readFileSync(stateFile(id), 'utf8')).values;
  const withChanged = (id, change) => deployment.flows.map((n) => (n.id === id ? { ...n, ...change } : n));

  async function run(inject, type, id) {
    const before = (await jobsOf(nr.admin, type, id)).length;
    await until('the inject route', async () => (await fetch(`${nr.admin}/inject/${inject}`, { method: 'POST' })).status === 200);
    return until(`a job of ${id} to finish`, async () => {
      const jobs = await jobsOf(nr.admin, type, id);
      return jobs.length > before && jobs[0].finishedAt && jobs;
    });
  }

  it('keeps job history and watermarks across full deploys, unrelated edits and restarts', async function () {
    const [exported] = await run(RUN_NOW, 'fhir-export', EXPORT);
    expect(exported.status).to.equal('SUCCESS');
    const [imported] = await run(IMPORT_NOW, 'fhir-import', IMPORT);
    expect(imported.status).to.equal('SUCCESS');
    // The job is shown finished as soon as it ends; its node then writes the watermark.
    await until('the import watermark', () => fs.existsSync(stateFile(IMPORT)) && stored(IMPORT).importState);
    expect(stored(IMPORT).importState).to.deep.equal({ since: imported.startedAt });
    await until('the export fingerprints', () => fs.existsSync(stateFile(EXPORT)) && stored(EXPORT).exportState);
    expect(Object.keys(stored(EXPORT).exportState)).to.have.length(324);

    await deploy(nr.admin, deployment.flows, deployment.credentials);
    const renamed = withChanged(EXPORT, { name: 'Renamed export', concurrency: 3 }).map((n) =>
      n.id === IMPORT ? { ...n, name: 'Renamed import', pageSize: 500 } : n,
    );
    await deploy(nr.admin, renamed, deployment.credentials);
    const userDir = nr.userDir;
    await nr.stop();
    await start(userDir);

    expect((await jobsOf(nr.admin, 'fhir-export', EXPORT)).map((j) => j.id)).to.deep.equal([exported.id]);
    expect((await jobsOf(nr.admin, 'fhir-import', IMPORT)).map((j) => j.id)).to.deep.equal([imported.id]);
    expect(stored(IMPORT).importState).to.deep.equal({ since: imported.startedAt });
    expect(warnings.filter((w) => /cleared/.test(w))).to.deep.equal([]);
  });

  it('clears them when the sync identity changes, and says which part changed', async function () {
    await deploy(nr.admin, withChanged(EXPORT, { hierarchies: 'ADMIN' }), deployment.credentials);
    expect(await jobsOf(nr.admin, 'fhir-export', EXPORT)).to.deep.equal([]);
    await until('the warning', async () => warnings.some((w) => w.includes(EXPORT)));
    expect(warnings).to.include(`${EXPORT}: job history and incremental state cleared: the hierarchy of this sync changed`);
    expect(stored(EXPORT)).to.deep.equal({});
    // The import kept its own.
    expect(await jobsOf(nr.admin, 'fhir-import', IMPORT)).to.have.length(1);
  });

  it('deletes them with the node', async function () {
    expect(fs.existsSync(stateFile(IMPORT))).to.equal(true);
    await deploy(
      nr.admin,
      deployment.flows.filter((n) => n.id !== IMPORT),
      deployment.credentials,
    );
    expect(fs.existsSync(stateFile(IMPORT))).to.equal(false);
    expect(fs.existsSync(stateFile(EXPORT))).to.equal(true);
  });
});
