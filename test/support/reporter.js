'use strict';
// Mocha's spec reporter, plus the run's counts written to MOCHA_STATS_FILE for the closing summary, and each
// test's outcome with the peers' versions written to MOCHA_RESULTS_FILE (npm run compat reads them).
const fs = require('node:fs');
const Mocha = require('mocha');

class StatsReporter extends Mocha.reporters.Spec {
  constructor(runner, options) {
    super(runner, options);
    const { EVENT_RUN_END, EVENT_TEST_PASS, EVENT_TEST_FAIL, EVENT_TEST_PENDING } = Mocha.Runner.constants;
    const tests = [];
    runner.on(EVENT_TEST_PASS, (t) => tests.push({ title: t.fullTitle(), state: 'passed' }));
    runner.on(EVENT_TEST_FAIL, (t) => tests.push({ title: t.fullTitle(), state: 'failed' }));
    runner.on(EVENT_TEST_PENDING, (t) => tests.push({ title: t.fullTitle(), state: 'skipped' }));
    runner.once(EVENT_RUN_END, () => {
      if (process.env.MOCHA_STATS_FILE) fs.writeFileSync(process.env.MOCHA_STATS_FILE, JSON.stringify(runner.stats));
      if (process.env.MOCHA_RESULTS_FILE) {
        const { javaPeerVersions } = require('./java-peers');
        fs.writeFileSync(process.env.MOCHA_RESULTS_FILE, JSON.stringify({ peers: javaPeerVersions(), tests }));
      }
    });
  }
}

module.exports = StatsReporter;
