'use strict';
// Assignment resolution against the seeded sandbox FHIR server: the OpenSRP lookup chain per sync strategy,
// Location descendants across pages, the claims source, caching and backend failures.
const { expect } = require('chai');
const { denial } = require('../support/gateway');
const { AssignmentResolver } = require('../../nodes/lib/gateway/assignment/assignment.js');
const { TtlCache } = require('../../nodes/lib/gateway/assignment/ttl-cache.js');
const { control, closedPortUrl } = require('../support/peers');
const { requests } = require('../support/fhir');

const base = () => process.env.FHIR_BASE;
let seedData;
let realm;

/** The backend over fetch, counting the searches per resource type and the pages followed. */
function countingBackend() {
  const backend = seedData.fetchBackend(base());
  const calls = { pages: 0 };
  return {
    calls,
    search: (type, params) => {
      calls[type] = (calls[type] ?? 0) + 1;
      return backend.search(type, params);
    },
    page: (url) => {
      calls.pages++;
      return backend.page(url);
    },
    read: backend.read,
  };
}

const claimsOf = (username, extra = {}) => {
  const { sub, location_ids, organization_ids, care_team_ids, practitioner_id } = realm.users.find((u) => u.username === username);
  return { sub, location_ids, organization_ids, care_team_ids, practitioner_id, ...extra };
};

const CAROL_LOCATIONS = ['L1', 'L1a', 'L1b', 'L1c', 'L1a1'];

