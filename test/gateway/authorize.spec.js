'use strict';
// Gateway.authorize without any server: a fake backend holding a few resources, tokens signed here with a key the
// gateway is given as its public key. The decision comes back as a route (where the request goes, how its answer is
// processed) and the backend sees only the lookups the checks need, never the request itself.
const { expect } = require('chai');
const { gatewaySettings } = require('../../nodes/lib/gateway/config/settings.js');
const { Gateway } = require('../../nodes/lib/gateway/gateway.js');
const { GatewayDenial } = require('../../nodes/lib/gateway/http/denial.js');
const { DEFAULT_TAG_SYSTEMS: SYS } = require('../../nodes/lib/gateway/assignment/tags.js');

const ISSUER = 'http://127.0.0.1:9/realms/none';
const AUDIENCE = 'http://backend.invalid/fhir/';
const tagged = (code) => ({ tag: [{ system: SYS.Location, code }] });

/** A backend that answers the gateway's lookups from `resources` and records every call; forwarding is an error here. */
function fakeBackend(resources) {
  const calls = [];
  const bundle = (entry = []) => ({ resourceType: 'Bundle', type: 'searchset', entry });
  return {
    calls,
    baseUrl: AUDIENCE,
    forward: async (req) => {
      throw new Error(`authorize forwarded ${req.method} ${req.path}`);
    },
    searchPost: async (type) => {
      throw new Error(`authorize searched ${type}`);
    },
    get: async (url) => {
      calls.push(`get ${url}`);
      return resources[url];
    },
    search: async (type, params) => {
      calls.push(`search ${type}?${Object.keys(params).join('&')}`);
      return bundle();
    },
    page: async () => bundle(),
    read: async (type, id) => {
      calls.push(`read ${type}/${id}`);
      const found = resources[`${type}/${id}`];
      if (!found) throw new GatewayDenial(502, 'exception', 'no such resource');
      return found;
    },
  };
}

