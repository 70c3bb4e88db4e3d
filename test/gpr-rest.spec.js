'use strict';
// gpr-hierarchy-source's live-GPR reader against a stand-in answering with GPR's REST shapes.
const path = require('node:path');
const { expect } = require('chai');
const { loadFromGpr } = require('../nodes/lib/registry/gpr-rest.js');
const { loadGprFiles } = require('../nodes/lib/registry/files.js');
const { generateExport } = require('../nodes/lib/sync/generate.js');
const { DEFAULT_EXPORT_OPTIONS } = require('../nodes/lib/sync/export-plan.js');
const { startGprStandIn, USER, PASSWORD } = require('./support/gpr-standin');
const { closedPortUrl } = require('./support/peers');

const { FIXTURES, requiresReferenceData } = require('./support/requirements');
const files = {
  events: path.join(FIXTURES, 'events.json'),
  types: path.join(FIXTURES, 'geo-object-types.json'),
  hierarchies: path.join(FIXTURES, 'hierarchy-types.json'),
};

describe('live GPR source (REST)', function () {
  before(function () {
    requiresReferenceData(this);
  });
  let gpr;
  before(async () => (gpr = await startGprStandIn()));
  after(() => gpr && gpr.stop());
  const conn = (extra) => ({ url: gpr.url, username: USER, password: PASSWORD, timeoutMs: 5000, ...extra });

  it('reads what the JSON exports hold: the same Bundle comes out', async function () {
    const query = { hierarchies: ['USATestDataAdminCode', 'USATestDataReportsToCode'], forDate: '2020-06-01', pageSize: 2 };
    const fromRest = await loadFromGpr(conn(), query);
    const fromFiles = await loadGprFiles(files, '2020-06-01');
    const options = { ...DEFAULT_EXPORT_OPTIONS, system: 'localhost', hierarchies: query.hierarchies };
    const sort = (out) => out.bundles[0].entry.map((e) => JSON.stringify(e)).sort();
    expect(sort(await generateExport(fromRest, options))).to.deep.equal(sort(await generateExport(fromFiles, options)));
  });

  it('pages through get-all and asks for the tree at the date', async function () {
    gpr.requests.length = 0;
    await loadFromGpr(conn(), { hierarchies: ['USATestDataAdminCode'], forDate: '2020-06-01', pageSize: 2 });
    const pages = gpr.requests
      .filter((r) => r.startsWith('/api/geoobject/get-all'))
      .map((r) => new URLSearchParams(r.split('?')[1]).get('pageNumber'));
    expect(pages).to.deep.equal(['1', '2']);
    const children = gpr.requests.filter((r) => r.startsWith('/api/geoobject/getchildren'));
    expect(children).to.have.length(3);
    for (const r of children) expect(new URLSearchParams(r.split('?')[1]).get('date')).to.equal('2020-06-01');
  });

  it('says when GPR refuses the credentials, and when it cannot be reached', async function () {
    const refused = await loadFromGpr(conn({ password: 'nope' }), { hierarchies: [], forDate: '2020-06-01', pageSize: 100 }).catch(
      (e) => e,
    );
    // The user name is a credential too: never in a message.
    expect(refused.message).to.equal('GPR refused the configured credentials (HTTP 401)');
    expect(refused.message).not.to.include(USER);
    const gone = await loadFromGpr(conn({ url: await closedPortUrl() }), { hierarchies: [], forDate: '2020-06-01', pageSize: 100 }).catch(
      (e) => e,
    );
    expect(gone.message).to.match(/^GPR cgr\/init failed: cannot connect \(.*ECONNREFUSED/);
    const unknown = await loadFromGpr(conn(), { hierarchies: ['Nope'], forDate: '2020-06-01', pageSize: 100 }).catch((e) => e);
    expect(unknown.message).to.equal('GPR has no hierarchy Nope');
  });
});
