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
  'test/gateway/pipeline.spec.js',
  'test/gateway/pipeline-data.spec.js',
  'test/hapi/external-system.spec.js',
  'test/hapi/export.spec.js',
  'test/hapi/import.spec.js',
  'test/hapi/gateway.spec.js',
  'test/cloud/grants.spec.js',
  'test/cloud/export.spec.js',
  'test/cloud/import.spec.js',
  'test/cloud/gateway.spec.js',
];

const EMBEDDED_GRANTS = 'fhir-external-system grants against the sandbox issuer';
const KEYCLOAK_GRANTS = 'fhir-external-system with Keycloak and HAPI FHIR (OAuth) grants';
const EXPORT_HAPI = 'export to HAPI FHIR';
const IMPORT_HAPI = 'import from HAPI FHIR';
const GATEWAY_HAPI = 'gateway with Keycloak in front of HAPI FHIR';
const GATEWAY_DATA = 'gateway pipeline: data access _tag mutation per sync strategy (§5.5)';
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
    ...both('export to', 'sends only what changed'),
  ],
  ['Export, transactions within the Bundle limit', [], [], ...both('export to', 'keeps every transaction within')],
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
    ['gateway pipeline token (decision step 2)'],
    [`${GATEWAY_HAPI} tokens`],
    ...both('gateway in front of', '401 with the Bearer challenge'),
  ],
  [
    'Gateway: Location strategy',
    [`${GATEWAY_DATA} Location:`],
    [`${GATEWAY_HAPI} sync strategies on HAPI Location`],
    ...both('gateway in front of', 'Location (carol)'),
  ],
  [
    'Gateway: Organization and CareTeam strategies',
    [`${GATEWAY_DATA} Organization:`, `${GATEWAY_DATA} CareTeam:`],
    [`${GATEWAY_HAPI} sync strategies on HAPI Organization (dave), CareTeam (erin)`],
    ...both('gateway in front of', 'Location (carol), Organization (dave), CareTeam (erin)'),
  ],
  [
    'Gateway: unfiltered client role (WEB_CLIENT)',
    ['gateway pipeline decision order does not filter the unfiltered client role'],
    [`${GATEWAY_HAPI} sync strategies on HAPI WEB_CLIENT`],
  ],
  [
    'Gateway: paging links at the gateway base',
    ['gateway pipeline: data access paging'],
    [`${GATEWAY_HAPI} sync strategies on HAPI hands out`],
    ...both('gateway in front of', 'hands out'),
  ],
  ['Gateway: Location header of a create at the gateway base', [], [], ...both('gateway in front of', 'rewrites the Location')],
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
