'use strict';
// Export to HAPI FHIR (open base): the embedded sample with every id strategy, reruns without duplicates, and
// what HAPI refuses that the sandbox accepts.
const { expect } = require('chai');
const { loadSample } = require('../../nodes/lib/registry/sample.js');
const { DEFAULT_EXPORT_OPTIONS } = require('../../nodes/lib/sync/export-plan.js');
const { runExport } = require('../../nodes/lib/sync/export-run.js');
const { FAST_RETRY, connectionTo, searchAll } = require('../support/fhir');
const { useJavaPeers, expungeEverything } = require('../support/hapi');

const SYSTEM = 'http://moh.example/registry';

describe('export to HAPI FHIR', function () {
  this.timeout(180000);
  const peers = useJavaPeers();
  const base = () => peers.hapi.base;
  let sample;

  before(async () => (sample = await loadSample('2026-01-01')));
  beforeEach(() => expungeEverything(base()));

  const exportSample = (options, model = sample) =>
    runExport({
      model,
      connection: connectionTo(base(), SYSTEM),
      concurrency: 2,
      retry: FAST_RETRY,
      options: { ...DEFAULT_EXPORT_OPTIONS, system: SYSTEM, ...options },
    });
  const ids = async (type) =>
    (await searchAll(`${base()}${type}?identifier=${encodeURIComponent(SYSTEM)}|&_count=200&_elements=id`)).map((r) => r.id).sort();

  for (const idStrategy of ['code', 'safe', 'server']) {
    it(`exports all 324 objects with the ${idStrategy} id strategy, twice, to the same resources`, async function () {
      const first = await exportSample({ idStrategy });
      expect(first, first.message).to.deep.include({ status: 'SUCCESS', objectsExported: 324, resourcesExported: 648 });
      const before = { locations: await ids('Location'), orgs: await ids('Organization') };
      expect(before.locations).to.have.length(324);
      expect(before.orgs).to.have.length(324);
      if (idStrategy !== 'server') expect(before.locations).to.include(sample.objects[0].code);
      const second = await exportSample({ idStrategy });
      expect(second, second.message).to.deep.include({ status: 'SUCCESS', objectsExported: 324 });
      expect(await ids('Location')).to.deep.equal(before.locations);
      expect(await ids('Organization')).to.deep.equal(before.orgs);
    });
  }
});
