import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import html from 'eslint-plugin-html';
import globals from 'globals';

// The gateway's folders, in the direction imports point: each may import from the folders before it, never after.
const GATEWAY_LAYERS = ['http', 'proxy', 'auth', 'assignment', 'access', 'opensrp', 'config'];
const gatewayLayerRules = GATEWAY_LAYERS.map((layer, i) => ({
  files: [`src/gateway/${layer}/**/*.ts`],
  rules: {
    'no-restricted-imports': [
      'error',
      {
        patterns: [
          ...GATEWAY_LAYERS.slice(i + 1).map((later) => ({
            group: [`../${later}/*`],
            message: `src/gateway/${layer}/ comes before ${later}/: it may not import from it`,
          })),
          { group: ['../gateway.js'], message: 'only the Node-RED adapter imports the gateway itself' },
        ],
      },
    ],
  },
}));

// The sync folders: data flows registry → mapping → sync → fhir, and sync drives it, so registry never
// imports mapping or sync, mapping never sync, fhir (the FHIR client layer) none of the three; none of
// them imports the Node-RED adapters or the gateway.
const SYNC_LAYERS = { registry: ['mapping', 'sync'], mapping: ['sync'], sync: [], fhir: ['registry', 'mapping', 'sync'] };
const syncLayerRules = Object.entries(SYNC_LAYERS).map(([folder, forbidden]) => ({
  files: [`src/${folder}/**/*.ts`],
  rules: {
    'no-restricted-imports': [
      'error',
      {
        patterns: [
          ...forbidden.map((other) => ({ group: [`../${other}/*`], message: `src/${folder}/ may not import from src/${other}/` })),
          { group: ['../node-red/*', '../nodes/*', '../gateway/*'], message: `src/${folder}/ is Node-RED-free and apart from the gateway` },
        ],
      },
    ],
  },
}));

// src/json/ holds guards any folder may use, so it imports nothing of the project.
const jsonRules = {
  files: ['src/json/**/*.ts'],
  rules: {
    'no-restricted-imports': ['error', { patterns: [{ group: ['../*'], message: 'src/json/ imports nothing of the project' }] }],
  },
};

export default tseslint.config(
  {
    ignores: [
      'node_modules/',
      'test/peers/node_modules/',
      'test/nr5/',
      'test/peers/.cache/',
      'test/peers/hapi/target/',
      'nodes/*.js',
      'nodes/lib/',
      'examples/',
      '.sandbox/',
      'test-results/',
    ],
  },
  js.configs.recommended,
  {
    files: ['src/**/*.ts'],
    extends: [tseslint.configs.strict],
    rules: { '@typescript-eslint/no-explicit-any': 'error' },
  },
  ...gatewayLayerRules,
  ...syncLayerRules,
  jsonRules,
  {
    files: ['**/*.js', '**/*.mjs'],
    languageOptions: { globals: { ...globals.node } },
  },
  {
    files: ['test/**/*.js'],
    languageOptions: { globals: { ...globals.mocha } },
  },
  {
    // Browser tests pass functions to page.evaluate: they run in the editor page.
    files: ['test/e2e/**/*.js'],
    languageOptions: { globals: { ...globals.browser, RED: 'readonly' } },
  },
  {
    // The editor scripts of nodes/*.html run in the browser with the editor's globals.
    files: ['nodes/**/*.html', 'resources/**/*.js'],
    plugins: { html },
    languageOptions: { globals: { ...globals.browser, RED: 'readonly', $: 'readonly' } },
  },
);
