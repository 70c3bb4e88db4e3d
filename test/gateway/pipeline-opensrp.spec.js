'use strict';
// The OpenSRP extras through the gateway pipeline, against the seeded sandbox FHIR server: `_syncLocations`
// (RelatedEntityLocation callers with ALL_LOCATIONS choose the synced Locations).
const { expect } = require('chai');
const { makeGateway, call, idsOf, expectDenial, seedPeer, logged, answered } = require('../support/gateway');

const SYS = {
  RelatedEntityLocation: 'https://smartregister.org/related-entity-location-tag-id',
  LocationLineage: 'http://smartregister.org/CodeSystem/location-lineage',
};
const L1_SUBTREE = ['L1', 'L1a', 'L1a1', 'L1b', 'L1c'];

describe('gateway pipeline: OpenSRP extras', function () {
  this.timeout(30000);
  let gw;

  before(async () => {
    answered.length = 0;
    await seedPeer();
    gw = await makeGateway();
  });
  after(() => gw?.close());

  describe('_syncLocations (§3.3, §4 #18)', () => {
    it('RelatedEntityLocation with ALL_LOCATIONS: the chosen Locations and their descendants, not the assignment', async () => {
      const { result, log } = await logged(() => call(gw.gateway, 'rita', 'GET', 'Patient', { query: { _syncLocations: ['L1'] } }));
      expect(result.status, result.text).to.equal(200);
      expect(result.info.strategy).to.equal('RelatedEntityLocation');
      expect(result.info.ids).to.have.members(L1_SUBTREE);
      expect(idsOf(result.json)).to.have.members(['patient-L1a', 'patient-L1b', 'patient-L1a1']);
      expect(idsOf(result.json)).not.to.include.members(['patient-L2', 'patient-L2a']);
      expect(result.info.mutation._tag[0].split(',')).to.include(`${SYS.LocationLineage}|L1a1`);
      // Never forwarded.
      expect(JSON.stringify(log)).not.to.include('_syncLocations');
    });

    it('caches the expansion by the sorted id set, for every caller', async () => {
      const fresh = await makeGateway();
      try {
        const partof = (log) => log.filter((r) => r.url.startsWith('Location?')).length;
        const first = await logged(() => call(fresh.gateway, 'rita', 'GET', 'Patient', { query: { _syncLocations: ['L2a,L1b'] } }));
        expect(first.result.info.ids).to.have.members(['L1b', 'L2a']);
        expect(partof(first.log)).to.be.above(0);
        const again = await logged(() => call(fresh.gateway, 'rita', 'GET', 'Observation', { query: { _syncLocations: ['L1b', 'L2a'] } }));
        expect(again.result.status).to.equal(200);
        expect(idsOf(again.result.json)).to.have.members(['observation-L1b', 'observation-L2a']);
        expect(partof(again.log)).to.equal(0);
      } finally {
        fresh.close();
      }
    });

    it('403 without ALL_LOCATIONS, for unfiltered callers and under another strategy; 400 when it names nothing', async () => {
      const { result, log } = await logged(() => call(gw.gateway, 'carol', 'GET', 'Patient', { query: { _syncLocations: ['L2'] } }));
      expectDenial(result, 403, 'forbidden');
      expect(log).to.deep.equal([]);
      expectDenial(await call(gw.gateway, 'webby', 'GET', 'Patient', { query: { _syncLocations: ['L2'] } }), 403, 'forbidden');
      const located = await makeGateway({ staticSyncStrategy: 'Location' });
      try {
        expectDenial(await call(located.gateway, 'rita', 'GET', 'Patient', { query: { _syncLocations: ['L1'] } }), 403, 'forbidden');
      } finally {
        located.close();
      }
      expectDenial(await call(gw.gateway, 'rita', 'GET', 'Patient', { query: { _syncLocations: [','] } }), 400, 'invalid');
      expectDenial(await call(gw.gateway, 'rita', 'GET', 'Patient', { query: { _syncLocations: ['a/b'] } }), 400, 'invalid');
    });
  });

  it('answered no request with a 5xx', () => {
    expect(answered.filter((a) => a.status >= 500)).to.deep.equal([]);
  });
});
