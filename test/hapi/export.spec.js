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

  const runExportWith = (options, model, onState, previous) =>
    runExport({
      model,
      connection: connectionTo(base(), SYSTEM),
      concurrency: 2,
      retry: FAST_RETRY,
      onState,
      previous,
      options: { ...DEFAULT_EXPORT_OPTIONS, system: SYSTEM, ...options },
    });
  const exportSample = (options, model = sample) => runExportWith(options, model);
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

  it('sends only what changed since the last run (incremental)', async function () {
    let state;
    const first = await runExportWith({ incremental: true }, sample, (s) => (state = s));
    expect(first, first.message).to.deep.include({ status: 'SUCCESS', objectsExported: 324 });
    const unchanged = await runExportWith({ incremental: true }, sample, (s) => (state = s), state);
    expect(unchanged).to.deep.include({ status: 'SUCCESS', workTotal: 0, objectsExported: 0 });
    const model = structuredClone(sample);
    const renamed = model.objects.find((o) => o.type === 'District');
    renamed.label.default = 'Renamed on HAPI';
    const changed = await runExportWith({ incremental: true }, model, undefined, state);
    expect(changed, changed.message).to.deep.include({ status: 'SUCCESS', workTotal: 1, objectsExported: 1 });
    const [location] = await searchAll(`${base()}Location?identifier=${encodeURIComponent(`${SYSTEM}|${renamed.code}`)}`);
    expect(location.name).to.equal('Renamed on HAPI');
  });

  it('sets the resources of removed objects inactive', async function () {
    await exportSample({});
    const model = structuredClone(sample);
    const gone = model.objects.filter((o) => o.type === 'HealthFacility').slice(0, 2);
    model.objects = model.objects.filter((o) => !gone.includes(o));
    model.links = model.links.filter((l) => !gone.some((o) => o.code === l.childCode && o.type === l.childType));
    const job = await exportSample({ onRemoved: 'inactivate' }, model);
    expect(job, job.message).to.deep.include({ status: 'SUCCESS', inactivated: 4 });
    for (const o of gone) {
      const identifier = encodeURIComponent(`${SYSTEM}|${o.code}`);
      expect((await searchAll(`${base()}Location?identifier=${identifier}`))[0].status).to.equal('inactive');
      expect((await searchAll(`${base()}Organization?identifier=${identifier}`))[0].active).to.equal(false);
    }
  });

  it('refuses a purely numeric code as an id (code strategy) in the object’s row, as HAPI would, and exports the rest', async function () {
    const model = structuredClone(sample);
    const numeric = model.objects.find((o) => o.type === 'HealthFacility');
    for (const l of model.links) if (l.childCode === numeric.code && l.childType === numeric.type) l.childCode = '4711';
    numeric.code = '4711';
    const job = await exportSample({ idStrategy: 'code' }, model);
    expect(job).to.deep.include({ status: 'WARNING', objectsExported: 323 });
    const row = job.errors.find((r) => r.code === '4711');
    expect(row).to.include({ severity: 'ERROR', type: 'HealthFacility' });
    expect(row.message).to.match(/purely numeric, which servers such as HAPI refuse .*choose the "safe" or "server" id strategy/);
    // HAPI's own rule, which the check anticipates.
    const put = await fetch(`${base()}Location/4711`, {
      method: 'PUT',
      headers: { 'content-type': 'application/fhir+json' },
      body: JSON.stringify({ resourceType: 'Location', id: '4711', name: 'numeric' }),
    });
    expect(put.status).to.equal(400);
    expect((await put.json()).issue[0].diagnostics).to.match(/^HAPI-0960: .*at least one non-numeric character/);
    // The safe strategy gives such codes an id HAPI takes.
    const safe = await exportSample({ idStrategy: 'safe' }, model);
    expect(safe, safe.message).to.deep.include({ status: 'SUCCESS', objectsExported: 324 });
  });
});
