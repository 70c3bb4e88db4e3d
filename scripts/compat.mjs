// `npm run compat`: runs the suites that prove each capability, on the embedded peers, on HAPI FHIR + Keycloak and
// against the Google Cloud Healthcare API and Azure Health Data Services stand-ins (Node-RED 4.1), and writes README's
// compatibility table from their outcome. A cell is ✅ when every test
// behind it passed, ❌ when one failed, "skipped" when they were skipped (no Java, no ../shared), — when no test
// covers it. `--from <results.json>` renders an earlier run's results instead.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const SPECS = [
  'test/fhir-external-system.spec.js',
  'test/export-run.spec.js',
  'test/export-nodes.spec.js',
  'test/import-run.spec.js',
  'test/round-trip.spec.js',
  'test/generate-sent.spec.js',
  'test/gateway/pipeline.spec.js',
  'test/gateway/pipeline-data.spec.js',
  'test/gateway/pipeline-opensrp.spec.js',
  'test/gateway/attacks.spec.js',
  'test/gateway/fhircore.spec.js',
  'test/gateway/property.spec.js',
  'test/gateway-clients.spec.js',
  'test/sandbox.spec.js',
  'test/hapi/external-system.spec.js',
  'test/hapi/export.spec.js',
  'test/hapi/import.spec.js',
  'test/hapi/round-trip.spec.js',
  'test/cloud/grants.spec.js',
  'test/cloud/export.spec.js',
  'test/cloud/import.spec.js',
  'test/cloud/gateway.spec.js',
];

const EMBEDDED_GRANTS = 'fhir-external-system grants against the sandbox issuer';
const KEYCLOAK_GRANTS = 'fhir-external-system with Keycloak and HAPI FHIR (OAuth) grants';
const EXPORT_HAPI = 'export to HAPI FHIR';
const IMPORT_HAPI = 'import from HAPI FHIR';
// The gateway suites that run on both (test/support/gateway-backends.js), by backend.
const onSandbox = (suite, ...tests) => tests.map((t) => `${suite} (the sandbox) ${t}`);
const onHapi = (suite, ...tests) => tests.map((t) => `${suite} (HAPI FHIR + Keycloak) ${t}`);
const onBoth = (suite, ...tests) => [onSandbox(suite, ...tests), onHapi(suite, ...tests)];
const STRATEGY = 'gateway pipeline: data access';
const TAG_MUTATION = '_tag mutation per sync strategy (§5.5)';
const GOOGLE = 'Google Cloud Healthcare API';
const AZURE = 'Azure Health Data Services';
const G_GRANTS = 'cloud grants: Google service account against the Cloud Healthcare API stand-in';
const A_GRANTS = 'cloud grants: Entra ID against the Azure Health Data Services stand-in';
const CLOUD_TEST = 'cloud grants: Test connection';
/** The same suite's title prefix for each stand-in: [Google, Azure]. */
const both = (prefix, rest) => [[`${prefix} the ${GOOGLE} stand-in ${rest}`], [`${prefix} the ${AZURE} stand-in ${rest}`]];

