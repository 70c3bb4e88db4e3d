'use strict';
// Mocha's configuration. `npx mocha test/x.spec.js` runs that file alone: mocha would otherwise add the
// files named on the command line to `spec` instead of replacing it.
const named = process.argv.slice(2).some((a) => a.endsWith('.spec.js'));

module.exports = {
  ...(named ? {} : { spec: ['test/**/*.spec.js'] }),
  ignore: ['test/peers/node_modules/**', 'test/nr5/node_modules/**', 'test/peers/.cache/**'],
  require: ['test/support/fixtures.js'],
  reporter: 'test/support/reporter.js',
  timeout: 20000,
  exit: true,
};
