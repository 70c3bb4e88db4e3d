'use strict';
// Mocha global fixture: one sandbox FHIR server and one OIDC issuer for the whole run, their URLs in
// FHIR_BASE and OIDC_ISSUER. The FHIR server starts first: its base is the tokens' audience. HAPI FHIR and
// Keycloak, and the cloud stand-ins, start with the first suite that needs them (java-peers.js, cloud.js) and stop here.
const { startPeer } = require('./peers');
const { stopJavaPeers } = require('./java-peers');
const { stopCloudPeers } = require('./cloud');

let fhir;
let oidc;

exports.mochaGlobalSetup = async function () {
  const { version } = require('./node-red');
  console.log(`Node-RED ${version} on Node ${process.version}`);
  fhir = await startPeer('fhir-server.mjs', ['0']);
  oidc = await startPeer('oidc-provider.mjs', ['0', '--audience', fhir.url]);
  process.env.FHIR_BASE = fhir.url;
  process.env.OIDC_ISSUER = oidc.url;
};

exports.mochaGlobalTeardown = async function () {
  await Promise.all([fhir && fhir.stop(), oidc && oidc.stop(), stopJavaPeers(), stopCloudPeers()]);
};
