'use strict';
// What the HAPI FHIR and Keycloak suites share: a hook that starts the peers (or skips the suite when Java or
// Maven is missing), an empty HAPI store per suite, and the gateway's seed data in HAPI.
const { requires } = require('./requirements');
const { javaMissing, javaPeers } = require('./java-peers');

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

module.exports = { useJavaPeers, expungeEverything, seedGatewayData };
