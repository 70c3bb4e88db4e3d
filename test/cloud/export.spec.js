'use strict';
// Export to the cloud stand-ins (Google Cloud Healthcare API, Azure Health Data Services), each behind its own
// grant: the suite of test/support/export-suite.js (the embedded sample with every id strategy, reruns without
// duplicates, incremental runs, removed objects set inactive), and transactions within each provider's Bundle limit.
const { expect } = require('chai');
const { requests } = require('../support/fhir');
const { exportSuite } = require('../support/export-suite');
const { cloudFhirPeer } = require('../support/cloud');

/** Each provider's documented Bundle limit (entries), as the stand-in enforces it. */
const LIMITS = {
  google: { entries: 4500, text: /more than the maximum of 4500/ },
  azure: { entries: 500, text: /exceeded the configured limit of 500/ },
};

for (const kind of ['google', 'azure']) {
  const title = `export to the ${kind === 'google' ? 'Google Cloud Healthcare API' : 'Azure Health Data Services'} stand-in`;
  exportSuite(
    title,
    () => cloudFhirPeer(kind),
    ({ peer, exportRun, ids }) => {
      it(`keeps every transaction within the provider's limit of ${LIMITS[kind].entries} entries, which refuses one more`, async function () {
        await exportRun({});
        const posted = (await requests(peer.base())).filter((r) => r.method === 'POST' && r.url === '');
        expect(posted.length).to.be.greaterThan(0);
        for (const r of posted) expect(r.entries).to.be.at.most(LIMITS[kind].entries);
        // One entry over the limit: refused as a whole, with the provider's OperationOutcome.
        const entry = (i) => ({
          resource: { resourceType: 'Basic', code: { text: `limit ${i}` } },
          request: { method: 'POST', url: 'Basic' },
        });
        const bundle = {
          resourceType: 'Bundle',
          type: 'transaction',
          entry: Array.from({ length: LIMITS[kind].entries + 1 }, (_, i) => entry(i)),
        };
        const res = await peer.fetch(peer.base(), {
          method: 'POST',
          headers: { 'content-type': 'application/fhir+json' },
          body: JSON.stringify(bundle),
        });
        expect(res.status).to.equal(400);
        const outcome = await res.json();
        expect(outcome.resourceType).to.equal('OperationOutcome');
        expect(outcome.issue[0].diagnostics).to.match(LIMITS[kind].text);
        expect(await ids('Basic')).to.deep.equal([]);
      });

      if (kind === 'azure') {
        it('sends a transaction the 500-entry limit refuses again in halves when the chunk size is set above it', async function () {
          const job = await exportRun({ chunkSize: 600 });
          expect(job, job.message).to.deep.include({ status: 'SUCCESS', objectsExported: 324 });
          const sizes = (await requests(peer.base())).filter((r) => r.method === 'POST' && r.url === '').map((r) => r.entries);
          // The 600-entry transaction was refused by the limit, and never reached the storage.
          expect(await (await fetch(new URL('/__refused', peer.base()))).json()).to.deep.equal([600]);
          expect(sizes).to.not.include(600);
          expect(Math.max(...sizes)).to.be.at.most(500);
          expect(await ids('Location')).to.have.length(324);
        });
      }
    },
  );
}
