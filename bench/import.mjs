// Import benchmark: N Locations read back from the sandbox FHIR server on loopback through fhir-import's
// runner, against raw paging of the same search. Without _include: the sandbox answers _include by
// scanning the whole store for every page, which would measure the server, not the import. Prints resources/s, peak
// RSS and the ratio. Usage: npm run build && node bench/import.mjs [N ...]   (default 10000 100000)
import { createRequire } from 'node:module';
import { syntheticRegistry } from './synthetic.mjs';

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

console.log(`Node ${process.version}, medplum fhir-router 5.2.13, page size ${PAGE}, Locations only`);
console.log('N\timport res/s\traw paging res/s\timport/raw time\tRSS before MB\tRSS +import MB');
for (const n of (process.argv.slice(2).length ? process.argv.slice(2) : ['10000', '100000']).map(Number)) {
  const fhir = await startPeer('fhir-server.mjs', ['0'], { NODE_OPTIONS: '--max-old-space-size=12288' });
  fhir.child.stderr.on('data', (d) => process.stderr.write(d));
  // Seed: the Bundles an export would send, posted as they are.
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

  // Raw paging: the same search, following next links, parsing each page and nothing more.
  let t0 = process.hrtime.bigint();
  let url = `${fhir.url}Location?_count=${PAGE}`;
  let raw = 0;
  while (url) {
    const page = await (await fetch(url)).json();
    raw += page.entry?.length ?? 0;
    url = page.link?.find((l) => l.relation === 'next')?.url;
  }
  const paging = seconds(t0);

  // Resident memory sampled after each page: the import's own footprint above where it started.
  const rssBefore = process.memoryUsage().rss;
  let rssPeak = rssBefore;
  const settings = normaliseSettings({ url: fhir.url, system: SYSTEM, organization: 'B', systemId: 'b', label: 'b', authType: 'none' });
  t0 = process.hrtime.bigint();
  const { job } = await runImport({
    options: { ...DEFAULT_IMPORT_OPTIONS, system: SYSTEM, pageSize: PAGE, hierarchy: 'H', includeOrganizations: false },
    connection: new FhirConnection(settings, createTokenSource(settings, {})),
    transform: defaultTransform,
    retry: DEFAULT_RETRY,
    forDate: '2026-01-01',
    onProgress: () => (rssPeak = Math.max(rssPeak, process.memoryUsage().rss)),
  });
  const imported = seconds(t0);
  if (job.status !== 'SUCCESS') throw new Error(`import ended in ${job.status}: ${job.exception?.message}`);
  if (job.resourcesRead !== raw) throw new Error(`import read ${job.resourcesRead} resources, raw paging ${raw}`);
  await fhir.stop();
  const MB = 1024 * 1024;
  console.log(
    [
      n,
      Math.round(raw / imported),
      Math.round(raw / paging),
      (imported / paging).toFixed(2),
      Math.round(rssBefore / MB),
      Math.round((rssPeak - rssBefore) / MB),
    ].join('\t'),
  );
}
