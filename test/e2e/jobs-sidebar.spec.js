'use strict';
// The FHIR Jobs sidebar in a real browser: the export example imported from Import ▸ Examples, its
// external system given this run's peers and secret, deployed, Run now pressed, the job watched to the
// end, its details opened; then a run in which the FHIR server refuses an object shows that object's row.
const fs = require('node:fs');
const { expect } = require('chai');
const { unzipSync, strFromU8 } = require('fflate');
const { jobsOf } = require('../support/runtime');
const { control } = require('../support/peers');
const { searchAll } = require('../support/fhir');
const { editNode, screenshot, useEditor } = require('../support/browser');
const { version } = require('../support/node-red');
const { until } = require('../support/until');

const MODULE = require('../../package.json').name;
const EXAMPLE = '02 - Export the sample hierarchy';
const JOB_TIMEOUT = 120000;

const all = (type) => searchAll(`${process.env.FHIR_BASE}/${type}?_count=500`);

describe('editor: FHIR Jobs sidebar', function () {
  this.timeout(180000);
  let exportId;
  const editor = useEditor({
    setup: () => control(process.env.FHIR_BASE, '/__reset'),
    pageOptions: { viewport: { width: 1400, height: 900 } },
    ready: (page) => page.waitForFunction(() => window.RED && RED.nodes && RED.nodes.getType('fhir-export') && window.geofhirJobs),
  });

  after(() => control(process.env.FHIR_BASE, '/__fault', { clear: true }));

  /** The newest job row of the export node in the sidebar, once it has left QUEUED and RUNNING. */
  async function finishedRow() {
    const row = editor.page.locator(`.geofhir-jobs-node[data-node="${exportId}"] .geofhir-jobs-job`).first();
    await editor.page.waitForFunction(
      (id) => {
        const status = document.querySelector(`.geofhir-jobs-node[data-node="${id}"] .geofhir-jobs-job .geofhir-jobs-status`);
        return status && !['QUEUED', 'RUNNING'].includes(status.textContent);
      },
      exportId,
      { timeout: JOB_TIMEOUT },
    );
    return row;
  }

  it('runs the imported export example from the editor and shows the job live, then its details', async function () {
    // Import ▸ Examples ▸ this module ▸ the export example, dropped on the workspace.
    await editor.page.evaluate(() => RED.actions.invoke('core:show-examples-import-dialog'));
    const library = editor.page.locator('.red-ui-clipboard-dialog-tab-library');
    await library.getByText(MODULE, { exact: true }).click();
    await library.getByText(EXAMPLE, { exact: true }).click();
    await editor.page.locator('#red-ui-clipboard-dialog-ok').click();
    // The example comes from the runtime's library: on a busy machine it arrives after the click, then follows the mouse.
    await editor.page.waitForFunction(() => RED.nodes.filterNodes({ type: 'fhir-export' }).length > 0);
    await editor.page.mouse.move(500, 300);
    await editor.page.mouse.click(500, 300);
    exportId = await editor.page.evaluate(() => RED.nodes.filterNodes({ type: 'fhir-export' })[0].id);

    // The example's external system, pointed at this run's peers, with the client secret the example leaves out.
    const systemId = await editor.page.evaluate((id) => RED.nodes.node(id).system, exportId);
    await editNode(editor.page, systemId);
    await editor.page.locator('#node-config-input-url').fill(process.env.FHIR_BASE);
    await editor.page.locator('#node-config-input-issuer').fill(process.env.OIDC_ISSUER);
    await editor.page.locator('#node-config-input-clientSecret').fill('geo-exporter-secret');
    await editor.page.locator('#node-config-dialog-ok').click();

    await editor.page.locator('#red-ui-header-button-deploy').click();
    await editor.page.waitForFunction(() => !RED.nodes.dirty());

    // As the sidebar's menu does when "FHIR Jobs" is chosen.
    await editor.page.evaluate(() => RED.sidebar.show('geofhir-jobs'));
    const section = editor.page.locator(`.geofhir-jobs-node[data-node="${exportId}"]`);
    await section.getByText('no jobs yet').waitFor();
    await screenshot(editor.page, `jobs-empty-nr${version}`);

    // Run now: the node's button on the workspace, as for an inject node.
    await editor.page.locator(`[id="${exportId}"] .red-ui-flow-node-button-button`).click();
    const row = await finishedRow();
    expect(await row.locator('.geofhir-jobs-status').textContent()).to.equal('SUCCESS');
    // A notification says that it ended, and how.
    await editor.page.locator('.red-ui-notification', { hasText: /: job \S+ ended SUCCESS$/ }).waitFor();
    await screenshot(editor.page, `jobs-success-nr${version}`);

    await row.click();
    const facts = editor.page.locator('.geofhir-jobs-facts');
    await facts.waitFor();
    expect(await facts.locator('tr', { hasText: 'Status' }).locator('td').textContent()).to.equal('SUCCESS');
    expect(await facts.locator('tr', { hasText: 'Stage' }).locator('td').textContent()).to.equal('COMPLETE');
    const counts = await facts.locator('tr', { hasText: 'Counts' }).locator('td').textContent();
    const [, objects, resources] = /^(\d+) objects · (\d+) resources$/.exec(counts);
    expect(await editor.page.locator('.geofhir-jobs-details').textContent()).to.include('No error rows');
    await screenshot(editor.page, `jobs-details-nr${version}`);

    // The FHIR server holds what the job says it exported: an Organization and a Location per object.
    const [organizations, locations] = [await all('Organization'), await all('Location')];
    expect(locations).to.have.length(Number(objects));
    expect(organizations.length + locations.length).to.equal(Number(resources));
    expect(locations.find((l) => l.name === 'Uganda')).to.include({ status: 'active' });
    await editor.page.locator('.geofhir-jobs-back').click();

    // Generate Bundle: the Bundles such a run sends, one per file of a zip (the export's chunk size splits this one in two).
    const [download] = await Promise.all([editor.page.waitForEvent('download'), section.locator('.geofhir-jobs-bundle').click()]);
    expect(download.suggestedFilename()).to.equal('Sample-export-bundles.zip');
    const files = unzipSync(fs.readFileSync(await download.path()));
    expect(Object.keys(files)).to.deep.equal(['Sample-export-bundle-001.json', 'Sample-export-bundle-002.json']);
    const bundles = Object.values(files).map((f) => JSON.parse(strFromU8(f)));
    expect(bundles.map((b) => [b.resourceType, b.type])).to.deep.equal([
      ['Bundle', 'transaction'],
      ['Bundle', 'transaction'],
    ]);
    expect(bundles.flatMap((b) => b.entry)).to.have.length(Number(resources));
  });

  it('shows the row of an object the FHIR server refused, with what was sent and answered', async function () {
    // The server refuses every Bundle holding the country (the first object): the first Bundle, then each half
    // holding it as the exporter splits the Bundle, down to the country alone.
    await control(process.env.FHIR_BASE, '/__fault', { status: 422, count: 100, contains: '"name":"Uganda"' });
    await editor.page.locator(`.geofhir-jobs-node[data-node="${exportId}"] .geofhir-jobs-run`).click();
    await editor.page.waitForFunction(
      (id) => document.querySelectorAll(`.geofhir-jobs-node[data-node="${id}"] .geofhir-jobs-job`).length === 2,
      exportId,
      { timeout: JOB_TIMEOUT },
    );
    const row = await finishedRow();
    expect(await row.locator('.geofhir-jobs-status').textContent()).to.equal('WARNING');
    await row.click();
    const errorRow = editor.page.locator('.geofhir-jobs-row').first();
    await errorRow.waitFor();
    expect(await errorRow.textContent()).to.match(/ERROR: .*422/);
    await errorRow.locator('summary', { hasText: 'Response' }).click();
    const response = JSON.parse(await errorRow.locator('details[open] pre').textContent());
    expect(response).to.deep.include({ resourceType: 'OperationOutcome' });
    await errorRow.locator('summary', { hasText: 'Submitted' }).click();
    expect(await errorRow.locator('details[open] pre').first().textContent()).to.include('"resourceType"');
    await screenshot(editor.page, `jobs-error-row-nr${version}`);
    await control(process.env.FHIR_BASE, '/__fault', { clear: true });

    // The job's report as CSV (a line for the job, one per row) and as JSON (the record with every row).
    const jobId = await editor.page.locator('.geofhir-jobs-facts tr', { hasText: 'Job' }).locator('td').textContent();
    const [csv] = await Promise.all([editor.page.waitForEvent('download'), editor.page.locator('.geofhir-jobs-report-csv').click()]);
    expect(csv.suggestedFilename()).to.equal(`Sample-export-job-${jobId}.csv`);
    const lines = fs
      .readFileSync(await csv.path(), 'utf8')
      .trim()
      .split('\r\n');
    expect(lines[0]).to.match(/^record,job,kind,status,stage,/);
    expect(lines[1]).to.match(new RegExp(`^job,${jobId},export,WARNING,COMPLETE,`));
    const [, rowCount] = /(\d+) error rows/.exec(await editor.page.locator('.geofhir-jobs-details').textContent());
    expect(lines.filter((l) => l.startsWith('row,'))).to.have.length(Number(rowCount));
    expect(lines.find((l) => l.startsWith('row,')))
      .to.include('ERROR')
      .and.include('422');
    const [json] = await Promise.all([editor.page.waitForEvent('download'), editor.page.locator('.geofhir-jobs-report-json').click()]);
    const record = JSON.parse(fs.readFileSync(await json.path(), 'utf8'));
    expect(record).to.include({ id: jobId, status: 'WARNING' });
    expect(record.node).to.deep.equal({ id: exportId, type: 'fhir-export', name: 'Sample export' });
    expect(record.errors.length).to.equal(lines.length - 2);
    expect(record.errors[0].response).to.deep.include({ resourceType: 'OperationOutcome' });

    // Long messages and payloads wrap: nothing overflows sideways, and the back button stays in view at the bottom.
    const sidebar = editor.page.locator('.geofhir-jobs');
    await sidebar.evaluate((el) => (el.scrollTop = el.scrollHeight));
    const layout = await sidebar.evaluate((el) => {
      const box = el.getBoundingClientRect();
      const back = document.querySelector('.geofhir-jobs-back').getBoundingClientRect();
      return {
        overflow: el.scrollWidth - el.clientWidth,
        scrolled: el.scrollTop > 0,
        backShown: back.top >= box.top && back.bottom <= box.bottom,
      };
    });
    expect(layout).to.deep.equal({ overflow: 0, scrolled: true, backShown: true });
    await editor.page.locator('.geofhir-jobs-back').click();
  });

  it('keeps the duration of a running job live', async function () {
    // The server holds the first transaction until released: the job stays RUNNING meanwhile.
    await control(process.env.FHIR_BASE, '/__fault', { hold: true, minEntries: 2 });
    const section = editor.page.locator(`.geofhir-jobs-node[data-node="${exportId}"]`);
    await section.locator('.geofhir-jobs-run').click();
    const running = section.locator('.geofhir-jobs-job', { hasText: 'RUNNING' }).locator('.geofhir-jobs-duration[data-started]');
    await running.waitFor();
    const first = await running.textContent();
    await editor.page.waitForFunction(
      ([id, was]) => {
        const d = document.querySelector(`.geofhir-jobs-node[data-node="${id}"] .geofhir-jobs-duration[data-started]`);
        return d && d.textContent !== was;
      },
      [exportId, first],
    );
    await screenshot(editor.page, `jobs-running-nr${version}`);
    await control(process.env.FHIR_BASE, '/__fault', { clear: true });
    await control(process.env.FHIR_BASE, '/__release');
    const row = await finishedRow();
    expect(await row.locator('.geofhir-jobs-status').textContent()).to.equal('SUCCESS');
    expect(await row.locator('.geofhir-jobs-duration').getAttribute('data-started')).to.equal(null);
  });

  it('shows the retry a running job waits for, counting its wait down, until the call gets through', async function () {
    // The first transaction is refused once with a 503 asking for 5 s: the job waits that long, RUNNING.
    await control(process.env.FHIR_BASE, '/__fault', { status: 503, count: 1, retryAfter: 5, match: 'POST ' });
    const section = editor.page.locator(`.geofhir-jobs-node[data-node="${exportId}"]`);
    await section.locator('.geofhir-jobs-run').click();
    const retry = section.locator('.geofhir-jobs-job', { hasText: 'RUNNING' }).locator('.geofhir-jobs-retry');
    await retry.waitFor();
    const first = await retry.textContent();
    expect(first).to.match(/^retry 1\/5 in [1-5] s: HTTP 503$/);
    await editor.page.waitForFunction(
      ([id, was]) => {
        const r = document.querySelector(`.geofhir-jobs-node[data-node="${id}"] .geofhir-jobs-retry`);
        return r && r.textContent !== was;
      },
      [exportId, first],
    );
    await screenshot(editor.page, `jobs-retry-nr${version}`);
    const row = await finishedRow();
    expect(await row.locator('.geofhir-jobs-status').textContent()).to.equal('SUCCESS');
    expect(await row.locator('.geofhir-jobs-retry').count()).to.equal(0);
  });

  it('pages older jobs, and disables the buttons of a node with undeployed changes', async function () {
    const section = editor.page.locator(`.geofhir-jobs-node[data-node="${exportId}"]`);
    // Six jobs in all: the list shows the five newest and offers the rest.
    while ((await jobsOf(editor.nr.admin, 'fhir-export', exportId)).length < 6) {
      const count = (await jobsOf(editor.nr.admin, 'fhir-export', exportId)).length;
      await section.locator('.geofhir-jobs-run').click();
      await until('the job to finish', async () => {
        const jobs = await jobsOf(editor.nr.admin, 'fhir-export', exportId);
        return jobs.length > count && jobs[0].finishedAt;
      });
    }
    await editor.page.waitForFunction(
      (id) => document.querySelector(`.geofhir-jobs-node[data-node="${id}"] .geofhir-jobs-more-jobs`),
      exportId,
    );
    expect(await section.locator('.geofhir-jobs-job').count()).to.equal(5);
    expect(await section.locator('.geofhir-jobs-more-jobs').textContent()).to.equal('Older jobs (1 more)');
    await section.locator('.geofhir-jobs-more-jobs').click();
    await editor.page.waitForFunction(
      (id) => document.querySelectorAll(`.geofhir-jobs-node[data-node="${id}"] .geofhir-jobs-job`).length === 6,
      exportId,
    );
    expect(await section.locator('.geofhir-jobs-more-jobs').count()).to.equal(0);

    await editor.page.evaluate((id) => {
      const node = RED.nodes.node(id);
      node.name = 'Renamed';
      node.changed = true;
      window.geofhirJobs.refresh();
    }, exportId);
    await editor.page.waitForFunction(
      (id) => document.querySelector(`.geofhir-jobs-node[data-node="${id}"] .geofhir-jobs-run`).disabled,
      exportId,
    );
    expect(await section.locator('.geofhir-jobs-bundle').isDisabled()).to.equal(true);
  });
});
