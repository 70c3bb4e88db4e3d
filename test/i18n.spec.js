'use strict';
// The message catalogs: French is complete (the same keys as en-US, none empty), and every key the editor files
// use is in both. The editor in French is tested in test/e2e/editor-french.spec.js.
const fs = require('node:fs');
const path = require('node:path');
const { expect } = require('chai');

const ROOT = path.resolve(__dirname, '..');
const LOCALES = path.join(ROOT, 'nodes', 'locales');
const TYPES = Object.keys(require('../package.json')['node-red'].nodes);

/** "a.b.c" → value for every leaf of a catalog. */
function flatten(value, prefix = '', out = {}) {
  if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) flatten(v, prefix ? `${prefix}.${k}` : k, out);
  else out[prefix] = value;
  return out;
}
const catalog = (lang, type) => flatten(JSON.parse(fs.readFileSync(path.join(LOCALES, lang, `${type}.json`), 'utf8')));
const read = (...p) => fs.readFileSync(path.join(ROOT, ...p), 'utf8');
const all = (text, re) => [...text.matchAll(re)];

/** [catalog type, key] of every message the editor files name. */
function usedKeys() {
  const used = [];
  for (const type of TYPES) {
    const html = read('nodes', `${type}.html`);
    for (const [, key] of all(html, /data-i18n="(?:\[[a-z]+\])?([^"]+)"/g)) used.push([type, key]);
    // The rows geofhirEditor.expand writes: labelled by label.<prop>, with placeholder.<prop> when asked.
    for (const [, prop, attrs] of all(html, /data-geofhir-row="\w+:(\w+)"([^>]*)>/g)) {
      used.push([type, `${type}.label.${prop}`]);
      if (/data-placeholder/.test(attrs)) used.push([type, `${type}.placeholder.${prop}`]);
    }
    for (const [, t, key] of all(html, /geofhirEditor\.t\('([\w-]+)', '([^']+)'\)/g)) used.push([t, `${t}.${key}`]);
    for (const [, key] of all(html, /(?:_def|node|this)\._\('([^']+)'/g)) used.push([type, key]);
    for (const [, key] of all(html, /\{ key: '([\w-]+)'/g)) used.push(['fhir-export', `geofhir.valid.reason.${key}`]);
    // Field checks name their fields by label: `V.integer('pageSize')` (geofhirEditor.valid.of), `L('url')`.
    for (const [, v, l] of all(html, /\bV\.(?!when\b)\w+\('(\w+)'|\bL\('(\w+)'\)/g)) used.push([type, `${type}.label.${v ?? l}`]);
  }
  const shared = (key) => used.push(['fhir-export', `geofhir.${key}`]);
  const editor = read('resources', 'geofhir-editor.js');
  for (const [, key] of all(editor, /geofhirEditor\._\('([\w.-]+)'/g)) shared(key);
  for (const [, key] of all(editor, /\bt\('([\w.-]+)'/g)) shared(key);
  for (const [, key] of all(editor, /\{ key: '([\w-]+)'/g)) shared(`valid.reason.${key}`);
  ['json-array', 'json-object'].forEach((k) => shared(`valid.reason.${k}`));
  // The stages the Generate Bundle route publishes.
  for (const [, stage] of all(read('src', 'node-red', 'bundle-route.ts'), /stage\('(\w+)'/g)) shared(`bundle.stage.${stage}`);
  const jobs = read('resources', 'geofhir-jobs.js');
  for (const [, key] of all(jobs, /\bt\('([\w.]+)'/g)) shared(`jobs.${key}`);
  for (const [, fact] of all(jobs, /\['(\w+)', (?:job\.|new Date|durationOf|counts|retryOf)/g)) shared(`jobs.fact.${fact}`);
  shared('jobs.fact.failure');
  for (const n of ['create', 'update', 'inactivate', 'skipped', 'warnings']) shared(`jobs.preview.count.${n}`);
  for (const a of ['create', 'update', 'inactivate', 'skip']) shared(`jobs.preview.actions.${a}`);
  for (const [, key] of all(jobs, /geofhirEditor\._\('([\w.-]+)'/g)) shared(key);
  const levels = read('resources', 'geofhir-levels.js');
  for (const [, key] of all(levels, /\bt\('([\w.]+)'/g)) used.push(['fhir-export', `fhir-export.levels.${key}`]);
  for (const k of ['auto', 'facility', 'jurisdiction']) used.push(['fhir-export', `fhir-export.levels.kind.${k}`]);
  for (const k of ['export', 'mcsd', 'basic', 'multi-hierarchy']) used.push(['fhir-export', `fhir-export.levels.implementation.${k}`]);
  const preview = read('resources', 'geofhir-preview.js');
  for (const [, key] of all(preview, /\bt\('([\w.]+)'/g)) used.push(['gpr-hierarchy-source', `gpr-hierarchy-source.preview.${key}`]);
  // The status texts the runtime sets (src/node-red/status-text.ts), from each node's own catalog: its adapter's,
  // and those of the shared modules it uses.
  const statusKeys = (file) =>
    all(read('src', ...file.split('/')), /statusText\(RED, \w+, (?:[^']*\? )?'(\w+)'(?: : '(\w+)')?/g).flatMap((m) =>
      m.slice(1).filter(Boolean),
    );
  const sharedStatus = {
    'node-red/sync-jobs.ts': ['fhir-export', 'fhir-import'],
    'node-red/sync-node.ts': ['fhir-export', 'fhir-import'],
    'node-red/start-status.ts': ['fhir-export', 'fhir-import', 'gateway-authorize', 'fhir-external-system'],
  };
  for (const type of TYPES) for (const key of statusKeys(`nodes/${type}.ts`)) used.push([type, `${type}.status.${key}`]);
  for (const [file, types] of Object.entries(sharedStatus))
    for (const key of statusKeys(file)) for (const type of types) used.push([type, `${type}.status.${key}`]);
  // A key ending in '.' is the prefix of keys made at run time; those are listed above.
  return used.filter(([, key]) => !key.endsWith('.'));
}

describe('message catalogs', function () {
  it('has a catalog of every node in en-US and in French', function () {
    for (const lang of ['en-US', 'fr'])
      expect(fs.readdirSync(path.join(LOCALES, lang)).sort(), lang).to.deep.equal(TYPES.map((t) => `${t}.json`).sort());
  });

  it('has French for every English message, none empty, with the same placeholders', function () {
    for (const type of TYPES) {
      const en = catalog('en-US', type);
      const fr = catalog('fr', type);
      expect(Object.keys(fr).sort(), type).to.deep.equal(Object.keys(en).sort());
      for (const [key, text] of Object.entries(en)) {
        expect(fr[key], `${type} ${key}`).to.be.a('string').that.is.not.empty;
        const names = (s) => [...s.matchAll(/__(\w+)__/g)].map((m) => m[1]).sort();
        expect(names(fr[key]), `${type} ${key}`).to.deep.equal(names(text));
      }
    }
  });

  it('has every key the editor files use, in both catalogs', function () {
    const used = usedKeys();
    expect(used.length).to.be.greaterThan(250);
    const missing = [];
    for (const lang of ['en-US', 'fr']) {
      const catalogs = Object.fromEntries(TYPES.map((t) => [t, catalog(lang, t)]));
      for (const [type, key] of used) if (!(key in catalogs[type])) missing.push(`${lang} ${type}: ${key}`);
    }
    expect(missing).to.deep.equal([]);
  });
});
