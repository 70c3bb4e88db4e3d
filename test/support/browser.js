'use strict';
/* global $, RED, getComputedStyle */
// Debian's chromium driven by playwright-core (which downloads no browser of its own), and the editor suites'
// runtime, browser and page.
const fs = require('node:fs');
const path = require('node:path');
const { version } = require('./node-red');
const { startRuntime } = require('./runtime');

const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const SHOTS = path.resolve(__dirname, '..', '..', 'test-results');

async function launch() {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`no browser at ${CHROMIUM}: apt-get install chromium (or set CHROMIUM)`);
  const { chromium } = require('playwright-core');
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    // Root needs --no-sandbox; the rest keeps chromium off the (closed) network.
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-dev-shm-usage',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}

/** Save a screenshot under test-results/ (git-ignored). */
async function screenshot(page, name) {
  fs.mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`) });
}

/** An afterEach hook: a screenshot of `pageOf()` when the test failed, named for the test and the Node-RED version. */
function screenshotOnFailure(pageOf) {
  return async function () {
    const page = pageOf();
    if (this.currentTest.state !== 'failed' || !page) return;
    await screenshot(page, `failed-${this.currentTest.title.replace(/\W+/g, '-')}-nr${version}`);
  };
}

/**
 * Open the edit dialog of node `id` (a config node's too) once the last dialog's tray is gone (a closing tray still
 * holds inputs with the same ids), and wait until the editor has finished opening it: after sliding the tray in, the
 * editor sets its width, fills the sidebar, focuses a field and only then raises the tray stack (z-index 13), on timers
 * of its own that a busy machine stretches, so a click before then can land where a field no longer is.
 */
async function editNode(page, id) {
  await page.waitForFunction(() => !$('.red-ui-tray').length, null, { timeout: 20000 });
  await page.evaluate((nodeId) => {
    const node = RED.nodes.node(nodeId);
    if (node._def.category === 'config') RED.editor.editConfig('', node.type, node.id);
    else RED.editor.edit(node);
  }, id);
  await page.waitForFunction(() => {
    const tray = $('.red-ui-tray').last()[0];
    return tray && getComputedStyle(tray).right === '0px' && $('#red-ui-editor-stack').css('z-index') === '13';
  });
}

/** Press `button` (a selector or a locator) of the open dialog and wait until its tray is gone. */
async function closeTray(page, button) {
  await (typeof button === 'string' ? page.locator(button) : button).click();
  await page.waitForFunction(() => !$('.red-ui-tray').length);
}

/** An afterEach hook: the dialogs a failed test left open cancelled, so that the next test opens its own. */
function closeTraysOnFailure(pageOf) {
  return async function () {
    const page = pageOf();
    if (this.currentTest.state !== 'failed' || !page) return;
    while ((await page.locator('.red-ui-tray').count()) > 0) {
      await page.evaluate(() => {
        const tray = $('.red-ui-tray').last().addClass('geofhir-cancelled');
        const cancel = tray.find('[id$="dialog-cancel"]');
        if (cancel.length) cancel.trigger('click');
        else RED.tray.close();
      });
      await page.waitForFunction(() => !$('.red-ui-tray.geofhir-cancelled').length);
    }
  };
}

/**
 * Adds the hooks of an editor suite to the calling one: a Node-RED runtime started, `setup(nr)` run (what the
 * editor should find deployed), the editor opened in chromium on a page of `pageOptions` until `ready(page)`
 * resolves; a screenshot of each failed test; the browser and the runtime stopped after. Returns `{nr, browser,
 * page}`, filled in by then.
 */
function useEditor({ setup = async () => {}, pageOptions, ready }) {
  const editor = {};
  before(async function () {
    editor.nr = await startRuntime();
    await setup(editor.nr);
    editor.browser = await launch();
    editor.page = await editor.browser.newPage(pageOptions);
    await editor.page.goto(`${editor.nr.admin}/`);
    await ready(editor.page);
  });
  afterEach(screenshotOnFailure(() => editor.page));
  afterEach(closeTraysOnFailure(() => editor.page));
  after(async function () {
    if (editor.browser) await editor.browser.close();
    if (editor.nr) await editor.nr.stop();
  });
  return editor;
}

module.exports = { closeTray, editNode, launch, screenshot, screenshotOnFailure, useEditor };
