'use strict';
// Node definitions that many flow tests share: the sandbox registered as an external system, and GPR's own
// test data read from its JSON files.
const path = require('node:path');
const { FIXTURES } = require('./requirements');

/** fhir-external-system `sys` for `url` (the sandbox by default), without authentication. */
function sandboxSystem({ url = process.env.FHIR_BASE, system = 'http://moh.example/registry' } = {}) {
  return { id: 'sys', type: 'fhir-external-system', name: 'Sandbox', organization: 'MOH', systemId: 'sb', url, system, authType: 'none' };
}

/** fhir-export `exp` ("Push") on tab `f1`, to the sandbox system `sys`, reading `src` on Run now. */
function sandboxExport(extra = {}) {
  return {
    id: 'exp',
    z: 'f1',
    type: 'fhir-export',
    name: 'Push',
    organization: 'MOH',
    system: 'sys',
    source: 'src',
    idStrategy: 'server',
    ...extra,
    wires: [[]],
  };
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

const VERBS = ['get', 'post', 'put', 'patch', 'delete'];

/**
 * The gateway as users wire it on tab `t1`: one `http in` per verb on /fhir/* → gateway-authorize `gw` (in front of
 * the sandbox unless `system` says otherwise, tokens from the sandbox issuer) → http response `out`. `wires` are
 * the gateway's outputs; `extra` nodes are added to the tab.
 */
function gatewayFlow({ publicBase, gateway = {}, system = {}, wires = [['out'], []], extra = [] }) {
  return [
    { id: 't1', type: 'tab' },
    { ...sandboxSystem(), name: 'Backend', ...system },
    ...VERBS.map((method) => ({ id: `in-${method}`, z: 't1', type: 'http in', url: '/fhir/*', method, wires: [['gw']] })),
    {
      id: 'gw',
      z: 't1',
      type: 'gateway-authorize',
      system: 'sys',
      publicBase,
      issuer: process.env.OIDC_ISSUER,
      audiences: process.env.FHIR_BASE,
      ...gateway,
      wires,
    },
    { id: 'out', z: 't1', type: 'http response', wires: [] },
    ...extra,
  ];
}

module.exports = { sandboxExport, sandboxSystem, gprFilesSource, gatewayFlow };
