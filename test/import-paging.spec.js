'use strict';
// The import's paging against servers whose next links are hostile or broken: a link to another host
// gets no request (so no token leaves), a link that repeats a page or never ends stops the run.
const http = require('node:http');
const { expect } = require('chai');
const { loadSample, SAMPLE_HIERARCHY } = require('../nodes/lib/registry/sample.js');
const { DEFAULT_EXPORT_OPTIONS } = require('../nodes/lib/sync/export-plan.js');
const { runExport } = require('../nodes/lib/sync/export-run.js');
const { runImport, DEFAULT_IMPORT_OPTIONS } = require('../nodes/lib/sync/import-run.js');
const { defaultTransform } = require('../nodes/lib/mapping/fhir-to-registry.js');
const { normaliseSettings } = require('../nodes/lib/fhir/external-system.js');
const { createTokenSource } = require('../nodes/lib/fhir/token-source.js');
const { FhirConnection } = require('../nodes/lib/fhir/connection.js');
const { control } = require('./support/peers');
const { FAST_RETRY, connectionTo, requests } = require('./support/fhir');

const SYSTEM = 'http://moh.example/registry';
const TOKEN = 'static-secret-token';
const base = () => process.env.FHIR_BASE;

/** A connection that sends a static bearer token, so a leak would show. */
function bearerConnection() {
  const settings = normaliseSettings({ url: base(), system: SYSTEM, organization: 'MOH', systemId: 'sb', label: 'sb', authType: 'bearer' });
  return new FhirConnection(settings, createTokenSource(settings, { bearerToken: TOKEN }));
}

const importRun = (options = {}) =>
  runImport({
    connection: bearerConnection(),
    transform: defaultTransform,
    retry: FAST_RETRY,
    forDate: '2026-01-01',
    options: { ...DEFAULT_IMPORT_OPTIONS, system: SYSTEM, hierarchy: SAMPLE_HIERARCHY, pageSize: 100, ...options },
  });

const reads = async () => (await requests(base())).filter((r) => r.method === 'GET');

describe('import paging', function () {
  this.timeout(60000);
  let other;
  let seen;

  before(async function () {
    // Another host that records what reaches it.
    seen = [];
    other = http.createServer((req, res) => {
      seen.push({ url: req.url, authorization: req.headers.authorization });
      res.writeHead(200, { 'content-type': 'application/fhir+json' });
      res.end(JSON.stringify({ resourceType: 'Bundle', type: 'searchset', entry: [] }));
    });
    await new Promise((resolve) => other.listen(0, '127.0.0.1', resolve));
    await control(base(), '/__reset');
    const job = await runExport({
      model: await loadSample('2026-01-01'),
      options: { ...DEFAULT_EXPORT_OPTIONS, system: SYSTEM, idStrategy: 'server' },
      connection: connectionTo(base(), SYSTEM),
      concurrency: 2,
      retry: FAST_RETRY,
    });
    expect(job.status).to.equal('SUCCESS');
  });
  beforeEach(async () => {
    seen.length = 0;
    await control(base(), '/__reset-log');
  });
  afterEach(() => control(base(), '/__next', {}));
  after(() => new Promise((resolve) => other.close(resolve)));

  it('follows no next link to another host, sends it no token, and names that host', async function () {
    const host = `127.0.0.1:${other.address().port}`;
    await control(base(), '/__next', { next: `http://${host}/fhir/R4/Location?_offset=100` });
    const { job, model } = await importRun();
    expect(job.status).to.equal('FAILURE');
    expect(job.exception.message).to.include(`points to ${host}, outside ${base().replace(/\/$/, '')}`);
    expect(seen).to.deep.equal([]);
    expect(model).to.equal(undefined);
    expect(await reads()).to.have.length(1);
  });

  it('follows no next link on the same host outside the base path', async function () {
    const { origin } = new URL(base());
    for (const next of [
      `${origin}/admin/Location`,
      `${origin}/fhir/R4x/Location`,
      `${base()}../../secret`,
      base().replace('http:', 'https:'),
    ]) {
      await control(base(), '/__next', { next });
      const { job } = await importRun();
      expect(job.status, next).to.equal('FAILURE');
      expect(job.exception.message, next).to.match(/next link points to .*: not followed$/);
    }
    expect(await reads()).to.have.length(4);
  });

  it('stops when a next link repeats an earlier page (a page pointing to itself)', async function () {
    await control(base(), '/__next', { next: 'self' });
    const { job } = await importRun();
    expect(job.status).to.equal('FAILURE');
    expect(job.exception.message).to.match(/next link repeats an earlier page \(.*Location\?.*\): stopped after 2 pages$/);
    // The first page, then its self link once: the fault fired, and stopped at once.
    expect(await reads()).to.have.length(2);
  });

  it('stops after the page limit', async function () {
    const { job } = await importRun({ maxPages: 2 });
    expect(job.status).to.equal('FAILURE');
    expect(job.exception.message).to.equal('more than 2 pages (the page limit): stopped');
    expect(await reads()).to.have.length(2);
    // The sample needs 4 pages of 100: within the limit, it imports.
    expect((await importRun({ maxPages: 4 })).job.status).to.equal('SUCCESS');
  });

  it('sends no request at all to a URL outside the server, whatever the caller asks', async function () {
    const url = `http://127.0.0.1:${other.address().port}/fhir/R4/Location`;
    let failure;
    await bearerConnection()
      .call('read elsewhere', (c) => c.request(url))
      .catch((err) => (failure = err));
    expect(failure.message).to.include(`refused to send a request outside ${base().replace(/\/$/, '')}`);
    expect(seen).to.deep.equal([]);
  });

  it('sends the token with every page on the server', async function () {
    await control(base(), '/__next', {});
    const { job } = await importRun();
    expect(job).to.deep.include({ status: 'SUCCESS', objectsImported: 324 });
    expect(seen).to.deep.equal([]);
  });
});

describe('import paging: which links lie on the server', function () {
  const { isUnderBase, Pager } = require('../nodes/lib/fhir/paging.js');
  const page = (url) => ({ resourceType: 'Bundle', type: 'searchset', link: [{ relation: 'next', url }] });

  it("takes Google Cloud Healthcare's long base path and its _page_token links", function () {
    const google = 'https://healthcare.googleapis.com/v1/projects/p/locations/l/datasets/d/fhirStores/s/fhir';
    expect(new Pager(google).next(page(`${google}/Location?_page_token=AbC-1`))).to.equal(`${google}/Location?_page_token=AbC-1`);
    // Another store of the same dataset is another server.
    expect(isUnderBase(`${google.replace('/s/fhir', '/s2/fhir')}/Location`, google)).to.equal(false);
    expect(isUnderBase(`${google}2/Location`, google)).to.equal(false);
  });

  it("takes Azure's root base and its ct links, and nothing on another host", function () {
    const azure = 'https://ws-svc.fhir.azurehealthcareapis.com';
    expect(new Pager(azure).next(page(`${azure}/Location?_count=100&ct=W3sidG9rZW4i`))).to.equal(
      `${azure}/Location?_count=100&ct=W3sidG9rZW4i`,
    );
    expect(isUnderBase(`${azure}/Location`, `${azure}/`)).to.equal(true);
    expect(() => new Pager(azure).next(page('https://ws-svc.fhir.azurehealthcareapis.com.evil.example/Location?ct=x'))).to.throw(/outside/);
  });
});
