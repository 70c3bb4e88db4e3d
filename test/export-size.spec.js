'use strict';
// Oversized objects and slow answers: a chunk larger than the request limit, refused as too large, or
// timing out is split, the object too large on its own gets its row, and nothing is repeated as it was.
const fs = require('node:fs');
const path = require('node:path');
const { expect } = require('chai');
const { readEvents } = require('../nodes/lib/registry/gpr-json.js');
const { DEFAULT_EXPORT_OPTIONS } = require('../nodes/lib/sync/export-plan.js');
const { runExport } = require('../nodes/lib/sync/export-run.js');
const { control } = require('./support/peers');
const { FAST_RETRY, connectionTo, searchAll } = require('./support/fhir');
const { requiresReferenceData } = require('./support/requirements');

const FIXTURES = path.resolve(__dirname, '..', '..', 'shared', 'fixtures', 'gpr');
const fixture = (name) => JSON.parse(fs.readFileSync(path.join(FIXTURES, name), 'utf8'));
const SYSTEM = 'http://moh.example/registry';
const base = () => process.env.FHIR_BASE;
const ADMIN = { hierarchies: ['USATestDataAdminCode'], idStrategy: 'server' };

/** GPR's test objects (19 in the Admin hierarchy), one of them with a label of `size` characters. */
function modelWithHugeLabel(size) {
  const model = readEvents(fixture('events.json'), fixture('geo-object-types.json'), fixture('hierarchy-types.json'), '2020-06-01');
  model.objects.find((o) => o.code === 'USATestDataColoradoDistrictTwo').label.default = 'L'.repeat(size);
  return model;
}

const run = (model, options, extra = {}) =>
  runExport({
    model,
    connection: connectionTo(base(), SYSTEM),
    concurrency: 1,
    retry: FAST_RETRY,
    ...extra,
    options: { ...DEFAULT_EXPORT_OPTIONS, system: SYSTEM, ...ADMIN, ...options },
  });

const posts = async () =>
  (await (await fetch(new URL('/__requests?bytes=1', base()))).json()).filter((r) => r.method === 'POST' && r.url === '');
const stored = async () => searchAll(`${base()}Organization?identifier=${encodeURIComponent(SYSTEM)}|&_count=100`);

describe('export of oversized objects and slow answers', function () {
  before(function () {
    requiresReferenceData(this);
  });
  this.timeout(60000);
  beforeEach(() => control(base(), '/__reset'));

  it('never sends more than the request limit: the chunk is split, the object too large alone gets its row', async function () {
    const limit = 200_000;
    const job = await run(modelWithHugeLabel(300_000), { chunkSize: 1000, maxRequestBytes: limit });
    expect(job).to.deep.include({ status: 'WARNING', objectsExported: 18, workProgress: 19 });
    const row = job.errors.find((r) => r.severity === 'ERROR');
    expect(row.code).to.equal('USATestDataColoradoDistrictTwo');
    expect(row.message).to.match(/^not sent: its resources make a request of \d+ bytes, more than the limit of 200000$/);
    const sent = await posts();
    expect(Math.max(...sent.map((r) => r.bytes))).to.be.at.most(limit);
    expect(await stored()).to.have.length(18);
  });

  it('splits a chunk the server refuses as too large, never repeating a refused request', async function () {
    await control(base(), '/__limits', { maxBodyBytes: 200_000 });
    const job = await run(modelWithHugeLabel(300_000), { chunkSize: 1000 });
    expect(job).to.deep.include({ status: 'WARNING', objectsExported: 18 });
    const row = job.errors.find((r) => r.severity === 'ERROR');
    expect(row.code).to.equal('USATestDataColoradoDistrictTwo');
    // The server's own words.
    expect(row.message).to.match(/^request body of \d+ bytes is larger than the limit of 200000$/);
    const refused = (await posts()).filter((r) => r.bytes > 200_000);
    // The fault fired: whole chunk, then the halves holding the object, down to the object alone; each once.
    expect(refused.length).to.be.above(2);
    expect(new Set(refused.map((r) => r.bytes)).size).to.equal(refused.length);
    expect(refused.map((r) => r.entries).at(-1)).to.equal(2);
  });

  it('splits a chunk that times out instead of sending it again', async function () {
    // Bundles of 8 entries or more take longer than the client waits (and are still written afterwards).
    await control(base(), '/__fault', { delayMs: 1500, minEntries: 8, count: 1000 });
    const connection = connectionTo(base(), SYSTEM);
    connection.settings.timeoutMs = 500;
    const job = await run(modelWithHugeLabel(10), { chunkSize: 8 }, { connection });
    await control(base(), '/__fault', { clear: true });
    expect(job).to.deep.include({ status: 'SUCCESS', objectsExported: 19 });
    const sent = await posts();
    const slow = sent.filter((r) => r.entries >= 8);
    // One timed-out request per chunk of 4 objects (5 chunks, the last of 3 objects): none repeated.
    expect(slow).to.have.length(4);
    expect(sent.filter((r) => r.entries < 8).length).to.be.at.least(9);
  });
});
