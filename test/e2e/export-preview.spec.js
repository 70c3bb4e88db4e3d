'use strict';
// Preview changes in the FHIR Jobs sidebar, in a real browser: an export of the sample registry to the sandbox
// FHIR server previewed on an empty server (every object created), run, then previewed again (every object
// updated); the previews write nothing, and long lists wrap in the sidebar.
const { expect } = require('chai');
const { deploy } = require('../support/runtime');
const { control } = require('../support/peers');
const { requests, searchAll } = require('../support/fhir');
const { sandboxSystem } = require('../support/flows');
const { screenshot, useEditor } = require('../support/browser');
const { version } = require('../support/node-red');

const JOB_TIMEOUT = 120000;
const EXPORT = 'preview-export';

/** Made when the peers are up: the sandbox's URL is known then. */
const flows = () => [
  { id: 'preview-tab', type: 'tab', label: 'Preview' },
  sandboxSystem(),
  { id: 'preview-src', z: 'preview-tab', type: 'gpr-hierarchy-source', source: 'sample', forDate: '2024-01-01', x: 150, y: 100, wires: [] },
  {
    id: EXPORT,
    z: 'preview-tab',
    type: 'fhir-export',
    name: 'Sample to sandbox',
    organization: 'MOH',
    system: 'sys',
    source: 'preview-src',
    idStrategy: 'server',
    x: 400,
    y: 100,
    wires: [[]],
  },
];

const stored = async () => (await searchAll(`${process.env.FHIR_BASE}Location?_count=500`)).length;

describe('editor: Preview changes in the FHIR Jobs sidebar', function () {
  this.timeout(180000);
  const editor = useEditor({
    async setup(nr) {
      await control(process.env.FHIR_BASE, '/__reset');
      await deploy(nr.admin, flows());
    },
    pageOptions: { viewport: { width: 1400, height: 900 } },
    async ready(page) {
      await page.waitForFunction((id) => window.RED && RED.nodes && RED.nodes.node(id) && window.geofhirJobs, EXPORT);
      await page.evaluate(() => RED.sidebar.show('geofhir-jobs'));
      await section().getByText('no jobs yet').waitFor();
    },
  });
  const section = () => editor.page.locator(`.geofhir-jobs-node[data-node="${EXPORT}"]`);

  /** Press Preview changes and read the counts it shows, proving that only searches reached the server. */
  async function previewCounts(press) {
    const before = await stored();
    await control(process.env.FHIR_BASE, '/__reset-log');
    await press.click();
    await editor.page.locator('.geofhir-jobs-preview-counts').waitFor();
    const counts = {};
    for (const name of ['create', 'update', 'inactivate', 'skipped'])
      counts[name] = await editor.page.locator(`.geofhir-jobs-preview-counts tr[data-count="${name}"] td`).textContent();
    const actions = await editor.page.locator('.geofhir-jobs-preview-item').evaluateAll((rows) => rows.map((r) => r.dataset.action));
    // Searches only: GETs, and the form-encoded POST _search of the held-objects check.
    for (const r of await requests(process.env.FHIR_BASE))
      expect(`${r.method} ${r.url.split('?')[0]}`).to.match(/^(GET \w+|POST \w+\/_search)$/);
    expect(await stored()).to.equal(before);
    return { counts, actions };
  }

  it('shows what a run would create, then, after the run, what it would update', async function () {
    const first = await previewCounts(section().locator('.geofhir-jobs-preview'));
    const objects = first.actions.length;
    expect(objects).to.be.greaterThan(300);
    expect(first.counts).to.deep.equal({ create: String(objects), update: '0', inactivate: '0', skipped: '0' });
    expect(first.actions.every((a) => a === 'create')).to.equal(true);
    expect(await editor.page.locator('.geofhir-jobs-preview-view').textContent()).to.include(`${objects} listed`);
    expect(await editor.page.locator('.geofhir-jobs-preview-item').first().textContent()).to.match(/\(Country\)Uganda.*create$/);
    await screenshot(editor.page, `jobs-preview-create-nr${version}`);

    // Back to the jobs, Run now, and its end.
    await editor.page.locator('.geofhir-jobs-back').click();
    await section().locator('.geofhir-jobs-run').click();
    await editor.page.waitForFunction(
      (id) => {
        const status = document.querySelector(`.geofhir-jobs-node[data-node="${id}"] .geofhir-jobs-job .geofhir-jobs-status`);
        return status && status.textContent === 'SUCCESS';
      },
      EXPORT,
      { timeout: JOB_TIMEOUT },
    );
    expect(await stored()).to.equal(objects);

    const second = await previewCounts(section().locator('.geofhir-jobs-preview'));
    expect(second.counts).to.deep.equal({ create: '0', update: String(objects), inactivate: '0', skipped: '0' });
    // Preview again, from the preview itself.
    const again = await previewCounts(editor.page.locator('.geofhir-jobs-preview-again'));
    expect(again.counts.update).to.equal(String(objects));

    // Nothing overflows sideways, however long the list.
    const overflow = await editor.page.locator('.geofhir-jobs').evaluate((el) => el.scrollWidth - el.clientWidth);
    expect(overflow).to.equal(0);
    await screenshot(editor.page, `jobs-preview-update-nr${version}`);
    await editor.page.locator('.geofhir-jobs-back').click();
    await section().locator('.geofhir-jobs-job').first().waitFor();
    await screenshot(editor.page, `jobs-preview-button-nr${version}`);
  });
});
