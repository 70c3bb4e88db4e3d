'use strict';
// Export to the cloud stand-ins (Google Cloud Healthcare API, Azure Health Data Services), each behind its own
// grant: the embedded sample with every id strategy, reruns without duplicates, incremental runs, removed objects
// set inactive, and transactions within each provider's Bundle limit.
const { expect } = require('chai');
const { loadSample } = require('../../nodes/lib/registry/sample.js');
const { DEFAULT_EXPORT_OPTIONS } = require('../../nodes/lib/sync/export-plan.js');
const { runExport } = require('../../nodes/lib/sync/export-run.js');
const { FAST_RETRY, requests } = require('../support/fhir');
const { useCloudPeer, searchAllOn } = require('../support/cloud');

const SYSTEM = 'http://moh.example/registry';
/** Each provider's documented Bundle limit (entries), as the stand-in enforces it. */
const LIMITS = {
  google: { entries: 4500, text: /more than the maximum of 4500/ },
  azure: { entries: 500, text: /exceeded the configured limit of 500/ },
};

for (const kind of ['google', 'azure']) {
  describe(`export to the ${kind === 'google' ? 'Google Cloud Healthcare API' : 'Azure Health Data Services'} stand-in`, function () {
    this.timeout(120000);
    const cloud = useCloudPeer(kind);
    let sample;

    before(async () => (sample = await loadSample('2026-01-01')));
    beforeEach(() => cloud.reset());

    const exportRun = (options, model = sample, run = {}) =>
      runExport({
        model,
        connection: cloud.connection(SYSTEM),
        concurrency: 2,
        retry: FAST_RETRY,
        ...run,
        options: { ...DEFAULT_EXPORT_OPTIONS, system: SYSTEM, ...options },
      });
    const ids = async (type) =>
      (await searchAllOn(cloud, `${cloud.base}${type}?identifier=${encodeURIComponent(SYSTEM)}|&_count=200`)).map((r) => r.id).sort();

    for (const idStrategy of ['code', 'safe', 'server']) {
      it(`exports all 324 objects with the ${idStrategy} id strategy, twice, to the same resources`, async function () {
        const first = await exportRun({ idStrategy });
        expect(first, first.message).to.deep.include({ status: 'SUCCESS', objectsExported: 324, resourcesExported: 648 });
        const before = { locations: await ids('Location'), orgs: await ids('Organization') };
        expect(before.locations).to.have.length(324);
        expect(before.orgs).to.have.length(324);
        const second = await exportRun({ idStrategy });
        expect(second, second.message).to.deep.include({ status: 'SUCCESS', objectsExported: 324 });
        expect(await ids('Location')).to.deep.equal(before.locations);
        expect(await ids('Organization')).to.deep.equal(before.orgs);
      });
    }

    it('sends only what changed since the last run (incremental), and sets removed objects inactive', async function () {
      let state;
      const first = await exportRun({ incremental: true }, sample, { onState: (s) => (state = s) });
      expect(first, first.message).to.deep.include({ status: 'SUCCESS', objectsExported: 324 });
      const unchanged = await exportRun({ incremental: true }, sample, { onState: (s) => (state = s), previous: state });
      expect(unchanged).to.deep.include({ status: 'SUCCESS', workTotal: 0, objectsExported: 0 });
      const model = structuredClone(sample);
      const gone = model.objects.filter((o) => o.type === 'HealthFacility').slice(0, 2);
      model.objects = model.objects.filter((o) => !gone.includes(o));
      model.links = model.links.filter((l) => !gone.some((o) => o.code === l.childCode && o.type === l.childType));
      const job = await exportRun({ onRemoved: 'inactivate' }, model);
      expect(job, job.message).to.deep.include({ status: 'SUCCESS', inactivated: 4 });
      for (const o of gone) {
        const identifier = encodeURIComponent(`${SYSTEM}|${o.code}`);
        expect((await searchAllOn(cloud, `${cloud.base}Location?identifier=${identifier}`))[0].status).to.equal('inactive');
      }
    });

    it(`keeps every transaction within the provider's limit of ${LIMITS[kind].entries} entries, which refuses one more`, async function () {
      await exportRun({});
      const posted = (await requests(cloud.base)).filter((r) => r.method === 'POST' && r.url === '');
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
      const res = await cloud.fetch(cloud.base, {
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
        const sizes = (await requests(cloud.base)).filter((r) => r.method === 'POST' && r.url === '').map((r) => r.entries);
        // The 600-entry transaction was refused by the limit, and never reached the storage.
        expect(await (await fetch(new URL('/__refused', cloud.base))).json()).to.deep.equal([600]);
        expect(sizes).to.not.include(600);
        expect(Math.max(...sizes)).to.be.at.most(500);
        expect(await ids('Location')).to.have.length(324);
      });
    }
  });
}
