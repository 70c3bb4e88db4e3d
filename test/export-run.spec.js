'use strict';
// Export runs against the sandbox FHIR server: idempotence, chunking under Medplum's limits, faults
// and bad input.
const fs = require('node:fs');
const path = require('node:path');
const { expect } = require('chai');
const { readEvents } = require('../nodes/lib/registry/gpr-json.js');
const { DEFAULT_EXPORT_OPTIONS } = require('../nodes/lib/sync/export-plan.js');
const { runExport } = require('../nodes/lib/sync/export-run.js');
const { control, startPeer } = require('./support/peers');
const { checkResource } = require('./support/mcsd-rules');
const { FAST_RETRY, UNREADABLE, connectionTo: connectionFor, requests, searchAll } = require('./support/fhir');

const { FIXTURES, requiresReferenceData } = require('./support/requirements');
const fixture = (name) => JSON.parse(fs.readFileSync(path.join(FIXTURES, name), 'utf8'));
const SYSTEM = 'http://moh.example/registry';

const usaModel = () => readEvents(fixture('events.json'), fixture('geo-object-types.json'), fixture('hierarchy-types.json'), '2020-06-01');

const connectionTo = (base) => connectionFor(base, SYSTEM);

function run(base, extra = {}, model = usaModel()) {
  return runExport({
    model,
    connection: connectionTo(base),
    concurrency: 2,
    retry: FAST_RETRY,
    ...extra,
    options: { ...DEFAULT_EXPORT_OPTIONS, system: SYSTEM, idStrategy: 'server', ...extra.options },
  });
}

const all = (base, type) => searchAll(`${base}${type}?identifier=${encodeURIComponent(SYSTEM)}|&_count=100`);

