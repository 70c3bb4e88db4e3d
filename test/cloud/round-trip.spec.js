'use strict';
// The round trip (test/support/round-trip-suite.js) through the Google Cloud Healthcare API and Azure Health Data
// Services stand-ins, each reached with its grant.
const { roundTripSuite } = require('../support/round-trip-suite');
const { CLOUDS, cloudFhirPeer } = require('../support/cloud');

for (const kind of ['google', 'azure']) roundTripSuite(CLOUDS[kind].name, () => cloudFhirPeer(kind));
