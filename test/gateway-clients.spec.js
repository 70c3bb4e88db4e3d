'use strict';
// The FHIR client libraries integrators and app developers call the gateway with (fhir-kit-client, Medplum's
// MedplumClient, fhir.js), against the running node in front of the sandbox and in front of HAPI FHIR with
// Keycloak's tokens: searches and their pages, reads, writes, a patch, a transaction, and the gateway's
// refusals as each library reports them.
const { expect } = require('chai');
const { startRuntime, deploy } = require('./support/runtime');
const { tokenOf } = require('./support/gateway');
const { onEachBackend } = require('./support/gateway-backends');
const { gatewayFlow } = require('./support/flows');

// @medplum/core reads the WebSocket global when loaded (for subscriptions, unused here); Node 20 has none.
globalThis.WebSocket ??= require('ws');

const TAG = { system: 'https://smartregister.org/location-tag-id', code: 'L1a' };

/**
 * Each library behind one small interface: search (a Bundle), next page (a Bundle or undefined), read, create,
 * update, JSON patch, delete, transaction; a refusal rejects with `{ status }`.
 */
const LIBRARIES = {
  'fhir-kit-client': async (baseUrl, token) => {
    const { Client } = await import('fhir-kit-client');
    const client = new Client({ baseUrl, customHeaders: { Authorization: `Bearer ${token}` } });
    const wrap =
      (fn) =>
      async (...args) => {
        try {
          return await fn(...args);
        } catch (err) {
          throw { status: err.response?.status };
        }
      };
    return {
      search: wrap((type, params) => client.search({ resourceType: type, searchParams: params })),
      next: wrap((bundle) => client.nextPage({ bundle })),
      read: wrap((type, id) => client.read({ resourceType: type, id })),
      create: wrap((body) => client.create({ resourceType: body.resourceType, body })),
      update: wrap((body) => client.update({ resourceType: body.resourceType, id: body.id, body })),
      patch: wrap((type, id, ops) => client.patch({ resourceType: type, id, jsonPatch: ops })),
      delete: wrap((type, id) => client.delete({ resourceType: type, id })),
      transaction: wrap((body) => client.transaction({ body })),
    };
  },
  MedplumClient: async (baseUrl, token) => {
    const { MedplumClient } = require('@medplum/core');
    // MedplumClient rejects with the OperationOutcome alone: the status is read off its last answer.
    let status;
    const fetchNoting = async (url, init) => {
      const res = await fetch(url, init);
      status = res.status;
      return res;
    };
    const client = new MedplumClient({ baseUrl, fhirUrlPath: '', accessToken: token, cacheTime: 0, maxRetries: 0, fetch: fetchNoting });
    const wrap =
      (fn) =>
      (...args) =>
        fn(...args).catch(() => Promise.reject({ status }));
    return {
      search: wrap((type, params) => client.search(type, params)),
      next: wrap(async (bundle) => {
        const url = bundle.link?.find((l) => l.relation === 'next')?.url;
        return url ? client.get(url) : undefined;
      }),
      read: wrap((type, id) => client.readResource(type, id)),
      create: wrap((body) => client.createResource(body)),
      update: wrap((body) => client.updateResource(body)),
      patch: wrap((type, id, ops) => client.patchResource(type, id, ops)),
      delete: wrap((type, id) => client.deleteResource(type, id)),
      transaction: wrap((body) => client.executeBatch(body)),
    };
  },
  'fhir.js': async (baseUrl, token) => {
    const fhir = require('fhir.js');
    const client = fhir({ baseUrl, auth: { bearer: token } });
    const wrap =
      (fn) =>
      (...args) =>
        fn(...args).then(
          (res) => res.data,
          (err) => Promise.reject({ status: err.status }),
        );
    return {
      search: wrap((type, params) => client.search({ type, query: params })),
      next: async (bundle) => (bundle.link?.some((l) => l.relation === 'next') ? wrap(() => client.nextPage({ bundle }))() : undefined),
      read: wrap((type, id) => client.read({ type, id })),
      create: wrap((body) => client.create({ resource: body })),
      update: wrap((body) => client.update({ resource: body })),
      patch: wrap((type, id, ops) => client.patch({ type, id, data: ops })),
      delete: wrap((type, id) => client.delete({ type, id })),
      transaction: wrap((body) => client.transaction({ bundle: body })),
    };
  },
};

onEachBackend('gateway through client libraries', function (backend) {
  this.timeout(60000);
  let nr;

  before(async function () {
    await backend.seed();
    nr = await startRuntime();
    const [audiences] = backend.audiences();
    const flow = gatewayFlow({
      publicBase: `${nr.nodes}/fhir`,
      system: { url: backend.base() },
      gateway: { issuer: backend.issuer(), audiences },
    });
    await deploy(nr.admin, flow);
  });
  after(async () => nr?.stop());

  /** The HTTP status a call rejects with. */
  const refused = (promise) =>
    promise.then(
      () => undefined,
      (err) => err.status,
    );

  for (const [name, connect] of Object.entries(LIBRARIES)) {
    describe(name, function () {
      let client;
      before(async () => (client = await connect(`${nr.nodes}/fhir`, await tokenOf('carol', backend.issuer()))));

      it("searches the caller's data and follows the gateway's paging links", async function () {
        const first = await client.search('Patient', { _count: 1 });
        const ids = first.entry.map((e) => e.resource.id);
        for (let page = first; (page = await client.next(page));) ids.push(...(page.entry ?? []).map((e) => e.resource.id));
        // Besides what the other libraries' tests created.
        expect(ids.filter((id) => id.startsWith('patient-'))).to.have.members(['patient-L1a', 'patient-L1a1', 'patient-L1b']);
      });

      it('reads, creates, updates, patches and deletes within the assignment, and reports refusals as HTTP errors', async function () {
        expect((await client.read('Patient', 'patient-L1a')).id).to.equal('patient-L1a');
        expect(await refused(client.read('Patient', 'patient-L9'))).to.equal(403);
        const created = await client.create({ resourceType: 'Patient', meta: { tag: [TAG] } });
        expect(created.id).to.be.a('string');
        const updated = await client.update({ ...created, active: true });
        expect(updated.active).to.equal(true);
        const patched = await client.patch('Patient', created.id, [{ op: 'add', path: '/gender', value: 'other' }]);
        expect(patched.gender).to.equal('other');
        expect(await refused(client.patch('Patient', created.id, [{ op: 'replace', path: '/id', value: 'patient-L9' }]))).to.equal(403);
        await client.delete('Patient', created.id);
        expect(await refused(client.read('Patient', created.id))).to.be.oneOf([404, 410]);
        expect(await refused(client.create({ resourceType: 'Patient' }))).to.equal(403);
      });

      it('sends a transaction, and a refused one is refused whole', async function () {
        const entry = (code) => ({
          resource: { resourceType: 'Patient', meta: { tag: [{ ...TAG, code }] } },
          request: { method: 'POST', url: 'Patient' },
        });
        const done = await client.transaction({ resourceType: 'Bundle', type: 'transaction', entry: [entry('L1a'), entry('L1b')] });
        expect(done.entry.map((e) => e.response.status.split(' ')[0])).to.deep.equal(['201', '201']);
        const refusedWhole = { resourceType: 'Bundle', type: 'transaction', entry: [entry('L1a'), entry('L9')] };
        expect(await refused(client.transaction(refusedWhole))).to.equal(403);
      });
    });
  }
});
