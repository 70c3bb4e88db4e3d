'use strict';
// The status a node shows is the one it set since it started: a redeploy that fixes a configuration
// error clears "configuration error" (the editor keeps the last status it was sent until a new one comes).
const { expect } = require('chai');
const { startRuntime, deploy } = require('./support/runtime');
const { exampleDeployment } = require('./support/examples');
const { until } = require('./support/until');

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
});
