'use strict';
// Export results the server's answers bear out: transactions in flight at a cancel or a lost connection
// are counted as the server holds them, and a server that loses data is noticed at the end of the run and
// by the next incremental run, with referential integrity (as HAPI) and without (as Medplum).
const fs = require('node:fs');
const path = require('node:path');
const { expect } = require('chai');
const { readEvents } = require('../nodes/lib/registry/gpr-json.js');
const { DEFAULT_EXPORT_OPTIONS } = require('../nodes/lib/sync/export-plan.js');
const { runExport } = require('../nodes/lib/sync/export-run.js');
const { control } = require('./support/peers');
const { FAST_RETRY, connectionTo, requests, searchAll } = require('./support/fhir');
const { until } = require('./support/until');
const { requiresReferenceData } = require('./support/requirements');

const FIXTURES = path.resolve(__dirname, '..', '..', 'shared', 'fixtures', 'gpr');
const fixture = (name) => JSON.parse(fs.readFileSync(path.join(FIXTURES, name), 'utf8'));
const SYSTEM = 'http://moh.example/registry';
const base = () => process.env.FHIR_BASE;
/** 19 objects, 4 a chunk: 5 transactions, one after the other. */
const OPTIONS = { hierarchies: ['USATestDataAdminCode'], idStrategy: 'server', chunkSize: 8 };

const usaModel = () => readEvents(fixture('events.json'), fixture('geo-object-types.json'), fixture('hierarchy-types.json'), '2020-06-01');

const run = (extra = {}) =>
  runExport({
    model: usaModel(),
    connection: connectionTo(base(), SYSTEM),
    concurrency: 1,
    retry: FAST_RETRY,
    ...extra,
    options: { ...DEFAULT_EXPORT_OPTIONS, system: SYSTEM, ...OPTIONS, ...extra.options },
  });

const held = async (type) => searchAll(`${base()}${type}?identifier=${encodeURIComponent(SYSTEM)}|&_count=100`);
const posts = async () => (await requests(base())).filter((r) => r.method === 'POST' && r.url === '');

/** Every reference between the held resources leads to a held resource. */
async function danglingReferences() {
  const all = [...(await held('Organization')), ...(await held('Location'))];
  const ids = new Set(all.map((r) => `${r.resourceType}/${r.id}`));
  return JSON.stringify(all)
    .match(/"reference":"[^"]+"/g)
    .map((m) => m.slice(13, -1))
    .filter((ref) => !ids.has(ref));
}

describe('export results checked with the server', function () {
  before(function () {
    requiresReferenceData(this);
  });
  this.timeout(60000);
  beforeEach(() => control(base(), '/__reset'));

  describe('in flight', function () {
    it('counts a transaction answered just after the cancel', async function () {
      // The server holds the second transaction until the cancel has been given.
      await control(base(), '/__fault', { hold: true, skip: 1, match: 'POST ' });
      const controller = new AbortController();
      const running = run({ signal: controller.signal });
      await until('the second transaction', async () => (await posts()).length >= 2);
      controller.abort();
      await control(base(), '/__release');
      const job = await running;
      expect(job.status).to.equal('CANCELED');
      expect(await posts()).to.have.length(2);
      expect(await held('Organization')).to.have.length(8);
      expect(job).to.deep.include({ objectsExported: 8, resourcesExported: 16 });
    });

    it('counts a transaction the server stored but whose answer was lost', async function () {
      await control(base(), '/__fault', { dropAfter: true, skip: 1, match: 'POST ' });
      const job = await run({ retry: { ...FAST_RETRY, retries: 0 } });
      expect(job.status).to.equal('FAILURE');
      expect(await posts()).to.have.length(2);
      expect(await held('Organization')).to.have.length(8);
      expect(job).to.deep.include({ objectsExported: 8, resourcesExported: 16 });
      expect(job.exception.message).to.match(/; 4 objects were sent without an answer, and the server holds 4 of them$/);
    });
  });

  for (const integrity of [false, true]) {
    describe(
      integrity ? 'a server that loses its data, with referential integrity (as HAPI)' : 'a server that loses its data (as Medplum)',
      function () {
        beforeEach(() => control(base(), '/__integrity', { on: integrity }));

        it('says so at the end of the run, and the next incremental run sends what is missing', async function () {
          // The server empties itself just before the third transaction.
          await control(base(), '/__fault', { wipe: true, skip: 2, match: 'POST ' });
          let state;
          const job = await run({ options: { incremental: true }, onState: (s) => (state = s) });
          expect(await posts()).to.have.length.at.least(3);
          expect(job.status).to.equal('WARNING');
          const lost = job.errors.filter((r) => /^the server no longer holds its Organization/.test(r.message)).map((r) => r.code);
          // The 8 objects of the first two transactions.
          expect(lost).to.have.length(8);
          expect(job.objectsExported).to.be.below(11 + 1);
          const orphans = job.errors.filter((r) => /is no longer on the server|not found/.test(r.message) && !lost.includes(r.code));
          expect(orphans.length).to.be.above(0);
          if (!integrity) expect(await danglingReferences()).to.not.deep.equal([]);

          const again = await run({ options: { incremental: true }, previous: state });
          expect(again.status).to.equal('SUCCESS');
          expect(again.errors.filter((r) => r.severity === 'ERROR')).to.deep.equal([]);
          expect(await held('Organization')).to.have.length(19);
          expect(await held('Location')).to.have.length(19);
          expect(await danglingReferences()).to.deep.equal([]);
        });

        it('an incremental run notices that the server lost what it sent before, and sends it again', async function () {
          let state;
          const first = await run({ options: { incremental: true }, onState: (s) => (state = s) });
          expect(first).to.deep.include({ status: 'SUCCESS', objectsExported: 19 });
          // The server restarts empty.
          await control(base(), '/__reset');
          await control(base(), '/__integrity', { on: integrity });
          const again = await run({ options: { incremental: true }, previous: state });
          expect(again).to.deep.include({ status: 'SUCCESS', objectsExported: 19 });
          expect(again.skipped.unchanged).to.equal(0);
          expect(again.errors.filter((r) => r.severity === 'WARNING').map((r) => r.message)).to.include(
            'the server no longer holds it: sent again',
          );
          expect(await held('Organization')).to.have.length(19);
          expect(await danglingReferences()).to.deep.equal([]);
        });
      },
    );
  }

  it('finds only what is lost on a server whose pages are smaller than a group of ids (as HAPI caps _count)', async function () {
    await control(base(), '/__limits', { maxPageSize: 3 });
    await control(base(), '/__fault', { wipe: true, skip: 2, match: 'POST ' });
    const job = await run();
    expect(job.status).to.equal('WARNING');
    const lost = job.errors.filter((r) => /^the server no longer holds its Organization/.test(r.message));
    // The 8 objects of the first two transactions, not every id past the server's first page.
    expect(lost).to.have.length(8);
    const reads = (await requests(base())).filter((r) => r.method === 'POST' && r.url.endsWith('/_search'));
    expect(reads.length).to.be.above(2);
  });
});
