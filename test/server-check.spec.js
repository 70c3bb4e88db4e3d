'use strict';
// The checks an export makes of what the server holds, against the sandbox FHIR server: ids counted in
// large form-encoded POST _search groups, and only a group that is short of some read to find which.
const { expect } = require('chai');
const { missingIds, searchesOn } = require('../nodes/lib/sync/server-check.js');
const { control } = require('./support/peers');
const { connectionTo, requests } = require('./support/fhir');

const SYSTEM = 'http://moh.example/registry';
const base = () => process.env.FHIR_BASE;
const N = 2500;

/** N Organizations created in one transaction: their server ids, in order. */
async function seed() {
  const entry = Array.from({ length: N }, (_, i) => ({
    resource: { resourceType: 'Organization', name: `O${i}`, identifier: [{ system: SYSTEM, value: `O${i}` }] },
    request: { method: 'POST', url: 'Organization' },
  }));
  const res = await fetch(base(), {
    method: 'POST',
    headers: { 'content-type': 'application/fhir+json' },
    body: JSON.stringify({ resourceType: 'Bundle', type: 'transaction', entry }),
  });
  expect(res.status).to.equal(200);
  return (await res.json()).entry.map((e) => /Organization\/([^/]+)/.exec(e.response.location)[1]);
}

describe('server check', function () {
  this.timeout(60000);
  let ids;
  beforeEach(async () => {
    await control(base(), '/__reset');
    ids = await seed();
    await control(base(), '/__reset-log');
  });
  const connection = () => connectionTo(base(), SYSTEM);
  const missing = async () => {
    const c = connection();
    return missingIds(
      searchesOn(c, (what, fn) => c.call(what, fn)),
      'Organization',
      ids,
    );
  };

  it('counts every id in groups of 1,000 when the server holds them all', async function () {
    expect([...(await missing())]).to.deep.equal([]);
    const sent = await requests(base());
    expect(sent.map((r) => `${r.method} ${r.url}`)).to.deep.equal(Array(3).fill('POST Organization/_search'));
  });

  it('finds the few ids that are gone, counting only the groups short of some again', async function () {
    const gone = [ids[7], ids[1203], ids[2499]];
    for (const id of gone) expect((await fetch(`${base()}Organization/${id}`, { method: 'DELETE' })).status).to.be.below(300);
    await control(base(), '/__reset-log');
    expect([...(await missing())].sort()).to.deep.equal([...gone].sort());
    // Each short group is halved down to reads of 50 at most: far fewer requests than ids.
    expect((await requests(base())).length).to.be.below(60);
  });

  it('takes a group the server holds none of as gone without reading it', async function () {
    await control(base(), '/__reset');
    expect(await missing()).to.have.property('size', N);
    expect(await requests(base())).to.have.length(3);
  });
});
