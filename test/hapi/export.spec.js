'use strict';
// Export to HAPI FHIR (open base): the embedded sample and the awkward round-trip registry with every id strategy,
// reruns without duplicates, and what HAPI refuses that the sandbox accepts, in the object's row with HAPI's own
// message. (Generate Bundle against what a run sent: test/generate-sent.spec.js.)
const { expect } = require('chai');
const { loadSample } = require('../../nodes/lib/registry/sample.js');
const { DEFAULT_EXPORT_OPTIONS } = require('../../nodes/lib/sync/export-plan.js');
const { runExport } = require('../../nodes/lib/sync/export-run.js');
const { FHIR_ID } = require('../../nodes/lib/fhir/ids.js');
const { FAST_RETRY, connectionTo, searchAll } = require('../support/fhir');
const { useJavaPeers, expungeEverything } = require('../support/hapi');
const { roundTripModel, ADMIN } = require('../support/round-trip-data');

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

  describe('the awkward registry (codes with , | \\ $ space / unicode, numeric, over 64 characters; two hierarchies)', function () {
    const awkward = () => roundTripModel();
    const options = (idStrategy) => ({ idStrategy, partOfHierarchy: ADMIN, chunkSize: 6 });
    // HAPI takes a client id that is a FHIR id with at least one non-numeric character.
    const hapiTakes = (code) => FHIR_ID.test(code) && !/^\d+$/.test(code);

    for (const idStrategy of ['code', 'safe', 'server']) {
      it(`exports it with the ${idStrategy} id strategy, twice, to the same resources (code: a row for each code HAPI cannot take as an id)`, async function () {
        const model = awkward();
        const refused = idStrategy === 'code' ? model.objects.filter((o) => !hapiTakes(o.code)).map((o) => o.code) : [];
        const exported = model.objects.length - refused.length;
        const first = await exportSample(options(idStrategy), model);
        expect(first.objectsExported, first.message).to.equal(exported);
        expect(first.status).to.equal(refused.length ? 'WARNING' : 'SUCCESS');
        expect(first.errors.filter((r) => r.severity === 'ERROR').map((r) => r.code)).to.have.members(refused);
        const before = { locations: await ids('Location'), orgs: await ids('Organization') };
        expect(before.locations).to.have.length(exported);
        const second = await exportSample(options(idStrategy), model);
        expect(second.objectsExported, second.message).to.equal(exported);
        expect(await ids('Location')).to.deep.equal(before.locations);
        expect(await ids('Organization')).to.deep.equal(before.orgs);
      });
    }
  });

  it("refuses an object HAPI cannot update (its identifier matches two resources there) in the object's row with HAPI's message, and exports the rest", async function () {
    const [facility] = sample.objects.filter((o) => o.type === 'HealthFacility');
    const twin = { resourceType: 'Location', name: 'Duplicate', identifier: [{ system: SYSTEM, value: facility.code }] };
    for (let i = 0; i < 2; i++) {
      const res = await fetch(`${base()}Location`, {
        method: 'POST',
        headers: { 'content-type': 'application/fhir+json' },
        body: JSON.stringify(twin),
      });
      expect(res.status).to.equal(201);
    }
    const job = await exportSample({ idStrategy: 'server' });
    expect(job.status, job.message).to.equal('WARNING');
    expect(job.objectsExported).to.equal(323);
    const row = job.errors.find((r) => r.code === facility.code);
    expect(row).to.include({ severity: 'ERROR', type: 'HealthFacility' });
    expect(row.message).to.match(/HAPI-2207: Invalid match URL .* - Multiple resources match this search/);
  });
});