describe('export run', function () {
  before(function () {
    requiresReferenceData(this);
  });
  this.timeout(60000);
  const base = () => process.env.FHIR_BASE;
  beforeEach(() => control(base(), '/__reset'));

  it('exports every object as an Organization and a Location, linked to the parents’ server ids', async function () {
    const job = await run(base());
    expect(job).to.deep.include({
      status: 'SUCCESS',
      stage: 'COMPLETE',
      workTotal: 20,
      workProgress: 20,
      objectsExported: 20,
      resourcesExported: 40,
    });
    expect(job.skipped).to.deep.equal({ invalid: 0, notExisting: 1, unchanged: 0 });
    const orgs = await all(base(), 'Organization');
    const locations = await all(base(), 'Location');
    expect(orgs).to.have.length(20);
    expect(locations).to.have.length(20);
    const byCode = (list, code) => list.find((r) => r.identifier[0].value === code);
    const hsTwo = byCode(orgs, 'USATestDataHsTwo');
    // Several hierarchies: parents in the mCSD hierarchy extension, by the parents' real ids.
    const parents = hsTwo.extension.map((e) => e.extension[0].valueReference.reference);
    expect(parents).to.have.members([
      `Organization/${byCode(orgs, 'USATestDataColoradoDistrictOne').id}`,
      `Organization/${byCode(orgs, 'USATestDataHpTwo').id}`,
    ]);
    expect(byCode(locations, 'USATestDataHsTwo').managingOrganization.reference).to.equal(`Organization/${hsTwo.id}`);
    for (const r of [...orgs, ...locations]) checkResource(r);
  });

  it('converges on a second run: same resources, same ids, no duplicates', async function () {
    await run(base());
    const ids = (list) => list.map((r) => r.id).sort();
    const before = { orgs: ids(await all(base(), 'Organization')), locs: ids(await all(base(), 'Location')) };
    const job = await run(base());
    expect(job.status).to.equal('SUCCESS');
    expect(ids(await all(base(), 'Organization'))).to.deep.equal(before.orgs);
    expect(ids(await all(base(), 'Location'))).to.deep.equal(before.locs);
  });

  it('sends transactions of at most chunkSize entries, parents’ chunks first', async function () {
    const job = await run(base(), { options: { chunkSize: 8, hierarchies: ['USATestDataAdminCode'] } });
    expect(job.status).to.equal('SUCCESS');
    const sizes = (await requests(base())).filter((r) => r.method === 'POST' && r.url === '').map((r) => r.entries);
    expect(sizes.length).to.be.above(2);
    expect(Math.max(...sizes)).to.be.at.most(8);
    const colorado = (await all(base(), 'Location')).find((l) => l.identifier[0].value === 'USATestDataColorado');
    const usa = (await all(base(), 'Location')).find((l) => l.identifier[0].value === 'USATestDataUSA');
    expect(colorado.partOf.reference).to.equal(`Location/${usa.id}`);
  });

  describe('with Medplum’s native transaction limits (TX=medplum)', function () {
    let medplum;
    before(async () => (medplum = await startPeer('fhir-server.mjs', ['0'], { TX: 'medplum' })));
    after(() => medplum && medplum.stop());

    it('exports everything with a chunk size within the limit of 8', async function () {
      const job = await run(medplum.url, { options: { chunkSize: 8 } });
      expect(job).to.deep.include({ status: 'SUCCESS', objectsExported: 20 });
      expect(await all(medplum.url, 'Location')).to.have.length(20);
    });
  });

  describe('faults', function () {
    it('retries 503s and recovers, showing each retry on the job until a call gets through', async function () {
      await control(base(), '/__fault', { status: 503, count: 2 });
      const retries = [];
      const onProgress = (j) => retries.push(j.retrying && { ...j.retrying });
      const job = await run(base(), { onProgress });
      expect(job).to.deep.include({ status: 'SUCCESS', objectsExported: 20 });
      const shown = retries.filter(Boolean).map(({ attempt, retries: of, waitMs, reason }) => ({ attempt, of, waitMs, reason }));
      // The exponential backoff of the policy (its first wait, then twice that), announced as it is waited.
      expect(shown).to.deep.equal([
        { attempt: 1, of: FAST_RETRY.retries, waitMs: FAST_RETRY.minTimeoutMs, reason: 'HTTP 503' },
        { attempt: 2, of: FAST_RETRY.retries, waitMs: 2 * FAST_RETRY.minTimeoutMs, reason: 'HTTP 503' },
      ]);
      expect(retries.at(-1)).to.equal(undefined);
      expect(job).to.not.have.property('retrying');
      // The one transaction was refused twice, then accepted.
      const posts = (await requests(base())).filter((r) => r.method === 'POST' && r.url === '');
      expect(posts.map((r) => r.entries)).to.deep.equal([40, 40, 40]);
    });

    it('waits for Retry-After on a 429 and recovers', async function () {
      await control(base(), '/__fault', { status: 429, count: 1, retryAfter: 1 });
      const job = await run(base(), { options: { chunkSize: 1000 } });
      expect(job.status).to.equal('SUCCESS');
      const posts = (await requests(base())).filter((r) => r.method === 'POST' && r.url === '');
      expect(posts).to.have.length(2);
    });

    it('ends in FAILURE with the cause when the server goes away mid-run, and the next run converges', async function () {
      const options = { chunkSize: 10, hierarchies: ['USATestDataAdminCode'] };
      // After the first transaction, every request finds the connection closed.
      await control(base(), '/__fault', { drop: true, count: 1000, skip: 1 });
      const failed = await run(base(), { options, concurrency: 1 });
      expect(failed).to.deep.include({ status: 'FAILURE', objectsExported: 5 });
      expect(failed.exception.message).to.match(/^transaction of 10 entries at http:\/\/127\.0\.0\.1:\d+\/fhir\/R4 failed: /);
      // The first transaction got through; the second was tried once and retried until the retries ran out.
      const posts = (await requests(base())).filter((r) => r.method === 'POST' && r.url === '');
      expect(posts).to.have.length(1 + 1 + FAST_RETRY.retries);
      await control(base(), '/__fault', { clear: true });
      const again = await run(base(), { options });
      expect(again).to.deep.include({ status: 'SUCCESS', objectsExported: 19 });
      expect(await all(base(), 'Organization')).to.have.length(19);
      expect(await all(base(), 'Location')).to.have.length(19);
    });
  });

  describe('bad input', function () {
    it('records the FHIR server’s refusal per object, with what was sent and answered', async function () {
      // This server does not create resources with client-assigned ids through conditional PUTs.
      const job = await run(base(), { options: { idStrategy: 'code', hierarchies: ['USATestDataAdminCode'] } });
      expect(job.status).to.equal('FAILURE');
      expect(job.exception.message).to.match(/^none of 19 objects was exported; first error: /);
      const row = job.errors.find((r) => r.code === 'USATestDataUSA');
      expect(row.severity).to.equal('ERROR');
      // The server's own words reach the user.
      expect(row.response.resourceType).to.equal('OperationOutcome');
      expect(row.message).to.equal(row.response.issue[0].details.text).and.match(/ID/);
      expect(row.submitted.map((r) => r.resourceType)).to.deep.equal(['Organization', 'Location']);
    });

    it('exports the rest when some objects are duplicates, have unreadable geometry or a refused resource', async function () {
      const model = usaModel();
      model.objects.push({ ...model.objects.find((o) => o.code === 'USATestDataHsOne'), type: 'USATestDataHealthPost' });
      model.objects.find((o) => o.code === 'USATestDataMexico').geometry = UNREADABLE;
      // An alias that is not a string: the server's validation refuses that one object.
      model.objects.find((o) => o.code === 'USATestDataWashington').label.fr = 42;
      const job = await run(base(), { model, options: { chunkSize: 1000 } });
      expect(job.status).to.equal('WARNING');
      const errors = job.errors.filter((r) => r.severity === 'ERROR').map((r) => r.code);
      expect(errors).to.have.members(['USATestDataHsOne', 'USATestDataMexico', 'USATestDataWashington']);
      expect(job.objectsExported).to.equal(18);
      expect(await all(base(), 'Organization')).to.have.length(18);
      const refused = job.errors.find((r) => r.code === 'USATestDataWashington');
      expect(refused.response.resourceType).to.equal('OperationOutcome');
    });
  });

  describe('incremental runs and removed objects', function () {
    const admin = { hierarchies: ['USATestDataAdminCode'], chunkSize: 1000 };
    const sent = async () => (await requests(base())).filter((r) => r.method === 'POST' && r.url === '').reduce((n, r) => n + r.entries, 0);

    it('sends only what changed since the last run', async function () {
      let state;
      const first = await run(base(), { options: { ...admin, incremental: true }, onState: (s) => (state = s) });
      expect(first.objectsExported).to.equal(19);
      expect(Object.keys(state)).to.have.length(19);

      await control(base(), '/__reset-log');
      const unchanged = await run(base(), { options: { ...admin, incremental: true }, previous: state, onState: (s) => (state = s) });
      expect(unchanged).to.deep.include({ status: 'SUCCESS', workTotal: 0, objectsExported: 0 });
      expect(unchanged.skipped.unchanged).to.equal(19);
      expect(await sent()).to.equal(0);

      const model = usaModel();
      model.objects.find((o) => o.code === 'USATestDataColoradoDistrictTwo').label.default = 'Renamed';
      const changed = await run(base(), { model, options: { ...admin, incremental: true }, previous: state });
      expect(changed).to.deep.include({ status: 'SUCCESS', workTotal: 1, objectsExported: 1 });
      expect(await sent()).to.equal(2);
      // Its parent was not sent again: it was found on the server.
      expect(changed.errors).to.deep.equal([]);
    });

    it('warns once about a missing parent, also when the server refuses the chunk and it is sent object by object', async function () {
      // Districts only: their States are outside the export, and not on the server.
      const levels = [{ geoObjectType: 'USATestDataDistrict' }];
      // The transaction (a POST to the base) is refused once; the parent lookups are not.
      await control(base(), '/__fault', { status: 422, count: 1, match: 'POST ' });
      const job = await run(base(), { options: { ...admin, levels } });
      expect(job).to.deep.include({ status: 'SUCCESS', objectsExported: 4 });
      // The chunk of 4 objects was refused, then sent in halves.
      const posts = (await requests(base())).filter((r) => r.method === 'POST' && r.url === '');
      expect(posts.map((r) => r.entries)).to.deep.equal([8, 4, 4]);
      expect(job.errors.map((r) => `${r.code}: ${r.message}`)).to.have.members([
        'USATestDataColoradoDistrictOne: parent "USATestDataColorado" is not on the server; no parent set',
        'USATestDataColoradoDistrictTwo: parent "USATestDataColorado" is not on the server; no parent set',
        'USATestDataWashingtonDistrictOne: parent "USATestDataWashington" is not on the server; no parent set',
        'USATestDataWashingtonDistrictTwo: parent "USATestDataWashington" is not on the server; no parent set',
      ]);
    });

    it('sends everything again when incremental is off', async function () {
      let state;
      await run(base(), { options: admin, onState: (s) => (state = s) });
      await control(base(), '/__reset');
      const full = await run(base(), { options: admin, previous: state });
      expect(full.objectsExported).to.equal(19);
    });

    it('sets the resources of objects that are gone inactive, and leaves them by default', async function () {
      await run(base(), { options: admin });
      const model = usaModel();
      model.objects.find((o) => o.code === 'USATestDataHsOne').exists = false;
      model.objects.splice(
        model.objects.findIndex((o) => o.code === 'USATestDataHpOne'),
        1,
      );
      const ignoring = await run(base(), { model, options: admin });
      expect(ignoring.inactivated).to.equal(0);
      const job = await run(base(), { model, options: { ...admin, onRemoved: 'inactivate' } });
      expect(job).to.deep.include({ status: 'SUCCESS', inactivated: 4 });
      const locations = await all(base(), 'Location');
      const orgs = await all(base(), 'Organization');
      const status = (list, code) => list.find((r) => r.identifier[0].value === code);
      expect(status(locations, 'USATestDataHsOne').status).to.equal('inactive');
      expect(status(orgs, 'USATestDataHpOne').active).to.equal(false);
      expect(status(locations, 'USATestDataHsTwo').status).to.equal('active');
      expect(locations.filter((l) => l.status === 'inactive')).to.have.length(2);
      // Nothing to change the second time.
      expect((await run(base(), { model, options: { ...admin, onRemoved: 'inactivate' } })).inactivated).to.equal(0);
    });
  });

  it('stops at a chunk boundary when cancelled: what was sent is recorded, nothing more is sent', async function () {
    const controller = new AbortController();
    const job = await run(base(), {
      options: { chunkSize: 4, hierarchies: ['USATestDataAdminCode'] },
      concurrency: 1,
      signal: controller.signal,
      onProgress: (j) => j.workProgress > 0 && controller.abort(),
    });
    expect(job.status).to.equal('CANCELED');
    expect(job.exception.message).to.equal('cancelled after 2 of 19 objects');
    expect(job.objectsExported).to.equal(2);
    const posts = (await requests(base())).filter((r) => r.method === 'POST');
    expect(posts).to.have.length(1);
  });
});
