'use strict';
// How parents, canonicals, boundaries, labels and search values are written: GPR's rules in GPR-compatible
// mode, the current mCSD IG otherwise. Generate Bundle over GPR's test data (../shared/fixtures/gpr).
const { expect } = require('chai');
const { usaModel, cambodiaModel } = require('./support/gpr-fixtures');
const { generateExport } = require('../nodes/lib/sync/generate.js');
const { DEFAULT_EXPORT_OPTIONS } = require('../nodes/lib/sync/export-plan.js');
const { jtsOrdinate, jtsGeoJson } = require('../nodes/lib/mapping/jts-geojson.js');
const { conditionalUrl, identifierToken, escapeSearchValue } = require('../nodes/lib/fhir/search-value.js');
const { requiresReferenceData } = require('./support/requirements');

const ADMIN = 'USATestDataAdminCode';
const SCHOOL = 'USATestDataSchoolCode';
const REPORTS_TO = 'USATestDataReportsToCode';
const HIERARCHY_EXTENSION = 'http://ihe.net/fhir/StructureDefinition/IHE.mCSD.hierarchy.extension';
const IG = 'https://profiles.ihe.net/ITI/mCSD';

const options = (extra) => ({ ...DEFAULT_EXPORT_OPTIONS, system: 'localhost', ...extra });
const entriesOf = (out) => out.bundles.flatMap((b) => b.entry);
const entryOf = (out, type, code) =>
  entriesOf(out).find((e) => e.resource.resourceType === type && e.resource.identifier[0].value === code);
const resourceOf = (out, type, code) => entryOf(out, type, code).resource;
/** [hierarchy, parent code] of each hierarchy extension, parents by literal id (code id strategy). */
const extensionParents = (org) =>
  (org.extension ?? [])
    .filter((e) => e.url === HIERARCHY_EXTENSION)
    .map((e) => [
      e.extension.find((x) => x.url === 'hierarchy-type').valueCodeableConcept.coding[0].code,
      e.extension.find((x) => x.url === 'part-of').valueReference.reference,
    ]);

