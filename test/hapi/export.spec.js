'use strict';
// Export to HAPI FHIR (open base): the suite of test/support/export-suite.js (the embedded sample with every id
// strategy, reruns without duplicates, incremental runs, removed objects set inactive), the awkward round-trip
// registry with every id strategy, and what HAPI refuses that the sandbox accepts, in the object's row with HAPI's
// own message. (Generate Bundle against what a run sent: test/generate-sent.spec.js.)
const { expect } = require('chai');
const { FHIR_ID } = require('../../nodes/lib/fhir/ids.js');
const { exportSuite, SYSTEM } = require('../support/export-suite');
const { hapiPeer } = require('../support/hapi');
const { roundTripModel, ADMIN } = require('../support/round-trip-data');

exportSuite('export to HAPI FHIR', hapiPeer, (suite) => {
  const { peer, exportRun, ids } = suite;

  it('refuses a purely numeric code as an id (code strategy) in the object’s row, as HAPI would, and exports the rest', async function () {
    const model = structuredClone(suite.sample);
    const numeric = model.objects.find((o) => o.type === 'HealthFacility');
    for (const l of model.links) if (l.childCode === numeric.code && l.childType === numeric.type) l.childCode = '4711';
    numeric.code = '4711';
    const job = await exportRun({ idStrategy: 'code' }, model);
    expect(job).to.deep.include({ status: 'WARNING', objectsExported: 323 });
    const row = job.errors.find((r) => r.code === '4711');
    expect(row).to.include({ severity: 'ERROR', type: 'HealthFacility' });
    expect(row.message).to.match(/purely numeric, which servers such as HAPI refuse .*choose the "safe" or "server" id strategy/);
    // HAPI's own rule, which the check anticipates.
    const put = await fetch(`${peer.base()}Location/4711`, {
      method: 'PUT',
      headers: { 'content-type': 'application/fhir+json' },
      body: JSON.stringify({ resourceType: 'Location', id: '4711', name: 'numeric' }),
    });
    expect(put.status).to.equal(400);
    expect((await put.json()).issue[0].diagnostics).to.match(/^HAPI-0960: .*at least one non-numeric character/);
    // The safe strategy gives such codes an id HAPI takes.
    const safe = await exportRun({ idStrategy: 'safe' }, model);
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
        const first = await exportRun(options(idStrategy), model);
        expect(first.objectsExported, first.message).to.equal(exported);
        expect(first.status).to.equal(refused.length ? 'WARNING' : 'SUCCESS');
        expect(first.errors.filter((r) => r.severity === 'ERROR').map((r) => r.code)).to.have.members(refused);
        const before = { locations: await ids('Location'), orgs: await ids('Organization') };
        expect(before.locations).to.have.length(exported);
        const second = await exportRun(options(idStrategy), model);
        expect(second.objectsExported, second.message).to.equal(exported);
        expect(await ids('Location')).to.deep.equal(before.locations);
        expect(await ids('Organization')).to.deep.equal(before.orgs);
      });
    }
  });

  it("refuses an object HAPI cannot update (its identifier matches two resources there) in the object's row with HAPI's message, and exports the rest", async function () {
    const [facility] = suite.sample.objects.filter((o) => o.type === 'HealthFacility');
    const twin = { resourceType: 'Location', name: 'Duplicate', identifier: [{ system: SYSTEM, value: facility.code }] };
    for (let i = 0; i < 2; i++) {
      const res = await fetch(`${peer.base()}Location`, {
        method: 'POST',
        headers: { 'content-type': 'application/fhir+json' },
        body: JSON.stringify(twin),
      });
      expect(res.status).to.equal(201);
    }
    const job = await exportRun({ idStrategy: 'server' });
    expect(job.status, job.message).to.equal('WARNING');
    expect(job.objectsExported).to.equal(323);
    const row = job.errors.find((r) => r.code === facility.code);
    expect(row).to.include({ severity: 'ERROR', type: 'HealthFacility' });
    expect(row.message).to.match(/HAPI-2207: Invalid match URL .* - Multiple resources match this search/);
  });
});
