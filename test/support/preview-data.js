'use strict';
// A small GeoJSON registry for the hierarchy preview: a country, three regions (one with a self-intersecting
// boundary, one without a parent although regions have one) and a district; and its squares and Features, for
// other small registries.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

/** The ring of a square with its corner at (x, y) and sides of d. */
const square = (x, y, d) => [
  [
    [x, y],
    [x + d, y],
    [x + d, y + d],
    [x, y + d],
    [x, y],
  ],
];
/** A registry object as a GeoJSON Feature (`parent` '' for none). */
const feature = (code, name, type, parent, coordinates, geometryType = 'Polygon') => ({
  type: 'Feature',
  properties: { code, name, type, ...(parent ? { parent } : {}) },
  geometry: { type: geometryType, coordinates },
});

const COLLECTION = {
  type: 'FeatureCollection',
  features: [
    feature('A', 'Aland', 'Country', '', square(0, 0, 10)),
    feature('R1', 'North', 'Region', 'A', square(0, 5, 5)),
    // A bow tie: the ring crosses itself.
    feature('R2', 'Bowtie', 'Region', 'A', [
      [
        [5, 0],
        [10, 5],
        [10, 0],
        [5, 5],
        [5, 0],
      ],
    ]),
    feature('R3', 'Adrift', 'Region', '', square(0, 0, 4)),
    feature('D1', 'Northwest', 'District', 'R1', square(0, 7, 2)),
  ],
};

/** The collection written to a new temporary file; its path. */
function previewGeoJsonFile() {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'geofhir-preview-')), 'registry.geojson');
  fs.writeFileSync(file, JSON.stringify(COLLECTION));
  return file;
}

/** What the preview says per level of that registry: [type, objects, invalid, missing parent]. */
const PREVIEW_LEVELS = [
  ['Country', 1, 0, 0],
  ['Region', 3, 1, 1],
  ['District', 1, 0, 0],
];

module.exports = { previewGeoJsonFile, PREVIEW_LEVELS, square, feature };
