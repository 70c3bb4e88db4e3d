'use strict';
/* global $ */
// The hierarchy preview in a real browser, from the registry source's dialog and from the export's: counts per
// level, the tree, the geometries on a plain canvas, the invalid geometry and the missing parent highlighted.
const { expect } = require('chai');
const { deploy } = require('../support/runtime');
const { sandboxSystem } = require('../support/flows');
const { previewGeoJsonFile, PREVIEW_LEVELS } = require('../support/preview-data');
const { closeTray, editNode, screenshot, useEditor } = require('../support/browser');
const { version } = require('../support/node-red');

describe('editor: hierarchy preview', function () {
  this.timeout(120000);
  const editor = useEditor({
    setup: (nr) =>
      deploy(nr.admin, [
        { id: 't1', type: 'tab', label: 'Preview' },
        sandboxSystem(),
        {
          id: 'src',
          z: 't1',
          type: 'gpr-hierarchy-source',
          name: 'Small registry',
          source: 'geojson',
          geojsonFile: previewGeoJsonFile(),
          x: 100,
          y: 60,
          wires: [],
        },
        {
          id: 'exp',
          z: 't1',
          type: 'fhir-export',
          name: 'Export',
          organization: 'MOH',
          system: 'sys',
          source: 'src',
          x: 300,
          y: 60,
          wires: [],
        },
      ]),
    pageOptions: { viewport: { width: 1400, height: 1100 } },
    ready: (page) => page.waitForFunction(() => window.RED && RED.nodes && RED.nodes.node('exp') && window.geofhirPreview),
  });

  /** Open `id`'s dialog, press its Preview button and give what the preview shows. */
  async function preview(id, button, container) {
    await editNode(editor.page, id);
    await editor.page.locator(button).click();
    await editor.page.locator(`${container} .geofhir-preview-levels tr[data-type]`).first().waitFor();
    await editor.page.locator(`${container} canvas`).scrollIntoViewIfNeeded();
    return editor.page.evaluate((root) => {
      const levels = $(root + ' .geofhir-preview-levels tr[data-type]')
        .map((_, tr) => [
          [
            $(tr).attr('data-type'),
            ...$(tr)
              .find('td')
              .slice(1)
              .map((_, td) => Number($(td).text()))
              .get(),
          ],
        ])
        .get();
      const canvas = $(root + ' canvas')[0];
      const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
      let drawn = 0;
      for (let i = 3; i < pixels.length; i += 4) if (pixels[i] > 0) drawn++;
      const flagged = (cls) =>
        $(root + ' .geofhir-preview-tree span.' + cls)
          .map((_, s) => $(s).closest('li').attr('data-code'))
          .get();
      return {
        levels,
        drawn,
        invalid: flagged('geofhir-preview-invalid'),
        orphans: flagged('geofhir-preview-orphan'),
        roots: $(root + ' .geofhir-preview-tree > ul > li')
          .map((_, li) => $(li).attr('data-code'))
          .get(),
      };
    }, container);
  }

  const close = () => closeTray(editor.page, '#node-dialog-cancel');

  it('shows the source’s tree, counts per level and geometries, the invalid and the orphaned highlighted', async function () {
    const shown = await preview('src', '#gpr-src-preview-button', '#gpr-src-preview');
    expect(shown.levels).to.deep.equal(PREVIEW_LEVELS);
    expect(shown.invalid).to.deep.equal(['R2']);
    expect(shown.orphans).to.deep.equal(['R3']);
    expect(shown.roots).to.deep.equal(['A', 'R3']);
    expect(shown.drawn, 'pixels drawn on the canvas').to.be.greaterThan(1000);
    // Clicking an object names it and its problem.
    await editor.page.locator('#gpr-src-preview li[data-code="R2"] > span').click();
    expect(await editor.page.locator('#gpr-src-preview .geofhir-preview-detail').textContent()).to.match(
      /^Bowtie \(Region R2\): geometry is invalid: /,
    );
    await screenshot(editor.page, `hierarchy-preview-source-nr${version}`);
    await close();
  });

  it('previews the export’s registry source for its hierarchies and date', async function () {
    const shown = await preview('exp', '#fhir-export-preview-button', '#fhir-export-preview');
    expect(shown.levels).to.deep.equal(PREVIEW_LEVELS);
    expect(shown.invalid).to.deep.equal(['R2']);
    await screenshot(editor.page, `hierarchy-preview-export-nr${version}`);
    await close();
  });
});
