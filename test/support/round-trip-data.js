'use strict';
// A registry that exercises everything a round trip can lose: two hierarchies sharing facilities,
// labels in several locales, codes with , | $ \ space / unicode, purely numeric and over 64 characters,
// objects without geometry, an invalid geometry, and parents changed at a date.
const { SELF_INTERSECTING } = require('./fhir');

const FOR_DATE = '2026-06-01';
const ADMIN = 'Admin';
const HEALTH = 'HealthZones';

const square = (x, y, d = 1) => ({
  type: 'MultiPolygon',
  coordinates: [
    [
      [
        [x, y],
        [x + d, y],
        [x + d, y + d],
        [x, y + d],
        [x, y],
      ],
    ],
  ],
});
const point = (x, y) => ({ type: 'MultiPoint', coordinates: [[x + 0.123456789012, y + 0.987654321098]] });

function roundTripModel() {
  const type = (code, label, geometryType) => ({ code, label: { default: label }, geometryType, isAbstract: false });
  const object = (code, typeCode, label, geometry) => ({
    code,
    type: typeCode,
    label,
    exists: true,
    invalid: false,
    ...(geometry ? { geometry } : {}),
  });
  const LONG = `F-${'x'.repeat(70)}`;
  const objects = [
    object('C-1', 'Country', { default: 'Republic', fr: 'République', km: 'សាធារណរដ្ឋ' }, square(0, 0, 10)),
    object('A,B', 'Province', { default: 'Comma province', fr: 'Province virgule' }, square(0, 0)),
    object('A|B', 'Province', { default: 'Bar province' }, square(1, 0)),
    object('back\\slash', 'Province', { default: 'Backslash province' }, square(2, 0)),
    object('dollar$1', 'Province', { default: 'Dollar province', km: 'ខេត្ត' }),
    object(
      'P-invalid',
      'Province',
      { default: 'Bow-tie province' },
      { type: 'MultiPolygon', coordinates: [SELF_INTERSECTING.coordinates] },
    ),
    object('Z 1', 'Zone', { default: 'Zone one' }, square(0, 5, 2)),
    object('z/2', 'Zone', { default: 'Zone two', fr: 'Zone deux' }),
    object('zé-ü', 'Zone', { default: 'Zone ü' }, square(3, 5, 2)),
    object('855', 'Facility', { default: 'Numeric facility' }, point(0.5, 0.5)),
    object(LONG, 'Facility', { default: 'Long-coded facility', fr: 'Établissement' }, point(1.5, 0.5)),
    object('F-nogeo', 'Facility', { default: 'Facility without geometry' }),
    object('F-zone-only', 'Facility', { default: 'Zone-only facility' }, point(0.5, 5.5)),
    object('F-moved', 'Facility', { default: 'Moved facility' }, point(2.5, 0.5)),
    object('F-in-invalid', 'Facility', { default: 'Facility in the bow tie' }, point(0.2, 0.1)),
  ];
  const link = (hierarchy, childCode, childType, parentCode, parentType, dates = {}) => ({
    hierarchy,
    childCode,
    childType,
    parentCode,
    parentType,
    ...dates,
  });
  const links = [
    ...['A,B', 'A|B', 'back\\slash', 'dollar$1', 'P-invalid'].map((p) => link(ADMIN, p, 'Province', 'C-1', 'Country')),
    link(ADMIN, '855', 'Facility', 'A,B', 'Province'),
    link(HEALTH, '855', 'Facility', 'Z 1', 'Zone'),
    link(ADMIN, LONG, 'Facility', 'A|B', 'Province'),
    link(HEALTH, LONG, 'Facility', 'zé-ü', 'Zone'),
    link(ADMIN, 'F-nogeo', 'Facility', 'dollar$1', 'Province'),
    link(HEALTH, 'F-nogeo', 'Facility', 'z/2', 'Zone'),
    link(HEALTH, 'F-zone-only', 'Facility', 'z/2', 'Zone'),
    // Moved from one province to another at the start of 2026.
    link(ADMIN, 'F-moved', 'Facility', 'A,B', 'Province', { startDate: '2020-01-01', endDate: '2025-12-31' }),
    link(ADMIN, 'F-moved', 'Facility', 'back\\slash', 'Province', { startDate: '2026-01-01' }),
    link(ADMIN, 'F-in-invalid', 'Facility', 'P-invalid', 'Province'),
  ];
  return {
    forDate: FOR_DATE,
    types: [
      type('Country', 'Country', 'MULTIPOLYGON'),
      type('Province', 'Province', 'MULTIPOLYGON'),
      type('Zone', 'Health zone', 'MULTIPOLYGON'),
      type('Facility', 'Health facility', 'MULTIPOINT'),
    ],
    hierarchies: [
      {
        code: ADMIN,
        label: { default: 'Administrative' },
        tree: [{ type: 'Country', children: [{ type: 'Province', children: [{ type: 'Facility', children: [] }] }] }],
      },
      { code: HEALTH, label: { default: 'Health zones' }, tree: [{ type: 'Zone', children: [{ type: 'Facility', children: [] }] }] },
    ],
    objects,
    links,
  };
}

module.exports = { roundTripModel, FOR_DATE, ADMIN, HEALTH };
