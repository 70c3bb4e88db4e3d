'use strict';
// Import runs against the sandbox FHIR server: the embedded sample exported then imported back, paging,
// incremental reads, transforms that fail, bad resources and faults.
const { expect } = require('chai');
const { loadSample, SAMPLE_HIERARCHY } = require('../nodes/lib/registry/sample.js');
const { DEFAULT_EXPORT_OPTIONS } = require('../nodes/lib/sync/export-plan.js');
const { runExport } = require('../nodes/lib/sync/export-run.js');
const { runImport, DEFAULT_IMPORT_OPTIONS } = require('../nodes/lib/sync/import-run.js');
const { defaultTransform } = require('../nodes/lib/mapping/fhir-to-registry.js');
const { control } = require('./support/peers');
const { FAST_RETRY, SELF_INTERSECTING, UNREADABLE, connectionTo, requests: requestsOf, renameLocations } = require('./support/fhir');

const SYSTEM = 'http://moh.example/registry';
const base = () => process.env.FHIR_BASE;

const connection = () => connectionTo(base(), SYSTEM);

const importRun = (extra = {}) =>
  runImport({
    connection: connection(),
    transform: defaultTransform,
    retry: FAST_RETRY,
    forDate: '2026-01-01',
    ...extra,
    options: { ...DEFAULT_IMPORT_OPTIONS, system: SYSTEM, hierarchy: SAMPLE_HIERARCHY, pageSize: 100, ...extra.options },
  });

const requests = () => requestsOf(base());

