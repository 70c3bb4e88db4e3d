'use strict';
// Node definitions that many flow tests share: the sandbox registered as an external system, and GPR's own
// test data read from its JSON files.
const path = require('node:path');

const FIXTURES = path.resolve(__dirname, '..', '..', '..', 'shared', 'fixtures', 'gpr');

/** fhir-external-system `sys` for `url` (the sandbox by default), without authentication. */
function sandboxSystem({ url = process.env.FHIR_BASE, system = 'http://moh.example/registry' } = {}) {
  return { id: 'sys', type: 'fhir-external-system', name: 'Sandbox', organization: 'MOH', systemId: 'sb', url, system, authType: 'none' };
}

/** gpr-hierarchy-source `src` on tab `f1` reading GPR's test events, types and hierarchies at 2020-06-01. */
function gprFilesSource(wires, extra = {}) {
  return {
    id: 'src',
    z: 'f1',
    type: 'gpr-hierarchy-source',
    source: 'gpr-files',
    forDate: '2020-06-01',
    eventsFile: path.join(FIXTURES, 'events.json'),
    typesFile: path.join(FIXTURES, 'geo-object-types.json'),
    hierarchiesFile: path.join(FIXTURES, 'hierarchy-types.json'),
    ...extra,
    wires,
  };
}

module.exports = { sandboxSystem, gprFilesSource };
