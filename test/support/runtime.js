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
 * Start Node-RED; resolves with `{url, admin, RED, userDir, stop}` where admin is the editor and admin
 * API base. `settings` are merged over the defaults (e.g. adminAuth, userDir).
 */
async function startRuntime({ port = 0, adminRoot = '/red', settings = {} } = {}) {
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
    httpNodeRoot: '/api',
    nodesDir: [ROOT],
    uiHost: '127.0.0.1',
    logging: { console: { level: 'warn' } },
    editorTheme: { tours: false, projects: { enabled: false } },
    telemetry: { enabled: false, updateNotification: false },
    debugMaxLength: 10000,
    ...settings,
  });
  app.use('/api', RED.httpNode);
  app.use(adminRoot, RED.httpAdmin);
  await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));
  await RED.start();
  const url = `http://127.0.0.1:${server.address().port}`;
  return {
    url,
    admin: `${url}${adminRoot.replace(/\/$/, '')}`,
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
  // The admin API answers before the new flows have started.
  const started = new Promise((resolve) => require(nodeRedPath).events.once('flows:started', resolve));
  const res = await fetch(`${admin}/flows`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'Node-RED-API-Version': 'v2', 'Node-RED-Deployment-Type': 'full', ...headers },
    body: JSON.stringify({ flows, credentials }),
  });
  if (res.status !== 200) throw new Error(`deploy answered ${res.status}: ${await res.text()}`);
  await started;
}

module.exports = { startRuntime, deploy, ROOT };
