'use strict';
// Every resource the exports of the examples and tests generate is valid base R4 and keeps the rules of
// the mCSD IG profiles it claims (test/support/mcsd-rules.js), in every implementation and mode.
const { usaModel, cambodiaModel } = require('./support/gpr-fixtures');
const { loadSample } = require('../nodes/lib/registry/sample.js');
const { generateExport } = require('../nodes/lib/sync/generate.js');
const { DEFAULT_EXPORT_OPTIONS } = require('../nodes/lib/sync/export-plan.js');
const { roundTripModel } = require('./support/round-trip-data');
const { checkResource, checkBaseR4 } = require('./support/mcsd-rules');

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
  this.timeout(60000);
  for (const [name, model, extra] of EXPORTS) {
    it(name, async function () {
      const out = await generateExport(await model(), { ...DEFAULT_EXPORT_OPTIONS, system: 'http://moh.example/registry', ...extra });
      const resources = out.bundles.flatMap((b) => b.entry.map((e) => e.resource));
      for (const r of resources) checkResource(r);
      await checkBaseR4(process.env.FHIR_BASE, resources);
    });
  }
});
