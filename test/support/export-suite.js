'use strict';
// Export of the embedded sample to a FHIR server, as a suite any spec runs against its peer (HAPI FHIR, the cloud
// stand-ins): every id strategy, reruns without duplicates, incremental runs and removed objects set inactive.
const { expect } = require('chai');
const { loadSample } = require('../../nodes/lib/registry/sample.js');
const { DEFAULT_EXPORT_OPTIONS } = require('../../nodes/lib/sync/export-plan.js');
const { runExport } = require('../../nodes/lib/sync/export-run.js');
const { FAST_RETRY } = require('./fhir');

const SYSTEM = 'http://moh.example/registry';

/**
 * The export suite named `title` against the peer `usePeer()` returns (called inside it: see hapiPeer,
 * cloudFhirPeer), emptied before each test. `more(suite)` adds the peer's own tests to it, with `suite.peer`,
 * `suite.sample` (once loaded), `suite.exportRun(options, model = sample, run = {})` and `suite.ids(type)` (the
 * sorted ids of the System's resources of a type).
 */
function exportSuite(title, usePeer, more = () => {}) {
  describe(title, function () {
    const peer = usePeer();
    this.timeout(peer.timeout);
    const suite = { peer };

    before(async () => (suite.sample = await loadSample('2026-01-01')));
    beforeEach(() => peer.reset());

    suite.exportRun = (options, model = suite.sample, run = {}) =>
      runExport({
        model,
        connection: peer.connection(SYSTEM),
        concurrency: 2,
        retry: FAST_RETRY,
        ...run,
        options: { ...DEFAULT_EXPORT_OPTIONS, system: SYSTEM, ...options },
      });
    suite.ids = async (type) =>
      (await peer.searchAll(`${peer.base()}${type}?identifier=${encodeURIComponent(SYSTEM)}|&_count=200&_elements=id`))
        .map((r) => r.id)
        .sort();
    const { exportRun, ids } = suite;

    for (const idStrategy of ['code', 'safe', 'server']) {
      it(`exports all 324 objects with the ${idStrategy} id strategy, twice, to the same resources`, async function () {
        const first = await exportRun({ idStrategy });
        expect(first, first.message).to.deep.include({ status: 'SUCCESS', objectsExported: 324, resourcesExported: 648 });
        const before = { locations: await ids('Location'), orgs: await ids('Organization') };
        expect(before.locations).to.have.length(324);
        expect(before.orgs).to.have.length(324);
        if (idStrategy !== 'server') expect(before.locations).to.include(suite.sample.objects[0].code);
        const second = await exportRun({ idStrategy });
        expect(second, second.message).to.deep.include({ status: 'SUCCESS', objectsExported: 324 });
        expect(await ids('Location')).to.deep.equal(before.locations);
        expect(await ids('Organization')).to.deep.equal(before.orgs);
      });
    }

    it('sends only what changed since the last run (incremental)', async function () {
      let state;
      const onState = (s) => (state = s);
      const first = await exportRun({ incremental: true }, suite.sample, { onState });
      expect(first, first.message).to.deep.include({ status: 'SUCCESS', objectsExported: 324 });
      const unchanged = await exportRun({ incremental: true }, suite.sample, { onState, previous: state });
      expect(unchanged).to.deep.include({ status: 'SUCCESS', workTotal: 0, objectsExported: 0 });
      const model = structuredClone(suite.sample);
      const renamed = model.objects.find((o) => o.type === 'District');
      renamed.label.default = 'Renamed on the server';
      const changed = await exportRun({ incremental: true }, model, { previous: state });
      expect(changed, changed.message).to.deep.include({ status: 'SUCCESS', workTotal: 1, objectsExported: 1 });
      const [location] = await peer.searchAll(`${peer.base()}Location?identifier=${encodeURIComponent(`${SYSTEM}|${renamed.code}`)}`);
      expect(location.name).to.equal('Renamed on the server');
    });

    it('sets the resources of removed objects inactive', async function () {
      await exportRun({});
      const model = structuredClone(suite.sample);
      const gone = model.objects.filter((o) => o.type === 'HealthFacility').slice(0, 2);
      model.objects = model.objects.filter((o) => !gone.includes(o));
      model.links = model.links.filter((l) => !gone.some((o) => o.code === l.childCode && o.type === l.childType));
      const job = await exportRun({ onRemoved: 'inactivate' }, model);
      expect(job, job.message).to.deep.include({ status: 'SUCCESS', inactivated: 4 });
      for (const o of gone) {
        const identifier = encodeURIComponent(`${SYSTEM}|${o.code}`);
        expect((await peer.searchAll(`${peer.base()}Location?identifier=${identifier}`))[0].status).to.equal('inactive');
        expect((await peer.searchAll(`${peer.base()}Organization?identifier=${identifier}`))[0].active).to.equal(false);
      }
    });

    more(suite);
  });
}

module.exports = { exportSuite, SYSTEM };
