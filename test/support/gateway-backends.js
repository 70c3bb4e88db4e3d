'use strict';
// The two backends the gateway's acceptance suites run against: the sandbox (the embedded FHIR server and OIDC
// issuer) and HAPI FHIR's open base with Keycloak's tokens, as OpenSRP deploys the gateway. Each gives a suite
// its FHIR base, issuer and token audience, the gateway seed, and direct reads and writes that bypass the gateway.
const { control } = require('./peers');
const { requests } = require('./fhir');
const { useJavaPeers, expungeEverything, seedGatewayData } = require('./hapi');
const { startRecordingProxy } = require('./recording-proxy');

/** A resource written straight to `base`; throws with the server's answer when refused. */
async function putTo(base, resource) {
  const res = await fetch(`${base}${resource.resourceType}/${resource.id}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/fhir+json' },
    body: JSON.stringify(resource),
  });
  if (!res.ok) throw new Error(`PUT ${resource.resourceType}/${resource.id} answered ${res.status}: ${await res.text()}`);
  return res.json();
}

/** A resource read straight from `base`; undefined when absent. */
async function readFrom(base, type, id) {
  const res = await fetch(`${base}${type}/${id}`);
  return res.ok ? res.json() : undefined;
}

const SANDBOX = {
  name: 'the sandbox',
  base: () => process.env.FHIR_BASE,
  issuer: () => process.env.OIDC_ISSUER,
  audiences: () => [process.env.FHIR_BASE],
  // Each version's tags are its own.
  tagsKeptAcrossVersions: false,
  /** Reset the sandbox FHIR server and load the gateway seed; resolves with the seed module. */
  async seed() {
    const seed = await import('../peers/gateway-seed.mjs');
    await control(process.env.FHIR_BASE, '/__reset');
    await seed.seed(process.env.FHIR_BASE);
    return seed;
  },
  put: (resource) => putTo(process.env.FHIR_BASE, resource),
  read: (type, id) => readFrom(process.env.FHIR_BASE, type, id),
  /** The next requests matching `match` ("METHOD url" text) answered `status` instead ({clear: true}: none). */
  fault: (spec) => control(process.env.FHIR_BASE, '/__fault', spec),
  /** The requests the server received while `fn` ran: [{method, url}]. */
  async logged(fn) {
    await control(process.env.FHIR_BASE, '/__reset-log');
    const result = await fn();
    return { result, log: await requests(process.env.FHIR_BASE) };
  },
};

/**
 * HAPI FHIR's open base behind Keycloak's realm, reached through a recording proxy (the backend base the gateway
 * gets); call inside a describe (it adds the hooks that start the peers and the proxy).
 */
function hapiBackend() {
  const peers = useJavaPeers();
  let proxy;
  before(async () => (proxy = await startRecordingProxy(peers.hapi.base)));
  after(() => proxy?.close());
  return {
    name: 'HAPI FHIR + Keycloak',
    base: () => proxy.base,
    issuer: () => peers.keycloak.issuer,
    // Keycloak's audience mapper names HAPI's OAuth base.
    audiences: () => [peers.hapi.oauthBase.replace(/\/$/, '')],
    // HAPI keeps a resource's tags when a new version leaves them out (removing one takes $meta-delete).
    tagsKeptAcrossVersions: true,
    async seed() {
      await expungeEverything(peers.hapi.base);
      await seedGatewayData(peers.hapi.base);
      return import('../peers/gateway-seed.mjs');
    },
    put: (resource) => putTo(peers.hapi.base, resource),
    read: (type, id) => readFrom(peers.hapi.base, type, id),
    fault: (spec) => proxy.fault(spec),
    async logged(fn) {
      proxy.reset();
      const result = await fn();
      return { result, log: [...proxy.requests()] };
    },
  };
}

/** Defines the suite `body(backend)` once per backend, its title naming the backend. */
function onEachBackend(title, body) {
  describe(`${title} (${SANDBOX.name})`, function () {
    body.call(this, SANDBOX);
  });
  describe(`${title} (HAPI FHIR + Keycloak)`, function () {
    body.call(this, hapiBackend());
  });
}

module.exports = { SANDBOX, onEachBackend };
