// Export benchmark: N generated geo-objects exported to the sandbox FHIR server (on loopback), against a
// raw replay of the same Bundles, and Generate Bundle written to a file. Each phase runs in a process of
// its own, so that each one's peak memory is its own. Prints objects/s, peak RSS and the ratio.
// The export and the replay alternate for several rounds (bench/rounds.mjs); their ratio is the rounds' median.
// Usage: npm run build && node bench/export.mjs [--rounds=K] [N ...]   (default 5 rounds; 10000 100000)
import { createRequire } from 'node:module';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { syntheticRegistry } from './synthetic.mjs';
import { alternated, ratioCell, roundsArgument } from './rounds.mjs';

const require = createRequire(import.meta.url);
const SYSTEM = 'http://bench.example/registry';
const options = (DEFAULT_EXPORT_OPTIONS) => ({ ...DEFAULT_EXPORT_OPTIONS, system: SYSTEM, idStrategy: 'server', chunkSize: 500 });
const seconds = (t0) => Number(process.hrtime.bigint() - t0) / 1e9;
const mb = (kb) => Math.round(kb / 1024);

// A fresh server for each measured phase, so both start from the same empty state. 100k objects are 200k
// resources plus history in the server's memory: give it room.
async function server() {
  const { startPeer } = require('../test/support/peers.js');
  const peer = await startPeer('fhir-server.mjs', ['0'], { NODE_OPTIONS: '--max-old-space-size=12288' });
  peer.child.stderr.on('data', (d) => process.stderr.write(d));
  return peer;
}
function connectionTo(url) {
  const { normaliseSettings } = require('../nodes/lib/fhir/external-system.js');
  const { createTokenSource } = require('../nodes/lib/fhir/token-source.js');
  const { FhirConnection } = require('../nodes/lib/fhir/connection.js');
  const settings = normaliseSettings({ url, system: SYSTEM, organization: 'B', systemId: 'b', label: 'b', authType: 'none' });
  return new FhirConnection(settings, createTokenSource(settings, {}));
}

/** One measured phase for N objects, in this process: {seconds, rssModel, rssPeak} (MB), printed as JSON. */
async function phase(name, n) {
  const { DEFAULT_EXPORT_OPTIONS } = require('../nodes/lib/sync/export-plan.js');
  const { generateExport } = require('../nodes/lib/sync/generate.js');
  // Warmed up as a runtime that has exported before is: the same small Generate Bundle first in every phase, so
  // that loading and compiling the planner and the mapping is not measured.
  await generateExport(syntheticRegistry(1000), options(DEFAULT_EXPORT_OPTIONS));
  const model = syntheticRegistry(n);
  const rssModel = mb(process.resourceUsage().maxRSS);
  const opts = options(DEFAULT_EXPORT_OPTIONS);
  let t0;
  if (name === 'export') {
    const { runExport } = require('../nodes/lib/sync/export-run.js');
    const { DEFAULT_RETRY } = require('../nodes/lib/fhir/retry.js');
    const fhir = await server();
    t0 = process.hrtime.bigint();
    const job = await runExport({ model, options: opts, connection: connectionTo(fhir.url), concurrency: 2, retry: DEFAULT_RETRY });
    const s = seconds(t0);
    await fhir.stop();
    if (job.status !== 'SUCCESS') throw new Error(`export ended in ${job.status}: ${job.exception?.message}`);
    return { seconds: s, rssModel, rssPeak: mb(process.resourceUsage().maxRSS) };
  }
  if (name === 'generate') {
    // Generate Bundle as the node writes a File: each Bundle written as it is built.
    const { generateBundles, writeBundleFile } = require('../nodes/lib/sync/generate.js');
    const dir = mkdtempSync(join(tmpdir(), 'geofhir-bench-'));
    t0 = process.hrtime.bigint();
    await writeBundleFile(await generateBundles(model, opts), join(dir, 'bundles.json'));
    const s = seconds(t0);
    const bytes = statSync(join(dir, 'bundles.json')).size;
    rmSync(dir, { recursive: true });
    return { seconds: s, rssModel, rssPeak: mb(process.resourceUsage().maxRSS), fileMB: Math.round(bytes / 1e6) };
  }
  // The Bundles Generate Bundle returns, sent as they are, one after another: what a bare client would
  // cost. Generate Bundle refers to earlier chunks conditionally, so the server resolves those itself.
  const bodies = (await generateExport(model, opts)).bundles.map((b) => JSON.stringify(b));
  const fhir = await server();
  t0 = process.hrtime.bigint();
  for (const body of bodies) {
    // With the export's own Prefer: the server answers each entry without a copy of its resource.
    const headers = { 'content-type': 'application/fhir+json', prefer: 'return=minimal' };
    const res = await fetch(fhir.url, { method: 'POST', headers, body });
    if (!res.ok) throw new Error(`replay answered ${res.status}`);
    await res.arrayBuffer();
  }
  const s = seconds(t0);
  await fhir.stop();
  return { seconds: s, rssModel, rssPeak: mb(process.resourceUsage().maxRSS) };
}

if (process.argv[2] === '--phase') {
  console.log(JSON.stringify(await phase(process.argv[3], Number(process.argv[4]))));
} else {
  const run = (name, n, flags = []) =>
    JSON.parse(
      execFileSync(process.execPath, [...flags, fileURLToPath(import.meta.url), '--phase', name, String(n)], {
        stdio: ['ignore', 'pipe', 'inherit'],
      }).toString(),
    );
  const { rounds, rest } = roundsArgument(process.argv.slice(2), 5);
  console.log(`Node ${process.version}, medplum fhir-router 5.2.13, chunk size 500, concurrency 2, ${rounds} rounds of export and replay`);
  console.log(
    'N\texport obj/s\treplay obj/s\texport/replay time\tgenerate to file obj/s\tRSS model MB\tRSS +export MB\tRSS +export, 512 MB heap\tRSS +generate MB\tfile MB',
  );
  for (const n of (rest.length ? rest : ['10000', '100000']).map(Number)) {
    const timed = await alternated(
      rounds,
      () => run('export', n),
      () => run('replay', n),
      { a: `export of ${n}`, b: `replay of ${n}` },
    );
    // V8 lets the old generation grow by up to four times what a full collection left when the heap may reach 4 GB
    // (this machine's default); 512 MB is the limit it sets itself on a machine with 2 GB of memory.
    const bounded = run('export', n, ['--max-old-space-size=512']);
    const generated = run('generate', n);
    const rate = (s) => Math.round(n / s);
    // Memory: the highest of the rounds' peaks.
    const above = Math.max(...timed.a.map((e) => e.rssPeak - e.rssModel));
    console.log(
      [
        n,
        rate(timed.aSeconds),
        rate(timed.bSeconds),
        ratioCell(timed),
        rate(generated.seconds),
        timed.a[0].rssModel,
        above,
        bounded.rssPeak - bounded.rssModel,
        generated.rssPeak - generated.rssModel,
        generated.fileMB,
      ].join('\t'),
    );
  }
}
