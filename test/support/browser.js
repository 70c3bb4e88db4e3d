'use strict';
// Debian's chromium driven by playwright-core (which downloads no browser of its own).
const fs = require('node:fs');
const path = require('node:path');
const { version } = require('./node-red');

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

module.exports = { launch, screenshot, screenshotOnFailure };
