'use strict';
// Cancelling a run ends it at once, whatever it is waiting for: a Retry-After, a retry's backoff, a
// token endpoint that does not answer, or a page. Each fault is shown to have fired before the cancel.
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
const { JobQueue } = require('../nodes/lib/sync/job-queue.js');
const { control } = require('./support/peers');
const { connectionTo, requests } = require('./support/fhir');
const { until } = require('./support/until');

const SYSTEM = 'http://moh.example/registry';
const base = () => process.env.FHIR_BASE;
/** Waits that would outlast the test's timeout many times over. */
const PATIENT_RETRY = { retries: 5, minTimeoutMs: 600_000, maxTimeoutMs: 600_000 };
const HOUR = 3600;

const exportRun = (signal, extra = {}) =>
  runExport({
    connection: connectionTo(base(), SYSTEM),
    concurrency: 2,
    retry: PATIENT_RETRY,
    signal,
    ...extra,
    options: { ...DEFAULT_EXPORT_OPTIONS, system: SYSTEM, idStrategy: 'server', chunkSize: 100 },
  });

const importRun = (signal, extra = {}) =>
  runImport({
    connection: connectionTo(base(), SYSTEM),
    transform: defaultTransform,
    retry: PATIENT_RETRY,
    forDate: '2026-01-01',
    signal,
    ...extra,
    options: { ...DEFAULT_IMPORT_OPTIONS, system: SYSTEM, hierarchy: SAMPLE_HIERARCHY, pageSize: 100 },
  });

/** Resolves once the peer has answered `n` requests matching `method url-prefix`. */
const seen = (match, n = 1) =>
  until(`${n} × ${match}`, async () => (await requests(base())).filter((r) => `${r.method} ${r.url}`.startsWith(match)).length >= n);

describe('cancel', function () {
  // Far below any of the waits above: a run that kept waiting would fail the test.
  this.timeout(20000);
  let sample;
  before(async () => (sample = await loadSample('2026-01-01')));
  beforeEach(() => control(base(), '/__reset'));

  it('ends an export waiting for a Retry-After of an hour', async function () {
    await control(base(), '/__fault', { status: 429, count: 1, retryAfter: HOUR, match: 'POST ' });
    const controller = new AbortController();
    const running = exportRun(controller.signal, { model: sample, retry: { ...PATIENT_RETRY, minTimeoutMs: 1 } });
    await seen('POST ');
    controller.abort();
    const job = await running;
    expect(job.status).to.equal('CANCELED');
    expect(job.exception.message).to.match(/^cancelled after \d+ of 324 objects/);
  });

  it('ends an export waiting out a retry’s backoff', async function () {
    await control(base(), '/__fault', { status: 503, count: 1, match: 'POST ' });
    const controller = new AbortController();
    const running = exportRun(controller.signal, { model: sample });
    await seen('POST ');
    controller.abort();
    expect((await running).status).to.equal('CANCELED');
  });

  it('ends an import waiting for a Retry-After on a page', async function () {
    await control(base(), '/__fault', { status: 503, count: 1, retryAfter: HOUR, match: 'GET Location' });
    const controller = new AbortController();
    const running = importRun(controller.signal, { retry: { ...PATIENT_RETRY, minTimeoutMs: 1 } });
    await seen('GET Location');
    controller.abort();
    const { job, model } = await running;
    expect(job.status).to.equal('CANCELED');
    expect(model).to.equal(undefined);
  });

  describe('with servers that do not answer', function () {
    let silent;
    let arrived;
    before(async function () {
      arrived = 0;
      // Takes requests and never answers them.
      silent = http.createServer(() => arrived++);
      await new Promise((resolve) => silent.listen(0, '127.0.0.1', resolve));
    });
    after(() => {
      silent.closeAllConnections();
      return new Promise((resolve) => silent.close(resolve));
    });
    const silentUrl = () => `http://127.0.0.1:${silent.address().port}`;

    it('ends a run waiting for a token', async function () {
      const connection = () => {
        const settings = normaliseSettings({
          url: base(),
          system: SYSTEM,
          organization: 'MOH',
          systemId: 'sb',
          label: 'sb',
          authType: 'oauth-client-credentials',
          tokenUrl: `${silentUrl()}/token`,
          clientId: 'c',
          timeoutMs: 600_000,
        });
        return new FhirConnection(settings, createTokenSource(settings, { clientSecret: 's' }));
      };
      const runs = [
        (signal) => exportRun(signal, { model: sample, connection: connection() }),
        (signal) => importRun(signal, { connection: connection() }),
      ];
      for (const start of runs) {
        const before = arrived;
        const controller = new AbortController();
        const running = start(controller.signal);
        await until('the token request', () => arrived > before);
        controller.abort();
        const result = await running;
        expect((result.job ?? result).status).to.equal('CANCELED');
      }
    });

    it('ends an import waiting for a page', async function () {
      const before = arrived;
      const controller = new AbortController();
      const connection = connectionTo(`${silentUrl()}/fhir`, SYSTEM);
      connection.settings.timeoutMs = 600_000;
      const running = importRun(controller.signal, { connection });
      await until('the page request', () => arrived > before);
      controller.abort();
      expect((await running).job.status).to.equal('CANCELED');
    });
  });

  it('ends an export CANCELED when cancelled while it checks what the server holds', async function () {
    await control(base(), '/__fault', { hold: true, match: 'POST Organization/_search' });
    const controller = new AbortController();
    const running = exportRun(controller.signal, { model: sample });
    await seen('POST Organization/_search');
    controller.abort();
    await control(base(), '/__release');
    const job = await running;
    expect(job.status).to.equal('CANCELED');
    expect(job.objectsExported).to.equal(324);
  });

  it('through the queue: the job ends CANCELED and the next one starts', async function () {
    await control(base(), '/__fault', { status: 429, count: 1, retryAfter: HOUR, match: 'POST ' });
    const queue = new JobQueue();
    const first = queue.submit('a', 'export', (job, signal) =>
      exportRun(signal, { model: sample, job, retry: { ...PATIENT_RETRY, minTimeoutMs: 1 } }),
    );
    const second = queue.submit('b', 'export', async (job) => Object.assign(job, { status: 'SUCCESS' }));
    await seen('POST ');
    expect(queue.cancel(first.job.id)).to.equal(true);
    expect((await first.done).status).to.equal('CANCELED');
    expect((await second.done).status).to.equal('SUCCESS');
  });
});
