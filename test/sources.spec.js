'use strict';
// Registry sources read from files: GeoJSON with parent codes, geometries as WKT, and bad input.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { expect } = require('chai');
const { loadGeoJsonFile, loadGprFiles } = require('../nodes/lib/registry/files.js');
const { DEFAULT_GEOJSON_MAPPING } = require('../nodes/lib/registry/geojson.js');

const { FIXTURES, requiresReferenceData } = require('./support/requirements');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'geofhir-sources-'));
const write = (name, value) => {
  const file = path.join(dir, name);
  fs.writeFileSync(file, typeof value === 'string' ? value : JSON.stringify(value));
  return file;
};

describe('file sources', function () {
  it('reads WKT geometries (cambodia.json) given in place of GeoJSON', async function () {
    requiresReferenceData(this);
    const rows = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'cambodia.json'), 'utf8'));
    const parent = (code) => (code === '855' ? null : code === 'KH-22' ? '855' : 'KH-22');
    const type = (code) => (code === '855' ? 'Country' : code === 'KH-22' ? 'Province' : 'District');
    const features = rows.map((r) => ({
      type: 'Feature',
      geometry: r.geometry,
      properties: { code: r.code, name: r.code, type: type(r.code), parent: parent(r.code) },
    }));
    const model = await loadGeoJsonFile(
      write('cambodia.geojson', { type: 'FeatureCollection', features }),
      DEFAULT_GEOJSON_MAPPING,
      '2020-06-01',
    );
    expect(model.objects).to.have.length(7);
    for (const o of model.objects) expect(o.geometry.type).to.equal('MultiPolygon');
    expect(model.types.map((t) => t.geometryType)).to.deep.equal(['MULTIPOLYGON', 'MULTIPOLYGON', 'MULTIPOLYGON']);
    expect(model.hierarchies[0].tree).to.deep.equal([
      { type: 'Country', children: [{ type: 'Province', children: [{ type: 'District', children: [] }] }] },
    ]);
    expect(model.links).to.have.length(6);
  });

  it('reads the rest when an object’s WKT cannot be read, keeping the reason for that object’s row', async function () {
    const features = [
      { type: 'Feature', geometry: 'MULTIPOLYGON (((1 1, 2', properties: { code: 'X', type: 'T' } },
      { type: 'Feature', geometry: 'POINT (1 2)', properties: { code: 'Y', type: 'T' } },
    ];
    const model = await loadGeoJsonFile(
      write('bad-wkt.geojson', { type: 'FeatureCollection', features }),
      DEFAULT_GEOJSON_MAPPING,
      '2020-06-01',
    );
    const [x, y] = model.objects;
    expect(x.geometry).to.equal(undefined);
    expect(x.problem).to.match(/^geometry: WKT cannot be read: /);
    expect(y).to.deep.include({ geometry: { type: 'Point', coordinates: [1, 2] } });
  });

  it('says what is wrong with a file', async function () {
    const load = (file) => loadGeoJsonFile(file, DEFAULT_GEOJSON_MAPPING, '2020-06-01').catch((e) => e.message);
    expect(await load(path.join(dir, 'missing.geojson'))).to.equal(`cannot read ${path.join(dir, 'missing.geojson')}: ENOENT`);
    expect(await load(write('broken.json', '{"type":'))).to.match(/broken\.json is not JSON: /);
    expect(await load(write('list.json', []))).to.match(/list\.json: GeoJSON source is not a FeatureCollection$/);
    const orphan = {
      type: 'FeatureCollection',
      features: [{ type: 'Feature', geometry: null, properties: { code: 'A', type: 'T', parent: 'Z' } }],
    };
    expect(await load(write('orphan.json', orphan))).to.match(/feature "A" names parent "Z", which is not in the collection$/);
    const nocode = { type: 'FeatureCollection', features: [{ type: 'Feature', geometry: null, properties: { type: 'T' } }] };
    expect(await load(write('nocode.json', nocode))).to.match(/feature 0 has no "code" property$/);
    const events = await loadGprFiles(
      { events: write('e.json', {}), types: write('t.json', []), hierarchies: write('h.json', []) },
      '2020-06-01',
    ).catch((e) => e.message);
    expect(events).to.equal('events are not an array');
  });
});