describe('Gateway.authorize with a fake backend', function () {
  let sign;
  let publicKey;

  before(async () => {
    const jose = await import('jose');
    const { privateKey, publicKey: key } = await jose.generateKeyPair('RS256');
    publicKey = await jose.exportSPKI(key);
    sign = (roles, extra = {}) =>
      new jose.SignJWT({ realm_access: { roles }, location_ids: ['L1'], ...extra })
        .setProtectedHeader({ alg: 'RS256' })
        .setIssuer(ISSUER)
        .setAudience(AUDIENCE)
        .setSubject('user-1')
        .setExpirationTime('5m')
        .sign(privateKey);
  });

  function gatewayOver(resources) {
    const backend = fakeBackend(resources);
    const settings = gatewaySettings({
      publicBase: 'https://gw.example/fhir',
      issuer: ISSUER,
      audiences: [AUDIENCE],
      publicKey,
      assignmentSource: 'claims',
      staticSyncStrategy: 'Location',
    });
    return { gateway: new Gateway(settings, backend), backend };
  }
  const request = async (roles, method, path, extra = {}) => ({
    method,
    path,
    query: {},
    headers: { authorization: `Bearer ${await sign(roles)}`, ...extra.headers },
    ...(extra.body !== undefined && { body: extra.body }),
  });
  async function refusal(promise) {
    const err = await promise.then(
      () => undefined,
      (e) => e,
    );
    expect(err).to.be.instanceOf(GatewayDenial);
    return err;
  }

  it('routes metadata without a token and without a backend call', async () => {
    const { gateway, backend } = gatewayOver({});
    const { route } = await gateway.authorize({ method: 'GET', path: 'metadata', query: {}, headers: {} });
    expect(route.kind).to.equal('metadata');
    expect(backend.calls).to.deep.equal([]);
  });

  it('refuses a request without a token before any backend call', async () => {
    const { gateway, backend } = gatewayOver({});
    expect((await refusal(gateway.authorize({ method: 'GET', path: 'Patient', query: {}, headers: {} }))).status).to.equal(401);
    expect(backend.calls).to.deep.equal([]);
  });

  it('relays an unfiltered search as it came, its links to be signed for the Patient search', async () => {
    const { gateway, backend } = gatewayOver({});
    const { route, info } = await gateway.authorize(await request(['WEB_CLIENT', 'GET_PATIENT'], 'GET', 'Patient'));
    expect(route).to.include({ kind: 'relay' });
    expect(route.request.path).to.equal('Patient');
    expect(route.processing).to.deep.equal({ holder: 'user-1', search: ['Patient'] });
    expect(info.reason).to.equal('client role WEB_CLIENT is not filtered');
    expect(backend.calls).to.deep.equal([]);
  });

  it("restricts a filtered search to the assignment's tags", async () => {
    const { gateway } = gatewayOver({});
    const { route } = await gateway.authorize(await request(['ANDROID_CLIENT', 'GET_PATIENT'], 'GET', 'Patient'));
    expect(route.request.query._tag).to.deep.equal([`${SYS.Location}|L1`]);
    expect(route.processing.confinement).to.deep.equal({ kind: 'none' });
  });

  it('turns a filtered PATCH into the checked PUT of its result, over the version read (lookups: the assignment, the target)', async () => {
    const stored = { resourceType: 'Patient', id: 'p1', meta: { versionId: '3', ...tagged('L1') } };
    const { gateway, backend } = gatewayOver({ 'Patient/p1': stored });
    const patch = [{ op: 'add', path: '/active', value: true }];
    const req = await request(['ANDROID_CLIENT', 'PATCH_PATIENT'], 'PATCH', 'Patient/p1', {
      headers: { 'content-type': 'application/json-patch+json' },
      body: patch,
    });
    const { route } = await gateway.authorize(req);
    expect(route.request).to.include({ method: 'PUT', path: 'Patient/p1' });
    expect(route.request.headers['if-match']).to.equal('W/"3"');
    expect(route.request.body).to.deep.equal({ ...stored, active: true });
    expect(backend.calls).to.deep.equal(['search Location?partof&_count', 'get Patient/p1']);
  });

  it('refuses a write to a resource outside the assignment after the assignment and target lookups only', async () => {
    const { gateway, backend } = gatewayOver({ 'Patient/p9': { resourceType: 'Patient', id: 'p9', meta: tagged('L9') } });
    const req = await request(['ANDROID_CLIENT', 'DELETE_PATIENT'], 'DELETE', 'Patient/p9');
    expect((await refusal(gateway.authorize(req))).status).to.equal(403);
    expect(backend.calls).to.deep.equal(['search Location?partof&_count', 'get Patient/p9']);
  });

  it('plans each entry of a transaction, with one confinement and scope per entry', async () => {
    const { gateway } = gatewayOver({});
    const body = {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { request: { method: 'GET', url: 'Patient?name=x' } },
        { request: { method: 'POST', url: 'Patient' }, resource: { resourceType: 'Patient', id: 'mine', meta: tagged('L1') } },
      ],
    };
    const { route } = await gateway.authorize(await request(['ANDROID_CLIENT', 'GET_PATIENT', 'POST_PATIENT'], 'POST', '', { body }));
    expect(route.processing.confinement).to.have.length(2);
    expect(route.processing.scope.map((s) => s.ids)).to.deep.equal([['L1'], ['L1']]);
    const [search, create] = route.request.body.entry;
    expect(search.request.url).to.match(/^Patient\?name=x&_tag=/);
    expect(create.resource).not.to.have.property('id');
  });

  it('routes a List expansion with the List read confined to the assignment', async () => {
    const { gateway } = gatewayOver({});
    const req = await request(['ANDROID_CLIENT', 'GET_LIST'], 'GET', 'List/l1');
    const { route } = await gateway.authorize({ ...req, query: { mode: ['list-entries'] } });
    expect(route).to.include({ kind: 'list', holder: 'user-1' });
    expect(route.read.path).to.equal('List/l1');
    expect(route.confinement).to.deep.equal({ kind: 'resource', type: 'List' });
  });
});
