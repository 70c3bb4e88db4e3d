'use strict';
// A FHIR client library an integrator would call the gateway with (fhir-kit-client), against the running node:
// searches and their pages, reads, writes, a patch, a transaction, and the gateway's refusals as the library
// reports them.
const { expect } = require('chai');
const { startRuntime, deploy } = require('./support/runtime');
const { control } = require('./support/peers');
const { tokenOf } = require('./support/gateway');
const { gatewayFlow } = require('./support/flows');

const TAG = { system: 'https://smartregister.org/location-tag-id', code: 'L1a' };

describe('gateway through fhir-kit-client', function () {
  this.timeout(60000);
  let nr;
  let client;

  before(async function () {
    await control(process.env.FHIR_BASE, '/__reset');
    const { seed } = await import('./peers/gateway-seed.mjs');
    await seed(process.env.FHIR_BASE);
    nr = await startRuntime();
    await deploy(nr.admin, gatewayFlow({ publicBase: `${nr.nodes}/fhir` }));
    const { Client } = await import('fhir-kit-client');
    client = new Client({ baseUrl: `${nr.nodes}/fhir`, customHeaders: { Authorization: `Bearer ${await tokenOf('carol')}` } });
  });
  after(async () => nr?.stop());

  /** The HTTP status fhir-kit-client rejects with. */
  const refused = (promise) =>
    promise.then(
      () => undefined,
      (err) => err.response?.status,
    );

  it("searches the caller's data and follows the gateway's paging links", async function () {
    const first = await client.search({ resourceType: 'Patient', searchParams: { _count: 1 } });
    const ids = first.entry.map((e) => e.resource.id);
    for (let page = first; (page = await client.nextPage({ bundle: page }));) ids.push(...(page.entry ?? []).map((e) => e.resource.id));
    expect(ids.sort()).to.deep.equal(['patient-L1a', 'patient-L1a1', 'patient-L1b']);
  });

  it('reads, creates, updates, patches and deletes within the assignment, and reports refusals as HTTP errors', async function () {
    expect((await client.read({ resourceType: 'Patient', id: 'patient-L1a' })).id).to.equal('patient-L1a');
    expect(await refused(client.read({ resourceType: 'Patient', id: 'patient-L9' }))).to.equal(403);
    const created = await client.create({ resourceType: 'Patient', body: { resourceType: 'Patient', meta: { tag: [TAG] } } });
    expect(created.id).to.be.a('string');
    const updated = await client.update({ resourceType: 'Patient', id: created.id, body: { ...created, active: true } });
    expect(updated.active).to.equal(true);
    const patched = await client.patch({
      resourceType: 'Patient',
      id: created.id,
      jsonPatch: [{ op: 'add', path: '/gender', value: 'other' }],
    });
    expect(patched.gender).to.equal('other');
    expect(
      await refused(
        client.patch({ resourceType: 'Patient', id: created.id, jsonPatch: [{ op: 'replace', path: '/id', value: 'patient-L9' }] }),
      ),
    ).to.equal(403);
    await client.delete({ resourceType: 'Patient', id: created.id });
    expect(await refused(client.create({ resourceType: 'Patient', body: { resourceType: 'Patient' } }))).to.equal(403);
  });

  it('sends a transaction, and a refused one is refused whole', async function () {
    const entry = (code) => ({
      resource: { resourceType: 'Patient', meta: { tag: [{ ...TAG, code }] } },
      request: { method: 'POST', url: 'Patient' },
    });
    const done = await client.transaction({ body: { resourceType: 'Bundle', type: 'transaction', entry: [entry('L1a'), entry('L1b')] } });
    expect(done.entry.map((e) => e.response.status)).to.have.length(2);
    expect(
      await refused(client.transaction({ body: { resourceType: 'Bundle', type: 'transaction', entry: [entry('L1a'), entry('L9')] } })),
    ).to.equal(403);
  });
});
