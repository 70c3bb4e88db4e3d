// Export benchmark: N generated geo-objects exported to the sandbox FHIR server (on loopback), against a
// raw replay of the same Bundles, and Generate Bundle alone. Prints objects/s, peak RSS and the ratio.
// Usage: npm run build && node bench/export.mjs [N ...]   (default 10000 100000)
import { createRequire } from 'node:module';
import { syntheticRegistry } from './synthetic.mjs';

const require = createRequire(import.meta.url);
const { startPeer } = require('../test/support/peers.js');
const { runExport } = require('../nodes/lib/sync/export-run.js');
const { generateExport } = require('../nodes/lib/sync/generate.js');
const { DEFAULT_EXPORT_OPTIONS } = require('../nodes/lib/sync/export-plan.js');
const { DEFAULT_RETRY } = require('../nodes/lib/fhir/retry.js');
const { normaliseSettings } = require('../nodes/lib/fhir/external-system.js');
const { createTokenSource } = require('../nodes/lib/fhir/token-source.js');
const { FhirConnection } = require('../nodes/lib/fhir/connection.js');

const SYSTEM = 'http://bench.example/registry';

const options = { ...DEFAULT_EXPORT_OPTIONS, system: SYSTEM, idStrategy: 'server', chunkSize: 500 };
const seconds = (t0) => Number(process.hrtime.bigint() - t0) / 1e9;
const mb = (kb) => Math.round(kb / 1024);

// A fresh server for each measured phase, so both start from the same empty state. 100k objects are 200k
// resources plus history in the server's memory: give it room.
async function server() {
  const peer = await startPeer('fhir-server.mjs', ['0'], { NODE_OPTIONS: '--max-old-space-size=12288' });
  peer.child.stderr.on('data', (d) => process.stderr.write(d));
  return peer;
}
function connectionTo(url) {
  const settings = normaliseSettings({ url, system: SYSTEM, organization: 'B', systemId: 'b', label: 'b', authType: 'none' });
  return new FhirConnection(settings, createTokenSource(settings, {}));
}
console.log(`Node ${process.version}, medplum fhir-router 5.2.13, chunk size ${options.chunkSize}, concurrency 2`);
console.log('N\texport obj/s\treplay obj/s\texport/replay time\tgenerate obj/s\tRSS model MB\tRSS +export MB\tRSS +generate MB');
for (const n of (process.argv.slice(2).length ? process.argv.slice(2) : ['10000', '100000']).map(Number)) {
  const m = syntheticRegistry(n);
  const rssModel = mb(process.resourceUsage().maxRSS);

  // Export first: its peak memory above the model's shows whether it streams (chunk by chunk).
  let fhir = await server();
  let t0 = process.hrtime.bigint();
  const job = await runExport({ model: m, options, connection: connectionTo(fhir.url), concurrency: 2, retry: DEFAULT_RETRY });
  const exported = seconds(t0);
  await fhir.stop();
  if (job.status !== 'SUCCESS') throw new Error(`export ended in ${job.status}: ${job.exception?.message}`);
  const rssExport = mb(process.resourceUsage().maxRSS);

  // Generate Bundle keeps every Bundle it returns.
  t0 = process.hrtime.bigint();
  const generated = await generateExport(m, options);
  const generate = seconds(t0);
  const rssGenerate = mb(process.resourceUsage().maxRSS);

  // The same Bundles sent as they are, one after another: what a bare client would cost. Generate Bundle
  // refers to earlier chunks conditionally, so the server resolves those itself.
  fhir = await server();
  t0 = process.hrtime.bigint();
  for (const bundle of generated.bundles) {
    const res = await fetch(fhir.url, {
      method: 'POST',
      headers: { 'content-type': 'application/fhir+json' },
      body: JSON.stringify(bundle),
    });
    if (!res.ok) throw new Error(`replay answered ${res.status}`);
    await res.arrayBuffer();
  }
  const replay = seconds(t0);
  await fhir.stop();
  const rate = (s) => Math.round(n / s);
  console.log(
    [
      n,
      rate(exported),
      rate(replay),
      (exported / replay).toFixed(2),
      rate(generate),
      rssModel,
      rssExport - rssModel,
      rssGenerate - rssExport,
    ].join('\t'),
  );
}
