'use strict';
// Every resource the exports of the examples and tests generate is valid base R4 and keeps the rules of
// the mCSD IG profiles it claims (test/support/mcsd-rules.js), in every implementation and mode.
const { expect } = require('chai');
const { usaModel, cambodiaModel } = require('./support/gpr-fixtures');
const { loadSample } = require('../nodes/lib/registry/sample.js');
const { generateExport } = require('../nodes/lib/sync/generate.js');
const { DEFAULT_EXPORT_OPTIONS } = require('../nodes/lib/sync/export-plan.js');
const { roundTripModel } = require('./support/round-trip-data');
const { checkResource, checkBaseR4 } = require('./support/mcsd-rules');
const { requiresReferenceData } = require('./support/requirements');

const EXPORTS = [
  ['GPR test data, all hierarchies', usaModel, {}],
  ['GPR test data, Admin only', usaModel, { hierarchies: ['USATestDataAdminCode'] }],
  ['GPR test data, partOf hierarchy ReportsTo', usaModel, { partOfHierarchy: 'USATestDataReportsToCode' }],
  ['GPR test data, GPR-compatible', usaModel, { gprCompat: true }],
  ['GPR test data, basic', usaModel, { implementation: 'basic' }],
  ['GPR test data, multi-hierarchy', usaModel, { implementation: 'multi-hierarchy', idStrategy: 'server' }],
  ['Cambodia', cambodiaModel, { idStrategy: 'safe' }],
  ['the sample registry (example flow 02)', () => loadSample('2026-01-01'), { idStrategy: 'server' }],
  ['the round-trip registry', roundTripModel, { idStrategy: 'server', chunkSize: 6 }],
];

describe('conformance of generated resources (base R4, mCSD IG 4.0)', function () {
  before(function () {
    requiresReferenceData(this);
  });
  this.timeout(60000);
  it('catches what breaks them: a GPR-style boundary under an IG profile, an invented profile, a bad status, a wrong type', async function () {
    const out = await generateExport(usaModel(), { ...DEFAULT_EXPORT_OPTIONS, system: 'http://moh.example/registry' });
    const location = out.bundles[0].entry.find((e) => e.resource.resourceType === 'Location' && e.resource.extension).resource;
    const broken = (change) => {
      const copy = structuredClone(location);
      change(copy);
      return copy;
    };
    expect(() => checkResource(broken((r) => (r.extension[0].valueAttachment.contentType = 'application/json')))).to.throw(
      /boundary contentType/,
    );
    expect(() =>
      checkResource(
        broken((r) => r.meta.profile.push('https://profiles.ihe.net/ITI/mCSD/StructureDefinition/IHE.mCSD.JurisdictionsOrganization')),
      ),
    ).to.throw(/IHE\.mCSD\.JurisdictionsOrganization/);
    expect(() => checkResource(broken((r) => (r.type = r.type.slice(0, 1))))).to.throw(/#jurisdiction/);
    expect(() => checkResource(broken((r) => (r.status = 'bogus')))).to.throw(/status 1\.\.1/);
    const err = await checkBaseR4(process.env.FHIR_BASE, [broken((r) => (r.alias = [42]))]).catch((e) => e);
    expect(err.actual).to.have.length(1);
    expect(err.actual[0]).to.match(/^Location\/USATestDataUSA: Invalid JSON type: expected string, but got number/);
  });

  for (const [name, model, extra] of EXPORTS) {
    it(name, async function () {
      const out = await generateExport(await model(), { ...DEFAULT_EXPORT_OPTIONS, system: 'http://moh.example/registry', ...extra });
      const resources = out.bundles.flatMap((b) => b.entry.map((e) => e.resource));
      for (const r of resources) checkResource(r);
      await checkBaseR4(process.env.FHIR_BASE, resources);
    });
  }
});
