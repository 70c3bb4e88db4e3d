'use strict';
// The round trip through HAPI FHIR (test/support/round-trip-suite.js), its open base.
const { roundTripSuite } = require('../support/round-trip-suite');
const { hapiPeer } = require('../support/hapi');

roundTripSuite('HAPI FHIR', hapiPeer);
