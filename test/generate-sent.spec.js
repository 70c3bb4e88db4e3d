'use strict';
// Generate Bundle is the export without the push: the Bundles it makes are the transactions a run sends, chunk by
// chunk, for every id strategy, on the sandbox server and on HAPI FHIR (seen through a recording proxy in front of
// each). A run with the server id strategy refers to a parent sent in an earlier chunk by the id the server gave it,
// where Generate Bundle, which never asks the server, writes the conditional reference by identifier. Its file holds
// one Bundle per line, each the text of a transaction as the run sends it, byte for byte.
const { expect } = require('chai');
const { loadSample } = require('../nodes/lib/registry/sample.js');
const { DEFAULT_EXPORT_OPTIONS } = require('../nodes/lib/sync/export-plan.js');
const { runExport } = require('../nodes/lib/sync/export-run.js');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { generateBundles, generateExport, writeBundleFile } = require('../nodes/lib/sync/generate.js');
const { FAST_RETRY, connectionTo } = require('./support/fhir');
const { control } = require('./support/peers');
const { useJavaPeers, expungeEverything } = require('./support/hapi');
const { startRecordingProxy } = require('./support/recording-proxy');

const SYSTEM = 'http://moh.example/registry';

// The sandbox server (Medplum's router) assigns every id itself: it takes the server id strategy only.
const SERVERS = [
  {
    name: 'the sandbox FHIR server',
    base: () => process.env.FHIR_BASE,
    empty: (base) => control(base, '/__reset'),
    idStrategies: ['server'],
  },
  { name: 'HAPI FHIR', java: true, empty: expungeEverything, idStrategies: ['code', 'safe', 'server'] },
];

for (const server of SERVERS) {
  describe(`Generate Bundle against what an export sends to ${server.name}`, function () {
    this.timeout(180000);
    const peers = server.java ? useJavaPeers() : undefined;
    const base = () => (peers ? peers.hapi.base : server.base());
    let sample;
    let proxy;

    before(async () => {
      sample = await loadSample('2026-01-01');
      proxy = await startRecordingProxy(base());
    });
    after(() => proxy?.close());
    beforeEach(() => server.empty(base()));

    /** The Bundles with each reference to a server-assigned id written as a conditional reference by identifier. */
    async function resolvedToConditional(bundles) {
      const text = JSON.stringify(bundles);
      const conditional = new Map();
      for (const [reference, type, id] of text.matchAll(/"reference":"(Organization|Location)\/([^"?]+)"/g)) {
        if (conditional.has(reference)) continue;
        const resource = await (await fetch(`${base()}${type}/${id}`)).json();
        const { value } = resource.identifier.find((i) => i.system === SYSTEM);
        if (value === id) continue;
        conditional.set(reference, `"reference":"${type}?identifier=${encodeURIComponent(SYSTEM)}|${value}"`);
      }
      return JSON.parse(text.replace(/"reference":"(Organization|Location)\/([^"?]+)"/g, (ref) => conditional.get(ref) ?? ref));
    }

    for (const idStrategy of server.idStrategies) {
      it(`holds the transactions of an export with the ${idStrategy} id strategy, chunk by chunk`, async function () {
        const options = { ...DEFAULT_EXPORT_OPTIONS, system: SYSTEM, idStrategy, chunkSize: 100 };
        const generated = await generateExport(sample, options);
        expect(generated.bundles).to.have.length(7);
        proxy.reset();
        const job = await runExport({
          model: sample,
          connection: connectionTo(proxy.base, SYSTEM),
          concurrency: 2,
          retry: FAST_RETRY,
          options,
        });
        expect(job, job.message).to.deep.include({ status: 'SUCCESS', objectsExported: 324 });
        const sent = proxy.requests().filter((r) => r.method === 'POST' && r.url === '');
        // Sent two at a time, so not in Generate Bundle's order.
        expect(await resolvedToConditional(sent.map((r) => r.bundle))).to.have.deep.members(generated.bundles);

        const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'geofhir-'));
        const file = path.join(dir, 'bundles.json');
        await writeBundleFile(await generateBundles(sample, options), file);
        const text = fs.readFileSync(file, 'utf8');
        fs.rmSync(dir, { recursive: true });
        expect(JSON.parse(text)).to.deep.equal(generated.bundles);
        const lines = text.split('\n');
        expect([lines[0], ...lines.slice(-2)]).to.deep.equal(['[', ']', '']);
        // A Bundle's text ends in '}': a comma at the end of a line is the list's.
        const bundleLines = lines.slice(1, -2).map((line) => line.replace(/,$/, ''));
        expect(bundleLines).to.have.length(7);
        // Where a run refers to its parents as Generate Bundle does, the file's Bundles are the very texts it sent.
        if (idStrategy !== 'server') expect(bundleLines).to.have.members(sent.map((r) => r.text));
      });
    }
  });
}
