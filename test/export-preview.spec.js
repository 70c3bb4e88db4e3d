'use strict';
// Preview changes of a deployed fhir-export node (POST fhir-export/<id>/preview) against the sandbox FHIR server:
// what a run would create, update and set inactive, and proof that the preview itself writes nothing.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { expect } = require('chai');
const helper = require('node-red-node-test-helper');
const { nodeRedPath } = require('./support/node-red');
const { control, closedPortUrl } = require('./support/peers');
const { FAST_RETRY, connectionTo, requests, searchAll } = require('./support/fhir');
const { previewExport, PREVIEW_LIMIT } = require('../nodes/lib/sync/export-preview.js');
const { DEFAULT_EXPORT_OPTIONS } = require('../nodes/lib/sync/export-plan.js');
const { loadGeoJsonFile } = require('../nodes/lib/registry/files.js');
const { DEFAULT_GEOJSON_MAPPING } = require('../nodes/lib/registry/geojson.js');
const { sandboxExport, sandboxSystem } = require('./support/flows');
const { square, feature } = require('./support/preview-data');
const { until } = require('./support/until');

helper.init(nodeRedPath);

const NODES = ['fhir-external-system', 'gpr-hierarchy-source', 'fhir-export'].map((n) => require(`../nodes/${n}.js`));
const base = () => process.env.FHIR_BASE;
const SYSTEM = sandboxSystem().system;

/** A country, two regions and a district; `without` codes left out (objects removed from the registry). */
const registry = (without = []) => ({
  type: 'FeatureCollection',
  features: [
    feature('A', 'Aland', 'Country', '', square(0, 0, 10)),
    feature('R1', 'North', 'Region', 'A', square(0, 5, 5)),
    feature('R2', 'South', 'Region', 'A', square(0, 0, 5)),
    feature('D1', 'Northwest', 'District', 'R1', square(0, 7, 2)),
  ].filter((f) => !without.includes(f.properties.code)),
});

let registryFile;
const writeRegistry = (without) => fs.writeFileSync(registryFile, JSON.stringify(registry(without)));

function flow({ url = base(), exportExtra = {} } = {}) {
  return [
    { id: 'f1', type: 'tab' },
    sandboxSystem({ url }),
    { id: 'src', z: 'f1', type: 'gpr-hierarchy-source', source: 'geojson', geojsonFile: registryFile, wires: [] },
    sandboxExport(exportExtra),
  ];
}

const preview = async (status = 200) => (await helper.request().post('/fhir-export/exp/preview').expect(status)).body;

/** Run now, to its end. */
async function runNow() {
  const { id } = (await helper.request().post('/fhir-export/exp/run').expect(200)).body;
  const job = await until('the job to end', async () => {
    const j = (await helper.request().get(`/fhir-export/exp/jobs/${id}`)).body;
    return j.finishedAt && j;
  });
  expect(job.status, JSON.stringify(job.exception ?? job.errors[0])).to.equal('SUCCESS');
  return job;
}

/** Every Organization and Location the server holds, with its version: any write changes it. */
async function stored() {
  const out = {};
  for (const type of ['Organization', 'Location'])
    for (const r of await searchAll(`${base()}${type}?_count=500`)) out[`${type}/${r.id}`] = r.meta.versionId;
  return out;
}

/** The requests the server logged, as `METHOD path` without the query. */
const requestLines = async () => (await requests(base())).map((r) => `${r.method} ${r.url.split('?')[0]}`);

/**
 * A preview, proving that it wrote nothing: only searches reached the server (`searches` of them, when given), and
 * what it holds is as it was.
 */
async function previewWritingNothing(searches) {
  const before = await stored();
  await control(base(), '/__reset-log');
  const answer = await preview();
  const log = await requestLines();
  for (const line of log) expect(line).to.match(/^(GET \w+|POST \w+\/_search)$/);
  if (searches !== undefined) expect(log).to.deep.equal(searches);
  expect(await stored()).to.deep.equal(before);
  return answer;
}

const actions = (answer) =>
  Object.fromEntries(answer.items.map((i) => [i.code + (i.detail ? ` ${i.detail.split('/')[0]}` : ''), i.action]));

