'use strict';
// Data Access Checker and Data Requesting building blocks: the `_tag` restriction per sync strategy, tag checks
// of resources read and written, refused search parameters, the sync-filter ignore list, and the app-config
// lookup (Composition → Binary) against the seeded sandbox FHIR server.
const { expect } = require('chai');
const { denial } = require('../support/gateway');
const tags = require('../../nodes/lib/gateway/assignment/tags.js');
const { checkSearchSafety } = require('../../nodes/lib/gateway/access/search-safety.js');
const { skipsDataFiltering, parseSyncFilterIgnore, DEFAULT_SYNC_FILTER_IGNORE } = require('../../nodes/lib/gateway/access/sync-ignore.js');
const { AppConfigResolver } = require('../../nodes/lib/gateway/assignment/app-config.js');
const { GatewayDenial } = require('../../nodes/lib/gateway/http/denial.js');
const { control } = require('../support/peers');

const base = () => process.env.FHIR_BASE;
const { DEFAULT_TAG_SYSTEMS: SYS, tagParam, withinAssignment, writeTagsAllowed, withAssignmentTags } = tags;

const tagged = (...pairs) => ({ resourceType: 'Patient', meta: { tag: pairs.map(([system, code]) => ({ system, code })) } });

function denialOf(fn) {
  try {
    fn();
  } catch (err) {
    expect(err).to.be.instanceOf(GatewayDenial);
    return err;
  }
  throw new Error('expected a denial');
}

