'use strict';
/* global $ */
// The export dialog in a real browser: its sections, the Org Units table filled from the registry source's
// Geo-Object Types and saved as the node's levels, help for every option, and Generate Bundle from the form as
// it is (unsaved): one FHIR Bundle per file, a zip when there are several.
const fs = require('node:fs');
const { expect } = require('chai');
const { unzipSync, strFromU8 } = require('fflate');
const { deployExamples } = require('../support/examples');
const { closeTray, editNode, screenshot, useEditor } = require('../support/browser');
const { version } = require('../support/node-red');

describe('editor: the export dialog', function () {
  this.timeout(120000);
  let exporter;
  const editor = useEditor({
    async setup(nr) {
      const { flows } = await deployExamples(nr);
      exporter = flows.find((n) => n.type === 'fhir-export');
    },
    pageOptions: { viewport: { width: 1400, height: 1000 } },
    ready: (page) =>
      page.waitForFunction((id) => window.RED && RED.nodes && RED.nodes.getType('fhir-export') && RED.nodes.node(id), exporter.id),
  });

  async function open() {
    await editNode(editor.page, exporter.id);
    await editor.page.locator('#fhir-export-levels tbody tr').first().waitFor();
  }

  const rows = () =>
    editor.page.locator('#fhir-export-levels tbody tr').evaluateAll((trs) =>
      trs.map((tr) => ({
        type: tr.getAttribute('data-type'),
        on: tr.querySelector('.geofhir-level-on').checked,
        code: tr.querySelector('.geofhir-level-code').placeholder,
      })),
    );

  it('groups its fields in sections and lists the source’s Geo-Object Types in the Org Units table', async function () {
    await open();
    const sections = await editor.page.locator('.red-ui-editor .red-ui-tray-body h4').allTextContents();
    expect(sections).to.deep.equal(['Target', 'Source', 'Mapping', 'Parents and geometries', 'Changes', 'Sending']);
    await editor.page.waitForFunction(() => /Geo-Object Types of the chosen hierarchies/.test($('#fhir-export-levels-note').text()));
    expect(await rows()).to.deep.equal([
      { type: 'Country', on: true, code: 'Country' },
      { type: 'Region', on: true, code: 'Region' },
      { type: 'District', on: true, code: 'District' },
      { type: 'HealthFacility', on: true, code: 'HealthFacility' },
    ]);
    await editor.page.locator('#fhir-export-levels').scrollIntoViewIfNeeded();
    await screenshot(editor.page, `export-dialog-org-units-nr${version}`);
    await closeTray(editor.page, '#node-dialog-ok');
    expect(await editor.page.evaluate((id) => RED.nodes.node(id).levels, exporter.id)).to.equal('');
  });

  it('saves the Org Units a user edits as the node’s levels, and shows them again', async function () {
    await open();
    await editor.page.waitForFunction(() => $('#fhir-export-levels tbody tr[data-listed=true]').length === 4);
    await editor.page.locator('tr[data-type="HealthFacility"] .geofhir-level-on').uncheck();
    await editor.page.locator('tr[data-type="District"] .geofhir-level-code').fill('district');
    await editor.page.locator('tr[data-type="District"] .geofhir-level-display').fill('District (admin 2)');
    await editor.page.locator('tr[data-type="Region"] .geofhir-level-implementation').selectOption('basic');
    await editor.page.locator('tr[data-type="Country"] .geofhir-level-kind').selectOption('jurisdiction');
    // A change that asks the source the same (as the editor sends one on opening) keeps the rows being edited.
    const kept = await editor.page.evaluate(() => {
      const row = $('tr[data-type="HealthFacility"]')[0];
      $('#node-input-source, #node-input-hierarchies, #node-input-system').trigger('change');
      return (
        $('tr[data-type="HealthFacility"]')[0] === row &&
        /Geo-Object Types of the chosen hierarchies/.test($('#fhir-export-levels-note').text())
      );
    });
    expect(kept, 'the same rows, not asked again').to.equal(true);
    await closeTray(editor.page, '#node-dialog-ok');
    const levels = await editor.page.evaluate((id) => RED.nodes.node(id).levels, exporter.id);
    expect(JSON.parse(levels)).to.deep.equal([
      { geoObjectType: 'Country', kind: 'jurisdiction' },
      { geoObjectType: 'Region', implementation: 'basic' },
      { geoObjectType: 'District', fhirType: { code: 'district', display: 'District (admin 2)' } },
    ]);
    await open();
    await editor.page.waitForFunction(() => $('#fhir-export-levels tbody tr[data-listed=true]').length === 4);
    expect((await rows()).map((r) => [r.type, r.on])).to.deep.equal([
      ['Country', true],
      ['Region', true],
      ['District', true],
      ['HealthFacility', false],
    ]);
    expect(await editor.page.locator('tr[data-type="District"] .geofhir-level-code').inputValue()).to.equal('district');
    await closeTray(editor.page, '#node-dialog-cancel');
  });

  it('documents every option in its help', async function () {
    const terms = await editor.page.evaluate(() =>
      $('<div>')
        .html(RED.nodes.getNodeHelp('fhir-export'))
        .find('h3:contains(Options) + dl dt')
        .map((_, dt) => $(dt).text())
        .get()
        .join(' | '),
    );
    for (const option of [
      'Implementation',
      'Hierarchies',
      'Missing parent',
      'Removed objects',
      'Incremental',
      'GPR-compatible output',
      'Org Units',
    ])
      expect(terms).to.include(option);
  });

  /** Press Generate Bundle in the open dialog and give the download's name and files (name → JSON). */
  async function generate() {
    const [download] = await Promise.all([editor.page.waitForEvent('download'), editor.page.locator('#fhir-export-bundle').click()]);
    const data = fs.readFileSync(await download.path());
    const name = download.suggestedFilename();
    if (!name.endsWith('.zip')) return { name, files: { [name]: JSON.parse(data.toString('utf8')) } };
    const files = Object.fromEntries(Object.entries(unzipSync(data)).map(([n, b]) => [n, JSON.parse(strFromU8(b))]));
    return { name, files };
  }

  it('generates the Bundles of the form as it is, unsaved: a zip of one Bundle per file, or one Bundle', async function () {
    await open();
    // The stages the runtime publishes for the notification that follows the download.
    await editor.page.evaluate(() => {
      window.bundleStages = [];
      RED.comms.subscribe('geofhir/bundle/#', (topic, s) => window.bundleStages.push(s.stage));
    });
    await editor.page.locator('#node-input-chunkSize').fill('200');
    const several = await generate();
    await editor.page.waitForFunction(() => window.bundleStages.includes('done'));
    expect(several.name).to.equal('Sample-export-bundles.zip');
    const names = Object.keys(several.files).sort();
    // Each Bundle is said as it is built.
    expect(await editor.page.evaluate(() => window.bundleStages)).to.deep.equal(
      ['reading', 'planning'].concat(
        names.map(() => 'building'),
        ['packing', 'done'],
      ),
    );
    // The Org Units saved above leave HealthFacility out: 117 objects, two entries each.
    expect(names).to.have.length(Math.ceil((117 * 2) / 200));
    expect(names[0]).to.equal('Sample-export-bundle-001.json');
    const bundles = names.map((n) => several.files[n]);
    for (const b of bundles) expect(b).to.include({ resourceType: 'Bundle', type: 'transaction' });
    const entries = bundles.flatMap((b) => b.entry);
    expect(entries).to.have.length(2 * (1 + 4 + 112));
    const district = entries.find(
      (e) => e.resource.resourceType === 'Location' && e.resource.type && e.resource.type[0].coding[0].code === 'district',
    );
    expect(district, 'a District with the code typed in the table').to.not.equal(undefined);
    await editor.page.waitForFunction(() => /saved Sample-export-bundles\.zip/.test($('.red-ui-notification').text()));
    await screenshot(editor.page, `export-dialog-generate-bundle-nr${version}`);

    await editor.page.locator('#node-input-chunkSize').fill('1000');
    const one = await generate();
    expect(one.name).to.equal('Sample-export-bundle.json');
    expect(Object.values(one.files)[0]).to.include({ resourceType: 'Bundle', type: 'transaction' });
    // Closed once the editor has said the file is saved, as above: not while its notifications still come and go.
    await editor.page.waitForFunction(() => /saved Sample-export-bundle\.json/.test($('.red-ui-notification').text()));
    await closeTray(editor.page, '#node-dialog-cancel');
    expect(await editor.page.evaluate((id) => RED.nodes.node(id).chunkSize, exporter.id)).to.equal(500);
  });

  it('says why Generate Bundle cannot run from the form', async function () {
    await open();
    await editor.page.locator('#node-input-source').selectOption({ index: 0 });
    await editor.page.locator('#fhir-export-bundle').click();
    await editor.page.waitForFunction(() => /select a registry source in "Run now reads"/.test($('.red-ui-notification-error').text()));
    await closeTray(editor.page, '#node-dialog-cancel');
  });
});
