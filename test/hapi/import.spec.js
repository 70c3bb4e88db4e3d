'use strict';
// Import from HAPI FHIR (open base), the suite of test/support/import-suite.js: its opaque _getpages next links,
// _include of the Organizations, the _lastUpdated watermark and a full resync, after an export of the embedded sample.
const { expect } = require('chai');
const { importSuite } = require('../support/import-suite');
const { hapiPeer } = require('../support/hapi');

importSuite('import from HAPI FHIR', hapiPeer, {
  links: 'opaque _getpages links',
  check(first) {
    const next = first.link.find((l) => l.relation === 'next').url;
    // HAPI's own link to its stored search, not a query the client could build.
    expect(next).to.match(/\/fhir\?_getpages=[^&]+/);
    expect(next).to.not.match(/[?&](_offset|page)=/);
  },
});