// [capability, tests on the embedded peers, on HAPI + Keycloak, against the Google stand-in, against the Azure stand-in]:
// each test named by the start of its full title.
const ROWS = [
  [
    'Grant: client credentials (client_secret_basic)',
    [`${EMBEDDED_GRANTS} oauth-client-credentials (client_secret_basic)`],
    [`${KEYCLOAK_GRANTS} oauth-client-credentials (client_secret_basic)`],
  ],
  [
    'Grant: client credentials (client_secret_post)',
    [`${EMBEDDED_GRANTS} oauth-client-credentials (client_secret_post)`],
    [`${KEYCLOAK_GRANTS} oauth-client-credentials (client_secret_post)`],
  ],
  ['Grant: password', [`${EMBEDDED_GRANTS} oauth-password`], [`${KEYCLOAK_GRANTS} oauth-password`]],
  ['Grant: private_key_jwt', [`${EMBEDDED_GRANTS} private-key-jwt`], [`${KEYCLOAK_GRANTS} private-key-jwt`]],
  ['Grant: Google service account (JWT bearer)', [], [], [`${G_GRANTS} every grant`, `${G_GRANTS} signs`], []],
  [
    'Grant: Entra ID client secret and certificate',
    [],
    [],
    [],
    [`${A_GRANTS} every grant`, `${A_GRANTS} asks for the FHIR`, `${A_GRANTS} signs`],
  ],
  ['Grant: managed identity (IMDS, App Service)', [], [], [], [`${A_GRANTS} every grant`, `${A_GRANTS} calls App Service`]],
  [
    'Wrong secret / password / key reported',
    [`${EMBEDDED_GRANTS} reports`],
    [`${KEYCLOAK_GRANTS} reports`],
    [`${G_GRANTS} reports`],
    [`${A_GRANTS} reports`],
  ],
  [
    'Token renewal before expiry',
    [`${EMBEDDED_GRANTS} renews`],
    [`${KEYCLOAK_GRANTS} renews`],
    [`${G_GRANTS} google-service-account: renews`],
    ['azure-client-secret', 'azure-certificate', 'azure-managed-identity (IMDS)'].map((g) => `${A_GRANTS} ${g}: renews`),
  ],
  [
    'Test connection',
    ['fhir-external-system in Node-RED Test connection shows the FHIR version'],
    ['fhir-external-system with Keycloak and HAPI FHIR (OAuth) Test connection'],
    [`${CLOUD_TEST} connects`],
    [`${CLOUD_TEST} connects`],
  ],
  [
    'Export, id strategy `code` (324 objects, twice, same ids)',
    [],
    [`${EXPORT_HAPI} exports all 324 objects with the code id strategy`],
    ...both('export to', 'exports all 324 objects with the code id strategy'),
  ],
  [
    'Export, id strategy `safe`',
    [],
    [`${EXPORT_HAPI} exports all 324 objects with the safe id strategy`],
    ...both('export to', 'exports all 324 objects with the safe id strategy'),
  ],
  [
    'Export, id strategy `server`',
    ['export nodes exports the embedded sample twice'],
    [`${EXPORT_HAPI} exports all 324 objects with the server id strategy`],
    ...both('export to', 'exports all 324 objects with the server id strategy'),
  ],
  ['Export, the awkward registry, every id strategy', [], [`${EXPORT_HAPI} the awkward registry`]],
  [
    'Export, incremental',
    ['export run incremental runs and removed objects sends only what changed'],
    [`${EXPORT_HAPI} sends only what changed`],
    ...both('export to', 'sends only what changed'),
  ],
  [
    'Export, removed objects set inactive',
    ['export run incremental runs and removed objects sets the resources of objects that are gone inactive'],
    [`${EXPORT_HAPI} sets the resources of removed objects inactive`],
    ...both('export to', 'sets the resources of removed objects inactive'),
  ],
  [
    "Export, the server's refusal in the object's row",
    ['export run bad input records the FHIR server’s refusal per object'],
    [`${EXPORT_HAPI} refuses an object HAPI cannot update`],
  ],
  ['Export, transactions within the Bundle limit', [], [], ...both('export to', 'keeps every transaction within')],
  [
    'Generate Bundle = the transactions a run sends',
    ['Generate Bundle against what an export sends to the sandbox FHIR server'],
    ['Generate Bundle against what an export sends to HAPI FHIR'],
  ],
  [
    'Round trip (export, then import back)',
    ['round trip through the sandbox FHIR server'],
    ['round trip through HAPI FHIR'],
    [`round trip through the ${GOOGLE} stand-in`],
    [`round trip through the ${AZURE} stand-in`],
  ],
  [
    'Import, server paging links',
    ['import run follows the server’s next links'],
    [`${IMPORT_HAPI} pages with opaque _getpages links`],
    ...both('import from', 'pages with'),
  ],
  [
    'Import, `_include` of Organizations',
    ['import run imports back exactly what was exported'],
    [`${IMPORT_HAPI} imports back what was exported`],
    ...both('import from', 'imports back'),
  ],
  [
    'Import, `_lastUpdated` watermark',
    ['import run reads only what changed'],
    [`${IMPORT_HAPI} reads only what changed`],
    ...both('import from', 'reads only what changed'),
  ],
  [
    'Gateway: token checks',
    ...onBoth('gateway pipeline', 'token (decision step 2)'),
    ...both('gateway in front of', '401 with the Bearer challenge'),
  ],
  ['Gateway: proxying (§5.3)', ...onBoth('gateway pipeline', 'proxying (§5.3)')],
  ['Gateway: Location strategy', ...onBoth(STRATEGY, `${TAG_MUTATION} Location:`), ...both('gateway in front of', 'Location (carol)')],
  [
    'Gateway: Organization and CareTeam strategies',
    ...onBoth(STRATEGY, `${TAG_MUTATION} Organization:`, `${TAG_MUTATION} CareTeam:`),
    ...both('gateway in front of', 'Location (carol), Organization (dave), CareTeam (erin)'),
  ],
  ['Gateway: RelatedEntityLocation strategy, `_syncLocations`', ...onBoth('gateway pipeline: OpenSRP extras', '_syncLocations')],
  ['Gateway: Practitioner strategy', ...onBoth(STRATEGY, 'Practitioner strategy')],
  [
    'Gateway: unfiltered client role (WEB_CLIENT)',
    ...onBoth('gateway pipeline', 'decision order does not filter the unfiltered client role'),
  ],
  ['Gateway: reads, writes, history, includes, Bundles (§5.6)', ...onBoth(STRATEGY, 'reads, history', 'writes', 'transaction and batch')],
  ['Gateway: attacks on the limits of filtered users', ...onBoth('gateway attacks on the limits of filtered users', '')],
  ['Gateway: paging links at the gateway base', ...onBoth(STRATEGY, 'paging'), ...both('gateway in front of', 'hands out')],
  [
    'Gateway: Location header of a create at the gateway base',
    ...onBoth('gateway pipeline', 'proxying (§5.3) rewrites the Location of a create'),
    ...both('gateway in front of', 'rewrites the Location'),
  ],
  ['Gateway: Location lineage', ...onBoth('gateway pipeline: OpenSRP extras', 'Location lineage')],
  [
    'Gateway: PractitionerDetail and LocationHierarchy',
    ...onBoth('gateway pipeline: OpenSRP extras', 'PractitionerDetail', 'LocationHierarchy'),
  ],
  ["Gateway: fhircore's sequence, every strategy", ...onBoth("fhircore's sequence through the gateway, for each sync strategy", '')],
  ['Gateway: property test (random requests)', ...onBoth('gateway properties (random requests)', '')],
  [
    'Gateway: fhir-kit-client, MedplumClient, fhir.js',
    ...onBoth('gateway through client libraries', 'fhir-kit-client', 'MedplumClient', 'fhir.js'),
  ],
  ["Sandbox: README's gateway curl steps", ['the sandbox: npm start'], ['the sandbox: npm run start:hapi']],
];

