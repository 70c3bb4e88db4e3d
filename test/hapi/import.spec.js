'use strict';
// Import from HAPI FHIR (open base): its opaque _getpages next links, _include of the Organizations, the
// _lastUpdated watermark and a full resync, after an export of the embedded sample.
const { expect } = require('chai');
const { loadSample, SAMPLE_HIERARCHY } = require('../../nodes/lib/registry/sample.js');
const { DEFAULT_EXPORT_OPTIONS } = require('../../nodes/lib/sync/export-plan.js');
const { runExport } = require('../../nodes/lib/sync/export-run.js');
const { runImport, DEFAULT_IMPORT_OPTIONS } = require('../../nodes/lib/sync/import-run.js');
const { defaultTransform } = require('../../nodes/lib/mapping/fhir-to-registry.js');
const { FAST_RETRY, connectionTo, renameLocations } = require('../support/fhir');
const { useJavaPeers, expungeEverything } = require('../support/hapi');

const SYSTEM = 'http://moh.example/registry';

describe('import from HAPI FHIR', function () {
  this.timeout(180000);
  const peers = useJavaPeers();
  const base = () => peers.hapi.base;
  let sample;

  const importRun = (extra = {}) =>
    runImport({
      connection: connectionTo(base(), SYSTEM),
      transform: defaultTransform,
      retry: FAST_RETRY,
      forDate: '2026-01-01',
      ...extra,
      options: { ...DEFAULT_IMPORT_OPTIONS, system: SYSTEM, hierarchy: SAMPLE_HIERARCHY, pageSize: 100, ...extra.options },
    });

  before(async function () {
    sample = await loadSample('2026-01-01');
    await expungeEverything(base());
    const job = await runExport({
      model: sample,
      options: { ...DEFAULT_EXPORT_OPTIONS, system: SYSTEM },
      connection: connectionTo(base(), SYSTEM),
      concurrency: 2,
      retry: FAST_RETRY,
    });
    expect(job.status, job.message).to.equal('SUCCESS');
  });

  it('pages with opaque _getpages links, which the import follows as they are', async function () {
    const first = await (await fetch(`${base()}Location?_count=100`)).json();
    const next = first.link.find((l) => l.relation === 'next').url;
    // HAPI's own link to its stored search, not a query the client could build.
    expect(next).to.match(/\/fhir\?_getpages=[^&]+/);
    expect(next).to.not.match(/[?&](_offset|page)=/);
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
    await renameLocations(base(), 3);
    const { job, model } = await importRun({ since });
    expect(job).to.deep.include({ status: 'SUCCESS', workTotal: 3, objectsImported: 3 });
    expect(model.objects.map((o) => o.label.default).every((l) => l.endsWith('(renamed)'))).to.equal(true);
    const full = await importRun();
    expect(full.job).to.deep.include({ status: 'SUCCESS', workTotal: 324, objectsImported: 324 });
  });
});
