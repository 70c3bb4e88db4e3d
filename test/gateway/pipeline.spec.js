'use strict';
// The gateway pipeline (Gateway.handle) against the seeded sandbox FHIR server with real tokens from the OIDC peer,
// and against HAPI FHIR with Keycloak's tokens:
// settings, discovery without a token, token checks, the decision order (roles before any backend lookup), the
// proxying cases of the reference (§5.3), the Permissions Checker through the pipeline (§5.4), allowed queries
// with and without a token, and gzip.
const { expect } = require('chai');
const { gatewaySettings } = require('../../nodes/lib/gateway/config/settings.js');
const { RESTFUL_SECURITY_SERVICE } = require('../../nodes/lib/gateway/proxy/metadata.js');
const { DEFAULT_SYNC_FILTER_IGNORE } = require('../../nodes/lib/gateway/access/sync-ignore.js');
const { PUBLIC, tokenOf, rawSettings, makeGatewayOn, useGatewayOn, call, idsOf, expectDenial, answered } = require('../support/gateway');
const { onEachBackend } = require('../support/gateway-backends');

describe('gateway settings', () => {
  it('fills the defaults of the spec', async () => {
    const s = gatewaySettings(await rawSettings());
    expect(s.publicBase).to.equal(PUBLIC);
    expect(s.token).to.include({ issuer: process.env.OIDC_ISSUER, clockSkewSec: 30 });
    expect(s.token.algorithms).to.deep.equal(['RS256']);
    expect(s.roles).to.deep.equal({ sources: ['realm_access.roles'], clientRoles: ['ANDROID_CLIENT', 'WEB_CLIENT'] });
    expect(s.filteredClientRole).to.equal('ANDROID_CLIENT');
    expect(s.assignment).to.include({ source: 'fhir', expandLocationDescendants: true, cacheTtlSec: 300 });
    expect(s.assignment.claims).to.deep.equal({
      Location: 'location_ids',
      Organization: 'organization_ids',
      CareTeam: 'care_team_ids',
      Practitioner: 'practitioner_id',
    });
    expect(s.appConfig).to.deep.equal({
      appIdClaim: 'fhir_core_app_id',
      sectionFocusIdentifier: 'application',
      staticSyncStrategy: null,
      cacheTtlSec: 300,
    });
    expect(s.tagSystems.Organization).to.equal('https://smartregister.org/organisation-tag-id');
    expect(s.tagSystems.Practitioner).to.equal('https://smartregister.org/practitioner-tag-id');
    expect(s.allowedQueries).to.deep.equal({ entries: [], unsafeAllowList: false });
    expect(s.syncFilterIgnore).to.deep.equal(DEFAULT_SYNC_FILTER_IGNORE);
    expect(s.syncFilterIgnore.map((e) => e.path)).not.to.include.members(['List', 'Device']);
    expect(s).to.include({ writeTags: 'reject', cacheTtlSec: 300 });
    expect(s.allowedOperations).to.deep.equal([]);
    expect(s.allowedSearchParams).to.deep.equal([]);
    expect(s.backendAliases).to.deep.equal([]);
    expect(s).not.to.have.property('pagingSecret');
  });

  it('normalises what it can', async () => {
    const s = gatewaySettings(
      await rawSettings({
        publicBase: `${PUBLIC}/`,
        allowedOperations: ['validate', '$lastn'],
        staticSyncStrategy: 'organization',
        cacheTtlSec: 0,
        tagSystems: { Location: 'http://moh.example/loc' },
        roleSources: ['realm_access.roles', 'resource_access.fhir-gateway.roles'],
      }),
    );
    expect(s.publicBase).to.equal(PUBLIC);
    expect(s.allowedOperations).to.deep.equal(['$validate', '$lastn']);
    expect(s.appConfig.staticSyncStrategy).to.equal('Organization');
    expect(s.assignment.cacheTtlSec).to.equal(0);
    expect(s.tagSystems.Location).to.equal('http://moh.example/loc');
    expect(s.tagSystems.CareTeam).to.equal('https://smartregister.org/care-team-tag-id');
    const practitioner = gatewaySettings(
      await rawSettings({ staticSyncStrategy: 'PRACTITIONER', tagSystems: { Practitioner: 'http://moh.example/author' } }),
    );
    expect(practitioner.appConfig.staticSyncStrategy).to.equal('Practitioner');
    expect(practitioner.tagSystems.Practitioner).to.equal('http://moh.example/author');
  });

  const bad = [
    [{ publicBase: 'not a url' }, /publicBase/],
    [{ publicBase: 'https://gw.example/fhir?x=1' }, /publicBase/],
    [{ issuer: 'nope' }, /issuer/],
    [{ audiences: [] }, /audience/],
    [{ algorithms: ['HS256'] }, /HS256/],
    [{ roleSources: ['a..b'] }, /roleSources/],
    [{ clientRoles: [] }, /clientRoles/],
    [{ filteredClientRole: 'MOBILE' }, /filteredClientRole/],
    [{ assignmentSource: 'ldap' }, /assignmentSource/],
    [{ staticSyncStrategy: 'Village' }, /staticSyncStrategy/],
    [{ tagSystems: { Village: 'http://x' } }, /tagSystems/],
    [{ tagSystems: { Location: 'no url' } }, /tagSystems\.Location/],
    [{ allowedQueries: { entries: [{ path: '', allowUnauthenticatedRequests: true }] } }, /allowedQueries/],
    [{ allowedQueries: { entriesTT: [] } }, /allowedQueries/],
    [{ syncFilterIgnore: { entries: [{ methodType: 'GET' }] } }, /syncFilterIgnore/],
    [{ allowedOperations: ['$ev il'] }, /allowedOperations/],
    [{ allowedSearchParams: [''] }, /allowedSearchParams/],
    [{ writeTags: 'maybe' }, /writeTags/],
    [{ cacheTtlSec: -1 }, /cacheTtlSec/],
    [{ backendAliases: ['ftp://x'] }, /backendAliases/],
    [{ pagingSecret: '' }, /pagingSecret/],
  ];
  for (const [overrides, message] of bad) {
    it(`refuses ${JSON.stringify(overrides)} naming the setting`, async () => {
      const raw = await rawSettings(overrides);
      expect(() => gatewaySettings(raw)).to.throw(Error, message);
    });
  }
});

