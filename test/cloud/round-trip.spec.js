'use strict';
// The round trip (test/support/round-trip-suite.js) through the Google Cloud Healthcare API and Azure Health Data
// Services stand-ins, each reached with its grant.
const { roundTripSuite } = require('../support/round-trip-suite');
const { CLOUDS, useCloudPeer, searchAllOn } = require('../support/cloud');

for (const kind of ['google', 'azure']) {
  let cloud;
  roundTripSuite(
    CLOUDS[kind].name,
    () => cloud.base,
    () => (cloud = useCloudPeer(kind)),
    { connection: (system) => cloud.connection(system), searchAll: (url) => searchAllOn(cloud, url) },
  );
}
