'use strict';
// What the HAPI FHIR and Keycloak suites share: a hook that starts the peers (or skips the suite when Java or
// Maven is missing), and an empty HAPI store per suite.
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

module.exports = { useJavaPeers, expungeEverything };
