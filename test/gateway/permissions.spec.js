'use strict';
// Permissions Checker (roles per method and type, client-role gate, Bundles entry by entry) and the request
// path parsing it relies on. The role table is the intended semantics of OpenSRP's PermissionAccessCheckerTest.
const { expect } = require('chai');
const { checkRoles, clientRoleOf, rolesConfig, rolesOf } = require('../../nodes/lib/gateway/auth/roles.js');
const { withEntries } = require('../../nodes/lib/gateway/http/bundle-entries.js');
const { parsePath, parseQuery, parseRequest, searchQuery } = require('../../nodes/lib/gateway/http/request.js');
const { GatewayDenial, operationOutcome } = require('../../nodes/lib/gateway/http/denial.js');

const config = rolesConfig();
const request = (method, path, body, search = '') => ({ method, path, query: parseQuery(search), headers: {}, ...(body && { body }) });
const token = (...roles) => ({ sub: 'u', realm_access: { roles: ['WEB_CLIENT', ...roles] }, fhir_core_app_id: 'ecbis-saa' });

function denial(fn) {
  let err;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err, 'expected a denial').to.be.instanceOf(GatewayDenial);
  return { status: err.status, code: err.code, message: err.message };
}
/** The Permissions Checker as the gateway runs it: roles, the client-role gate, then the role of the parsed request (or of each entry). */
function checkPermissions(req, claims, rolesSettings) {
  const roles = rolesOf(claims, rolesSettings.sources);
  const clientRole = clientRoleOf(roles, rolesSettings.clientRoles);
  const parsed = parseRequest(req);
  checkRoles(parsed.path === '' && parsed.method === 'POST' ? withEntries(parsed) : parsed, roles);
  return { roles, clientRole };
}
const allowed = (req, claims) => expect(checkPermissions(req, claims, config).clientRole).to.equal('WEB_CLIENT');
const forbidden = (req, claims) =>
  expect(denial(() => checkPermissions(req, claims, config))).to.include({ status: 403, code: 'forbidden' });
const invalid = (req, claims) => expect(denial(() => checkPermissions(req, claims, config))).to.include({ status: 400, code: 'invalid' });

const patient = { resourceType: 'Patient', id: 'p1' };
const bundle = (type, ...entries) => ({ resourceType: 'Bundle', type, entry: entries });
const entry = (method, url, resource) => ({ request: { method, url }, ...(resource && { resource }) });

