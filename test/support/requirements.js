'use strict';
// What some suites need beyond this repository: GPR's reference data beside the clone (../shared), Java and
// Maven for HAPI FHIR and Keycloak. Without it they skip with one line saying why; under CI=true a skip is
// a failure, since CI must prove everything.
const fs = require('node:fs');
const path = require('node:path');

const FIXTURES = path.resolve(__dirname, '..', '..', '..', 'shared', 'fixtures', 'gpr');
const told = new Set();

/**
 * Call in a `before`/`it` hook (`function () { requires(this, …) }`): skips the suite or test when `missing`
 * names what is absent, throws under CI=true.
 */
function requires(ctx, missing) {
  if (!missing) return;
  if (process.env.CI === 'true') throw new Error(`${missing} (required under CI=true)`);
  if (!told.has(missing)) {
    told.add(missing);
    console.log(`  skipped: ${missing}`);
  }
  ctx.skip();
}

const referenceData = () =>
  fs.existsSync(FIXTURES) ? undefined : `GPR reference data not found at ${FIXTURES} (a clone without ../shared)`;

/** Skips the suite or test unless ../shared/fixtures/gpr is there. */
function requiresReferenceData(ctx) {
  requires(ctx, referenceData());
}

module.exports = { FIXTURES, requires, requiresReferenceData };
