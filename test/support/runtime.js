'use strict';
// Node-RED embedded in an express app with this repository loaded as a module (nodesDir), on loopback.
// Used by the package-wiring tests, the browser tests and the sandbox.
const http = require('node:http');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { nodeRedPath, home } = require('./node-red');

const ROOT = path.resolve(__dirname, '..', '..');

/**
 * Start Node-RED; resolves with `{url, admin, nodes, RED, userDir, stop}` where admin is the editor and admin
 * API base and nodes the base of http-in endpoints. `settings` are merged over the defaults (e.g. adminAuth, userDir).
 */
async function startRuntime({ port = 0, adminRoot = '/red', nodeRoot = '/api', settings = {} } = {}) {
  const express = require(require.resolve('express', { paths: [home] }));
  const RED = require(nodeRedPath);
  const userDir = settings.userDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'geofhir-nr-'));
  const app = express();
  const server = http.createServer(app);
  RED.init(server, {
    userDir,
    flowFile: 'flows.json',
    credentialSecret: 'sandbox-credential-secret',
    httpAdminRoot: adminRoot,
    httpNodeRoot: nodeRoot,
    nodesDir: [ROOT],
    uiHost: '127.0.0.1',
    logging: { console: { level: 'warn' } },
    editorTheme: { tours: false, projects: { enabled: false } },
    telemetry: { enabled: false, updateNotification: false },
    debugMaxLength: 10000,
    ...settings,
  });
  app.use(nodeRoot, RED.httpNode);
  app.use(adminRoot, RED.httpAdmin);
  // RED.start() resolves before the stored flows (and their credentials) are loaded and started; a deploy made
  // in between would be overwritten by that load.
  const loaded = new Promise((resolve) => RED.events.once('flows:started', resolve));
  await RED.start();
  await loaded;
  // Listen only once started, as Node-RED's own launcher does: an editor tab left open would otherwise reach
  // the admin API first and log "Node-RED runtime not started".
  await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${server.address().port}`;
  return {
    url,
    admin: `${url}${adminRoot.replace(/\/$/, '')}`,
    nodes: `${url}${nodeRoot.replace(/\/$/, '')}`,
    RED,
    userDir,
    stop: async () => {
      await RED.stop();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** Deploy flows (and credentials) through the admin API, as the editor does; resolves once they have started. */
async function deploy(admin, flows, credentials = {}, headers = {}) {
  // The admin API answers before the new flows have started: wait for the start of this revision.
  const { events } = require(nodeRedPath);
  const started = new Set();
  let wake = () => {};
  const onStarted = ({ config }) => {
    started.add(config.rev);
    wake();
  };
  events.on('flows:started', onStarted);
  try {
    const res = await fetch(`${admin}/flows`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'Node-RED-API-Version': 'v2', 'Node-RED-Deployment-Type': 'full', ...headers },
      body: JSON.stringify({ flows, credentials }),
    });
    if (res.status !== 200) throw new Error(`deploy answered ${res.status}: ${await res.text()}`);
    const { rev } = await res.json();
    while (!started.has(rev)) await new Promise((resolve) => (wake = resolve));
  } finally {
    events.off('flows:started', onStarted);
  }
}

/** The job records (summaries, newest first) of a deployed sync node, through its admin route. */
async function jobsOf(admin, type, id) {
  const res = await fetch(`${admin}/${type}/${id}/jobs?pageSize=500`);
  if (res.status !== 200) throw new Error(`${type} ${id} jobs answered ${res.status}: ${await res.text()}`);
  return (await res.json()).jobs;
}

module.exports = { startRuntime, deploy, jobsOf, ROOT };