describe('gateway permissions', () => {
  describe('role per method and type (§5.4)', () => {
    it('GET Patient with MANAGE_PATIENT or GET_PATIENT; 403 without', () => {
      allowed(request('GET', 'Patient'), token('MANAGE_PATIENT'));
      allowed(request('GET', 'Patient'), token('GET_PATIENT'));
      forbidden(request('GET', 'Patient'), token());
      forbidden(request('GET', 'Patient'), token('GET_OBSERVATION', 'POST_PATIENT'));
    });

    it('DELETE, PUT and POST Patient with their role or MANAGE_PATIENT; 403 without', () => {
      for (const [method, path] of [
        ['DELETE', 'Patient/p1'],
        ['PUT', 'Patient/p1'],
        ['POST', 'Patient'],
      ]) {
        allowed(request(method, path, method === 'DELETE' ? undefined : patient), token(`${method}_PATIENT`));
        allowed(request(method, path, patient), token('MANAGE_PATIENT'));
        forbidden(request(method, path, patient), token());
        forbidden(request(method, path, patient), token('GET_PATIENT'));
      }
    });

    it('PATCH Observation with PATCH_OBSERVATION or MANAGE_OBSERVATION', () => {
      allowed(request('PATCH', 'Observation/o1', []), token('PATCH_OBSERVATION'));
      allowed(request('PATCH', 'Observation/o1', []), token('MANAGE_OBSERVATION'));
      forbidden(request('PATCH', 'Observation/o1', []), token('PUT_OBSERVATION'));
    });

    it('reads, history, searches and operations of a type need the type role; POST _search counts as GET', () => {
      for (const path of [
        'Patient/p1',
        'Patient/p1/_history',
        'Patient/p1/_history/2',
        'Patient/_history',
        'Patient/_search',
        'Patient/$everything',
      ]) {
        allowed(request('GET', path), token('GET_PATIENT'));
        forbidden(request('GET', path), token('GET_OBSERVATION'));
      }
      allowed(request('POST', 'Patient/_search', 'name=x'), token('GET_PATIENT'));
      forbidden(request('POST', 'Patient/_search', 'name=x'), token('POST_PATIENT'));
      allowed(request('HEAD', 'Patient/p1'), token('GET_PATIENT'));
    });

    it('a compartment search needs the role for both types', () => {
      allowed(request('GET', 'Patient/p1/Observation'), token('GET_PATIENT', 'MANAGE_OBSERVATION'));
      forbidden(request('GET', 'Patient/p1/Observation'), token('GET_PATIENT'));
      forbidden(request('GET', 'Patient/p1/Observation'), token('GET_OBSERVATION'));
    });

    it('requests naming no type are forbidden; other methods are not supported', () => {
      for (const path of ['', '_history', '$export', 'metadata']) forbidden(request('GET', path), token('MANAGE_PATIENT'));
      forbidden(request('POST', '$export', {}), token('MANAGE_PATIENT'));
      expect(denial(() => checkPermissions(request('OPTIONS', 'Patient'), token('MANAGE_PATIENT'), config))).to.include({
        status: 400,
        code: 'not-supported',
      });
    });

    it('role names are case-sensitive and the type is upper-cased', () => {
      allowed(request('PUT', 'QuestionnaireResponse/q1', { resourceType: 'QuestionnaireResponse' }), token('PUT_QUESTIONNAIRERESPONSE'));
      forbidden(request('GET', 'Patient'), token('get_patient'));
      forbidden(request('GET', 'Patient'), token('GET_Patient'));
    });
  });

  describe('Bundles POSTed to the base', () => {
    it('transaction PUT Patient with MANAGE_PATIENT or PUT_PATIENT', () => {
      const body = bundle('transaction', entry('PUT', 'Patient/p1', patient));
      allowed(request('POST', '', body), token('MANAGE_PATIENT'));
      allowed(request('POST', '', body), token('PUT_PATIENT'));
      forbidden(request('POST', '', body), token('POST_PATIENT'));
    });

    it('transaction DELETE with or without a resource', () => {
      allowed(request('POST', '', bundle('transaction', entry('DELETE', 'Patient/p1', patient))), token('DELETE_PATIENT'));
      allowed(request('POST', '', bundle('transaction', entry('DELETE', 'Patient/p1'))), token('DELETE_PATIENT'));
      allowed(request('POST', '', bundle('transaction', entry('DELETE', 'Patient?identifier=x'))), token('DELETE_PATIENT'));
      forbidden(request('POST', '', bundle('transaction', entry('DELETE', 'Patient/p1'))), token('PUT_PATIENT'));
    });

    it('PUT Patient + Observation + Encounter needs the role of every type', () => {
      const body = bundle(
        'transaction',
        entry('PUT', 'Patient/p1', patient),
        entry('PUT', 'Observation/o1', { resourceType: 'Observation' }),
        entry('PUT', 'Encounter/e1', { resourceType: 'Encounter' }),
      );
      allowed(request('POST', '', body), token('PUT_PATIENT', 'PUT_OBSERVATION', 'PUT_ENCOUNTER'));
      allowed(request('POST', '', body), token('MANAGE_PATIENT', 'MANAGE_OBSERVATION', 'MANAGE_ENCOUNTER'));
      forbidden(request('POST', '', body), token('MANAGE_PATIENT', 'MANAGE_ENCOUNTER'));
    });

    it('PUT + POST Patient needs both method roles or MANAGE_PATIENT', () => {
      const body = bundle('transaction', entry('PUT', 'Patient/p1', patient), entry('POST', 'Patient', { resourceType: 'Patient' }));
      allowed(request('POST', '', body), token('MANAGE_PATIENT'));
      allowed(request('POST', '', body), token('PUT_PATIENT', 'POST_PATIENT'));
      forbidden(request('POST', '', body), token('PUT_PATIENT'));
    });

    it('batch Bundles are authorised per entry, GET and PATCH entries included', () => {
      const body = bundle(
        'batch',
        entry('GET', 'Patient?name=x'),
        entry('PATCH', 'Observation/o1', { resourceType: 'Parameters' }),
        entry('GET', 'Location/l1/_history'),
      );
      allowed(request('POST', '', body), token('GET_PATIENT', 'PATCH_OBSERVATION', 'GET_LOCATION'));
      forbidden(request('POST', '', body), token('GET_PATIENT', 'PATCH_OBSERVATION'));
      forbidden(request('POST', '', body), token('GET_PATIENT', 'GET_LOCATION', 'PUT_OBSERVATION'));
      allowed(request('POST', '', bundle('batch')), token());
    });

    it('other Bundle types, non-Bundle bodies and malformed entries are 400', () => {
      const all = token('MANAGE_PATIENT', 'MANAGE_OBSERVATION');
      for (const type of ['collection', 'searchset', 'document', 'transaction-response', undefined]) {
        invalid(request('POST', '', bundle(type, entry('PUT', 'Patient/p1', patient))), all);
      }
      for (const body of [undefined, patient, '{"resourceType":"Bundle"}', [], { resourceType: 'Bundle', type: 'batch', entry: {} }]) {
        invalid(request('POST', '', body), all);
      }
      const bad = [
        entry('PUT', 'Observation/p1', patient), // type mismatch: the URL decides, and must agree with the body
        entry('POST', 'Observation', patient),
        entry('DELETE', 'Observation/o1', patient),
        entry('PUT', 'Patient/p1'), // no resource
        entry('POST', 'Patient', 'text'),
        entry('PUT', 'Patient/..', patient), // invalid id
        entry('PUT', 'http://elsewhere.example/fhir/Patient/p1', patient),
        entry('PUT', '/Patient/p1', patient),
        entry('COPY', 'Patient/p1', patient),
        { resource: patient },
        { request: { method: 'PUT' }, resource: patient },
        entry('POST', '', bundle('transaction')), // nested Bundle
        'entry',
      ];
      for (const e of bad) invalid(request('POST', '', bundle('transaction', e)), all);
    });

    it('a GET entry without a type is forbidden like the same request alone', () => {
      forbidden(request('POST', '', bundle('batch', entry('GET', '_history'))), token('MANAGE_PATIENT'));
    });

    it('expands entries into standalone requests', () => {
      const parameters = { resourceType: 'Parameters' };
      const body = bundle(
        'batch',
        entry('GET', 'Patient?name=x&name=y&_count=5'),
        entry('PUT', 'Patient/p1', patient),
        entry('PATCH', 'Patient/p1', parameters),
        entry('DELETE', 'Patient/p1'),
      );
      const { entries } = withEntries(parseRequest(request('POST', '', body)));
      const instance = parsePath('Patient/p1');
      expect(entries).to.deep.equal([
        { method: 'GET', path: 'Patient', parsed: parsePath('Patient'), query: { name: ['x', 'y'], _count: ['5'] }, headers: {} },
        { method: 'PUT', path: 'Patient/p1', parsed: instance, query: {}, headers: {}, body: patient },
        { method: 'PATCH', path: 'Patient/p1', parsed: instance, query: {}, headers: {}, body: parameters },
        { method: 'DELETE', path: 'Patient/p1', parsed: instance, query: {}, headers: {} },
      ]);
    });
  });

  describe('roles and the client-role gate', () => {
    it('reads the union of the configured sources; client roles need resource_access.<clientId>.roles', () => {
      const claims = { realm_access: { roles: ['WEB_CLIENT'] }, resource_access: { 'fhir-gateway': { roles: ['GET_PATIENT'] } } };
      forbidden(request('GET', 'Patient'), claims);
      const both = rolesConfig({ sources: ['realm_access.roles', 'resource_access.fhir-gateway.roles'] });
      expect(checkPermissions(request('GET', 'Patient'), claims, both)).to.deep.equal({
        roles: ['WEB_CLIENT', 'GET_PATIENT'],
        clientRole: 'WEB_CLIENT',
      });
      const dotted = { resource_access: { 'org.example.app': { roles: ['x'] } } };
      expect(rolesOf(dotted, ['resource_access.org.example.app.roles'])).to.deep.equal(['x']);
    });

    it('missing or malformed role claims give no roles, never a throw', () => {
      const sources = ['realm_access.roles', 'resource_access.fhir-gateway.roles'];
      for (const claims of [
        {},
        { realm_access: null },
        { realm_access: { roles: 'WEB_CLIENT' } },
        { resource_access: [] },
        { realm_access: { roles: [1, null] } },
      ]) {
        expect(rolesOf(claims, sources), JSON.stringify(claims)).to.deep.equal([]);
      }
      const denied = denial(() => checkPermissions(request('GET', 'Patient'), { sub: 'u' }, config));
      expect(denied).to.include({ status: 403, code: 'forbidden', message: 'exactly one of ANDROID_CLIENT, WEB_CLIENT required' });
    });

    it('needs exactly one client role, before the request role is looked at', () => {
      const roles = (...r) => ({ realm_access: { roles: r } });
      expect(denial(() => checkPermissions(request('GET', 'Patient'), roles('GET_PATIENT'), config)).message).to.match(/exactly one/);
      expect(
        denial(() => checkPermissions(request('GET', 'Patient'), roles('ANDROID_CLIENT', 'WEB_CLIENT', 'GET_PATIENT'), config)).message,
      ).to.match(/exactly one/);
      expect(denial(() => checkPermissions(request('GET', 'Patient/..'), roles(), config)).message).to.match(/exactly one/);
      expect(checkPermissions(request('GET', 'Patient'), roles('ANDROID_CLIENT', 'GET_PATIENT'), config).clientRole).to.equal(
        'ANDROID_CLIENT',
      );
      expect(clientRoleOf(['B', 'x'], ['A', 'B'])).to.equal('B');
    });

    it('refuses bad settings', () => {
      expect(rolesConfig()).to.deep.equal({ sources: ['realm_access.roles'], clientRoles: ['ANDROID_CLIENT', 'WEB_CLIENT'] });
      expect(() => rolesConfig({ sources: [] })).to.throw(/sources/);
      expect(() => rolesConfig({ sources: ['realm_access..roles'] })).to.throw(/claim path/);
      expect(() => rolesConfig({ clientRoles: 'WEB_CLIENT' })).to.throw(/clientRoles/);
    });

    it('works on the claims of a real token: the sandbox service account has no client role', async () => {
      const oidc = await import('openid-client');
      const cfg = await oidc.discovery(
        new URL(process.env.OIDC_ISSUER),
        'geo-exporter',
        undefined,
        oidc.ClientSecretBasic('geo-exporter-secret'),
        {
          execute: [oidc.allowInsecureRequests],
        },
      );
      const { access_token } = await oidc.clientCredentialsGrant(cfg, { scope: 'fhir' });
      const claims = JSON.parse(Buffer.from(access_token.split('.')[1], 'base64url').toString());
      expect(denial(() => checkPermissions(request('GET', 'Location'), claims, config))).to.include({ status: 403, code: 'forbidden' });
      const gate = rolesConfig({ sources: ['realm_access.roles', 'resource_access.geo-exporter.roles'], clientRoles: ['uma_protection'] });
      expect(checkPermissions(request('PUT', 'Location/l1', { resourceType: 'Location' }), claims, gate).clientRole).to.equal(
        'uma_protection',
      );
      expect(() => checkRoles(parseRequest(request('GET', 'Patient')), rolesOf(claims, gate.sources))).to.throw(GatewayDenial);
    });
  });

  describe('request paths', () => {
    it('parses the FHIR REST shapes', () => {
      const cases = {
        '': {},
        metadata: { endpoint: 'metadata' },
        '.well-known/smart-configuration': { endpoint: 'smart-configuration' },
        _history: { history: true },
        $export: { operation: '$export' },
        Patient: { type: 'Patient' },
        'Patient/': { type: 'Patient' },
        'Patient/_search': { type: 'Patient', search: true },
        'Patient/_history': { type: 'Patient', history: true },
        'Patient/$everything': { type: 'Patient', operation: '$everything' },
        'Patient/A-1.2': { type: 'Patient', id: 'A-1.2' },
        'Patient/p1/_history': { type: 'Patient', id: 'p1', history: true },
        'Patient/p1/_history/3': { type: 'Patient', id: 'p1', history: true, versionId: '3' },
        'Patient/p1/Observation': { type: 'Patient', id: 'p1', compartmentType: 'Observation' },
        'Patient/p1/$everything': { type: 'Patient', id: 'p1', operation: '$everything' },
      };
      for (const [path, expected] of Object.entries(cases)) {
        expect(parsePath(path), path).to.deep.equal({ history: false, search: false, ...expected });
      }
    });

    it('refuses malformed ids and paths with 400', () => {
      const bad = [
        '/Patient',
        'patient',
        'Patient/..',
        'Patient/.',
        'Patient/../Observation',
        'Patient/a b',
        'Patient/a_b',
        `Patient/${'x'.repeat(65)}`,
        'Patient//1',
        'Patient/p1/_history/..',
        'Patient/p1/_history/2/x',
        'Patient/p1/Observation/o1',
        'Patient/_search/x',
        'Patient/p1/observation',
        'Patient/$',
        '_search',
        'Patient?x=1',
      ];
      for (const path of bad)
        expect(
          denial(() => parsePath(path)),
          path,
        ).to.include({ status: 400, code: 'invalid' });
      expect(parsePath(`Patient/${'x'.repeat(64)}`).id).to.have.lengthOf(64);
    });

    it('merges a search form body after the URL parameters', () => {
      const query = parseQuery('_count=5&name=a');
      expect(searchQuery(query, 'name=b&code=x%7Cy&_tag=s%7C1,s%7C2')).to.deep.equal({
        _count: ['5'],
        name: ['a', 'b'],
        code: ['x|y'],
        _tag: ['s|1,s|2'],
      });
      expect(searchQuery(query, { name: ['b', 'c'], code: 'x' })).to.deep.equal({ _count: ['5'], name: ['a', 'b', 'c'], code: ['x'] });
      expect(searchQuery(query, undefined)).to.deep.equal(query);
      expect(query.name).to.deep.equal(['a']);
      for (const body of [{ name: { nested: 'x' } }, 42, Buffer.from('name=x')]) {
        expect(denial(() => searchQuery(query, body))).to.include({ status: 400, code: 'invalid' });
      }
    });

    it('renders denials as OperationOutcome', () => {
      expect(operationOutcome('forbidden', 'why')).to.deep.equal({
        resourceType: 'OperationOutcome',
        issue: [{ severity: 'error', code: 'forbidden', diagnostics: 'why' }],
      });
    });
  });
});