describe('import run', function () {
  this.timeout(60000);
  let sample;

  before(async () => (sample = await loadSample('2026-01-01')));
  beforeEach(async function () {
    await control(base(), '/__reset');
    const job = await runExport({
      model: sample,
      options: { ...DEFAULT_EXPORT_OPTIONS, system: SYSTEM, idStrategy: 'server' },
      connection: connection(),
      concurrency: 2,
      retry: FAST_RETRY,
    });
    expect(job.status).to.equal('SUCCESS');
    await control(base(), '/__reset-log');
  });

  it('imports back exactly what was exported: codes, labels, types, geometries and parent links', async function () {
    const { job, model } = await importRun();
    expect(job).to.deep.include({ status: 'SUCCESS', workTotal: 324, resourcesRead: 648, objectsImported: 324 });
    const key = (o) => `${o.type}|${o.code}`;
    const view = (m) => Object.fromEntries(m.objects.map((o) => [key(o), { label: o.label.default, geometry: o.geometry }]));
    expect(view(model)).to.deep.equal(view(sample));
    const links = (m) => m.links.map((l) => `${l.hierarchy}|${l.childType}|${l.childCode}->${l.parentType}|${l.parentCode}`).sort();
    expect(links(model)).to.deep.equal(links(sample));
    expect(model.hierarchies).to.deep.equal(sample.hierarchies.map((h) => ({ ...h, label: { default: h.code } })));
  });

  it('follows the server’s next links and never builds offsets itself', async function () {
    await importRun();
    const reads = (await requests()).filter((r) => r.method === 'GET').map((r) => r.url);
    expect(reads[0])
      .to.match(/^Location\?/)
      .and.include('_count=100')
      .and.include('_include=Location%3Aorganization');
    expect(reads).to.have.length(4);
    // Pages after the first are exactly the server's next links.
    for (const r of reads.slice(1)) expect(r).to.include('_offset=');
  });

  it('reads only what changed since the last successful run', async function () {
    const first = await importRun();
    const since = first.job.startedAt;
    // Change 3 Locations after the first run.
    await renameLocations(base(), 3);
    await control(base(), '/__reset-log');
    const { job, model } = await importRun({ since });
    const reads = (await requests()).filter((r) => r.method === 'GET');
    expect(reads).to.have.length(1);
    expect(decodeURIComponent(reads[0].url)).to.include(`_lastUpdated=gt${since}`);
    expect(job).to.deep.include({ status: 'SUCCESS', workTotal: 3, objectsImported: 3 });
    expect(model.objects.map((o) => o.label.default).every((l) => l.endsWith('(renamed)'))).to.equal(true);
  });

  it('records a failing transform for its resource and imports the rest (WARNING)', async function () {
    let calls = 0;
    const transform = (resource, ctx) => {
      if (resource.resourceType === 'Location' && ++calls === 5) throw new Error('boom');
      return defaultTransform(resource, ctx);
    };
    const { job, model } = await importRun({ transform });
    expect(job.status).to.equal('WARNING');
    const errors = job.errors.filter((r) => r.severity === 'ERROR');
    expect(errors).to.have.length(1);
    expect(errors[0]).to.deep.include({ message: 'boom' });
    expect(errors[0].code).to.match(/^Location\//);
    expect(errors[0].submitted.resourceType).to.equal('Location');
    // Its Organization still brings the object in.
    expect(model.objects).to.have.length(324);
  });

  it('records unusable resources (no identifier in System, unknown type, unreadable geometry) and warns of invalid geometry', async function () {
    await control(base(), '/__reset');
    const loc = (id, extra) => ({
      resourceType: 'Location',
      id,
      name: id,
      identifier: [{ system: SYSTEM, value: id }],
      type: [{ coding: [{ system: SYSTEM, code: 'T' }] }],
      ...extra,
    });
    const boundary = (g) => [
      {
        url: 'http://hl7.org/fhir/StructureDefinition/location-boundary-geojson',
        valueAttachment: { contentType: 'application/geo+json', data: Buffer.from(JSON.stringify(g)).toString('base64') },
      },
    ];
    for (const r of [
      loc('ok'),
      loc('noid', { identifier: [{ system: 'http://other', value: 'x' }] }),
      loc('notype', { type: [{ coding: [{ system: 'http://other', code: 'T' }] }] }),
      loc('badgeo', { extension: boundary(SELF_INTERSECTING) }),
      loc('nogeo', { extension: boundary(UNREADABLE) }),
    ]) {
      await fetch(`${base()}Location/${r.id}`, {
        method: 'PUT',
        headers: { 'content-type': 'application/fhir+json' },
        body: JSON.stringify(r),
      });
    }
    const { job, model } = await importRun();
    expect(job.status).to.equal('WARNING');
    const messages = Object.fromEntries(job.errors.map((r) => [r.code, r.message]));
    expect(messages['Location/noid']).to.equal(`no identifier with system ${SYSTEM}`);
    expect(messages['Location/notype']).to.equal(`no type coding with system ${SYSTEM}`);
    expect(messages['Location/nogeo']).to.match(/^geometry cannot be read: /);
    // An invalid geometry is GPR's to keep: imported as it is, with a warning.
    const warning = job.errors.find((r) => r.code === 'Location/badgeo');
    expect(warning.severity).to.equal('WARNING');
    expect(warning.message).to.match(/^geometry is invalid: Self-intersection.*; imported as it is$/);
    expect(model.objects.map((o) => o.code)).to.have.members(['ok', 'badgeo']);
    expect(model.objects.find((o) => o.code === 'badgeo').geometry).to.deep.equal(SELF_INTERSECTING);
  });

  it('reads more than 1,000 Locations with the default page size: pages the server refuses are halved', async function () {
    await control(base(), '/__reset');
    const coded = (resourceType, i, extra) => ({
      fullUrl: `urn:uuid:00000000-0000-4000-8000-${String(resourceType === 'Location' ? i : 10000 + i).padStart(12, '0')}`,
      resource: {
        resourceType,
        name: `L${i}`,
        identifier: [{ system: SYSTEM, value: `L${i}` }],
        type: [{ coding: [{ system: SYSTEM, code: 'T' }] }],
        ...extra,
      },
      request: { method: 'POST', url: resourceType },
    });
    const entry = Array.from({ length: 1100 }, (_, i) => {
      const org = coded('Organization', i);
      return [org, coded('Location', i, { managingOrganization: { reference: org.fullUrl } })];
    }).flat();
    const res = await fetch(base(), {
      method: 'POST',
      headers: { 'content-type': 'application/fhir+json' },
      body: JSON.stringify({ resourceType: 'Bundle', type: 'transaction', entry }),
    });
    expect(res.status).to.equal(200);
    await control(base(), '/__reset-log');
    const { job, model } = await importRun({ options: { pageSize: DEFAULT_IMPORT_OPTIONS.pageSize } });
    // Warnings alone do not make a run a WARNING (as the export's missing-parent rows).
    expect(job.status).to.equal('SUCCESS');
    expect(model.objects).to.have.length(1100);
    const counts = (await requests()).map((r) => new URLSearchParams(r.url.split('?')[1]).get('_count'));
    // With their Organizations included, pages of 2000 and 1000 reach the server's query scope limit.
    expect(counts.slice(0, 3)).to.deep.equal(['2000', '1000', '500']);
    expect(counts.slice(3)).to.deep.equal(['500', '500']);
    expect(job.errors).to.deep.equal([
      { code: 'Location', severity: 'WARNING', message: 'the server refused pages of 2000; read with pages of 500' },
    ]);
  });

  it('reads the Organizations by a search of their own when the server refuses _include', async function () {
    await control(base(), '/__fault', { status: 400, count: 100, match: '_include=' });
    const { job, model } = await importRun({ options: { pageSize: 400 } });
    await control(base(), '/__fault', { clear: true });
    expect(job).to.deep.include({ status: 'SUCCESS', resourcesRead: 648, objectsImported: 324 });
    expect(model.links).to.have.length(sample.links.length);
    const reads = (await requests()).map((r) => decodeURIComponent(r.url));
    // 400, 200, … 1 with the include, then Locations alone, then the System's Organizations.
    expect(reads.filter((r) => r.includes('_include='))).to.have.length(10);
    expect(reads.filter((r) => r.startsWith('Organization?'))[0]).to.include(`identifier=${SYSTEM}|`);
    expect(job.errors.map((r) => r.message)).to.deep.equal([
      'the server refused _include=Location:organization (injected fault 400); Organizations read by a search of their own',
    ]);
  });

  it('fails with the server’s message when it refuses even a page of one, with and without the include', async function () {
    await control(base(), '/__fault', { status: 400, count: 20, match: 'GET Location' });
    const { job } = await importRun({ options: { pageSize: 8 } });
    await control(base(), '/__fault', { clear: true });
    expect(job.status).to.equal('FAILURE');
    expect(job.exception.message).to.include('injected fault 400');
    const reads = (await requests()).map((r) => [new URLSearchParams(r.url.split('?')[1]).get('_count'), r.url.includes('_include=')]);
    expect(reads).to.deep.equal([...['8', '4', '2', '1'].map((c) => [c, true]), ...['8', '4', '2', '1'].map((c) => [c, false])]);
  });

  it('retries a page that fails with 503', async function () {
    await control(base(), '/__fault', { status: 503, count: 2, match: 'GET Location' });
    const shown = [];
    const { job } = await importRun({
      onProgress: (j) => j.retrying && shown.push(`${j.retrying.attempt}/${j.retrying.retries} ${j.retrying.reason}`),
    });
    expect(job).to.deep.include({ status: 'SUCCESS', objectsImported: 324 });
    expect(shown).to.deep.equal([`1/${FAST_RETRY.retries} HTTP 503`, `2/${FAST_RETRY.retries} HTTP 503`]);
    expect(job).to.not.have.property('retrying');
    // The first page was answered 503 twice, then each of the 4 pages of 100 was read once.
    const reads = (await requests()).filter((r) => r.method === 'GET' && r.url.startsWith('Location'));
    expect(reads).to.have.length(2 + Math.ceil(324 / 100));
    expect(reads[0].url).to.equal(reads[1].url).and.equal(reads[2].url);
  });

  it('ends in FAILURE when the server dies mid-run, with no model to write', async function () {
    await control(base(), '/__fault', { drop: true, count: 1000, skip: 1 });
    const shown = [];
    const { job, model } = await importRun({ onProgress: (j) => j.retrying && shown.push(j.retrying.reason) });
    expect(job.status).to.equal('FAILURE');
    expect(job.exception.message).to.match(/^next page of Location at .* failed: /);
    // Each retry said the server gave no answer; the job that failed waits for none.
    expect(shown).to.deep.equal(Array(FAST_RETRY.retries).fill('no answer'));
    expect(job).to.not.have.property('retrying');
    expect(model).to.equal(undefined);
    // The first page was read; the second was tried once and retried until the retries ran out.
    const reads = (await requests()).filter((r) => r.method === 'GET' && r.url.startsWith('Location'));
    expect(reads).to.have.length(1 + 1 + FAST_RETRY.retries);
    await control(base(), '/__fault', { clear: true });
  });

  it('stops between pages when cancelled, writing nothing', async function () {
    const controller = new AbortController();
    const { job, model } = await importRun({ signal: controller.signal, onProgress: (j) => j.workProgress > 0 && controller.abort() });
    expect(job.status).to.equal('CANCELED');
    expect(job.exception.message).to.equal('cancelled after 100 resources');
    expect(model).to.equal(undefined);
  });
});
