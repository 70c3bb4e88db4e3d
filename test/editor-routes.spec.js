'use strict';
// The admin routes behind the editor's export dialog, preview and job reports: the source's Geo-Object Types,
// the hierarchy preview, Generate Bundle from an unsaved form (one Bundle, or a zip of one Bundle per file), and a
// job's report as CSV and JSON.
const { expect } = require('chai');
const { unzipSync, strFromU8 } = require('fflate');
const helper = require('node-red-node-test-helper');
const { nodeRedPath } = require('./support/node-red');
const { closedPortUrl } = require('./support/peers');
const { sandboxExport, sandboxSystem } = require('./support/flows');
const { until } = require('./support/until');
const { previewGeoJsonFile, PREVIEW_LEVELS } = require('./support/preview-data');
const { jobReportCsv } = require('../nodes/lib/node-red/job-report.js');
const { newJob } = require('../nodes/lib/sync/job.js');

helper.init(nodeRedPath);

const NODES = ['fhir-external-system', 'gpr-hierarchy-source', 'fhir-export'].map((n) => require(`../nodes/${n}.js`));

async function load(url) {
  await helper.load(NODES, [
    { id: 'f1', type: 'tab' },
    sandboxSystem({ url }),
    { id: 'src', z: 'f1', type: 'gpr-hierarchy-source', source: 'sample', forDate: '2024-01-01', wires: [] },
    { id: 'geo', z: 'f1', type: 'gpr-hierarchy-source', source: 'geojson', geojsonFile: previewGeoJsonFile(), wires: [] },
    sandboxExport(),
  ]);
}

/** A binary answer for supertest. */
const binary = (res, cb) => {
  const chunks = [];
  res.on('data', (c) => chunks.push(c));
  res.on('end', () => cb(null, Buffer.concat(chunks)));
};

