'use strict';
// The editor in a real browser: the example flow from Import ▸ Examples, and Test connection in the
// fhir-external-system dialog against the sandbox issuer and FHIR server.
const fs = require('node:fs');
const path = require('node:path');
const { expect } = require('chai');
const { deploy, ROOT } = require('../support/runtime');
const { control } = require('../support/peers');
const { closeTray, editNode, screenshot, useEditor } = require('../support/browser');
const { version } = require('../support/node-red');

const MODULE = require('../../package.json').name;
const EXAMPLE = '01 - Register the sandbox FHIR server';

describe('editor: fhir-external-system', function () {
  this.timeout(90000);
  let systemId;
  const editor = useEditor({
    async setup(nr) {
      await control(process.env.FHIR_BASE, '/__auth', { issuer: process.env.OIDC_ISSUER, audience: process.env.FHIR_BASE });
      // The example as the sandbox deploys it, pointed at this run's peers.
      const example = JSON.parse(fs.readFileSync(path.join(ROOT, 'flows', `${EXAMPLE}.json`), 'utf8'));
      const system = example.find((n) => n.type === 'fhir-external-system');
      systemId = system.id;
      const flows = [
        { id: 'tab1', type: 'tab', label: EXAMPLE },
        ...example.map((n) =>
          n.x === undefined ? { ...n, url: process.env.FHIR_BASE, issuer: process.env.OIDC_ISSUER } : { ...n, z: 'tab1' },
        ),
      ];
      await deploy(nr.admin, flows, { [systemId]: { clientSecret: 'geo-exporter-secret' } });
    },
    pageOptions: { viewport: { width: 1400, height: 900 } },
    async ready(page) {
      await page.waitForFunction(() => window.RED && RED.nodes && RED.nodes.getType('fhir-external-system'));
      await page.waitForFunction((id) => RED.nodes.node(id), systemId);
    },
  });

  after(() => control(process.env.FHIR_BASE, '/__auth', {}));

  it('loads the shared editor helpers before the node definitions that use them', async function () {
    const wired = await editor.page.evaluate(() => ({
      helpers: typeof window.geofhirEditor,
      exportButton: typeof RED.nodes.getType('fhir-export').button.onclick,
      importButton: typeof RED.nodes.getType('fhir-import').button.onclick,
    }));
    expect(wired).to.deep.equal({ helpers: 'object', exportButton: 'function', importButton: 'function' });
  });

  it('offers every registry source the runtime reads in the gpr-hierarchy-source dialog', async function () {
    const sources = await editor.page.evaluate(() => {
      const template = document.querySelector('script[data-template-name="gpr-hierarchy-source"]').innerHTML;
      const form = new DOMParser().parseFromString(template, 'text/html');
      return [...form.querySelectorAll('#node-input-source option')].map((o) => o.value);
    });
    expect(sources).to.have.members(['sample', 'gpr', 'embedded', 'gpr-files', 'geojson']);
  });

  it('lists the example flow under Import ▸ Examples', async function () {
    await editor.page.evaluate(() => RED.actions.invoke('core:show-examples-import-dialog'));
    const library = editor.page.locator('.red-ui-clipboard-dialog-tab-library');
    await library.getByText(MODULE, { exact: true }).click();
    await library.getByText(EXAMPLE, { exact: true }).waitFor();
    await screenshot(editor.page, `examples-nr${version}`);
    await editor.page.keyboard.press('Escape');
  });

  async function testConnection() {
    const result = editor.page.locator('#fhir-es-test-result');
    await editor.page.locator('#fhir-es-test').click();
    await result.scrollIntoViewIfNeeded();
    await editor.page.waitForFunction(() => {
      const text = document.querySelector('#fhir-es-test-result').textContent;
      return text && !text.startsWith('Testing');
    });
    return result.textContent();
  }

  it('tests the connection from the dialog, with the stored secret and with a wrong one', async function () {
    await editNode(editor.page, systemId);
    await editor.page.locator('#fhir-es-test').waitFor();
    // The dialog loads stored credentials asynchronously; a set password shows as a placeholder value.
    await editor.page.waitForFunction(() => document.querySelector('#node-config-input-clientSecret').value === '__PWRD__');
    expect(await editor.page.locator('#node-config-input-name').inputValue()).to.equal('Sandbox FHIR');
    expect(await editor.page.locator('#node-config-input-clientId').inputValue()).to.equal('geo-exporter');
    // Only client-credentials fields are shown.
    expect(await editor.page.locator('#node-config-input-clientSecret').isVisible()).to.equal(true);
    expect(await editor.page.locator('#node-config-input-password').isVisible()).to.equal(false);

    expect(await testConnection()).to.match(/^Connected: FHIR 4\.0\.1 \(geofhir sandbox FHIR server/);
    await screenshot(editor.page, `test-connection-ok-nr${version}`);

    await editor.page.locator('#node-config-input-clientSecret').fill('wrong');
    const failure = await testConnection();
    expect(failure).to.match(/^Failed: token request to .* failed: HTTP 401 invalid_client/);
    expect(failure).to.not.include('wrong');
    // In the theme's error colour, not the grey of the notes.
    const colours = await editor.page.evaluate(() => ({
      result: getComputedStyle(document.querySelector('#fhir-es-test-result')).color,
      note: getComputedStyle(document.querySelector('#fhir-es-noauth')).color,
    }));
    expect(colours.result).to.not.equal(colours.note);
    await screenshot(editor.page, `test-connection-failed-nr${version}`);
    await closeTray(editor.page, '#node-config-dialog-cancel');
  });
});