describe('export preview', function () {
  this.timeout(30000);
  before(() => (registryFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'geofhir-export-preview-')), 'registry.geojson')));
  beforeEach(() => {
    writeRegistry();
    return control(base(), '/__reset');
  });
  afterEach(() => helper.unload());

  it('says every object is created on an empty server, then updated after a run, writing nothing', async function () {
    await helper.load(NODES, flow());
    // One search by identifier per resource type for the four codes.
    const first = await previewWritingNothing(['POST Organization/_search', 'POST Location/_search']);
    expect(first.counts).to.deep.equal({
      create: 4,
      update: 0,
      inactivate: 0,
      skipped: { invalid: 0, notExisting: 0, unchanged: 0, refused: 0 },
      warnings: 0,
    });
    // Parents first, with the registry's labels.
    expect(first.items).to.deep.equal([
      { code: 'A', type: 'Country', label: 'Aland', action: 'create' },
      { code: 'R2', type: 'Region', label: 'South', action: 'create' },
      { code: 'R1', type: 'Region', label: 'North', action: 'create' },
      { code: 'D1', type: 'District', label: 'Northwest', action: 'create' },
    ]);
    expect(first.total).to.equal(4);
    expect(await stored()).to.deep.equal({});
    // Nothing of a run either: no job, no incremental state.
    expect((await helper.request().get('/fhir-export/exp/jobs').expect(200)).body.count).to.equal(0);

    await runNow();
    const after = await previewWritingNothing();
    expect(after.counts).to.deep.include({ create: 0, update: 4, inactivate: 0 });
    expect(Object.values(actions(after))).to.deep.equal(['update', 'update', 'update', 'update']);
  });

  it('lists the resources of a removed object as set inactive with onRemoved = inactivate', async function () {
    await helper.load(NODES, flow({ exportExtra: { onRemoved: 'inactivate' } }));
    await runNow();
    writeRegistry(['D1']);
    // The objects' identifiers, then every resource with the System's identifier, as the inactivation searches them.
    const answer = await previewWritingNothing(['POST Organization/_search', 'POST Location/_search', 'GET Organization', 'GET Location']);
    expect(answer.counts).to.deep.include({ create: 0, update: 3, inactivate: 2 });
    expect(actions(answer)).to.deep.equal({
      A: 'update',
      R2: 'update',
      R1: 'update',
      'D1 Organization': 'inactivate',
      'D1 Location': 'inactivate',
    });
    expect(answer.items.find((i) => i.detail?.startsWith('Location/'))).to.include({ code: 'D1', type: 'Location', label: 'Northwest' });
    // The run does what the preview said.
    expect((await runNow()).inactivated).to.equal(2);
    expect((await preview()).counts.inactivate).to.equal(0);
  });

  it('counts what an incremental run leaves out as unchanged, and an object the server lost as created again', async function () {
    await helper.load(NODES, flow({ exportExtra: { incremental: true } }));
    await runNow();
    const answer = await previewWritingNothing();
    expect(answer.counts).to.deep.include({ create: 0, update: 0 });
    expect(answer.counts.skipped.unchanged).to.equal(4);
    // Deleted behind the export's back: the run would send it (and the district below it) again.
    for (const type of ['Organization', 'Location'])
      for (const r of await searchAll(`${base()}${type}?identifier=${encodeURIComponent(`${SYSTEM}|R1`)}`))
        expect((await fetch(`${base()}${type}/${r.id}`, { method: 'DELETE' })).status).to.be.below(300);
    const lost = await previewWritingNothing();
    expect(actions(lost)).to.deep.equal({ R1: 'create', D1: 'update' });
    expect(lost.counts).to.deep.include({ create: 1, update: 1, warnings: 2 });
    expect(lost.counts.skipped.unchanged).to.equal(2);
  });

  it('lists at most the first items of a big preview, and says how many there are', async function () {
    const model = await loadGeoJsonFile(registryFile, DEFAULT_GEOJSON_MAPPING, '2024-01-01');
    const answer = await previewExport({
      model,
      options: { ...DEFAULT_EXPORT_OPTIONS, system: SYSTEM, idStrategy: 'server' },
      connection: connectionTo(base(), SYSTEM),
      retry: FAST_RETRY,
      limit: 2,
    });
    expect(answer.items.map((i) => i.code)).to.deep.equal(['A', 'R2']);
    expect(answer).to.deep.include({ total: 4 });
    expect(answer.counts.create).to.equal(4);
    expect(PREVIEW_LIMIT).to.equal(1000);
  });

  it('lists the objects a run refuses as skipped, with the reason', async function () {
    fs.writeFileSync(
      registryFile,
      JSON.stringify({ ...registry(), features: [...registry().features, feature('9', 'Numeric', 'Region', 'A', square(5, 5, 1))] }),
    );
    await helper.load(NODES, flow({ exportExtra: { idStrategy: 'code' } }));
    const answer = await preview();
    expect(answer.counts).to.deep.include({ create: 4 });
    expect(answer.counts.skipped.refused).to.equal(1);
    expect(answer.items.at(-1)).to.include({ code: '9', type: 'Region', label: 'Numeric', action: 'skip' });
    expect(answer.items.at(-1).detail).to.match(/purely numeric/);
  });

  it('retries as a run does: a search the server fails once is asked again', async function () {
    helper.settings({ fhirExportRetry: FAST_RETRY });
    await helper.load(NODES, flow());
    helper.settings({});
    await control(base(), '/__fault', { status: 503, count: 1, match: 'POST Organization/_search' });
    await control(base(), '/__reset-log');
    expect((await preview()).counts.create).to.equal(4);
    expect(await requestLines()).to.deep.equal(['POST Organization/_search', 'POST Organization/_search', 'POST Location/_search']);
  });

  it('misses no object on a server whose pages are smaller than a group of codes: it asks again in groups of its page size', async function () {
    await helper.load(NODES, flow());
    await runNow();
    // As HAPI FHIR caps _count at its paging provider's maximum: 4 codes asked, 3 answered, and a next link.
    await control(base(), '/__limits', { maxPageSize: 3 });
    const answer = await previewWritingNothing([
      'POST Organization/_search',
      'POST Organization/_search',
      'POST Organization/_search',
      'POST Location/_search',
      'POST Location/_search',
    ]);
    expect(answer.counts).to.deep.include({ create: 0, update: 4 });
  });

  it('answers a server that is down, or a configuration error, with the node and the cause', async function () {
    helper.settings({ fhirExportRetry: { retries: 0 } });
    await helper.load(NODES, flow({ url: await closedPortUrl() }));
    helper.settings({});
    const down = await preview(502);
    expect(down.error).to.match(
      /^Preview changes of "Push": search 4 Organizations by identifier at http:\/\/127\.0\.0\.1:\d+\S* failed: /,
    );
    await helper.unload();
    await helper.load(NODES, flow({ exportExtra: { source: '' } }));
    expect((await preview(400)).error).to.match(/^Preview changes of "Push": .*select a registry source for Run now$/);
    await helper.unload();
    await helper.load(NODES, flow({ exportExtra: { hierarchies: 'Nope' } }));
    expect((await preview(400)).error).to.match(/^Preview changes of "Push": hierarchy "Nope" is not in the registry/);
    await helper.request().post('/fhir-export/nope/preview').expect(404);
  });
});
