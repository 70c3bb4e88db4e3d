'use strict';
// The example flows as the sandbox deploys them: each file in a tab of its own, a config node shared by
// several files deployed once, and the sandbox realm's secrets for the external systems.
const fs = require('node:fs');
const path = require('node:path');
const { deploy } = require('./runtime');

const FLOWS = path.resolve(__dirname, '..', '..', 'flows');

/**
 * `{flows, credentials}` for POST /flows. `urls` ({fhir, issuer, gateway}) points the external systems and
 * gateways at other peers than the sandbox's fixed ports (tests run them on random ports); `gateway` is the
 * public base of the gateway's /fhir endpoints.
 */
async function exampleDeployment(urls) {
  const { clients } = await import('../peers/realm.mjs');
  const flows = [];
  const ids = new Set();
  for (const file of fs.readdirSync(FLOWS).sort()) {
    const tab = `example-${flows.filter((n) => n.type === 'tab').length + 1}`;
    flows.push({ id: tab, type: 'tab', label: file.replace(/\.json$/, '') });
    for (const node of JSON.parse(fs.readFileSync(path.join(FLOWS, file), 'utf8'))) {
      if (ids.has(node.id)) continue;
      ids.add(node.id);
      const isConfig = node.x === undefined;
      const pointed = !urls
        ? node
        : node.type === 'fhir-external-system'
          ? { ...node, url: urls.fhir, issuer: urls.issuer }
          : node.type === 'gateway-authorize'
            ? { ...node, issuer: urls.issuer, audiences: urls.fhir, publicBase: urls.gateway }
            : node;
      flows.push(isConfig ? pointed : { ...pointed, z: tab });
    }
  }
  const credentials = {};
  for (const node of flows) {
    const client = node.type === 'fhir-external-system' && clients.find((c) => c.client_id === node.clientId);
    if (client && client.client_secret) credentials[node.id] = { clientSecret: client.client_secret };
  }
  return { flows, credentials };
}

/**
 * Deploy every example into the test runtime `nr`, pointed at this run's peers (FHIR_BASE, OIDC_ISSUER); resolves
 * with what it deployed, `{flows, credentials}`.
 */
async function deployExamples(nr) {
  const deployment = await exampleDeployment({
    fhir: process.env.FHIR_BASE,
    issuer: process.env.OIDC_ISSUER,
    gateway: `${nr.nodes}/fhir`,
  });
  await deploy(nr.admin, deployment.flows, deployment.credentials);
  return deployment;
}

module.exports = { exampleDeployment, deployExamples };
