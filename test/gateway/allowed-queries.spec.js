'use strict';
// Allowed queries: the reference's matching (AllowedQueriesCheckerTest cases) and the project's refusal of
// unauthenticated entries that would open the server.
const { expect } = require('chai');
const { allowedQueriesConfig, allowedQueriesWarnings, matchAllowedQuery } = require('../../nodes/lib/gateway/auth/allowed-queries.js');
const { parseQuery } = require('../../nodes/lib/gateway/http/request.js');

const request = (method, path, search = '') => ({ method, path, query: parseQuery(search), headers: {} });
const list = (...entries) => allowedQueriesConfig({ entries });
const allows = (config, req, authenticated = true) => matchAllowedQuery(config, req, authenticated) !== undefined;

describe('gateway allowed queries', () => {
  describe('matching', () => {
    const getpages = (extra) =>
      list({ path: '', queryParams: { _getpages: 'ANY_VALUE' }, allowExtraParams: extra, allParamsRequired: true });

    it('matches _getpages with any value(s) and extra params when allowed', () => {
      const config = getpages(true);
      expect(allows(config, request('GET', '', '_getpages=X'))).to.equal(true);
      expect(allows(config, request('GET', '', '_getpages=X,Y'))).to.equal(true);
      expect(allows(config, request('GET', '', '_getpages=X&_getpages=Y'))).to.equal(true);
      expect(allows(config, request('GET', '', '_getpages=X&another_param=S'))).to.equal(true);
    });

    it('refuses extra params unless allowed, and a missing required param', () => {
      expect(allows(getpages(false), request('GET', '', '_getpages=X&another_param=S'))).to.equal(false);
      expect(allows(getpages(false), request('GET', '', '_getpages=X'))).to.equal(true);
      expect(allows(getpages(true), request('GET', '', 'another_param=S'))).to.equal(false);
    });

    it('matches a configured param absent from the request unless all are required', () => {
      const config = list({ path: '', queryParams: { _getpages: 'ANY_VALUE' }, allowExtraParams: true });
      expect(allows(config, request('GET', '', 'another_param=S'))).to.equal(true);
      expect(allows(config, request('GET', ''))).to.equal(true);
    });

    it('compares paths exactly, relative to the FHIR base', () => {
      expect(allows(getpages(true), request('GET', '/Observation', '_getpages=X'))).to.equal(false);
      expect(allows(getpages(true), request('GET', 'Observation', '_getpages=X'))).to.equal(false);
      const observation = list({ path: 'Observation', queryParams: {} });
      expect(allows(observation, request('GET', 'Observation'))).to.equal(true);
      expect(allows(observation, request('GET', 'Observation/1'))).to.equal(false);
      expect(allows(observation, request('GET', 'Observation', 'code=x'))).to.equal(false);
    });

    it('matches a concrete param value only as the single value', () => {
      const config = list({ path: 'Composition', queryParams: { identifier: 'app' } });
      expect(allows(config, request('GET', 'Composition', 'identifier=app'))).to.equal(true);
      expect(allows(config, request('GET', 'Composition', 'identifier=other'))).to.equal(false);
      expect(allows(config, request('GET', 'Composition', 'identifier=app&identifier=app'))).to.equal(false);
    });

    it('matches X/ANY_VALUE for X and everything below it', () => {
      const config = list({ path: 'Composition/ANY_VALUE' });
      for (const path of ['Composition', 'Composition/233', 'Composition/1/_history/2']) {
        expect(allows(config, request('GET', path)), path).to.equal(true);
      }
      expect(allows(config, request('GET', 'CompositionX'))).to.equal(false);
      expect(allows(config, request('GET', 'Patient/233'))).to.equal(false);
    });

    it('compares requestType case-insensitively; without one any method matches', () => {
      const config = list({ path: 'Encounter', requestType: 'Get' });
      expect(allows(config, request('GET', 'Encounter'))).to.equal(true);
      expect(allows(config, request('get', 'Encounter'))).to.equal(true);
      expect(allows(config, request('POST', 'Encounter'))).to.equal(false);
      const any = list({ path: 'Encounter' });
      expect(allows(any, request('POST', 'Encounter'))).to.equal(true);
      expect(allows(any, request('DELETE', 'Encounter'))).to.equal(true);
    });

    it('without a token, matches only entries allowing unauthenticated requests', () => {
      const config = list(
        { path: 'Composition', requestType: 'GET', queryParams: { identifier: 'ANY_VALUE' }, allowUnauthenticatedRequests: true },
        { path: 'Patient', requestType: 'GET' },
      );
      expect(allows(config, request('GET', 'Composition', 'identifier=x'), false)).to.equal(true);
      expect(allows(config, request('GET', 'Patient'), false)).to.equal(false);
      expect(allows(config, request('GET', 'Patient'), true)).to.equal(true);
      expect(allows(config, request('GET', 'Composition', 'identifier=x'), true)).to.equal(true);
    });

    it('answers the matching entry', () => {
      const config = list({ path: 'Patient' }, { path: 'Observation', requestType: 'GET' });
      expect(matchAllowedQuery(config, request('GET', 'Observation'), true)).to.include({ path: 'Observation', requestType: 'GET' });
      expect(matchAllowedQuery(list(), request('GET', 'Observation'), true)).to.equal(undefined);
    });
  });

  describe('configuration', () => {
    it('warns of entries marked unfiltered, and of no others', () => {
      const list = allowedQueriesConfig({ entries: [{ path: 'Observation' }, { path: 'Patient', unfiltered: true }] });
      expect(allowedQueriesWarnings(list)).to.deep.equal([
        "allowed queries: entry 1 ('Patient') is unfiltered: filtered users' matching searches are not restricted to their assignment",
      ]);
      expect(() => allowedQueriesConfig({ entries: [{ path: 'Patient', unfiltered: 'yes' }] })).to.throw(
        /unfiltered must be true or false/,
      );
    });

    it('fills the flags and upper-cases requestType', () => {
      expect(allowedQueriesConfig({ entries: [{ path: 'Encounter', requestType: 'get' }] })).to.deep.equal({
        entries: [
          {
            path: 'Encounter',
            requestType: 'GET',
            queryParams: {},
            allowExtraParams: false,
            allParamsRequired: false,
            allowUnauthenticatedRequests: false,
            unfiltered: false,
          },
        ],
        unsafeAllowList: false,
      });
    });

    it('refuses a missing path, unknown keys and bad values, naming the entry', () => {
      expect(() => allowedQueriesConfig({ entries: [{ path: 'Patient' }, { queryParams: {} }] })).to.throw(/entry 1: path is required/);
      expect(() => allowedQueriesConfig({ entriesTT: [] })).to.throw(/unknown key 'entriesTT'/);
      expect(() => allowedQueriesConfig({})).to.throw(/entries/);
      expect(() => allowedQueriesConfig(null)).to.throw(/entries/);
      expect(() => list({ path: 'Patient', methodType: 'GET' })).to.throw(/entry 0: unknown key 'methodType'/);
      expect(() => list({ path: '/Patient' })).to.throw(/entry 0: .*leading/);
      expect(() => list({ path: 'Patient', requestType: 'FETCH' })).to.throw(/entry 0: requestType/);
      expect(() => list({ path: 'Patient', queryParams: { _id: 1 } })).to.throw(/entry 0: queryParams/);
      expect(() => list({ path: 'Patient', allowExtraParams: 'yes' })).to.throw(/entry 0: allowExtraParams/);
      expect(() => allowedQueriesConfig({ entries: [], unsafeAllowList: 'true' })).to.throw(/unsafeAllowList/);
      expect(() => allowedQueriesConfig({ entries: ['Patient'] })).to.throw(/entry 0/);
    });

    it('refuses unauthenticated entries for the root, other methods than GET, or extra params', () => {
      const unauthenticated = { allowUnauthenticatedRequests: true };
      const unsafe = [
        { path: '', requestType: 'POST', queryParams: {}, allowExtraParams: true },
        { path: '', requestType: 'GET', queryParams: { _getpages: 'ANY_VALUE' } },
        { path: 'Composition', requestType: 'POST' },
        { path: 'Composition' },
        { path: 'Composition/ANY_VALUE', requestType: 'GET', allowExtraParams: true },
      ];
      for (const entry of unsafe) {
        expect(() => list(entry, { ...entry, ...unauthenticated }), JSON.stringify(entry)).to.throw(/entry 1: .*unsafeAllowList/);
        expect(() => allowedQueriesConfig({ entries: [{ ...entry, ...unauthenticated }], unsafeAllowList: true })).not.to.throw();
      }
      expect(() =>
        list({ path: 'Composition/ANY_VALUE', requestType: 'GET', queryParams: { identifier: 'ANY_VALUE' }, ...unauthenticated }),
      ).not.to.throw();
    });

    it('with unsafeAllowList, accepts the reference list that opens root POSTs without a token', () => {
      const config = allowedQueriesConfig({
        unsafeAllowList: true,
        entries: [{ path: '', queryParams: {}, allowExtraParams: true, requestType: 'POST', allowUnauthenticatedRequests: true }],
      });
      expect(allows(config, request('POST', ''), false)).to.equal(true);
    });
  });
});
