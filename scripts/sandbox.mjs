// `npm start`: the sandbox. Starts the local FHIR R4 server and OIDC issuer on fixed loopback ports,
// seeds the FHIR server with the gateway's tagged data, turns its token checks on, then Node-RED's editor
// with this module and every example flow deployed, secrets filled in from the sandbox realm. Ports: SANDBOX_PORT (1880),
// SANDBOX_FHIR_PORT (18080), SANDBOX_OIDC_PORT (18081).
// `npm run start:hapi` (--hapi): the same on HAPI FHIR (its OAuth base) and Keycloak, on the same ports (Java 17, Maven).
import { createRequire } from 'node:module';
import { mkdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const { startPeer, control } = require('../test/support/peers.js');
const { startRuntime, deploy } = require('../test/support/runtime.js');
const { exampleDeployment } = require('../test/support/examples.js');
const { seed } = await import('../test/peers/gateway-seed.mjs');

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

async function embeddedPeers() {
  const fhir = await startPeer('fhir-server.mjs', [fhirPort]);
  const oidc = await startPeer('oidc-provider.mjs', [oidcPort, '--audience', fhir.url]);
  await seed(fhir.url);
  stoppers.push(() => Promise.all([fhir.stop(), oidc.stop()]));
  await control(fhir.url, '/__auth', { issuer: oidc.url, audience: fhir.url });
  return { fhir: { url: fhir.url, label: '(bearer tokens from the issuer required)' }, oidc };
}

async function hapiPeers() {
  const { javaMissing, javaPeers, stopJavaPeers } = require('../test/support/java-peers.js');
  const { seedGatewayData } = require('../test/support/hapi.js');
  const missing = javaMissing();
  if (missing) throw new Error(missing);
  stoppers.push(stopJavaPeers);
  const { hapi, keycloak } = await javaPeers({ hapiPort: Number(fhirPort), keycloakPort: Number(oidcPort) });
  await seedGatewayData(hapi.base);
  return {
    // Without the trailing slash: Keycloak's audience, as HAPI checks it.
    fhir: { url: hapi.oauthBase.replace(/\/$/, ''), label: `(HAPI FHIR ${hapi.version} on ${hapi.store}; open base ${hapi.base})` },
    oidc: { url: keycloak.issuer },
  };
}

const port = Number(process.env.SANDBOX_PORT ?? 1880);
const fhirPort = process.env.SANDBOX_FHIR_PORT ?? '18080';
const oidcPort = process.env.SANDBOX_OIDC_PORT ?? '18081';

// Ctrl+C at any point stops what has started (Keycloak runs in a process group of its own).
const stoppers = [];
async function stop() {
  for (const s of stoppers.reverse()) await s();
  process.exit(0);
}
process.once('SIGINT', stop);
process.once('SIGTERM', stop);

const { fhir, oidc } = process.argv.includes('--hapi') ? await hapiPeers() : await embeddedPeers();
const userDir = join(root, '.sandbox');
mkdirSync(userDir, { recursive: true });
// Both roots at '/', as in a standalone Node-RED: the gateway example answers on /fhir/*.
const nr = await startRuntime({ port, adminRoot: '/', nodeRoot: '/', settings: { userDir, logging: { console: { level: 'info' } } } });
stoppers.push(() => nr.stop());
const { flows, credentials } = await exampleDeployment({ fhir: fhir.url, issuer: oidc.url, gateway: `${nr.url}/fhir` });
await deploy(nr.admin, flows, credentials);

console.log(`
Sandbox ready
  Node-RED editor   ${nr.url}/
  FHIR R4 server    ${fhir.url}   ${fhir.label}
  FHIR gateway      ${nr.url}/fhir   (see README, "Try the gateway")
  OIDC issuer       ${oidc.url}
  Get a token       curl -s -u geo-exporter:geo-exporter-secret -d grant_type=client_credentials ${oidc.url}/protocol/openid-connect/token
Press Ctrl+C to stop.`);