describe('mCSD mapping', function () {
  before(function () {
    requiresReferenceData(this);
  });
  describe('parents per Geo-Object Type in a multi-hierarchy export', function () {
    for (const gprCompat of [true, false]) {
      it(`uses partOf for a type in one hierarchy, the extension for a type in several (${gprCompat ? 'GPR-compatible' : 'default'})`, async function () {
        const out = await generateExport(usaModel(), options({ gprCompat, chunkSize: 10000 }));
        const ref = (code) => entryOf(out, 'Organization', code).fullUrl;
        // Colorado, its districts and HealthPosts have parent types in the Admin hierarchy only.
        for (const [child, parent] of [
          ['USATestDataColorado', 'USATestDataUSA'],
          ['USATestDataColoradoDistrictOne', 'USATestDataColorado'],
          ['USATestDataHpOne', 'USATestDataColoradoDistrictOne'],
        ]) {
          const org = resourceOf(out, 'Organization', child);
          expect(org.partOf, child).to.deep.equal({ reference: ref(parent) });
          expect(org.extension, child).to.equal(undefined);
        }
        // HealthStops have parent types in Admin and ReportsTo: one extension each, no partOf.
        const hsTwo = resourceOf(out, 'Organization', 'USATestDataHsTwo');
        expect(hsTwo.partOf).to.equal(undefined);
        expect(extensionParents(hsTwo)).to.deep.equal([
          [ADMIN, ref('USATestDataColoradoDistrictOne')],
          [REPORTS_TO, ref('USATestDataHpTwo')],
        ]);
        // A SchoolZone sits in the School hierarchy only: GPR uses partOf; outside GPR-compatible mode partOf
        // means the partOf hierarchy (Admin, the first), so the School parent goes in the extension.
        const zone = resourceOf(out, 'Organization', 'USATestDataSchoolZoneOne');
        if (gprCompat) expect(zone.partOf).to.deep.equal({ reference: ref('USATestDataColoradoDistrictOne') });
        else {
          expect(zone.partOf).to.equal(undefined);
          expect(extensionParents(zone)).to.deep.equal([[SCHOOL, ref('USATestDataColoradoDistrictOne')]]);
        }
      });
    }

    it('sets Location.partOf from the partOf hierarchy only: the first exported by default, or the one chosen', async function () {
      const locRef = (out, code) => entryOf(out, 'Location', code).fullUrl;
      const byDefault = await generateExport(usaModel(), options({ chunkSize: 10000 }));
      expect(resourceOf(byDefault, 'Location', 'USATestDataHsTwo').partOf).to.deep.equal({
        reference: locRef(byDefault, 'USATestDataColoradoDistrictOne'),
      });
      // A SchoolZone has no Admin parent: no Location.partOf rather than its School parent.
      expect(resourceOf(byDefault, 'Location', 'USATestDataSchoolZoneOne').partOf).to.equal(undefined);

      const reportsTo = await generateExport(usaModel(), options({ chunkSize: 10000, partOfHierarchy: REPORTS_TO }));
      expect(resourceOf(reportsTo, 'Location', 'USATestDataHsTwo').partOf).to.deep.equal({
        reference: locRef(reportsTo, 'USATestDataHpTwo'),
      });
      expect(resourceOf(reportsTo, 'Location', 'USATestDataColorado').partOf).to.equal(undefined);
      // Colorado's only hierarchy (Admin) is not the partOf hierarchy: its parent goes in the extension.
      expect(extensionParents(resourceOf(reportsTo, 'Organization', 'USATestDataColorado'))).to.deep.equal([
        [ADMIN, entryOf(reportsTo, 'Organization', 'USATestDataUSA').fullUrl],
      ]);
    });

    it('refuses a partOf hierarchy that is not exported', async function () {
      const err = await generateExport(usaModel(), options({ hierarchies: [ADMIN], partOfHierarchy: REPORTS_TO })).catch((e) => e);
      expect(err.message).to.equal(`partOf hierarchy "${REPORTS_TO}" is not one of the exported hierarchies (${ADMIN})`);
    });
  });

  describe('canonicals', function () {
    it('writes the current mCSD IG’s profiles, type codes and geo+json boundaries by default', async function () {
      const out = await generateExport(usaModel(), options({}));
      const district = (type) => resourceOf(out, type, 'USATestDataColoradoDistrictOne');
      const state = (type) => resourceOf(out, type, 'USATestDataColorado');
      expect(district('Organization').meta.profile).to.deep.equal([
        `${IG}/StructureDefinition/IHE.mCSD.Organization`,
        `${IG}/StructureDefinition/IHE.mCSD.FacilityOrganization`,
      ]);
      expect(state('Organization').meta.profile).to.deep.equal([
        `${IG}/StructureDefinition/IHE.mCSD.Organization`,
        `${IG}/StructureDefinition/IHE.mCSD.JurisdictionOrganization`,
      ]);
      expect(state('Location').meta.profile).to.deep.equal([
        `${IG}/StructureDefinition/IHE.mCSD.Location`,
        `${IG}/StructureDefinition/IHE.mCSD.JurisdictionLocation`,
      ]);
      const kinds = `${IG}/CodeSystem/IHE.mCSD.Organization.Location.Types`;
      expect(district('Location').type[1]).to.deep.equal({ coding: [{ system: kinds, code: 'facility', display: 'Facility' }] });
      expect(state('Organization').type[1]).to.deep.equal({ coding: [{ system: kinds, code: 'jurisdiction', display: 'Jurisdiction' }] });
      expect(state('Location').extension[0].valueAttachment.contentType).to.equal('application/geo+json');
    });

    it('keeps GPR’s canonicals in GPR-compatible mode', async function () {
      const out = await generateExport(usaModel(), options({ gprCompat: true }));
      const org = resourceOf(out, 'Organization', 'USATestDataColorado');
      expect(org.meta.profile).to.deep.equal([
        'http://ihe.net/fhir/StructureDefinition/IHE.mCSD.Organization',
        'http://ihe.net/fhir/StructureDefinition/IHE.mCSD.JurisdictionsOrganization',
      ]);
      expect(org.type[1].coding[0]).to.deep.equal({
        system: 'urn:ietf:rfc:3986',
        code: 'urn:ihe:iti:mcsd:2019:jurisdiction',
        display: 'Jurisdiction',
      });
      expect(resourceOf(out, 'Location', 'USATestDataColorado').extension[0].valueAttachment.contentType).to.equal('application/json');
    });
  });

  describe('boundaries as JTS writes them (GPR-compatible)', function () {
    it('formats ordinates as JTS’s GeoJsonWriter: 8 decimals rounded half up, Java’s number text', function () {
      for (const [x, text] of [
        [1, '1'],
        [-2.5, '-2.5'],
        [104.123456789, '104.12345679'],
        [104.123456785, '104.12345679'],
        [11.550000004, '11.55'],
        [0, '0.0'],
        [0.0001, '1.0E-4'],
        [-0.00012345, '-1.2345E-4'],
        [12345678.9, '1.23456789E7'],
        [1e7, '1.0E7'],
      ])
        expect(jtsOrdinate(x), String(x)).to.equal(text);
      expect(jtsGeoJson({ type: 'MultiPoint', coordinates: [[104.9167, 11.55]] })).to.equal(
        '{"type":"MultiPoint","coordinates":[[104.9167,11.55]],"crs":{"type":"name","properties":{"name":"EPSG:4326"}}}',
      );
      expect(jtsGeoJson({ type: 'GeometryCollection', geometries: [{ type: 'Point', coordinates: [1.5, 2] }] })).to.equal(
        '{"type":"GeometryCollection","geometries":[{"type":"Point","coordinates":[1.5,2]}],"crs":{"type":"name","properties":{"name":"EPSG:4326"}}}',
      );
    });

    it('writes every Cambodia ordinate as JTS does in GPR-compatible mode, at full precision otherwise', async function () {
      const model = await cambodiaModel();
      const boundaries = async (gprCompat) => {
        const out = await generateExport(model, options({ gprCompat }));
        return entriesOf(out)
          .filter((e) => e.resource.resourceType === 'Location')
          .map((e) => [e.resource.identifier[0].value, Buffer.from(e.resource.extension[0].valueAttachment.data, 'base64').toString()]);
      };
      const compat = await boundaries(true);
      expect(compat).to.have.length(7);
      let ordinates = 0;
      for (const [code, json] of compat) {
        expect(json).to.equal(jtsGeoJson(model.objects.find((o) => o.code === code).geometry));
        for (const n of json.match(/-?\d+\.\d+/g)) {
          expect(n.split('.')[1].length).to.be.at.most(8);
          ordinates++;
        }
      }
      expect(ordinates).to.be.above(10000);
      expect((await boundaries(false)).map(([, json]) => json).join()).to.match(/\.\d{9,}/);
    });
  });

  describe('labels in other locales', function () {
    it('writes them as translations of name outside GPR-compatible mode (GPR: aliases only)', async function () {
      const model = usaModel();
      Object.assign(model.objects.find((o) => o.code === 'USATestDataColorado').label, { km: 'កូឡូរ៉ាដូ', fr: 'Colorado' });
      const out = await generateExport(model, options({}));
      for (const type of ['Organization', 'Location']) {
        const r = resourceOf(out, type, 'USATestDataColorado');
        expect(r._name.extension).to.deep.equal([
          {
            url: 'http://hl7.org/fhir/StructureDefinition/translation',
            extension: [
              { url: 'lang', valueCode: 'km' },
              { url: 'content', valueString: 'កូឡូរ៉ាដូ' },
            ],
          },
          {
            url: 'http://hl7.org/fhir/StructureDefinition/translation',
            extension: [
              { url: 'lang', valueCode: 'fr' },
              { url: 'content', valueString: 'Colorado' },
            ],
          },
        ]);
        expect(r.alias).to.deep.equal(['USATestDataColorado', 'កូឡូរ៉ាដូ', 'Colorado']);
      }
      const compat = await generateExport(model, options({ gprCompat: true }));
      expect(resourceOf(compat, 'Organization', 'USATestDataColorado')).to.not.have.property('_name');
    });
  });

  describe('FHIR search values', function () {
    it('warns in GPR-compatible mode of codes GPR’s unescaped conditional URL cannot find again', async function () {
      const model = usaModel();
      model.objects.find((o) => o.code === 'USATestDataColorado').code = 'Colorado,CO';
      for (const l of model.links) if (l.parentCode === 'USATestDataColorado') l.parentCode = 'Colorado,CO';
      const compat = await generateExport(model, options({ gprCompat: true, idStrategy: 'safe' }));
      expect(compat.rows).to.deep.equal([
        {
          code: 'Colorado,CO',
          type: 'USATestDataState',
          severity: 'WARNING',
          message:
            'code "Colorado,CO" goes unescaped into GPR’s conditional URL: a server may not find its resource again and create another',
        },
      ]);
      expect(entryOf(compat, 'Organization', 'Colorado,CO').request.url).to.equal('Organization?identifier=localhost|Colorado,CO');
      const escaped = await generateExport(model, options({ idStrategy: 'server' }));
      expect(escaped.rows).to.deep.equal([]);
      expect(entryOf(escaped, 'Organization', 'Colorado,CO').request.url).to.equal('Organization?identifier=localhost|Colorado%5C%2CCO');
    });

    it('escapes , | $ and \\ in identifier tokens and conditional URLs, and nothing else', function () {
      expect(escapeSearchValue('A,B|C$D\\E F/é')).to.equal('A\\,B\\|C\\$D\\\\E F/é');
      expect(identifierToken('http://x.org/ids', 'A|B')).to.equal('http://x.org/ids|A\\|B');
      expect(conditionalUrl('Location', 'http://x.org/ids', 'A,B')).to.equal('Location?identifier=http%3A%2F%2Fx.org%2Fids|A%5C%2CB');
      expect(conditionalUrl('Location', 'http://x.org/ids', 'back\\slash')).to.equal(
        'Location?identifier=http%3A%2F%2Fx.org%2Fids|back%5C%5Cslash',
      );
      expect(conditionalUrl('Location', 'localhost', 'A,B', true)).to.equal('Location?identifier=localhost|A,B');
      // One System after another, each escaped and encoded as its own.
      expect(conditionalUrl('Location', 'sys,a', 'X')).to.equal('Location?identifier=sys%5C%2Ca|X');
      expect(conditionalUrl('Location', 'sys|b', 'X')).to.equal('Location?identifier=sys%5C%7Cb|X');
      expect(conditionalUrl('Location', 'sys,a', 'Y')).to.equal('Location?identifier=sys%5C%2Ca|Y');
      expect(escapeSearchValue('plain')).to.equal('plain');
    });
  });
});