describe('gateway data access', function () {
  let seedData;
  before(async () => {
    seedData = await import('../peers/gateway-seed.mjs');
    await control(base(), '/__reset');
    await seedData.seed(base());
  });

  describe('_tag restriction per strategy (SyncAccessDecisionTest)', function () {
    it('Location: the location tag of each id, no other system', () => {
      const value = tagParam('Location', ['locationid12', 'locationid2']);
      expect(value).to.equal(
        'https://smartregister.org/location-tag-id|locationid12,https://smartregister.org/location-tag-id|locationid2',
      );
      expect(value).not.to.include(SYS.CareTeam).and.not.to.include(SYS.Organization);
    });

    it('CareTeam and Organization: their own system only', () => {
      expect(tagParam('CareTeam', ['careteamid1', 'careteamid2'])).to.equal(`${SYS.CareTeam}|careteamid1,${SYS.CareTeam}|careteamid2`);
      expect(tagParam('Organization', ['organizationid1', 'organizationid2'])).to.equal(
        'https://smartregister.org/organisation-tag-id|organizationid1,https://smartregister.org/organisation-tag-id|organizationid2',
      );
    });

    it("Practitioner: the practitioner system with the caller's own id", () => {
      expect(SYS.Practitioner).to.equal('https://smartregister.org/practitioner-tag-id');
      expect(tagParam('Practitioner', ['practitioner-pia'])).to.equal('https://smartregister.org/practitioner-tag-id|practitioner-pia');
      expect(tagParam('Practitioner', ['p1'], { ...SYS, Practitioner: 'http://moh.example/author' })).to.equal(
        'http://moh.example/author|p1',
      );
    });

    it('RelatedEntityLocation: each id under the related-entity and the lineage system', () => {
      expect(tagParam('RelatedEntityLocation', ['relocationid12', 'relocationid2'])).to.equal(
        [
          'https://smartregister.org/related-entity-location-tag-id|relocationid12',
          'http://smartregister.org/CodeSystem/location-lineage|relocationid12',
          'https://smartregister.org/related-entity-location-tag-id|relocationid2',
          'http://smartregister.org/CodeSystem/location-lineage|relocationid2',
        ].join(','),
      );
    });

    it('uses configured systems and escapes separators in ids', () => {
      const systems = { ...SYS, Location: 'http://moh.example/loc' };
      expect(tagParam('Location', ['a,b', 'c|d'], systems)).to.equal('http://moh.example/loc|a\\,b,http://moh.example/loc|c\\|d');
    });

    it('restricts a search on the sandbox server to the assignment', async () => {
      const found = await fetch(`${base()}Patient?${new URLSearchParams({ _tag: tagParam('Location', ['L1a', 'L1b']) })}`);
      const ids = ((await found.json()).entry ?? []).map((e) => e.resource.id);
      expect(ids).to.have.members(['patient-L1a', 'patient-L1b']);
      const written = await fetch(`${base()}Patient?${new URLSearchParams({ _tag: tagParam('Practitioner', ['practitioner-pia']) })}`);
      expect(((await written.json()).entry ?? []).map((e) => e.resource.id)).to.have.members(['patient-L1b', 'patient-L2']);
    });

    it('names strategies in any letter case canonically', () => {
      expect(tags.canonicalStrategy('organization')).to.equal('Organization');
      expect(tags.canonicalStrategy('RELATEDENTITYLOCATION')).to.equal('RelatedEntityLocation');
      expect(tags.canonicalStrategy('practitioner')).to.equal('Practitioner');
      expect(tags.canonicalStrategy('Village')).to.equal(undefined);
    });
  });

  describe('tag checks of resources', function () {
    const ids = ['L1', 'L1a'];

    it('finds a resource within the assignment by any assigned tag of the filter systems', () => {
      expect(withinAssignment(tagged([SYS.Location, 'L1a'], [SYS.Location, 'L9']), 'Location', ids)).to.equal(true);
      expect(withinAssignment(tagged([SYS.Location, 'L9']), 'Location', ids)).to.equal(false);
      expect(withinAssignment(tagged([SYS.Organization, 'L1a']), 'Location', ids)).to.equal(false);
      expect(withinAssignment({ resourceType: 'Patient' }, 'Location', ids)).to.equal(false);
      expect(withinAssignment(tagged([SYS.LocationLineage, 'L1']), 'RelatedEntityLocation', ids)).to.equal(true);
    });

    it('allows a write with assigned tags of the strategy system and none outside it', () => {
      expect(writeTagsAllowed(tagged([SYS.Location, 'L1a'], [SYS.Organization, 'O9']), 'Location', ids)).to.equal(true);
      // §5.6: POST /Observation tagged L9
      expect(writeTagsAllowed(tagged([SYS.Location, 'L9']), 'Location', ids)).to.equal(false);
      expect(writeTagsAllowed(tagged([SYS.Location, 'L1a'], [SYS.Location, 'L9']), 'Location', ids)).to.equal(false);
      expect(writeTagsAllowed({ resourceType: 'Patient' }, 'Location', ids)).to.equal(false);
    });

    it('checks RelatedEntityLocation writes on its own system, whatever the lineage tags name', () => {
      const resource = tagged([SYS.RelatedEntityLocation, 'L1a'], [SYS.LocationLineage, 'R1'], [SYS.LocationLineage, 'L1a']);
      expect(writeTagsAllowed(resource, 'RelatedEntityLocation', ids)).to.equal(true);
      expect(writeTagsAllowed(tagged([SYS.LocationLineage, 'L1a']), 'RelatedEntityLocation', ids)).to.equal(false);
    });

    it("checks Practitioner reads and writes on the practitioner system and the caller's id only", () => {
      const own = ['practitioner-pia'];
      expect(withinAssignment(tagged([SYS.Practitioner, 'practitioner-pia']), 'Practitioner', own)).to.equal(true);
      expect(withinAssignment(tagged([SYS.Practitioner, 'practitioner-carol']), 'Practitioner', own)).to.equal(false);
      expect(withinAssignment(tagged([SYS.CareTeam, 'practitioner-pia']), 'Practitioner', own)).to.equal(false);
      expect(writeTagsAllowed(tagged([SYS.Practitioner, 'practitioner-pia'], [SYS.Location, 'L9']), 'Practitioner', own)).to.equal(true);
      expect(writeTagsAllowed(tagged([SYS.Location, 'L1a']), 'Practitioner', own)).to.equal(false);
      expect(
        writeTagsAllowed(tagged([SYS.Practitioner, 'practitioner-pia'], [SYS.Practitioner, 'practitioner-carol']), 'Practitioner', own),
      ).to.equal(false);
      expect(withAssignmentTags(tagged([SYS.Practitioner, 'practitioner-carol']), 'Practitioner', own).meta.tag).to.deep.equal([
        { system: SYS.Practitioner, code: 'practitioner-pia' },
      ]);
    });

    it('rewrites tags into the assignment, keeping other systems and the input untouched', () => {
      const input = tagged([SYS.Location, 'L9'], [SYS.Location, 'L1a'], [SYS.Organization, 'O9']);
      const output = withAssignmentTags(input, 'Location', ids);
      expect(output.meta.tag).to.deep.equal([
        { system: SYS.Location, code: 'L1a' },
        { system: SYS.Organization, code: 'O9' },
      ]);
      expect(input.meta.tag).to.have.length(3);
      expect(withAssignmentTags({ resourceType: 'Patient', meta: { versionId: '1' } }, 'Location', ids).meta).to.deep.equal({
        versionId: '1',
        tag: [{ system: SYS.Location, code: 'L1' }],
      });
      expect(writeTagsAllowed(withAssignmentTags(tagged([SYS.Location, 'L9']), 'Location', ids), 'Location', ids)).to.equal(true);
    });
  });

  describe('search parameters of filtered users (§5.6)', function () {
    for (const [name, query] of [
      ['_has with a reverse chain', { subject: ['A'], '_has:Encounter:patient:status': ['x'] }],
      ['plain _has', { _has: ['x'] }],
      ['a chain', { 'subject:Patient.name': ['x'] }],
      ['_filter', { _filter: ['name eq x'] }],
      ['_query', { _query: ['everything'] }],
      ['_contained', { _contained: ['true'] }],
      ['_list', { _list: ['L'] }],
    ]) {
      it(`refuses ${name} (400 invalid)`, () => {
        const err = denialOf(() => checkSearchSafety(query));
        expect([err.status, err.code]).to.deep.equal([400, 'invalid']);
      });
    }

    it('lets ordinary parameters through, and those on the allow-list', () => {
      expect(checkSearchSafety({ name: ['x'], _count: ['10'], _elements: ['id'], 'subject:missing': ['true'] })).to.deep.equal({
        includes: [],
      });
      expect(checkSearchSafety({ _list: ['L'], 'subject:Patient.name': ['x'] }, ['_list', 'subject:Patient.name']).includes).to.deep.equal(
        [],
      );
      expect(() => checkSearchSafety({ _list: ['L'], _filter: ['x'] }, ['_list'])).to.throw(GatewayDenial);
    });

    it('reports every include parameter, whatever its modifier', () => {
      const query = {
        _id: ['A'],
        _revinclude: ['Group:member'],
        '_include:iterate': ['Group:member'],
        '_revinclude:iterate': ['x'],
        _includeX: ['y'],
      };
      expect(checkSearchSafety(query).includes).to.deep.equal(['_revinclude', '_include:iterate', '_revinclude:iterate']);
    });
  });

  describe('sync-filter ignore list', function () {
    const get = (path, query = {}) => ({ method: 'GET', path, query });

    it('skips filtering for configuration resources requested by id', () => {
      expect(skipsDataFiltering(get('Questionnaire', { _id: ['questionnaire-registration'] }))).to.equal(true);
      expect(skipsDataFiltering(get('StructureMap', { _id: ['a,b'] }))).to.equal(true);
    });

    it('filters when the configured parameter is absent, sent twice, or the method differs', () => {
      expect(skipsDataFiltering(get('Questionnaire'))).to.equal(false);
      expect(skipsDataFiltering(get('Questionnaire', { _id: ['a', 'b'] }))).to.equal(false);
      expect(skipsDataFiltering({ method: 'POST', path: 'Questionnaire', query: { _id: ['a'] } })).to.equal(false);
    });

    it('filters List and Device, which the reference list left unfiltered', () => {
      expect(skipsDataFiltering(get('List'))).to.equal(false);
      expect(skipsDataFiltering(get('List', { _id: ['x'] }))).to.equal(false);
      expect(skipsDataFiltering(get('Device', { _id: ['x'] }))).to.equal(false);
      expect(DEFAULT_SYNC_FILTER_IGNORE.map((e) => e.path)).not.to.include.members(['List', 'Device']);
    });

    it('compares configured id lists as sets', () => {
      const entries = [{ path: 'StructureMap', methodType: 'GET', queryParams: { _id: ['1000', '2000', '3000'] } }];
      expect(skipsDataFiltering(get('StructureMap', { _id: ['1000,2000,3000'] }), entries)).to.equal(true);
      expect(skipsDataFiltering(get('StructureMap', { _id: ['3000,1000,2000'] }), entries)).to.equal(true);
      expect(skipsDataFiltering(get('StructureMap', { _id: ['1000,2000'] }), entries)).to.equal(false);
      expect(skipsDataFiltering(get('StructureMap', { _id: ['1000,2000,3000,4000'] }), entries)).to.equal(false);
    });

    it('requires every configured parameter to match; a string matches exactly; no method means any', () => {
      const entries = [{ path: 'Library', queryParams: { _id: 'ANY_VALUE', version: '2' } }];
      expect(skipsDataFiltering(get('Library', { _id: ['x'], version: ['2'] }), entries)).to.equal(true);
      expect(skipsDataFiltering({ method: 'POST', path: 'Library', query: { _id: ['x'], version: ['2'] } }, entries)).to.equal(true);
      expect(skipsDataFiltering(get('Library', { _id: ['x'] }), entries)).to.equal(false);
      expect(skipsDataFiltering(get('Library', { _id: ['x'], version: ['3'] }), entries)).to.equal(false);
    });

    it('reads the OpenSRP file format and rejects malformed entries', () => {
      const file = { entries: [{ path: 'Questionnaire', methodType: 'GET', queryParams: { _id: 'ANY_VALUE' } }, { path: 'Measure' }] };
      expect(parseSyncFilterIgnore(file)).to.deep.equal([
        { path: 'Questionnaire', methodType: 'GET', queryParams: { _id: 'ANY_VALUE' } },
        { path: 'Measure', queryParams: {} },
      ]);
      expect(parseSyncFilterIgnore([])).to.deep.equal([]);
      expect(() => parseSyncFilterIgnore({ entriesTT: [] })).to.throw(/entries/);
      expect(() => parseSyncFilterIgnore([{ methodType: 'GET' }])).to.throw(/entry 0 has no path/);
      expect(() => parseSyncFilterIgnore([{ path: 'X', queryParams: { _id: 5 } }])).to.throw(/entry 0/);
    });
  });

  describe('app configuration and sync strategy', function () {
    /** The backend over fetch, counting searches and reads per resource type. */
    function countingBackend(backend = seedData.fetchBackend(base())) {
      const calls = {};
      const count = (type) => (calls[type] = (calls[type] ?? 0) + 1);
      return {
        calls,
        search: (type, params) => (count(type), backend.search(type, params)),
        page: backend.page,
        read: (type, id) => (count(type), backend.read(type, id)),
      };
    }

    afterEach(() => control(base(), '/__fault', { clear: true }));

    it('reads the strategy of each seeded app: syncStrategy, or else syncStrategies, in any letter case', async () => {
      const resolver = new AppConfigResolver(countingBackend());
      for (const [appId, strategy] of Object.entries(seedData.APP_IDS).filter(([, s]) => s)) {
        expect(await resolver.syncStrategy(appId), appId).to.equal(strategy);
      }
    });

    it('looks an app up once within the TTL: one Composition search and one Binary read', async () => {
      const backend = countingBackend();
      const resolver = new AppConfigResolver(backend, { cacheTtlSec: 300 });
      expect(await resolver.syncStrategy('sandbox-app')).to.equal('Location');
      expect(await resolver.syncStrategy('sandbox-app')).to.equal('Location');
      expect(backend.calls).to.deep.equal({ Composition: 1, Binary: 1 });
      resolver.invalidate();
      await resolver.syncStrategy('sandbox-app');
      expect(backend.calls).to.deep.equal({ Composition: 2, Binary: 2 });
    });

    it('looks up on every request with TTL 0', async () => {
      const backend = countingBackend();
      const resolver = new AppConfigResolver(backend, { cacheTtlSec: 0 });
      await resolver.syncStrategy('sandbox-app');
      await resolver.syncStrategy('sandbox-app');
      expect(backend.calls).to.deep.equal({ Composition: 2, Binary: 2 });
    });

    it('uses a static strategy without any lookup', async () => {
      const backend = countingBackend();
      const resolver = new AppConfigResolver(backend, { staticSyncStrategy: 'CareTeam' });
      expect(await resolver.syncStrategy('anything')).to.equal('CareTeam');
      expect(await resolver.syncStrategy(undefined)).to.equal('CareTeam');
      expect(backend.calls).to.deep.equal({});
    });

    it('follows the configured section focus identifier', async () => {
      const resolver = new AppConfigResolver(countingBackend(), { sectionFocusIdentifier: 'navigation' });
      const err = await denial(resolver.syncStrategy('sandbox-app'));
      expect(err.message).to.include('Binary/sandbox-navigation');
    });

    for (const appId of [
      'unknown-app',
      'broken-no-strategy',
      'broken-unknown-strategy',
      'broken-no-section',
      'broken-not-json',
      'broken-missing-binary',
    ]) {
      it(`answers 503 naming the app for ${appId}`, async () => {
        const err = await denial(new AppConfigResolver(countingBackend()).syncStrategy(appId));
        expect([err.status, err.code]).to.deep.equal([503, 'exception']);
        expect(err.message).to.include(`'${appId}'`);
      });
    }

    it('answers 503 when the backend fails, and looks up again on the next request', async () => {
      const backend = countingBackend();
      const resolver = new AppConfigResolver(backend, { cacheTtlSec: 300 });
      await control(base(), '/__fault', { status: 500, match: 'GET Composition', count: 1 });
      const err = await denial(resolver.syncStrategy('sandbox-app'));
      expect([err.status, err.code]).to.deep.equal([503, 'exception']);
      expect(err.message).to.include("'sandbox-app'");
      expect(err.detail).to.include('500');
      expect(await resolver.syncStrategy('sandbox-app')).to.equal('Location');
      expect(backend.calls).to.deep.equal({ Composition: 2, Binary: 1 });
    });

    it('answers 401 when there is no app id and no static strategy', async () => {
      const err = await denial(new AppConfigResolver(countingBackend()).syncStrategy(undefined));
      expect([err.status, err.code]).to.deep.equal([401, 'login']);
      expect(err.message).to.include('fhir_core_app_id');
    });
  });
});
