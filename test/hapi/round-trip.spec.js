'use strict';
// The round trip through HAPI FHIR (test/support/round-trip-suite.js), its open base.
const { roundTripSuite } = require('../support/round-trip-suite');
const { useJavaPeers } = require('../support/hapi');

let peers;
roundTripSuite(
  'HAPI FHIR',
  () => peers.hapi.base,
  () => (peers = useJavaPeers()),
);
