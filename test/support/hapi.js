'use strict';
// What the HAPI FHIR and Keycloak suites share: a hook that starts the peers (or skips the suite when Java or
// Maven is missing), an empty HAPI store per suite, the gateway's seed data in HAPI, and HAPI as a peer of the
// import and export suites.
const { requires } = require('./requirements');
const { javaMissing, javaPeers } = require('./java-peers');
const { connectionTo, searchAll } = require('./fhir');

/**
 * Adds a `before` hook to the calling suite: skips it without Java/Maven (fails under CI=true), otherwise
 * resolves `peers.hapi` and `peers.keycloak`, started once per run. Returns that (filled-in) object.
 */
function useJavaPeers() {
  const peers = {};
  before(async function () {
    requires(this, javaMissing());
    this.timeout(600000);
    Object.assign(peers, await javaPeers());
  });
  return peers;
}

/** Empties HAPI (every resource and its history) through its own $expunge. */
async function expungeEverything(base) {
  const res = await fetch(`${base}$expunge`, {
    method: 'POST',
    headers: { 'content-type': 'application/fhir+json' },
    body: JSON.stringify({ resourceType: 'Parameters', parameter: [{ name: 'expungeEverything', valueBoolean: true }] }),
  });
  if (!res.ok) throw new Error(`HAPI $expunge answered ${res.status}: ${await res.text()}`);
}

/**
 * Loads the gateway's seed (test/peers/gateway-seed.mjs) into HAPI. HAPI enforces referential integrity, so the
 * seed's app configuration pointing at a missing Binary (a broken configuration on purpose) stays out.
 */
async function seedGatewayData(base) {
  const { seedBundle } = await import('../peers/gateway-seed.mjs');
  const bundle = seedBundle();
  bundle.entry = bundle.entry.filter((e) => !JSON.stringify(e.resource).includes('Binary/does-not-exist'));
  const res = await fetch(base, { method: 'POST', headers: { 'content-type': 'application/fhir+json' }, body: JSON.stringify(bundle) });
  if (!res.ok) throw new Error(`seeding HAPI answered ${res.status}: ${await res.text()}`);
}

/**
 * HAPI FHIR's open base as a peer of the suites it shares with the cloud stand-ins (test/support/import-suite.js,
 * export-suite.js, round-trip-suite.js): `timeout`, `base()`, `connection(system)`, `fetch`, `searchAll(url)`,
 * `reset()`; call inside a describe.
 */
function hapiPeer() {
  const peers = useJavaPeers();
  const base = () => peers.hapi.base;
  return {
    timeout: 180000,
    base,
    connection: (system) => connectionTo(base(), system),
    fetch: (url, init) => fetch(url, init),
    searchAll,
    reset: () => expungeEverything(base()),
  };
}

module.exports = { useJavaPeers, expungeEverything, seedGatewayData, hapiPeer };
