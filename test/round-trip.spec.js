'use strict';
// The round trip through the embedded sandbox server (test/support/round-trip-suite.js).
const { roundTripSuite } = require('./support/round-trip-suite');
const { sandboxPeer } = require('./support/fhir');

roundTripSuite('the sandbox FHIR server', sandboxPeer);
