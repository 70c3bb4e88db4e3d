// `npm start`: the sandbox. Starts the local FHIR R4 server and OIDC issuer on fixed loopback ports,
// turns token checks on in the FHIR server, then Node-RED's editor with this module and every example
// flow deployed, secrets filled in from the sandbox realm. Ports: SANDBOX_PORT (1880),
// SANDBOX_FHIR_PORT (18080), SANDBOX_OIDC_PORT (18081).
import { createRequire } from 'node:module';
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { clients } from '../test/peers/realm.mjs';

const require = createRequire(import.meta.url);
const { startPeer, control } = require('../test/support/peers.js');
const { startRuntime, deploy } = require('../test/support/runtime.js');

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const port = Number(process.env.SANDBOX_PORT ?? 1880);
const fhirPort = process.env.SANDBOX_FHIR_PORT ?? '18080';
const oidcPort = process.env.SANDBOX_OIDC_PORT ?? '18081';

/** Each example in a tab of its own; config nodes stay global. */
function exampleFlows() {
  const flows = [];
  for (const file of readdirSync(join(root, 'flows')).sort()) {
    const tab = `sandbox-${flows.length}`;
    flows.push({ id: tab, type: 'tab', label: file.replace(/\.json$/, '') });
    for (const node of JSON.parse(readFileSync(join(root, 'flows', file), 'utf8'))) {
      flows.push(node.x === undefined ? node : { ...node, z: tab });
    }
  }
  return flows;
}

/** The sandbox realm's secret for each external system that names one of its clients. */
function sandboxCredentials(flows) {
  const credentials = {};
  for (const node of flows) {
    const client = node.type === 'fhir-external-system' && clients.find((c) => c.client_id === node.clientId);
    if (client?.client_secret) credentials[node.id] = { clientSecret: client.client_secret };
  }
  return credentials;
}

const fhir = await startPeer('fhir-server.mjs', [fhirPort]);
const oidc = await startPeer('oidc-provider.mjs', [oidcPort, '--audience', fhir.url]);
await control(fhir.url, '/__auth', { issuer: oidc.url, audience: fhir.url });
const userDir = join(root, '.sandbox');
mkdirSync(userDir, { recursive: true });
const nr = await startRuntime({ port, adminRoot: '/', settings: { userDir, logging: { console: { level: 'info' } } } });
const flows = exampleFlows();
await deploy(nr.admin, flows, sandboxCredentials(flows));

console.log(`
Sandbox ready
  Node-RED editor   ${nr.url}/
  FHIR R4 server    ${fhir.url}   (bearer tokens from the issuer required)
  OIDC issuer       ${oidc.url}
  Get a token       curl -s -u geo-exporter:geo-exporter-secret -d grant_type=client_credentials ${oidc.url}/protocol/openid-connect/token
Press Ctrl+C to stop.`);

async function stop() {
  await nr.stop();
  await Promise.all([fhir.stop(), oidc.stop()]);
  process.exit(0);
}
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
