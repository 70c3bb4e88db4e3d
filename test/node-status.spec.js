'use strict';
// The status a node shows is the one it set since it started: a redeploy that fixes a configuration
// error clears "configuration error" (the editor keeps the last status it was sent until a new one comes); a
// running job shows its progress with its unit and the retry it waits for; the texts come from the catalogs.
const { expect } = require('chai');
const { startRuntime, deploy } = require('./support/runtime');
const { exampleDeployment } = require('./support/examples');
const { until } = require('./support/until');
const { control } = require('./support/peers');
const { home } = require('./support/node-red');

const OURS = Object.keys(require('../package.json')['node-red'].nodes);

describe('node status on start', function () {
  this.timeout(60000);
  let nr;
  let deployment;
  const latest = new Map();
  const record = ({ id, status }) => latest.set(id, status);

  before(async function () {
    nr = await startRuntime();
    nr.RED.events.on('node-status', record);
    deployment = await exampleDeployment({ fhir: process.env.FHIR_BASE, issuer: process.env.OIDC_ISSUER, gateway: `${nr.nodes}/fhir` });
  });

  after(async function () {
    if (nr) {
      nr.RED.events.off('node-status', record);
      await nr.stop();
    }
  });

  const ourNodes = () => deployment.flows.filter((n) => OURS.includes(n.type) && n.x !== undefined);

  it('shows the configuration error, and clears it once the cause is fixed and redeployed', async function () {
    const broken = deployment.flows.map((n) => (n.type === 'fhir-external-system' ? { ...n, url: 'not a url' } : n));
    await deploy(nr.admin, broken, deployment.credentials);
    const users = ourNodes().filter((n) => n.system);
    expect(users.map((n) => n.type)).to.include.members(['fhir-export', 'fhir-import', 'gateway-authorize']);
    for (const n of users) expect(latest.get(n.id), n.type).to.deep.include({ fill: 'red', text: 'configuration error' });

    latest.clear();
    await deploy(nr.admin, deployment.flows, deployment.credentials);
    // Every node of this module says where it stands on start: none keeps a status from before.
    // (a sync node once it has read its job history)
    await until('every node to set its status', async () => ourNodes().every((n) => latest.has(n.id)));
    for (const n of users) expect(latest.get(n.id), n.type).to.not.deep.include({ text: 'configuration error' });
  });

  it('shows a running export’s progress in objects, and the retry it waits for with its wait and cause', async function () {
    await deploy(nr.admin, deployment.flows, deployment.credentials);
    const exporter = ourNodes().find((n) => n.type === 'fhir-export');
    const seen = [];
    const watch = ({ id, status }) => id === exporter.id && seen.push(status.text);
    nr.RED.events.on('node-status', watch);
    try {
      // The first transaction is refused once with a 503: retried after the policy's first backoff (0.5 s, shown as 1 s).
      await control(process.env.FHIR_BASE, '/__fault', { status: 503, count: 1, match: 'POST ' });
      const res = await fetch(`${nr.admin}/fhir-export/${exporter.id}/run`, { method: 'POST' });
      expect(res.status).to.equal(200);
      await until('the job to end', async () => ['SUCCESS', 'WARNING', 'FAILURE'].includes(seen.at(-1)));
    } finally {
      nr.RED.events.off('node-status', watch);
      await control(process.env.FHIR_BASE, '/__fault', { clear: true });
    }
    expect(seen.at(-1)).to.equal('SUCCESS');
    expect(seen).to.include('retry 1/5 in 1 s: HTTP 503');
    const total = Number(/^0\/(\d+) objects$/.exec(seen.find((t) => /^0\/\d+ objects$/.test(t)))?.[1]);
    expect(total).to.be.greaterThan(0);
    expect(seen).to.include(`${total}/${total} objects`);
    // The retry is cleared once the transaction got through: no retry text after the first progress past 0.
    expect(seen.slice(seen.findIndex((t) => /^[1-9]\d*\/\d+ objects$/.test(t)))).to.not.include('retry 1/5 in 1 s: HTTP 503');
  });

  it('takes its status texts from the catalogs, in the runtime’s language', async function () {
    // The i18n instance of this Node-RED, which has loaded this module's catalogs (French on demand, as a
    // runtime started with lang "fr" does).
    const { i18n } = require(require.resolve('@node-red/util', { paths: [home] }));
    await i18n.i.loadLanguages('fr');
    const text = (type, key, values = {}) => i18n._(`@geofhir/node-red-geofhir/${type}:${type}.status.${key}`, values);
    expect(text('fhir-export', 'configurationError')).to.equal('configuration error');
    expect(text('fhir-import', 'progress', { done: 250, total: 324 })).to.equal('250/324 resources');
    expect(text('fhir-export', 'progress', { done: 250, total: 324, lng: 'fr' })).to.equal('250/324 objets');
    expect(text('fhir-export', 'retry', { attempt: 2, retries: 5, seconds: 4, reason: 'HTTP 503', lng: 'fr' })).to.equal(
      'nouvel essai 2/5 dans 4 s : HTTP 503',
    );
  });
});
