'use strict';
// Mocha's spec reporter, plus the run's counts written to MOCHA_STATS_FILE for the closing summary.
const fs = require('node:fs');
const Mocha = require('mocha');

class StatsReporter extends Mocha.reporters.Spec {
  constructor(runner, options) {
    super(runner, options);
    runner.once(Mocha.Runner.constants.EVENT_RUN_END, () => {
      if (process.env.MOCHA_STATS_FILE) fs.writeFileSync(process.env.MOCHA_STATS_FILE, JSON.stringify(runner.stats));
    });
  }
}

module.exports = StatsReporter;
