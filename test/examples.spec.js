'use strict';
// The example flows as the sandbox deploys them, against this run's peers with token checks on:
// "Run now" exports the embedded sample registry, and the gateway answers the README's curl steps.
const { expect } = require('chai');
const { startRuntime, jobsOf } = require('./support/runtime');
const { deployExamples } = require('./support/examples');
const { control } = require('./support/peers');
const { until } = require('./support/until');
const { searchAll } = require('./support/fhir');
const { checkResource } = require('./support/mcsd-rules');

const RUN_NOW = 'a2c0000000000002';
const EXPORT = 'a2c0000000000004';
const IMPORT_NOW = 'a3c0000000000002';
const IMPORT = 'a3c0000000000003';
const NIGHTLY = 'a5c0000000000002';
const NIGHTLY_EXPORT = 'a5c0000000000004';

describe('example flows in the sandbox', function () {
  this.timeout(90000);
  let nr;

  before(async function () {
    await control(process.env.FHIR_BASE, '/__reset');
    await control(process.env.FHIR_BASE, '/__auth', { issuer: process.env.OIDC_ISSUER, audience: process.env.FHIR_BASE });
    nr = await startRuntime();
    await deployExamples(nr);
  });

  after(async function () {
    if (nr) await nr.stop();
    await control(process.env.FHIR_BASE, '/__auth', {});
  });

  /** Press an inject node's button, then wait for the job record its sync node keeps. */
  async function press(inject, type, node, props) {
    const before = (await jobsOf(nr.admin, type, node)).length;
    // The inject route answers 404 until the flows have started.
    // Extra message properties as the inject node's own route takes them: [{p, v, vt}].
    const extra = Object.entries(props ?? {}).map(([p, v]) => ({ p, v: String(v), vt: typeof v === 'boolean' ? 'bool' : 'str' }));
    const body = JSON.stringify(props ? { __user_inject_props__: extra } : {});
    const headers = { 'content-type': 'application/json' };
    await until(
      'the flows to start',
      async () => (await fetch(`${nr.admin}/inject/${inject}`, { method: 'POST', headers, body })).status === 200,
    );
    return until(`the job of ${node} to finish`, async () => {
      const jobs = await jobsOf(nr.admin, type, node);
      return jobs.length > before && jobs[0].finishedAt && jobs[0];
    });
  }

  it('exports the sample hierarchy when "Run now" is pressed', async function () {
    const job = await press(RUN_NOW, 'fhir-export', EXPORT);
    expect(job).to.deep.include({ status: 'SUCCESS', workTotal: 324, objectsExported: 324, resourcesExported: 648 });
    await control(process.env.FHIR_BASE, '/__auth', {});
    const count = async (type) => (await (await fetch(`${process.env.FHIR_BASE}${type}?_summary=count`)).json()).total;
    expect(await count('Location')).to.equal(324);
    expect(await count('Organization')).to.equal(324);
    for (const type of ['Organization', 'Location'])
      for (const r of await searchAll(`${process.env.FHIR_BASE}${type}?_count=500`)) checkResource(r);
  });

  it('schedules the nightly export at 02:00, and each night sends only what changed', async function () {
    // As the editor shows it: "at a specific time", 02:00, every day.
    const flows = await (await fetch(`${nr.admin}/flows`)).json();
    expect(flows.find((n) => n.id === NIGHTLY)).to.include({ crontab: '00 02 * * *', repeat: '', once: false });
    expect(flows.find((n) => n.id === NIGHTLY_EXPORT)).to.include({ type: 'fhir-export', incremental: true });
    // The first night sends everything, the next nothing: the registry did not change in between.
    const first = await press(NIGHTLY, 'fhir-export', NIGHTLY_EXPORT);
    expect(first).to.deep.include({ status: 'SUCCESS', objectsExported: 324 });
    const next = await press(NIGHTLY, 'fhir-export', NIGHTLY_EXPORT);
    expect(next).to.deep.include({ status: 'SUCCESS', objectsExported: 0 });
    expect(next.skipped.unchanged).to.equal(324);
  });

  it('imports it back when the import example’s "Run now" is pressed', async function () {
    await control(process.env.FHIR_BASE, '/__auth', { issuer: process.env.OIDC_ISSUER, audience: process.env.FHIR_BASE });
    const job = await press(IMPORT_NOW, 'fhir-import', IMPORT);
    expect(job).to.deep.include({ status: 'SUCCESS', objectsImported: 324 });
  });

  it('lets a field worker through the gateway to the patients of her district only (README "Try the gateway")', async function () {
    await control(process.env.FHIR_BASE, '/__auth', {});
    const { seed } = await import('./peers/gateway-seed.mjs');
    await seed(process.env.FHIR_BASE);
    await control(process.env.FHIR_BASE, '/__auth', { issuer: process.env.OIDC_ISSUER, audience: process.env.FHIR_BASE });
    // curl -u mobile-app:mobile-app-secret -d grant_type=password -d username=carol -d password=carol-password <issuer>/protocol/openid-connect/token
    const grant = await fetch(`${process.env.OIDC_ISSUER}/protocol/openid-connect/token`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from('mobile-app:mobile-app-secret').toString('base64')}` },
      body: new URLSearchParams({ grant_type: 'password', username: 'carol', password: 'carol-password', scope: 'openid fhir' }),
    });
    const { access_token } = await grant.json();
    // curl -H "Authorization: Bearer $TOKEN" <gateway>/Patient
    const res = await fetch(`${nr.nodes}/fhir/Patient`, { headers: { authorization: `Bearer ${access_token}` } });
    expect(res.status).to.equal(200);
    const bundle = await res.json();
    expect(bundle.entry.map((e) => e.resource.id).sort()).to.deep.equal(['patient-L1a', 'patient-L1a1', 'patient-L1b']);
    expect(bundle.entry.every((e) => e.fullUrl.startsWith(`${nr.nodes}/fhir/Patient/`))).to.equal(true);
    const anonymous = await fetch(`${nr.nodes}/fhir/Patient`);
    expect(anonymous.status).to.equal(401);
    expect(anonymous.headers.get('www-authenticate')).to.equal('Bearer');
  });

  it("ends SUCCESS on the sandbox's data, the gateway's seed Locations included: it reads the registry's own", async function () {
    // The gateway test above seeded Locations of its own (not the registry's) on the same server, as the sandbox does.
    await control(process.env.FHIR_BASE, '/__auth', { issuer: process.env.OIDC_ISSUER, audience: process.env.FHIR_BASE });
    const job = await press(IMPORT_NOW, 'fhir-import', IMPORT, { fullResync: true });
    expect(job, job.exception && job.exception.message).to.deep.include({ status: 'SUCCESS', objectsImported: 324, errorCount: 0 });
  });
});
