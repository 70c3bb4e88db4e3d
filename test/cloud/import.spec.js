'use strict';
// Import from the cloud stand-ins (Google Cloud Healthcare API, Azure Health Data Services), after an export of the
// embedded sample: their page-token next links (`_page_token=`, `ct=`), which the import follows as they are, _include
// of the Organizations, the _lastUpdated watermark and a full resync.
const { expect } = require('chai');
const { loadSample, SAMPLE_HIERARCHY } = require('../../nodes/lib/registry/sample.js');
const { DEFAULT_EXPORT_OPTIONS } = require('../../nodes/lib/sync/export-plan.js');
const { runExport } = require('../../nodes/lib/sync/export-run.js');
const { runImport, DEFAULT_IMPORT_OPTIONS } = require('../../nodes/lib/sync/import-run.js');
const { defaultTransform } = require('../../nodes/lib/mapping/fhir-to-registry.js');
const { FAST_RETRY } = require('../support/fhir');
const { useCloudPeer } = require('../support/cloud');

const SYSTEM = 'http://moh.example/registry';
const PAGING = { google: /^[^?]+\/Location\?_page_token=[\w-]+$/, azure: /\/Location\?(.+&)?ct=[\w-]+/ };

for (const kind of ['google', 'azure']) {
  describe(`import from the ${kind === 'google' ? 'Google Cloud Healthcare API' : 'Azure Health Data Services'} stand-in`, function () {
    this.timeout(120000);
    const cloud = useCloudPeer(kind);
    let sample;

    const importRun = (extra = {}) =>
      runImport({
        connection: cloud.connection(SYSTEM),
        transform: defaultTransform,
        retry: FAST_RETRY,
        forDate: '2026-01-01',
        ...extra,
        options: { ...DEFAULT_IMPORT_OPTIONS, system: SYSTEM, hierarchy: SAMPLE_HIERARCHY, pageSize: 100, ...extra.options },
      });

    before(async function () {
      sample = await loadSample('2026-01-01');
      await cloud.reset();
      const job = await runExport({
        model: sample,
        options: { ...DEFAULT_EXPORT_OPTIONS, system: SYSTEM },
        connection: cloud.connection(SYSTEM),
        concurrency: 2,
        retry: FAST_RETRY,
      });
      expect(job.status, job.message).to.equal('SUCCESS');
    });

    it(`pages with the provider's page tokens, which the import follows as they are`, async function () {
      const first = await (await cloud.fetch(`${cloud.base}Location?_count=100`)).json();
      const next = first.link.find((l) => l.relation === 'next').url;
      expect(next.startsWith(cloud.base)).to.equal(true);
      expect(next)
        .to.match(PAGING[kind])
        .and.not.match(/[?&]_offset=/);
      // Forward paging only, as both document.
      expect(first.link.map((l) => l.relation)).to.deep.equal(['self', 'next']);
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
      const bundle = await (await cloud.fetch(`${cloud.base}Location?_count=3`)).json();
      for (const { resource } of bundle.entry) {
        resource.name = `${resource.name} (renamed)`;
        const res = await cloud.fetch(`${cloud.base}Location/${resource.id}`, {
          method: 'PUT',
          headers: { 'content-type': 'application/fhir+json' },
          body: JSON.stringify(resource),
        });
        expect(res.status).to.equal(200);
      }
      const { job, model } = await importRun({ since });
      expect(job).to.deep.include({ status: 'SUCCESS', workTotal: 3, objectsImported: 3 });
      expect(model.objects.map((o) => o.label.default).every((l) => l.endsWith('(renamed)'))).to.equal(true);
      const full = await importRun();
      expect(full.job).to.deep.include({ status: 'SUCCESS', workTotal: 324, objectsImported: 324 });
    });
  });
}
