'use strict';
// Registry models built from GPR's own test data (../shared/fixtures/gpr): the USA test objects and Cambodia.
const fs = require('node:fs');
const path = require('node:path');
const { readEvents } = require('../../nodes/lib/registry/gpr-json.js');
const { wktToGeometry } = require('../../nodes/lib/registry/geometry.js');

const { FIXTURES } = require('./requirements');

/** A fixture file, parsed. */
const fixture = (name) => JSON.parse(fs.readFileSync(path.join(FIXTURES, name), 'utf8'));

/** GPR's USA test registry (commit events, types, hierarchies) at `forDate`. */
function usaModel(forDate = '2020-06-01') {
  return readEvents(fixture('events.json'), fixture('geo-object-types.json'), fixture('hierarchy-types.json'), forDate);
}

/** cambodia.json (WKT) as CambodiaTestDataset builds it: Country 855 -> Province KH-22 -> Districts 2201-2205. */
async function cambodiaModel() {
  const rows = fixture('cambodia.json');
  const type = (code) => ({ code, label: { default: code }, geometryType: 'MULTIPOLYGON', isAbstract: false });
  const typeOf = (code) => (code === '855' ? 'Country' : code === 'KH-22' ? 'Province' : 'District');
  const parentOf = (code) => (code === 'KH-22' ? '855' : 'KH-22');
  return {
    forDate: '2020-06-01',
    types: ['Country', 'Province', 'District'].map(type),
    hierarchies: [
      {
        code: 'AdminDivisions',
        label: { default: 'Admin' },
        tree: [{ type: 'Country', children: [{ type: 'Province', children: [{ type: 'District', children: [] }] }] }],
      },
    ],
    objects: await Promise.all(
      rows.map(async (r) => ({
        code: r.code,
        type: typeOf(r.code),
        label: { default: r.code },
        exists: true,
        invalid: false,
        geometry: await wktToGeometry(r.geometry),
      })),
    ),
    links: rows
      .filter((r) => r.code !== '855')
      .map((r) => ({
        hierarchy: 'AdminDivisions',
        childCode: r.code,
        childType: typeOf(r.code),
        parentCode: parentOf(r.code),
        parentType: typeOf(parentOf(r.code)),
      })),
  };
}

module.exports = { fixture, usaModel, cambodiaModel };
