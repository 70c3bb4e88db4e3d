'use strict';
// Import from a FHIR server after an export of the embedded sample, as a suite any spec runs against its peer
// (HAPI FHIR, the cloud stand-ins): the peer's own next links, which the import follows as they are, _include of
// the Organizations, the _lastUpdated watermark and a full resync.
const { expect } = require('chai');
const { loadSample, SAMPLE_HIERARCHY } = require('../../nodes/lib/registry/sample.js');
const { DEFAULT_EXPORT_OPTIONS } = require('../../nodes/lib/sync/export-plan.js');
const { runExport } = require('../../nodes/lib/sync/export-run.js');
const { runImport, DEFAULT_IMPORT_OPTIONS } = require('../../nodes/lib/sync/import-run.js');
const { defaultTransform } = require('../../nodes/lib/mapping/fhir-to-registry.js');
const { FAST_RETRY, renameLocations } = require('./fhir');

const SYSTEM = 'http://moh.example/registry';

/**
 * The import suite named `title` against the peer `usePeer()` returns (called inside it: see hapiPeer, cloudFhirPeer).
 * `paging.links` names the peer's next links in a test title; `paging.check(first, peer)` checks them on a first page.
 */
function importSuite(title, usePeer, paging) {
  describe(title, function () {
    const peer = usePeer();
    this.timeout(peer.timeout);
    let sample;

    const importRun = (extra = {}) =>
      runImport({
        connection: peer.connection(SYSTEM),
        transform: defaultTransform,
        retry: FAST_RETRY,
        forDate: '2026-01-01',
        ...extra,
        options: { ...DEFAULT_IMPORT_OPTIONS, system: SYSTEM, hierarchy: SAMPLE_HIERARCHY, pageSize: 100, ...extra.options },
      });

    before(async function () {
      sample = await loadSample('2026-01-01');
      await peer.reset();
      const job = await runExport({
        model: sample,
        options: { ...DEFAULT_EXPORT_OPTIONS, system: SYSTEM },
        connection: peer.connection(SYSTEM),
        concurrency: 2,
        retry: FAST_RETRY,
      });
      expect(job.status, job.message).to.equal('SUCCESS');
    });

    it(`pages with ${paging.links}, which the import follows as they are`, async function () {
      paging.check(await (await peer.fetch(`${peer.base()}Location?_count=100`)).json(), peer);
      const { job } = await importRun();
      // 324 Locations on four pages: three of them reachable only through those links.
      expect(job).to.deep.include({ status: 'SUCCESS', workTotal: 324, objectsImported: 324 });
    });

    it('imports back what was exported, the Organizations read through _include', async function () {
      const { job, model } = await importRun();
      expect(job).to.deep.include({ status: 'SUCCESS', resourcesRead: 648, objectsImported: 324 });
      const key = (o) => `${o.type}|${o.code}`;
      const view = (m) => Object.fromEntries(m.objects.map((o) => [key(o), { label: o.label.default, geometry: o.geometry }]));
      expect(view(model)).to.deep.equal(view(sample));
      const links = (m) => m.links.map((l) => `${l.hierarchy}|${l.childType}|${l.childCode}->${l.parentType}|${l.parentCode}`).sort();
      expect(links(model)).to.deep.equal(links(sample));
    });

    it('reads only what changed since the last run (_lastUpdated), and everything on a full resync', async function () {
      const first = await importRun();
      const since = first.job.startedAt;
      await renameLocations(peer.base(), 3, peer.fetch);
      const { job, model } = await importRun({ since });
      expect(job).to.deep.include({ status: 'SUCCESS', workTotal: 3, objectsImported: 3 });
      expect(model.objects.map((o) => o.label.default).every((l) => l.endsWith('(renamed)'))).to.equal(true);
      const full = await importRun();
      expect(full.job).to.deep.include({ status: 'SUCCESS', workTotal: 324, objectsImported: 324 });
    });
  });
}

module.exports = { importSuite };
