'use strict';
// Shared pieces of the gateway pipeline tests: user tokens from the OIDC peer, a Gateway over the sandbox FHIR
// server, one call through Gateway.handle with its answer decoded, and the peer's request log.
const zlib = require('node:zlib');
const { expect } = require('chai');
const { gatewaySettings } = require('../../nodes/lib/gateway/config/settings.js');
const { Gateway } = require('../../nodes/lib/gateway/gateway.js');
const { Backend } = require('../../nodes/lib/gateway/proxy/backend.js');
const { GatewayDenial } = require('../../nodes/lib/gateway/http/denial.js');
const { SANDBOX } = require('./gateway-backends');

const PUBLIC = 'https://gateway.example.org/fhir';

const tokens = new Map();

/**
 * An access token of a sandbox realm user (password grant through the mobile-app client), minted once per issuer
 * (the sandbox issuer unless another, e.g. Keycloak's realm, is given) and again when less than a minute of it is
 * left: a whole run outlasts the realm's five-minute tokens.
 */
async function tokenOf(username, issuer = process.env.OIDC_ISSUER) {
  const key = `${issuer} ${username}`;
  const cached = tokens.get(key);
  if (cached && JSON.parse(Buffer.from(cached.split('.')[1], 'base64url')).exp * 1000 - Date.now() > 60000) return cached;
  const res = await fetch(`${issuer}/protocol/openid-connect/token`, {
    method: 'POST',
    headers: { authorization: `Basic ${Buffer.from('mobile-app:mobile-app-secret').toString('base64')}` },
    body: new URLSearchParams({ grant_type: 'password', username, password: `${username}-password`, scope: 'openid fhir' }),
  });
  const body = await res.json();
  if (!body.access_token) throw new Error(`no token for ${username}: ${JSON.stringify(body)}`);
  tokens.set(key, body.access_token);
  return body.access_token;
}

/** Raw settings for the sandbox: the peers' issuer and audience, Practitioners found by their Keycloak id system. */
async function rawSettings(overrides = {}) {
  const { KEYCLOAK_USER_SYSTEM } = await import('../peers/gateway-seed.mjs');
  return {
    publicBase: PUBLIC,
    issuer: process.env.OIDC_ISSUER,
    audiences: [process.env.FHIR_BASE],
    practitionerIdentifierSystem: KEYCLOAK_USER_SYSTEM,
    ...overrides,
  };
}

// The issuer each gateway trusts, whose tokens `call` sends it.
const issuers = new WeakMap();

/** A Gateway over `baseUrl` (default: the sandbox FHIR server); close() its backend's connections after use. */
async function makeGateway(overrides = {}, baseUrl = process.env.FHIR_BASE, options = {}) {
  const backend = new Backend({ baseUrl });
  const settings = gatewaySettings(await rawSettings(overrides));
  const gateway = new Gateway(settings, backend, options);
  issuers.set(gateway, settings.token.issuer);
  return { gateway, backend, close: () => backend.close() };
}

/** A Gateway over one of test/support/gateway-backends.js's backends, trusting its issuer. */
function makeGatewayOn(backend, overrides = {}, options = {}) {
  return makeGateway({ issuer: backend.issuer(), audiences: backend.audiences(), ...overrides }, backend.base(), options);
}

/** Every answer of the run, so a suite can check that none was a 500. */
const answered = [];

/**
 * Adds hooks to a suite of onEachBackend: the answers so far forgotten, `backend` seeded, `prepare(seed)` run (what
 * the suite adds to the seed, given the seed module), then a gateway over it made with `overrides`, closed after. Returns that gateway's
 * `{gateway, backend, close}`, filled in by then.
 */
function useGatewayOn(backend, { prepare = async () => {}, overrides } = {}) {
  const gw = {};
  before(async () => {
    answered.length = 0;
    await prepare(await backend.seed());
    Object.assign(gw, await makeGatewayOn(backend, overrides));
  });
  after(() => gw.close?.());
  return gw;
}

/**
 * One request through Gateway.handle as `user` (none: no Authorization header). Resolves with the status, headers,
 * decoded body (json when it parses), the gateway info and the audit record.
 */
async function call(gateway, user, method, path, { query = {}, headers = {}, body } = {}) {
  const auth = user ? { authorization: `Bearer ${await tokenOf(user, issuers.get(gateway))}` } : {};
  const req = { method, path, query, headers: { ...auth, ...headers }, ...(body !== undefined && { body }) };
  const result = await gateway.handle(req);
  let raw = Buffer.isBuffer(result.payload) ? result.payload : Buffer.from(result.payload);
  if (result.headers['content-encoding'] === 'gzip') raw = zlib.gunzipSync(raw);
  const text = raw.toString('utf8');
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  answered.push({ method, path, status: result.statusCode });
  return { status: result.statusCode, headers: result.headers, text, json, info: result.gateway, audit: result.audit, raw: result.payload };
}

/** The ids of a Bundle's entries (of mode `mode` when given). */
function idsOf(bundle, mode) {
  return (bundle?.entry ?? []).filter((e) => !mode || e.search?.mode === mode).map((e) => e.resource?.id);
}

/** Expect an OperationOutcome denial with this status and issue code. */
function expectDenial(res, status, code) {
  expect(res.status, res.text).to.equal(status);
  expect(res.json?.resourceType, res.text).to.equal('OperationOutcome');
  expect(res.json.issue[0]).to.include({ severity: 'error', code });
  // RFC 6750: no error code when no bearer token came, `invalid_token` for one refused.
  if (status === 401) expect(res.headers['www-authenticate']).to.match(/^Bearer( error="invalid_token")?$/);
}

/** The GatewayDenial a promise rejects with (failing the test if it resolves or rejects otherwise). */
async function denial(promise) {
  const err = await promise.then(
    () => undefined,
    (e) => e,
  );
  expect(err, 'expected a denial').to.be.instanceOf(GatewayDenial);
  return err;
}

/** Reset the sandbox FHIR server and load the gateway seed. */
const seedPeer = () => SANDBOX.seed();
/** Write a resource straight to the sandbox server (bypassing the gateway). */
const put = (resource) => SANDBOX.put(resource);
/** Read a resource straight from the sandbox server; undefined when absent. */
const read = (type, id) => SANDBOX.read(type, id);

/** The requests the sandbox server received while `fn` ran: [{method, url}]. */
const logged = (fn) => SANDBOX.logged(fn);

/** A request (path and query) for a link the gateway handed out. */
function linkRequest(url) {
  const link = new URL(url);
  const path = link.pathname.slice(new URL(PUBLIC).pathname.length + 1);
  const query = {};
  for (const [name, value] of link.searchParams) (query[name] ??= []).push(value);
  return { path, query };
}

module.exports = {
  PUBLIC,
  tokenOf,
  rawSettings,
  makeGateway,
  makeGatewayOn,
  useGatewayOn,
  call,
  idsOf,
  expectDenial,
  denial,
  seedPeer,
  put,
  read,
  logged,
  linkRequest,
  answered,
};