function cell(tests, prefixes) {
  const found = tests.filter((t) => prefixes.some((p) => t.title.startsWith(p)));
  if (!prefixes.length || !found.length) return '—';
  if (found.some((t) => t.state === 'failed')) return '❌';
  if (found.every((t) => t.state === 'skipped')) return 'skipped';
  return `✅ (${found.filter((t) => t.state === 'passed').length})`;
}

function version(pkg) {
  try {
    return JSON.parse(readFileSync(join(root, 'test', 'peers', 'node_modules', pkg, 'package.json'), 'utf8')).version;
  } catch {
    return '?';
  }
}

function table({ peers, tests }) {
  const hapi = peers ? `HAPI FHIR ${peers.hapi} (R4 JPA, ${peers.store}) + Keycloak ${peers.keycloak}` : 'HAPI FHIR + Keycloak (not run)';
  const embedded = `Medplum router ${version('@medplum/fhir-router')} + oidc-provider ${version('oidc-provider')}`;
  const clouds = `${GOOGLE} (against a stand-in) | ${AZURE} (against a stand-in)`;
  const lines = [`| Capability | ${embedded} | ${hapi} | ${clouds} |`, '| --- | --- | --- | --- | --- |'];
  for (const [name, e, h, g = [], a = []] of ROWS) {
    lines.push(`| ${name} | ${cell(tests, e)} | ${cell(tests, h)} | ${cell(tests, g)} | ${cell(tests, a)} |`);
  }
  return lines.join('\n');
}

const from = process.argv.indexOf('--from');
let resultsFile;
if (from > 0) {
  resultsFile = process.argv[from + 1];
} else {
  resultsFile = join(mkdtempSync(join(tmpdir(), 'geofhir-compat-')), 'results.json');
  const r = spawnSync(process.execPath, [join(root, 'scripts', 'run-tests.mjs'), 'nr4', ...SPECS], {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, MOCHA_RESULTS_FILE: resultsFile },
  });
  if (r.status !== 0) console.error('some tests failed: the table shows which capabilities');
}
const rendered = table(JSON.parse(readFileSync(resultsFile, 'utf8')));
const readme = join(root, 'README.md');
const text = readFileSync(readme, 'utf8');
const START = '<!-- compat:start (npm run compat writes this table) -->';
const END = '<!-- compat:end -->';
const [before, rest] = text.split(START);
if (rest === undefined || !rest.includes(END)) throw new Error(`README.md has no ${START} … ${END} section`);
// Formatted as the repository's prettier check wants it (aligned columns).
const prettier = await import('prettier');
const updated = `${before}${START}\n${rendered}\n${END}${rest.split(END)[1]}`;
writeFileSync(readme, await prettier.format(updated, { ...(await prettier.resolveConfig(readme)), filepath: readme }));
console.log(`\n${rendered}\n\nwritten to README.md`);
