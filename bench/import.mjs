// Import benchmark: N Locations read back from the sandbox FHIR server on loopback through fhir-import's
// runner, against raw paging of the same search. Without _include: the sandbox answers _include by
// scanning the whole store for every page, which would measure the server, not the import. Prints resources/s, peak
// RSS and the ratio. The import and raw paging alternate for several rounds on the same server (bench/rounds.mjs);
// their ratio is the rounds' median.
// Usage: npm run build && node bench/import.mjs [--rounds=K] [N ...]   (default 15 rounds; 10000 100000)
import { createRequire } from 'node:module';
import { syntheticRegistry } from './synthetic.mjs';
import { alternated, ratioCell, roundsArgument } from './rounds.mjs';

const require = createRequire(import.meta.url);
const { startPeer } = require('../test/support/peers.js');
const { generateExport } = require('../nodes/lib/sync/generate.js');
const { DEFAULT_EXPORT_OPTIONS } = require('../nodes/lib/sync/export-plan.js');
const { runImport, DEFAULT_IMPORT_OPTIONS } = require('../nodes/lib/sync/import-run.js');
const { defaultTransform } = require('../nodes/lib/mapping/fhir-to-registry.js');
const { DEFAULT_RETRY } = require('../nodes/lib/fhir/retry.js');
const { normaliseSettings } = require('../nodes/lib/fhir/external-system.js');
const { createTokenSource } = require('../nodes/lib/fhir/token-source.js');
const { FhirConnection } = require('../nodes/lib/fhir/connection.js');

const SYSTEM = 'http://bench.example/registry';
const PAGE = 1000;
const seconds = (t0) => Number(process.hrtime.bigint() - t0) / 1e9;

/** A fresh sandbox server holding the Bundles an export of N generated objects would send, posted as they are. */
async function seeded(n) {
  const fhir = await startPeer('fhir-server.mjs', ['0'], { NODE_OPTIONS: '--max-old-space-size=12288' });
  fhir.child.stderr.on('data', (d) => process.stderr.write(d));
  for (const bundle of (await generateExport(syntheticRegistry(n), { ...DEFAULT_EXPORT_OPTIONS, system: SYSTEM, idStrategy: 'server' }))
    .bundles) {
    const res = await fetch(fhir.url, {
      method: 'POST',
      headers: { 'content-type': 'application/fhir+json' },
      body: JSON.stringify(bundle),
    });
    if (!res.ok) throw new Error(`seeding answered ${res.status}`);
    await res.arrayBuffer();
  }
  return fhir;
}

/** Raw paging: the same search, following next links, parsing each page and nothing more. Resources read. */
async function rawPaging(fhir) {
  let url = `${fhir.url}Location?_count=${PAGE}`;
  let raw = 0;
  while (url) {
    const page = await (await fetch(url)).json();
    raw += page.entry?.length ?? 0;
    url = page.link?.find((l) => l.relation === 'next')?.url;
  }
  return raw;
}

/** The import runner on the same search; `onProgress` hears of each page. */
async function imported(fhir, onProgress) {
  const settings = normaliseSettings({ url: fhir.url, system: SYSTEM, organization: 'B', systemId: 'b', label: 'b', authType: 'none' });
  const { job } = await runImport({
    options: { ...DEFAULT_IMPORT_OPTIONS, system: SYSTEM, pageSize: PAGE, hierarchy: 'H', includeOrganizations: false },
    connection: new FhirConnection(settings, createTokenSource(settings, {})),
    transform: defaultTransform,
    retry: DEFAULT_RETRY,
    forDate: '2026-01-01',
    onProgress,
  });
  if (job.status !== 'SUCCESS') throw new Error(`import ended in ${job.status}: ${job.exception?.message}`);
  return job;
}

// Warmed up as a runtime that has imported before is: both readers first read a small server, so that loading and
// compiling them is not measured.
const small = await seeded(200);
await rawPaging(small);
await imported(small);
await small.stop();

// Fifteen rounds, three times the export's: an import of 10,000 takes about half a second, and the shorter a run the
// more its time varies from round to round.
const { rounds, rest } = roundsArgument(process.argv.slice(2), 15);
console.log(
  `Node ${process.version}, medplum fhir-router 5.2.13, page size ${PAGE}, Locations only, ${rounds} rounds of import and raw paging`,
);
console.log('N\timport res/s\traw paging res/s\timport/raw time\tRSS before MB\tRSS +import MB');
const MB = 1024 * 1024;
for (const n of (rest.length ? rest : ['10000', '100000']).map(Number)) {
  const fhir = await seeded(n);
  let raw;
  const paged = async () => {
    const t0 = process.hrtime.bigint();
    raw = await rawPaging(fhir);
    return { seconds: seconds(t0) };
  };
  // Resident memory sampled after each page: the import's own footprint above where it started.
  const importing = async () => {
    const rssBefore = process.memoryUsage().rss;
    let rssPeak = rssBefore;
    const t0 = process.hrtime.bigint();
    const job = await imported(fhir, () => (rssPeak = Math.max(rssPeak, process.memoryUsage().rss)));
    const s = seconds(t0);
    return { seconds: s, rssBefore, rssAbove: rssPeak - rssBefore, read: job.resourcesRead };
  };
  const timed = await alternated(rounds, importing, paged, { a: `import of ${n}`, b: `raw paging of ${n}` });
  await fhir.stop();
  const short = timed.a.find((r) => r.read !== raw);
  if (short) throw new Error(`import read ${short.read} resources, raw paging ${raw}`);
  console.log(
    [
      n,
      Math.round(raw / timed.aSeconds),
      Math.round(raw / timed.bSeconds),
      ratioCell(timed),
      Math.round(timed.a[0].rssBefore / MB),
      // The highest of the rounds' peaks.
      Math.round(Math.max(...timed.a.map((r) => r.rssAbove)) / MB),
    ].join('\t'),
  );
}
