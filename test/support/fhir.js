'use strict';
// Shared pieces of the sync tests: a connection to a peer, fast retries, the peer's request log, a geometry that
// is broken on purpose, and Locations changed behind the module's back.
const { normaliseSettings } = require('../../nodes/lib/fhir/external-system.js');
const { createTokenSource } = require('../../nodes/lib/fhir/token-source.js');
const { FhirConnection } = require('../../nodes/lib/fhir/connection.js');

/** Retries that give up in milliseconds, so fault tests stay short. */
const FAST_RETRY = { retries: 3, minTimeoutMs: 10, maxTimeoutMs: 50 };

/** A bow-tie: a polygon that crosses itself. */
const SELF_INTERSECTING = {
  type: 'Polygon',
  coordinates: [
    [
      [0, 0],
      [2, 2],
      [2, 0],
      [0, 2],
      [0, 0],
    ],
  ],
};

/** A polygon whose ring has two points: no geometry library can read it. */
const UNREADABLE = {
  type: 'Polygon',
  coordinates: [
    [
      [0, 0],
      [1, 1],
    ],
  ],
};

/** An unauthenticated connection to a FHIR peer, for System `system`. */
function connectionTo(base, system) {
  const settings = normaliseSettings({ url: base, system, organization: 'MOH', systemId: 'sb', label: 'sb', authType: 'none' });
  return new FhirConnection(settings, createTokenSource(settings, {}));
}

/** The FHIR requests a peer received since its last reset: [{method, url, entries?}]. */
async function requests(base) {
  return (await fetch(new URL('/__requests', base))).json();
}

/** Every resource a search URL finds on a peer, following its next links. */
async function searchAll(url) {
  const found = [];
  while (url) {
    const bundle = await (await fetch(url)).json();
    found.push(...(bundle.entry ?? []).map((e) => e.resource));
    url = bundle.link?.find((l) => l.relation === 'next')?.url;
  }
  return found;
}

/**
 * Renames the first `count` Locations of a FHIR base (` (renamed)` appended), straight on the server, with
 * `fetchWith` (one that adds the server's token, where it wants one).
 */
async function renameLocations(base, count, fetchWith = fetch) {
  const bundle = await (await fetchWith(`${base}Location?_count=${count}`)).json();
  for (const { resource } of bundle.entry) {
    resource.name = `${resource.name} (renamed)`;
    const res = await fetchWith(`${base}Location/${resource.id}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/fhir+json' },
      body: JSON.stringify(resource),
    });
    if (res.status !== 200) throw new Error(`PUT Location/${resource.id} answered ${res.status}: ${await res.text()}`);
  }
}

/** The sandbox FHIR server (FHIR_BASE) as a peer of the round trip it shares with HAPI FHIR and the cloud stand-ins. */
function sandboxPeer() {
  return { base: () => process.env.FHIR_BASE, connection: (system) => connectionTo(process.env.FHIR_BASE, system), searchAll };
}

module.exports = { FAST_RETRY, SELF_INTERSECTING, UNREADABLE, connectionTo, requests, searchAll, renameLocations, sandboxPeer };
