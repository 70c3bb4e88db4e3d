'use strict';
// Import from the cloud stand-ins (Google Cloud Healthcare API, Azure Health Data Services), the suite of
// test/support/import-suite.js after an export of the embedded sample: their page-token next links (`_page_token=`,
// `ct=`), which the import follows as they are, _include of the Organizations, the _lastUpdated watermark and a full
// resync.
const { expect } = require('chai');
const { importSuite } = require('../support/import-suite');
const { cloudFhirPeer } = require('../support/cloud');

const PAGING = { google: /^[^?]+\/Location\?_page_token=[\w-]+$/, azure: /\/Location\?(.+&)?ct=[\w-]+/ };

for (const kind of ['google', 'azure']) {
  const title = `import from the ${kind === 'google' ? 'Google Cloud Healthcare API' : 'Azure Health Data Services'} stand-in`;
  importSuite(title, () => cloudFhirPeer(kind), {
    links: "the provider's page tokens",
    check(first, peer) {
      const next = first.link.find((l) => l.relation === 'next').url;
      expect(next.startsWith(peer.base())).to.equal(true);
      expect(next)
        .to.match(PAGING[kind])
        .and.not.match(/[?&]_offset=/);
      // Forward paging only, as both document.
      expect(first.link.map((l) => l.relation)).to.deep.equal(['self', 'next']);
    },
  });
}