describe('editor routes', function () {
  this.timeout(30000);
  afterEach(() => helper.unload());

  it('lists the Geo-Object Types an export of the chosen hierarchies would send, parents first', async function () {
    await load(await closedPortUrl());
    const { body } = await helper.request().get('/gpr-hierarchy-source/src/levels').expect(200);
    expect(body.forDate).to.equal('2024-01-01');
    expect(body.hierarchies).to.deep.equal([{ code: 'UgandaAdmin', label: 'UgandaAdmin' }]);
    expect(body.levels.map((l) => [l.geoObjectType, l.facility, l.fhirType.code])).to.deep.equal([
      ['Country', false, 'Country'],
      ['Region', false, 'Region'],
      ['District', false, 'District'],
      ['HealthFacility', true, 'HealthFacility'],
    ]);
    const unknown = await helper.request().get('/gpr-hierarchy-source/src/levels?hierarchies=Nope').expect(200);
    expect(unknown.body).to.deep.include({ unknownHierarchies: ['Nope'], levels: [] });
    await helper.request().get('/gpr-hierarchy-source/src/levels?implementation=other').expect(400);
    await helper.request().get('/gpr-hierarchy-source/nope/levels').expect(404);
    expect((await helper.request().get('/gpr-hierarchy-source/src/levels?forDate=2020-02-30').expect(400)).body.error).to.match(
      /not a valid/,
    );
  });

  it('previews a source: counts per level, parents, invalid geometries and missing parents with their reasons', async function () {
    await load(await closedPortUrl());
    const { body } = await helper.request().get('/gpr-hierarchy-source/geo/preview').expect(200);
    const [h] = body.hierarchies;
    expect(h.levels.map((l) => [l.type, l.count, l.invalid, l.missingParent])).to.deep.equal(PREVIEW_LEVELS);
    const byCode = Object.fromEntries(h.objects.map((o) => [o.code, o]));
    expect(byCode.R1).to.include({ parent: 'A' }).and.not.have.any.keys('invalid', 'missingParent');
    expect(byCode.R2.invalid).to.match(/^geometry is invalid: Self-intersection/);
    expect(byCode.R3.missingParent).to.match(/^no parent in default at /);
    expect(byCode.D1.parent).to.equal('R1');
    expect(byCode.A.shape.rings[0]).to.have.length(5);
    expect(body.bbox).to.deep.equal([0, 0, 10, 10]);
    const sample = await helper.request().get('/gpr-hierarchy-source/src/preview').expect(200);
    expect(sample.body.hierarchies[0].levels.map((l) => l.count)).to.deep.equal([1, 4, 112, 207]);
  });

  it('generates the Bundles of an unsaved export form: one Bundle, or a zip of one Bundle per file', async function () {
    await load(await closedPortUrl());
    const form = (config) => ({ config: { name: 'Draft', system: 'sys', source: 'src', idStrategy: 'server', ...config } });
    // The stages it publishes for the editor's notification, on the topic the editor named.
    const stages = [];
    const onComms = ({ topic, data }) => topic === 'geofhir/bundle/t1' && stages.push(data);
    helper._events.on('comms', onComms);
    const one = await helper
      .request()
      .post('/fhir-export/bundle')
      .send({ ...form({ chunkSize: 100 }), progress: 't1' })
      .buffer(true)
      .parse(binary)
      .expect(200);
    helper._events.off('comms', onComms);
    // Each Bundle (a chunk of at most 100 of the 324 objects) is said as it is built, then the zip of them all.
    const chunks = Object.keys(unzipSync(new Uint8Array(one.body))).length;
    expect(chunks).to.be.greaterThan(3);
    const building = Array.from({ length: chunks }, (_, i) => ({ stage: 'building', built: i + 1, bundles: chunks, objects: 324 }));
    expect(stages).to.deep.equal([
      { stage: 'reading' },
      { stage: 'planning', objects: 324 },
      ...building,
      { stage: 'packing', bundles: chunks, objects: 324 },
      { stage: 'done', bundles: chunks, objects: 324, bytes: one.body.length },
    ]);

    const single = await helper
      .request()
      .post('/fhir-export/bundle')
      .send(form({ chunkSize: 1000 }))
      .buffer(true)
      .parse(binary)
      .expect(200);
    expect(single.headers['content-disposition']).to.equal('attachment; filename="Draft-bundle.json"');
    const bundle = JSON.parse(single.body.toString('utf8'));
    expect(bundle).to.include({ resourceType: 'Bundle', type: 'transaction' });
    expect(bundle.entry).to.have.length(648);

    const levels = [{ geoObjectType: 'Country' }, { geoObjectType: 'Region', fhirType: { code: 'region' } }];
    const zip = await helper
      .request()
      .post('/fhir-export/bundle')
      .send(form({ chunkSize: 4, levels }))
      .buffer(true)
      .parse(binary)
      .expect(200);
    expect(zip.headers['content-type']).to.equal('application/zip');
    expect(zip.headers['content-disposition']).to.equal('attachment; filename="Draft-bundles.zip"');
    const files = unzipSync(new Uint8Array(zip.body));
    expect(Object.keys(files)).to.deep.equal(['Draft-bundle-001.json', 'Draft-bundle-002.json', 'Draft-bundle-003.json']);
    const bundles = Object.values(files).map((f) => JSON.parse(strFromU8(f)));
    expect(bundles.every((b) => b.resourceType === 'Bundle' && b.type === 'transaction')).to.equal(true);
    const types = bundles.flatMap((b) =>
      b.entry.filter((e) => e.resource.resourceType === 'Location').map((e) => e.resource.type[0].coding[0].code),
    );
    expect(types).to.deep.equal(['Country', 'region', 'region', 'region', 'region']);

    const refused = async (body) => (await helper.request().post('/fhir-export/bundle').send(body).expect(400)).body.error;
    expect(await refused(form({ source: '' }))).to.equal('Generate Bundle: select a registry source in "Run now reads"');
    expect(await refused(form({ source: 'gone' }))).to.match(/is not deployed: deploy it first/);
    expect(await refused(form({ chunkSize: 1 }))).to.match(/chunk size must be a whole number of at least 2/);
    expect(await refused(form({ forDate: '2024-02-30' }))).to.match(/not a valid yyyy-mm-dd date/);
    expect(await refused({ config: { source: 'src' } })).to.match(/has no System/);
  });

  it('gives a job’s report as JSON and CSV', async function () {
    // A run that fails at once: nothing listens, and nothing is retried.
    helper.settings({ fhirExportRetry: { retries: 0 } });
    await load(await closedPortUrl());
    helper.settings({});
    const run = (await helper.request().post('/fhir-export/exp/run').expect(200)).body;
    await until('the job to end', async () => (await helper.request().get(`/fhir-export/exp/jobs/${run.id}`)).body.finishedAt);
    const json = await helper.request().get(`/fhir-export/exp/jobs/${run.id}/report?format=json`).expect(200);
    expect(json.headers['content-disposition']).to.equal(`attachment; filename="Push-job-${run.id}.json"`);
    const record = JSON.parse(json.text);
    expect(record).to.include({ id: run.id, status: 'FAILURE' });
    expect(record.node).to.deep.equal({ id: 'exp', type: 'fhir-export', name: 'Push' });
    const csv = await helper.request().get(`/fhir-export/exp/jobs/${run.id}/report?format=csv`).expect(200);
    expect(csv.headers['content-type']).to.match(/^text\/csv/);
    const [head, job] = csv.text.split('\r\n');
    expect(head.split(',').slice(0, 4)).to.deep.equal(['record', 'job', 'kind', 'status']);
    expect(job).to.match(new RegExp(`^job,${run.id},export,FAILURE,`));
    await helper.request().get(`/fhir-export/exp/jobs/${run.id}/report?format=xml`).expect(400);
    await helper.request().get('/fhir-export/exp/jobs/nope/report').expect(404);
  });

  it('writes CSV fields a spreadsheet reads as they are: quoted, and never run as formulas', function () {
    const csv = jobReportCsv({
      ...newJob('export'),
      id: 'j1',
      status: 'WARNING',
      stage: 'COMPLETE',
      startedAt: '2024-01-01T00:00:00.000Z',
      workTotal: 1,
      workProgress: 1,
      errors: [
        { code: '=HYPERLINK("x")', type: 'District', severity: 'ERROR', message: 'refused, "badly"\nsecond line', response: { a: 1 } },
      ],
    });
    const lines = csv.split('\r\n');
    expect(lines[2]).to.equal(`row,j1,,,,,,,,,,,,,ERROR,"'=HYPERLINK(""x"")",District,"refused, ""badly""\nsecond line",,"{""a"":1}"`);
  });
});