/** An entry's response status code; a create by update counts as 200 (the sandbox's answer; HAPI answers 201). */
const statusCode = (entry) => entry.response.status.split(' ')[0].replace(/^201$/, '200');

onEachBackend('gateway pipeline', function (backend) {
  this.timeout(30000);
  const FHIR = () => backend.base();
  const backendBase = () => FHIR().replace(/\/$/, '');
  const makeGateway = (overrides) => makeGatewayOn(backend, overrides);
  const { put, logged } = backend;
  let seed;
  const gw = useGatewayOn(backend, {
    prepare: (module) => (seed = module),
    overrides: {
      allowedQueries: {
        entries: [
          // App bootstrapping without a token, as the OpenSRP list has it (but GET only and exact params).
          { path: 'Composition', requestType: 'GET', queryParams: { identifier: 'ANY_VALUE' }, allowUnauthenticatedRequests: true },
          // Authenticated, marked unfiltered: a lookup by id that skips the `_tag` mutation (answers are still filtered).
          { path: 'Patient', requestType: 'GET', queryParams: { _id: 'ANY_VALUE' }, allParamsRequired: true, unfiltered: true },
          // Authenticated, not marked: filtered users' matches are restricted like any other request.
          { path: 'Observation', requestType: 'GET', queryParams: { _summary: 'ANY_VALUE' }, allowExtraParams: true },
          { path: 'Binary/ANY_VALUE', requestType: 'GET' },
        ],
      },
    },
  });

  describe('discovery without a token (decision step 0)', () => {
    it('serves the backend CapabilityStatement, secured and at the gateway base', async () => {
      const res = await call(gw.gateway, undefined, 'GET', 'metadata');
      expect(res.status).to.equal(200);
      expect(res.json.resourceType).to.equal('CapabilityStatement');
      expect(res.json.rest[0].security.cors).to.equal(true);
      expect(res.json.rest[0].security.service[0].coding).to.deep.include({
        system: RESTFUL_SECURITY_SERVICE,
        code: 'OAuth',
        display: 'OAuth',
      });
      expect(res.text).not.to.include(backendBase());
      // The backend's own URL (HAPI's has no trailing slash) at the gateway base.
      expect(res.json.implementation.url.replace(/\/$/, '')).to.equal(PUBLIC);
      expect(res.info).to.include({ decision: 'allow', reason: 'metadata' });
    });

    it("declares SMART on FHIR in the CapabilityStatement, with the issuer's OAuth endpoints", async () => {
      const { security } = (await call(gw.gateway, undefined, 'GET', 'metadata')).json.rest[0];
      const direct = await (await fetch(`${backend.issuer()}/.well-known/openid-configuration`)).json();
      expect(security.service.flatMap((s) => s.coding.map((c) => c.code))).to.include.members(['OAuth', 'SMART-on-FHIR']);
      const uris = security.extension.find((e) => e.url === 'http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris');
      expect(uris.extension).to.deep.include({ url: 'authorize', valueUri: direct.authorization_endpoint });
      expect(uris.extension).to.deep.include({ url: 'token', valueUri: direct.token_endpoint });
    });

    it("serves a SMART configuration built from the issuer's discovery and what the gateway offers", async () => {
      const scoped = await makeGateway({ smartScopes: ['fhir', 'launch/patient'] });
      try {
        const res = await call(scoped.gateway, undefined, 'GET', '.well-known/smart-configuration');
        const direct = await (await fetch(`${backend.issuer()}/.well-known/openid-configuration`)).json();
        expect(res.status).to.equal(200);
        expect(res.headers['content-type']).to.equal('application/json');
        for (const name of ['issuer', 'jwks_uri', 'authorization_endpoint', 'token_endpoint'])
          expect(res.json[name], name).to.equal(direct[name]);
        expect(res.json.grant_types_supported).to.deep.equal(direct.grant_types_supported);
        expect(res.json.scopes_supported).to.include.members([...direct.scopes_supported, 'fhir', 'launch/patient']);
        expect(res.json.code_challenge_methods_supported).to.include('S256').and.not.to.include('plain');
        expect(res.json.capabilities).to.include.members(['launch-standalone', 'client-public', 'client-confidential-symmetric']);
        if (direct.token_endpoint_auth_methods_supported.includes('private_key_jwt')) {
          expect(res.json.capabilities).to.include('client-confidential-asymmetric');
        }
      } finally {
        scoped.close();
      }
    });
  });

  describe('token (decision step 2)', () => {
    it('401 with the Bearer challenge for a missing, malformed or forged token', async () => {
      expectDenial(await call(gw.gateway, undefined, 'GET', 'Patient'), 401, 'login');
      const token = await tokenOf('webby', backend.issuer());
      for (const authorization of [token, `BearerTTT ${token}`, 'Bearer TTT', `Bearer ${token.slice(0, -4)}AAAA`]) {
        expectDenial(await call(gw.gateway, undefined, 'GET', 'Patient', { headers: { authorization } }), 401, 'login');
      }
    });

    it('401 for a token of another audience', async () => {
      const other = await makeGateway({ audiences: ['https://other.example.org/fhir'] });
      try {
        expectDenial(await call(other.gateway, 'webby', 'GET', 'Patient'), 401, 'login');
      } finally {
        other.close();
      }
    });

    it('401 for a transaction POSTed to the base without a token (§5.6)', async () => {
      const bundle = { resourceType: 'Bundle', type: 'transaction', entry: [] };
      const { result, log } = await logged(() => call(gw.gateway, undefined, 'POST', '', { body: JSON.stringify(bundle) }));
      expectDenial(result, 401, 'login');
      expect(log).to.deep.equal([]);
    });
  });

  describe('decision order', () => {
    it('checks roles before any backend lookup', async () => {
      // carol is filtered (app config and assignment lookups would follow), but has no role for Organization.
      const { result, log } = await logged(() => call(gw.gateway, 'carol', 'GET', 'Organization'));
      expectDenial(result, 403, 'forbidden');
      expect(result.info).to.include({ decision: 'deny', clientRole: 'ANDROID_CLIENT' });
      expect(log).to.deep.equal([]);
    });

    it('checks every transaction entry before any backend lookup, and refuses the transaction whole', async () => {
      const bundle = {
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [{ request: { method: 'GET', url: 'Patient' } }, { request: { method: 'GET', url: 'Organization' } }],
      };
      const { result, log } = await logged(() => call(gw.gateway, 'carol', 'POST', '', { body: bundle }));
      expectDenial(result, 403, 'forbidden');
      expect(result.json.issue[0].diagnostics).to.include('Bundle entry 1');
      expect(log).to.deep.equal([]);
    });

    it('answers a denied batch entry in its place and sends the others', async () => {
      const bundle = {
        resourceType: 'Bundle',
        type: 'batch',
        entry: [{ request: { method: 'GET', url: 'Organization' } }, { request: { method: 'GET', url: 'Patient' } }],
      };
      const { result, log } = await logged(() => call(gw.gateway, 'carol', 'POST', '', { body: bundle }));
      expect(result.status).to.equal(200);
      expect(result.json.type).to.equal('batch-response');
      const [denied, answered] = result.json.entry;
      expect(denied.response.status).to.equal('403 Forbidden');
      expect(denied.response.outcome.issue[0]).to.include({
        code: 'forbidden',
        diagnostics: 'Bundle entry 0: GET Organization requires GET_ORGANIZATION or MANAGE_ORGANIZATION',
      });
      expect(answered.resource.resourceType).to.equal('Bundle');
      const sent = log.find((r) => r.method === 'POST' && r.url === '');
      expect(sent.entries).to.equal(1);
      // Every entry denied: answered without the backend.
      const none = { ...bundle, entry: [bundle.entry[0], bundle.entry[0]] };
      const { result: all, log: quiet } = await logged(() => call(gw.gateway, 'carol', 'POST', '', { body: none }));
      expect(all.json.entry.map((e) => e.response.status)).to.deep.equal(['403 Forbidden', '403 Forbidden']);
      expect(quiet.filter((r) => r.url === '')).to.deep.equal([]);
    });

    it('403, not 500, for both client roles or none (§5.5, §5.6)', async () => {
      for (const user of ['twoclients', 'noclient']) {
        const { result, log } = await logged(() => call(gw.gateway, user, 'GET', 'Patient'));
        expectDenial(result, 403, 'forbidden');
        expect(result.json.issue[0].diagnostics).to.equal('exactly one of ANDROID_CLIENT, WEB_CLIENT required');
        expect(log).to.deep.equal([]);
      }
    });

    it('403, not 500, when the role claim is missing from the token (§5.6)', async () => {
      const clientRolesOnly = await makeGateway({ roleSources: ['resource_access.fhir-gateway.roles'] });
      try {
        expectDenial(await call(clientRolesOnly.gateway, 'carol', 'GET', 'Patient'), 403, 'forbidden');
      } finally {
        clientRolesOnly.close();
      }
    });

    it('403 for an empty assignment, after the lookups', async () => {
      for (const user of ['unassigned', 'stranger']) {
        const res = await call(gw.gateway, user, 'GET', 'Patient');
        expectDenial(res, 403, 'forbidden');
        expect(res.json.issue[0].diagnostics).to.equal('no assignment for sync strategy Location');
        expect(res.info).to.include({ appId: 'sandbox-app', strategy: 'Location' });
      }
    });

    it('does not filter the unfiltered client role (WEB_CLIENT)', async () => {
      const { result, log } = await logged(() => call(gw.gateway, 'webby', 'GET', 'Patient'));
      expect(result.status).to.equal(200);
      expect(idsOf(result.json)).to.include.members(['patient-L1a', 'patient-L9', 'patient-untagged']);
      expect(result.info).to.include({ decision: 'allow', clientRole: 'WEB_CLIENT', reason: 'client role WEB_CLIENT is not filtered' });
      expect(result.info).not.to.have.property('mutation');
      expect(log).to.deep.equal([{ method: 'GET', url: 'Patient' }]);
    });

    it('reports the decision in the audit record', async () => {
      const res = await call(gw.gateway, 'carol', 'GET', 'Patient', { query: { family: ['x'] } });
      const carol = seed.resources.find((r) => r.id === 'practitioner-carol').identifier[0].value;
      expect(res.audit).to.include({ sub: carol, clientId: 'mobile-app', method: 'GET', path: 'Patient', query: 'family=x' });
      expect(res.audit).to.include({ decision: 'allow', reason: 'search restricted by _tag', status: 200 });
      expect(Date.parse(res.audit.time)).to.be.a('number').and.not.NaN;
      const denied = await call(gw.gateway, undefined, 'GET', 'Patient');
      expect(denied.audit).to.include({ decision: 'deny', status: 401, method: 'GET', path: 'Patient', query: '' });
      expect(denied.audit).not.to.have.property('sub');
    });
  });

  describe('proxying (§5.3)', () => {
    it('relays a granted read byte for byte', async () => {
      const direct = await (await fetch(`${FHIR()}Patient/patient-L1a`)).text();
      const res = await call(gw.gateway, 'webby', 'GET', 'Patient/patient-L1a');
      expect(res.status).to.equal(200);
      expect(res.text).to.equal(direct);
      expect(res.headers['content-type']).to.match(/^application\/fhir\+json(;charset=UTF-8)?$/);
      expect(res.headers.etag).to.match(/^W\/"/);
    });

    it('rewrites every backend URL of a searchset to the gateway base', async () => {
      const res = await call(gw.gateway, 'webby', 'GET', 'Patient', { query: { _count: ['2'] } });
      expect(res.text).not.to.include(backendBase());
      expect(res.json.entry.every((e) => e.fullUrl.startsWith(`${PUBLIC}/Patient/`))).to.equal(true);
      expect(res.json.link.find((l) => l.relation === 'self').url).to.equal(`${PUBLIC}/Patient?_count=2`);
      // The sandbox pages by search parameters, HAPI by `_getpages` at its base.
      expect(res.json.link.find((l) => l.relation === 'next').url).to.match(new RegExp(`^${PUBLIC}(/Patient)?\\?.*_gw=`));
    });

    it('relays backend errors with their status and OperationOutcome', async () => {
      const res = await call(gw.gateway, 'webby', 'GET', 'Patient/does-not-exist');
      expect(res.status).to.equal(404);
      expect(res.json.resourceType).to.equal('OperationOutcome');
      expect(res.info.decision).to.equal('allow');
    });

    it('403 OperationOutcome when the roles do not allow the request', async () => {
      const res = await call(gw.gateway, 'webby', 'DELETE', 'Observation/observation-L1a');
      expectDenial(res, 403, 'forbidden');
      expect(res.json.issue[0].diagnostics).to.equal('DELETE Observation requires DELETE_OBSERVATION or MANAGE_OBSERVATION');
    });

    it('rewrites the Location of a create to the gateway base (§5.6)', async () => {
      const body = JSON.stringify({ resourceType: 'Patient', name: [{ family: 'Created by webby' }] });
      const res = await call(gw.gateway, 'webby', 'POST', 'Patient', { headers: { 'content-type': 'application/fhir+json' }, body });
      expect(res.status).to.equal(201);
      expect(res.headers.location).to.match(new RegExp(`^${PUBLIC}/Patient/${res.json.id}/_history/`));
    });

    for (const acceptEncoding of ['gzip', 'GZIP', 'gzip, deflate, br']) {
      it(`gzips the answer for Accept-Encoding: ${acceptEncoding}`, async () => {
        const res = await call(gw.gateway, 'webby', 'GET', 'Patient', { headers: { 'accept-encoding': acceptEncoding } });
        expect(res.headers['content-encoding']).to.equal('gzip');
        expect(res.raw[0]).to.equal(0x1f);
        expect(res.json.resourceType).to.equal('Bundle');
      });
    }

    it('gzips denials too, and nothing for clients that do not ask', async () => {
      const denied = await call(gw.gateway, undefined, 'GET', 'Patient', { headers: { 'accept-encoding': 'gzip' } });
      expect(denied.headers['content-encoding']).to.equal('gzip');
      expectDenial(denied, 401, 'login');
      const plain = await call(gw.gateway, 'webby', 'GET', 'Patient', { headers: { 'accept-encoding': 'identity' } });
      expect(plain.headers).not.to.have.property('content-encoding');
    });

    it('answers HEAD as the GET it stands for (the HTTP server drops the body)', async () => {
      const res = await call(gw.gateway, 'carol', 'HEAD', 'Patient/patient-L1a');
      expect(res.status).to.equal(200);
      expect(res.json.id).to.equal('patient-L1a');
      expectDenial(await call(gw.gateway, 'carol', 'HEAD', 'Patient/patient-L9'), 403, 'forbidden');
    });

    it('400 for paths outside the FHIR REST shapes and unparsable JSON bodies', async () => {
      expectDenial(await call(gw.gateway, 'webby', 'GET', 'Patient/..'), 400, 'invalid');
      expectDenial(await call(gw.gateway, 'webby', 'GET', 'Patient/a/b/c/d/e'), 400, 'invalid');
      const res = await call(gw.gateway, 'webby', 'POST', 'Patient', {
        headers: { 'content-type': 'application/fhir+json' },
        body: '{"resourceType":',
      });
      expectDenial(res, 400, 'invalid');
    });
  });

  describe('Permissions Checker through the pipeline (§5.4)', () => {
    const put = (id) => ({
      resource: { resourceType: 'Patient', id, name: [{ family: id }] },
      request: { method: 'PUT', url: `Patient/${id}` },
    });

    it('allows a transaction of PUT Patient with MANAGE_PATIENT', async () => {
      const bundle = { resourceType: 'Bundle', type: 'transaction', entry: [put('tx-webby-1'), put('tx-webby-2')] };
      const res = await call(gw.gateway, 'webby', 'POST', '', {
        body: JSON.stringify(bundle),
        headers: { 'content-type': 'application/fhir+json' },
      });
      expect(res.status).to.equal(200);
      expect(res.json.type).to.equal('transaction-response');
      expect(res.json.entry.map(statusCode)).to.deep.equal(['200', '200']);
      expect((await call(gw.gateway, 'webby', 'GET', 'Patient/tx-webby-2')).status).to.equal(200);
    });

    it('refuses a Bundle when one entry lacks its role, and a Bundle of another type', async () => {
      const observation = {
        resource: { resourceType: 'Observation', id: 'obs-webby', status: 'final', code: { text: 'x' } },
        request: { method: 'PUT', url: 'Observation/obs-webby' },
      };
      const bundle = { resourceType: 'Bundle', type: 'transaction', entry: [put('batch-webby'), observation] };
      expectDenial(await call(gw.gateway, 'webby', 'POST', '', { body: bundle }), 403, 'forbidden');
      const batch = await call(gw.gateway, 'webby', 'POST', '', { body: { ...bundle, type: 'batch' } });
      expect(batch.json.entry.map(statusCode)).to.deep.equal(['200', '403']);
      expectDenial(await call(gw.gateway, 'webby', 'POST', '', { body: { ...bundle, type: 'collection' } }), 400, 'invalid');
      expectDenial(await call(gw.gateway, 'webby', 'POST', '', { body: { resourceType: 'Patient' } }), 400, 'invalid');
    });

    it('allows PATCH with PATCH_<TYPE>', async () => {
      const body = JSON.stringify([{ op: 'add', path: '/active', value: true }]);
      const res = await call(gw.gateway, 'carol', 'PATCH', 'Patient/patient-L1b', {
        headers: { 'content-type': 'application/json-patch+json' },
        body,
      });
      expect(res.status).to.equal(200);
      expect(res.json.active).to.equal(true);
    });
  });

  describe('allowed queries', () => {
    it('serves an unauthenticated entry without a token, and nothing else (§5.2)', async () => {
      const res = await call(gw.gateway, undefined, 'GET', 'Composition', { query: { identifier: ['sandbox-app'] } });
      expect(res.status).to.equal(200);
      expect(idsOf(res.json)).to.deep.equal(['composition-sandbox-app']);
      expect(res.info).to.include({ decision: 'allow', reason: 'allowed query without token' });
      expectDenial(await call(gw.gateway, undefined, 'GET', 'Composition', { query: { title: ['x'] } }), 401, 'login');
      expectDenial(await call(gw.gateway, undefined, 'GET', 'Patient'), 401, 'login');
      expectDenial(await call(gw.gateway, undefined, 'POST', 'Composition', { body: { resourceType: 'Composition' } }), 401, 'login');
    });

    it("restricts a filtered user's match of an entry not marked unfiltered: counts and chains as for any search", async () => {
      const count = await call(gw.gateway, 'carol', 'GET', 'Observation', { query: { _summary: ['count'] } });
      expect(count.status).to.equal(200);
      expect(count.info.reason).to.equal('search restricted by _tag');
      const visible = await call(gw.gateway, 'carol', 'GET', 'Observation');
      expect(count.json.total).to.equal(visible.json.entry.length);
      const all = await call(gw.gateway, 'webby', 'GET', 'Observation', { query: { _summary: ['count'] } });
      expect(all.json.total).to.be.above(count.json.total);
      const chain = await call(gw.gateway, 'carol', 'GET', 'Observation', { query: { _summary: ['count'], 'subject.name': ['x'] } });
      expectDenial(chain, 400, 'invalid');
    });

    it('skips the _tag mutation of an entry marked unfiltered but still filters the answer of a filtered user (#11)', async () => {
      const query = { _id: ['patient-L1a,patient-L9,patient-L2a'] };
      const { result, log } = await logged(() => call(gw.gateway, 'carol', 'GET', 'Patient', { query }));
      expect(result.status).to.equal(200);
      expect(idsOf(result.json)).to.deep.equal(['patient-L1a']);
      expect(result.info).to.include({ reason: 'allowed query marked unfiltered, answer filtered by assignment' });
      expect(result.info).not.to.have.property('mutation');
      expect(log.filter((r) => r.url.startsWith('Patient?'))).to.deep.equal([
        { method: 'GET', url: 'Patient?_id=patient-L1a%2Cpatient-L9%2Cpatient-L2a' },
      ]);
      // Untagged and another app's, so outside every assignment although allow-listed.
      expectDenial(await call(gw.gateway, 'carol', 'GET', 'Binary/sandbox-app-org-config'), 403, 'forbidden');
    });

    it('lets an authenticated entry through unfiltered for the unfiltered client role', async () => {
      const res = await call(gw.gateway, 'webby', 'GET', 'Patient', { query: { _id: ['patient-L1a,patient-L9'] } });
      expect(idsOf(res.json)).to.have.members(['patient-L1a', 'patient-L9']);
      expect(res.info.reason).to.equal('allowed query');
    });
  });

  describe("AuditEvents (the reference's step 11)", () => {
    it("writes one per request of a configured action, the token's user as agent; none for other actions", async () => {
      const { users } = await import('../peers/realm.mjs');
      const audited = await makeGateway({ auditEventActions: ['R', 'C'] });
      const mark = `audit-${Date.now()}`;
      try {
        await put({ resourceType: 'Patient', id: mark });
        expect((await call(audited.gateway, 'webby', 'GET', `Patient/${mark}`)).status).to.equal(200);
        await call(audited.gateway, 'webby', 'GET', 'Patient', { query: { _count: ['1'], family: [mark] } });
        await call(audited.gateway, undefined, 'GET', 'Patient', { query: { family: [mark] } });
        const all = await (await fetch(`${FHIR()}AuditEvent?_count=1000`)).json();
        const events = (all.entry ?? []).map((e) => e.resource).filter((e) => e.entity?.[0]?.what?.display?.includes(mark));
        expect(events).to.have.length(1);
        const [event] = events;
        expect(event).to.include({ action: 'R', outcome: '0' });
        expect(event.type.code).to.equal('rest');
        expect(event.subtype[0].code).to.equal('read');
        expect(event.agent[0].who.identifier.value).to.equal(users.find((u) => u.username === 'webby').sub);
        expect(event.entity[0].what.reference).to.equal(`Patient/${mark}`);
      } finally {
        audited.close();
      }
    });

    it('refuses actions that are not C, R, U, D or E', async () => {
      const raw = await rawSettings({ auditEventActions: ['X'] });
      expect(() => gatewaySettings(raw)).to.throw(/auditEventActions: 'X' is none of C, R, U, D, E/);
    });
  });

  // After every test of this file, nested ones included (a plain test here would run before them).
  after(() => expect(answered.filter((a) => a.status >= 500)).to.deep.equal([]));
});