describe('gateway assignment', function () {
  before(async () => {
    seedData = await import('../peers/gateway-seed.mjs');
    realm = await import('../peers/realm.mjs');
    await control(base(), '/__reset');
    await seedData.seed(base());
  });
  afterEach(() => control(base(), '/__fault', { clear: true }));

  describe('from the FHIR server', function () {
    const resolver = (config = {}) => new AssignmentResolver(countingBackend(), { cacheTtlSec: 0, ...config });

    it('gives a Location user the affiliated Location first, then all its descendants', async () => {
      expect(await resolver().ids(claimsOf('carol'), 'Location')).to.deep.equal(CAROL_LOCATIONS);
    });

    it('reads every page of the descendant searches', async () => {
      const backend = countingBackend();
      await control(base(), '/__reset-log');
      const ids = await new AssignmentResolver(backend, { cacheTtlSec: 0, pageSize: 2 }).ids(claimsOf('carol'), 'Location');
      expect(ids).to.have.members(CAROL_LOCATIONS);
      // L1 has three children: two on the first page, one on the page its next link points at.
      expect(backend.calls.pages).to.be.at.least(1);
      const logged = (await requests(base())).map((r) => r.url);
      expect(logged.some((u) => u.startsWith('Location?') && u.includes('partof') && u.includes('_offset=2'))).to.equal(true);
    });

    it('keeps only the assigned Locations when descendants are not expanded', async () => {
      expect(await resolver({ expandLocationDescendants: false }).ids(claimsOf('carol'), 'Location')).to.deep.equal(['L1']);
    });

    it('takes Organizations from PractitionerRoles and the managing organisations of CareTeams', async () => {
      expect(await resolver().ids(claimsOf('dave'), 'Organization')).to.have.members(['O2', 'O3']);
      expect(await resolver().ids(claimsOf('carol'), 'Organization')).to.deep.equal(['O1']);
      expect(await resolver().ids(claimsOf('erin'), 'Organization')).to.deep.equal(['O1']);
    });

    it('follows Organizations to their affiliated Locations for every Location strategy', async () => {
      expect(await resolver().ids(claimsOf('dave'), 'Location')).to.deep.equal(['L2', 'L2a']);
      expect(await resolver().ids(claimsOf('rita'), 'RelatedEntityLocation')).to.deep.equal(['L2', 'L2a']);
    });

    it('gives a CareTeam user the care teams listing the practitioner', async () => {
      expect(await resolver().ids(claimsOf('erin'), 'CareTeam')).to.deep.equal(['CT1']);
      expect(await resolver().ids(claimsOf('dave'), 'CareTeam')).to.deep.equal(['CT2']);
    });

    it("gives a Practitioner user their own Practitioner's id, with no further lookup", async () => {
      const backend = countingBackend();
      expect(await new AssignmentResolver(backend, { cacheTtlSec: 0 }).ids(claimsOf('pia'), 'Practitioner')).to.deep.equal([
        'practitioner-pia',
      ]);
      expect(backend.calls).to.deep.equal({ pages: 0, Practitioner: 1 });
      expect(await resolver().ids(claimsOf('carol'), 'Practitioner')).to.deep.equal(['practitioner-carol']);
      // Having a Practitioner is the whole assignment: a user with nothing else assigned still has it.
      expect(await resolver().ids(claimsOf('unassigned'), 'Practitioner')).to.deep.equal(['practitioner-unassigned']);
      const wrong = resolver({ practitionerIdentifierSystem: 'http://elsewhere.example/users' });
      expect((await denial(wrong.ids(claimsOf('pia'), 'Practitioner'))).status).to.equal(403);
    });

    it('denies users with nothing assigned under the strategy (403 forbidden)', async () => {
      for (const [user, strategy] of [
        ['unassigned', 'Location'],
        ['unassigned', 'CareTeam'],
        ['stranger', 'Organization'],
        ['stranger', 'Practitioner'],
        ['carol', 'CareTeam'],
        ['pia', 'Location'],
      ]) {
        const err = await denial(resolver().ids(claimsOf(user), strategy));
        expect(err.status, `${user} ${strategy}`).to.equal(403);
        expect(err.code).to.equal('forbidden');
        expect(err.message).to.equal(`no assignment for sync strategy ${strategy}`);
      }
    });

    it('looks the practitioner up in the configured identifier system only', async () => {
      const right = resolver({ practitionerIdentifierSystem: seedData.KEYCLOAK_USER_SYSTEM });
      expect(await right.ids(claimsOf('erin'), 'CareTeam')).to.deep.equal(['CT1']);
      const wrong = resolver({ practitionerIdentifierSystem: 'http://elsewhere.example/users' });
      expect((await denial(wrong.ids(claimsOf('erin'), 'CareTeam'))).status).to.equal(403);
    });

    it('answers 401 for a token without sub', async () => {
      const err = await denial(resolver().ids({}, 'Location'));
      expect([err.status, err.code]).to.deep.equal([401, 'login']);
    });

    it('turns a failed backend lookup into a 502 naming it in the detail only, and does not cache the failure', async () => {
      const r = resolver({ cacheTtlSec: 300 });
      await control(base(), '/__fault', { status: 503, match: 'GET OrganizationAffiliation', count: 1 });
      const err = await denial(r.ids(claimsOf('carol'), 'Location'));
      expect([err.status, err.code]).to.deep.equal([502, 'exception']);
      expect(err.message).to.equal("the user's assignment could not be read from the FHIR server");
      expect(err.detail).to.include('OrganizationAffiliation').and.to.include('503');
      expect(await r.ids(claimsOf('carol'), 'Location')).to.deep.equal(CAROL_LOCATIONS);
    });

    it('names an unreachable backend in the detail of the 502, not in its message', async () => {
      const closed = await closedPortUrl();
      const r = new AssignmentResolver(seedData.fetchBackend(`${closed}/fhir/`), { cacheTtlSec: 0 });
      const err = await denial(r.ids(claimsOf('carol'), 'Location'));
      expect([err.status, err.code]).to.deep.equal([502, 'exception']);
      expect(err.detail).to.include('Practitioner');
      expect(err.message).not.to.include(new URL(closed).host);
    });
  });

  describe('from token claims', function () {
    const resolver = (config = {}) => new AssignmentResolver(countingBackend(), { source: 'claims', cacheTtlSec: 0, ...config });

    it('reads the configured claims, arrays or comma-separated strings', async () => {
      expect(await resolver().ids(claimsOf('dave'), 'Organization')).to.deep.equal(['O2', 'O3']);
      expect(await resolver().ids(claimsOf('erin', { care_team_ids: 'CT1, CT2,' }), 'CareTeam')).to.deep.equal(['CT1', 'CT2']);
      const renamed = resolver({ claims: { Location: 'locs', Organization: 'orgs', CareTeam: 'teams', Practitioner: 'me' } });
      expect(await renamed.ids({ sub: 'x', orgs: ['O1'] }, 'Organization')).to.deep.equal(['O1']);
      expect(await renamed.ids({ sub: 'x', me: 'p1', practitioner_id: 'p2' }, 'Practitioner')).to.deep.equal(['p1']);
    });

    it('reads the Practitioner id from the practitioner_id claim, with no backend call', async () => {
      const backend = countingBackend();
      const r = new AssignmentResolver(backend, { source: 'claims', cacheTtlSec: 0 });
      expect(await r.ids(claimsOf('pia'), 'Practitioner')).to.deep.equal(['practitioner-pia']);
      expect(await r.ids(claimsOf('carol'), 'Practitioner')).to.deep.equal(['practitioner-carol']);
      expect(backend.calls).to.deep.equal({ pages: 0 });
      expect((await denial(r.ids(claimsOf('stranger'), 'Practitioner'))).status).to.equal(403);
      expect((await denial(r.ids({ sub: 'x', practitioner_id: '' }, 'Practitioner'))).status).to.equal(403);
    });

    it('still expands claimed Locations to their descendants, for Location and RelatedEntityLocation', async () => {
      expect(await resolver().ids(claimsOf('carol'), 'Location')).to.deep.equal(CAROL_LOCATIONS);
      expect(await resolver().ids(claimsOf('rita'), 'RelatedEntityLocation')).to.deep.equal(['L2', 'L2a']);
      expect(await resolver({ expandLocationDescendants: false }).ids(claimsOf('carol'), 'Location')).to.deep.equal(['L1']);
    });

    it('makes no backend call for claims that need no expansion', async () => {
      const backend = countingBackend();
      await new AssignmentResolver(backend, { source: 'claims' }).ids(claimsOf('dave'), 'Organization');
      expect(backend.calls).to.deep.equal({ pages: 0 });
    });

    it('denies a missing, empty or malformed claim (403)', async () => {
      for (const claims of [
        { sub: 'x' },
        { sub: 'x', care_team_ids: [] },
        { sub: 'x', care_team_ids: ' , ' },
        { sub: 'x', care_team_ids: 7 },
      ]) {
        expect((await denial(resolver().ids(claims, 'CareTeam'))).status).to.equal(403);
      }
    });

    it('follows a newer token of the same user listing other ids, cache or not', async () => {
      const r = resolver({ cacheTtlSec: 300 });
      expect(await r.ids(claimsOf('carol', { location_ids: ['L2'] }), 'Location')).to.deep.equal(['L2', 'L2a']);
      expect(await r.ids(claimsOf('carol', { location_ids: ['L9'] }), 'Location')).to.deep.equal(['L9']);
    });
  });

  describe('caching', function () {
    it('looks a user up once within the TTL, per strategy', async () => {
      const backend = countingBackend();
      const r = new AssignmentResolver(backend, { cacheTtlSec: 300 });
      await r.ids(claimsOf('carol'), 'Location');
      await r.ids(claimsOf('carol'), 'Location');
      expect(backend.calls.Practitioner).to.equal(1);
      await r.ids(claimsOf('carol'), 'Organization');
      expect(backend.calls.Practitioner).to.equal(2);
    });

    it('shares one lookup between concurrent requests', async () => {
      const backend = countingBackend();
      const r = new AssignmentResolver(backend, { cacheTtlSec: 300 });
      const all = await Promise.all([1, 2, 3].map(() => r.ids(claimsOf('erin'), 'CareTeam')));
      expect(all).to.deep.equal([['CT1'], ['CT1'], ['CT1']]);
      expect(backend.calls.Practitioner).to.equal(1);
    });

    it('looks up every time with TTL 0', async () => {
      const backend = countingBackend();
      const r = new AssignmentResolver(backend, { cacheTtlSec: 0 });
      await r.ids(claimsOf('erin'), 'CareTeam');
      await r.ids(claimsOf('erin'), 'CareTeam');
      expect(backend.calls.Practitioner).to.equal(2);
    });

    it('forgets one user on invalidate(sub) and everyone on invalidate()', async () => {
      const backend = countingBackend();
      const r = new AssignmentResolver(backend, { cacheTtlSec: 300 });
      const both = () => Promise.all([r.ids(claimsOf('erin'), 'CareTeam'), r.ids(claimsOf('dave'), 'CareTeam')]);
      await both();
      r.invalidate(claimsOf('erin').sub);
      await both();
      expect(backend.calls.Practitioner).to.equal(3);
      r.invalidate();
      await both();
      expect(backend.calls.Practitioner).to.equal(5);
    });

    it('sees an assignment change once the cached entry is invalidated', async () => {
      const r = new AssignmentResolver(countingBackend(), { cacheTtlSec: 300 });
      expect(await r.ids(claimsOf('erin'), 'CareTeam')).to.deep.equal(['CT1']);
      const ct3 = {
        resourceType: 'CareTeam',
        id: 'CT3',
        status: 'active',
        participant: [{ member: { reference: 'Practitioner/practitioner-erin' } }],
      };
      const put = await fetch(`${base()}CareTeam/CT3`, {
        method: 'PUT',
        headers: { 'content-type': 'application/fhir+json' },
        body: JSON.stringify(ct3),
      });
      expect(put.status).to.equal(200);
      expect(await r.ids(claimsOf('erin'), 'CareTeam')).to.deep.equal(['CT1']);
      r.invalidate(claimsOf('erin').sub);
      expect(await r.ids(claimsOf('erin'), 'CareTeam')).to.have.members(['CT1', 'CT3']);
      await seedData.seed(base());
    });

    it('lets entries expire after the TTL', async () => {
      let loads = 0;
      const cache = new TtlCache(0.05);
      const load = async () => ++loads;
      expect(await cache.get('k', load)).to.equal(1);
      expect(await cache.get('k', load)).to.equal(1);
      await new Promise((resolve) => setTimeout(resolve, 120));
      expect(await cache.get('k', load)).to.equal(2);
    });
  });
});
