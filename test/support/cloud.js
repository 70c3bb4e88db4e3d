'use strict';
// The cloud FHIR stand-ins (test/peers/google-healthcare.mjs, azure-health.mjs) for the suites that run against
// them: each started once per run by the first suite that needs it, its registration as an external system per
// grant, and authenticated requests straight to it (the suites' own checks, outside the module under test).
const { startPeer, control } = require('./peers');
const { normaliseSettings } = require('../../nodes/lib/fhir/external-system.js');
const { createTokenSource } = require('../../nodes/lib/fhir/token-source.js');
const { FhirConnection } = require('../../nodes/lib/fhir/connection.js');

const started = new Map();

const CLOUDS = {
  google: {
    name: 'Google Cloud Healthcare API (stand-in)',
    script: 'google-healthcare.mjs',
    async grants(peer) {
      const key = await (await fetch(new URL('/__service-account', peer.url))).text();
      return { 'google-service-account': [{ authType: 'google-service-account' }, { serviceAccountKey: key }] };
    },
  },
  azure: {
    name: 'Azure Health Data Services (stand-in)',
    script: 'azure-health.mjs',
    async grants(peer) {
      const app = await (await fetch(new URL('/__app', peer.url))).json();
      // The stand-in's Entra ID is on loopback: the tenant's endpoint is given as the Token URL.
      const entra = { tenantId: app.tenantId, tokenUrl: app.tokenUrl, clientId: app.clientId };
      return {
        'azure-client-secret': [{ authType: 'azure-client-secret', ...entra }, { clientSecret: app.clientSecret }],
        'azure-certificate': [
          { authType: 'azure-certificate', ...entra },
          { privateKey: app.privateKey, certificate: app.certificate },
        ],
        'azure-managed-identity (IMDS)': [{ authType: 'azure-managed-identity', tokenUrl: app.imdsUrl }, {}],
        'azure-managed-identity (App Service)': [
          { authType: 'azure-managed-identity', tokenUrl: app.appServiceUrl },
          { identityHeader: app.identityHeader },
        ],
      };
    },
  },
};

/** The stand-in `kind` ('google' or 'azure'), started on first use; stopped by stopCloudPeers(). */
async function cloudPeer(kind) {
  if (!started.has(kind)) started.set(kind, startPeer(CLOUDS[kind].script, ['0']));
  const peer = await started.get(kind);
  if (!peer.grants) peer.grants = await CLOUDS[kind].grants(peer);
  return peer;
}

async function stopCloudPeers() {
  const peers = await Promise.allSettled([...started.values()]);
  started.clear();
  await Promise.all(peers.filter((p) => p.status === 'fulfilled').map((p) => p.value.stop()));
}

/**
 * Adds a `before` hook to the calling suite that starts the stand-in `kind`. Returns an object filled in then:
 * `name`, `base` (the FHIR base, ending in '/'), `grants` ({name: [settings, secrets]}), `settings(grant, extra)`,
 * `connection(system, grant)`, `fetch(url, init)` with a token of the stand-in, `reset()`, `tokenRequests()`.
 */
function useCloudPeer(kind) {
  const cloud = { name: CLOUDS[kind].name, kind };
  before(async function () {
    this.timeout(60000);
    const peer = await cloudPeer(kind);
    const first = Object.keys(peer.grants)[0];
    const settings = (grant = first, extra = {}) =>
      normaliseSettings({
        organization: 'MOH',
        systemId: kind,
        label: CLOUDS[kind].name,
        url: peer.url,
        system: 'http://moh.example/registry',
        ...peer.grants[grant][0],
        ...extra,
      });
    const tokens = createTokenSource(settings(), peer.grants[first][1]);
    Object.assign(cloud, {
      base: peer.url,
      grants: peer.grants,
      settings,
      secrets: (grant = first) => peer.grants[grant][1],
      connection: (system, grant = first) => {
        const s = settings(grant, { system });
        return new FhirConnection(s, createTokenSource(s, peer.grants[grant][1]));
      },
      fetch: async (url, init = {}) =>
        fetch(url, { ...init, headers: { ...init.headers, authorization: `Bearer ${await tokens.token()}` } }),
      reset: () => control(peer.url, '/__reset'),
      tokenRequests: async () => (await (await fetch(new URL('/__token-requests', peer.url))).json()).count,
    });
  });
  return cloud;
}

/** Every resource a search URL finds on a stand-in, following its next links. */
async function searchAllOn(cloud, url) {
  const found = [];
  while (url) {
    const res = await cloud.fetch(url);
    if (!res.ok) throw new Error(`GET ${url} answered ${res.status}: ${await res.text()}`);
    const bundle = await res.json();
    found.push(...(bundle.entry ?? []).map((e) => e.resource));
    url = bundle.link?.find((l) => l.relation === 'next')?.url;
  }
  return found;
}

/**
 * The stand-in `kind` as a peer of the suites it shares with HAPI FHIR (test/support/import-suite.js,
 * export-suite.js, round-trip-suite.js), reached with its first grant; call inside a describe.
 */
function cloudFhirPeer(kind) {
  const cloud = useCloudPeer(kind);
  return {
    timeout: 120000,
    base: () => cloud.base,
    connection: (system) => cloud.connection(system),
    fetch: (url, init) => cloud.fetch(url, init),
    searchAll: (url) => searchAllOn(cloud, url),
    reset: () => cloud.reset(),
  };
}

module.exports = { CLOUDS, useCloudPeer, stopCloudPeers, searchAllOn, cloudFhirPeer };
