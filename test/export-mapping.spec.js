'use strict';
// Generate Bundle against GPR's own output and test data (../shared/fixtures/gpr): fidelity first, then
// where the project differs from GPR on purpose.
const { expect } = require('chai');
const { fixture, usaModel, cambodiaModel } = require('./support/gpr-fixtures');
const { generateExport } = require('../nodes/lib/sync/generate.js');
const { DEFAULT_EXPORT_OPTIONS, idProblem, safeId, planExport } = require('../nodes/lib/sync/export-plan.js');
const { defaultLevelTypes } = require('../nodes/lib/mapping/levels.js');
const { exportOptionsFrom } = require('../nodes/lib/sync/export-options.js');
const { SELF_INTERSECTING } = require('./support/fhir');

const MCSD_KINDS = 'https://profiles.ihe.net/ITI/mCSD/CodeSystem/IHE.mCSD.Organization.Location.Types';
const { requiresReferenceData } = require('./support/requirements');

const options = (extra) => ({ ...DEFAULT_EXPORT_OPTIONS, system: 'localhost', ...extra });
const entriesOf = (out) => out.bundles.flatMap((b) => b.entry);
const resourceOf = (out, type, code) =>
  entriesOf(out).find((e) => e.resource.resourceType === type && e.resource.identifier[0].value === code);

describe('export mapping (Generate Bundle)', function () {
  before(function () {
    requiresReferenceData(this);
  });
  describe('fidelity to GPR (gprCompat)', function () {
    let out;
    before(async () => (out = await generateExport(usaModel(), options({ gprCompat: true }))));

    // The fixtures predate GPR's identifier `use`/`type` (commit 2d02618f3) and its Location.physicalType;
    // location.json's name was edited for an import test (its Organization keeps the registry's label).
    const documented = (resource) => {
      const copy = structuredClone(resource);
      for (const id of copy.identifier) {
        expect(id.use).to.equal('usual');
        expect(id.type).to.deep.equal({
          coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0203', code: 'RI', display: 'Resource identifier' }],
        });
        delete id.use;
        delete id.type;
      }
      return copy;
    };

    it('writes USATestDataHsTwo’s Organization as organization.json, field by field', function () {
      expect(documented(resourceOf(out, 'Organization', 'USATestDataHsTwo').resource)).to.deep.equal(fixture('organization.json'));
    });

    it('writes USATestDataHsTwo’s Location as location.json, field by field', function () {
      const location = documented(resourceOf(out, 'Location', 'USATestDataHsTwo').resource);
      expect(location.physicalType).to.deep.equal({
        coding: [{ system: 'http://terminology.hl7.org/CodeSystem/location-physical-type', code: 'jdn', display: 'Jurisdiction' }],
        text: 'Jurisdiction',
      });
      delete location.physicalType;
      expect(location.name).to.equal('USATestDataHsTwo');
      expect({ ...location, name: 'USATestDataHsTwo ZZZZZZZ' }).to.deep.equal(fixture('location.json'));
    });

    it('keeps GPR’s bundle shape: one untyped Bundle, relative fullUrls, unencoded conditional URLs', function () {
      expect(out.bundles).to.have.length(1);
      expect(out.bundles[0]).to.not.have.property('type');
      const [org, loc] = entriesOf(out).filter((e) => e.resource.id === 'USATestDataHsTwo');
      expect(org.fullUrl).to.equal('Organization/USATestDataHsTwo');
      expect(org.request).to.deep.equal({ method: 'PUT', url: 'Organization?identifier=localhost|USATestDataHsTwo' });
      expect(loc.request.url).to.equal('Location?identifier=localhost|USATestDataHsTwo');
    });

    it('exports every existing object once, parents first, and counts the one that does not exist', function () {
      expect(out.objects).to.equal(20);
      expect(out.skipped).to.deep.equal({ invalid: 0, notExisting: 1, unchanged: 0 });
      expect(entriesOf(out).map((e) => e.resource.identifier[0].value)).to.not.include('USATestDataColoradoDistrictThree');
      const order = entriesOf(out)
        .filter((e) => e.resource.resourceType === 'Organization')
        .map((e) => e.resource.id);
      for (const e of entriesOf(out)) {
        for (const ext of e.resource.extension ?? []) {
          const parent = ext.extension?.[0].valueReference.reference.replace('Organization/', '');
          if (parent) expect(order.indexOf(parent), `${parent} before ${e.resource.id}`).to.be.below(order.indexOf(e.resource.id));
        }
      }
      expect(out.rows).to.deep.equal([]);
    });

    it('makes MULTIPOINT types facilities and the rest jurisdictions', function () {
      const district = resourceOf(out, 'Location', 'USATestDataColoradoDistrictOne').resource;
      expect(district.type[1].coding[0].code).to.equal('urn:ihe:iti:mcsd:2019:facility');
      expect(district.physicalType.coding[0].code).to.equal('bu');
      expect(district.meta.profile[1]).to.equal('http://ihe.net/fhir/StructureDefinition/IHE.mCSD.FacilityLocation');
    });
  });

  describe('levels', function () {
    it('puts parent types first and expands abstract types, across hierarchies', function () {
      const order = defaultLevelTypes(usaModel(), usaModel().hierarchies);
      const before = (a, b) => expect(order.indexOf(a), `${a} before ${b}`).to.be.below(order.indexOf(b));
      before('USATestDataCountry', 'USATestDataState');
      before('USATestDataDistrict', 'USATestDataHealthPost');
      before('USATestDataHealthPost', 'USATestDataHealthStop');
      before('USATestDataDistrict', 'USATestDataSchoolZone');
      expect(order).to.not.include('USATestDataHealthFacility');
    });

    it('refuses a child level before its parent', async function () {
      const levels = [{ geoObjectType: 'USATestDataState' }, { geoObjectType: 'USATestDataCountry' }];
      const err = await generateExport(usaModel(), options({ levels })).catch((e) => e);
      expect(err.message).to.equal('level of "USATestDataCountry" must come before the level of its child type "USATestDataState"');
    });

    it('refuses an abstract or unknown type as a level', async function () {
      for (const [type, message] of [
        ['USATestDataHealthFacility', 'level 1: Geo-Object Type "USATestDataHealthFacility" is abstract; configure its subtypes'],
        ['Nope', 'level 1: Geo-Object Type "Nope" is not in the registry'],
      ]) {
        const err = await generateExport(usaModel(), options({ levels: [{ geoObjectType: type }] })).catch((e) => e);
        expect(err.message).to.equal(message);
      }
    });

    it('maps a level to another FHIR type coding and kind', async function () {
      const levels = [
        { geoObjectType: 'USATestDataCountry', fhirType: { system: 'http://moh.example/levels', code: 'L1' }, kind: 'facility' },
      ];
      const out = await generateExport(usaModel(), options({ levels, hierarchies: ['USATestDataAdminCode'] }));
      const org = resourceOf(out, 'Organization', 'USATestDataUSA').resource;
      expect(org.type[0]).to.deep.equal({
        coding: [{ system: 'http://moh.example/levels', code: 'L1', display: 'USATestDataCountry' }],
        text: 'USATestDataCountry',
      });
      expect(org.type[1].coding[0]).to.deep.equal({ system: MCSD_KINDS, code: 'facility', display: 'Facility' });
    });
  });

  describe('beyond GPR (default options)', function () {
    let out;
    const admin = options({ hierarchies: ['USATestDataAdminCode'], system: 'http://moh.example/registry' });
    before(async () => (out = await generateExport(usaModel(), admin)));

    it('writes typed transaction Bundles with urn:uuid fullUrls and encoded conditional URLs', function () {
      expect(out.bundles.every((b) => b.type === 'transaction')).to.equal(true);
      const org = resourceOf(out, 'Organization', 'USATestDataColorado');
      expect(org.fullUrl).to.match(/^urn:uuid:[0-9a-f-]{36}$/);
      expect(org.request.url).to.equal('Organization?identifier=http%3A%2F%2Fmoh.example%2Fregistry|USATestDataColorado');
    });

    it('links parents by partOf on both resources within one hierarchy, through the parent’s fullUrl', function () {
      const parentOrg = resourceOf(out, 'Organization', 'USATestDataUSA');
      const parentLoc = resourceOf(out, 'Location', 'USATestDataUSA');
      expect(resourceOf(out, 'Organization', 'USATestDataColorado').resource.partOf).to.deep.equal({ reference: parentOrg.fullUrl });
      expect(resourceOf(out, 'Location', 'USATestDataColorado').resource.partOf).to.deep.equal({ reference: parentLoc.fullUrl });
      expect(resourceOf(out, 'Location', 'USATestDataColorado').resource.managingOrganization).to.deep.equal({
        reference: resourceOf(out, 'Organization', 'USATestDataColorado').fullUrl,
      });
    });

    it('gives the same Bundle for the same data', async function () {
      expect(await generateExport(usaModel(), admin)).to.deep.equal(out);
    });

    it('chunks without splitting an object’s pair, referring to earlier chunks by id', async function () {
      const chunked = await generateExport(usaModel(), { ...admin, chunkSize: 5 });
      expect(chunked.bundles.length).to.be.above(1);
      for (const b of chunked.bundles) {
        expect(b.entry.length).to.be.at.most(4);
        for (let i = 0; i < b.entry.length; i += 2) expect(b.entry[i].resource.id).to.equal(b.entry[i + 1].resource.id);
      }
      // Colorado's parent (USA) went in an earlier chunk.
      expect(resourceOf(chunked, 'Organization', 'USATestDataColorado').resource.partOf).to.deep.equal({
        reference: 'Organization/USATestDataUSA',
      });
      expect(entriesOf(chunked)).to.have.length(entriesOf(out).length);
    });

    it('refers to earlier chunks by conditional reference when the server assigns ids', async function () {
      const chunked = await generateExport(usaModel(), { ...admin, chunkSize: 2, idStrategy: 'server' });
      const colorado = resourceOf(chunked, 'Organization', 'USATestDataColorado').resource;
      expect(colorado).to.not.have.property('id');
      expect(colorado.partOf.reference).to.equal('Organization?identifier=http%3A%2F%2Fmoh.example%2Fregistry|USATestDataUSA');
    });
  });

  describe('bad input', function () {
    it('reports a duplicate code and exports the first only', async function () {
      const model = usaModel();
      const copy = { ...model.objects.find((o) => o.code === 'USATestDataHsOne'), type: 'USATestDataHealthPost' };
      model.objects.push(copy);
      const out = await generateExport(model, options({}));
      expect(out.rows).to.deep.equal([
        {
          code: 'USATestDataHsOne',
          type: 'USATestDataHealthPost',
          severity: 'ERROR',
          message: 'duplicate code "USATestDataHsOne": also used by a USATestDataHealthStop; only the first is exported',
        },
      ]);
      expect(entriesOf(out).filter((e) => e.resource.identifier[0].value === 'USATestDataHsOne')).to.have.length(2);
    });

    it('exports an invalid geometry as it is with a WARNING row (GPR), its children keeping their parent', async function () {
      const model = usaModel();
      model.objects.find((o) => o.code === 'USATestDataColorado').geometry = SELF_INTERSECTING;
      const out = await generateExport(model, options({ hierarchies: ['USATestDataAdminCode'] }));
      expect(out.rows).to.have.length(1);
      expect(out.rows[0]).to.deep.include({ code: 'USATestDataColorado', severity: 'WARNING' });
      expect(out.rows[0].message).to.match(/^geometry is invalid: Self-intersection.*; exported as it is$/);
      const colorado = resourceOf(out, 'Location', 'USATestDataColorado');
      const boundary = JSON.parse(Buffer.from(colorado.resource.extension[0].valueAttachment.data, 'base64').toString());
      expect(boundary.coordinates).to.deep.equal(SELF_INTERSECTING.coordinates);
      expect(colorado.resource.position).to.deep.equal({ longitude: 1, latitude: 1 });
      const district = resourceOf(out, 'Organization', 'USATestDataColoradoDistrictOne').resource;
      expect(district.partOf.reference).to.equal(resourceOf(out, 'Organization', 'USATestDataColorado').fullUrl);
    });

    it('refuses an invalid geometry on request, and says of each child that it was linked elsewhere', async function () {
      const model = usaModel();
      model.objects.find((o) => o.code === 'USATestDataColorado').geometry = SELF_INTERSECTING;
      const out = await generateExport(model, options({ hierarchies: ['USATestDataAdminCode'], invalidGeometry: 'refuse' }));
      expect(out.rows[0]).to.deep.include({ code: 'USATestDataColorado', severity: 'ERROR' });
      expect(out.rows[0].message).to.match(/^geometry is invalid: Self-intersection.*; not exported \(invalid geometries: refuse\)$/);
      expect(resourceOf(out, 'Organization', 'USATestDataColorado')).to.equal(undefined);
      // Every child of Colorado (districts, and Colorado's other children) has a row saying where it went.
      const children = model.links.filter((l) => l.hierarchy === 'USATestDataAdminCode' && l.parentCode === 'USATestDataColorado');
      const exported = new Set(entriesOf(out).map((e) => e.resource.identifier[0].value));
      for (const child of children.filter((l) => exported.has(l.childCode))) {
        const warning = out.rows.find((r) => r.code === child.childCode);
        expect(warning, child.childCode).to.deep.include({ severity: 'WARNING' });
        expect(warning.message).to.equal(
          'parent "USATestDataColorado" in hierarchy "USATestDataAdminCode" is not exported; linked to "USATestDataUSA" instead',
        );
        const org = resourceOf(out, 'Organization', child.childCode).resource;
        expect(org.partOf.reference).to.equal(resourceOf(out, 'Organization', 'USATestDataUSA').fullUrl);
      }
    });

    it('refuses an unknown choice for invalid geometries', function () {
      expect(() => exportOptionsFrom({ invalidGeometry: 'fix' }, 'localhost')).to.throw(
        'invalid geometries must be one of export, refuse (got "fix")',
      );
    });
  });

  describe('Cambodia (WKT, numeric codes)', function () {
    let model;
    before(async () => (model = await cambodiaModel()));

    it('reads the WKT (any keyword case) and writes valid boundary extensions and centroids', async function () {
      const out = await generateExport(model, options({ idStrategy: 'safe' }));
      expect(out.rows).to.deep.equal([]);
      const locations = entriesOf(out).filter((e) => e.resource.resourceType === 'Location');
      expect(locations).to.have.length(7);
      for (const { resource } of locations) {
        const geo = JSON.parse(Buffer.from(resource.extension[0].valueAttachment.data, 'base64').toString());
        expect(geo.type).to.equal('MultiPolygon');
        expect(geo.crs.properties.name).to.equal('EPSG:4326');
        // Cambodia lies within 102–108° E, 10–15° N.
        expect(resource.position.longitude).to.be.within(102, 108);
        expect(resource.position.latitude).to.be.within(10, 15);
      }
    });

    it('refuses numeric codes as ids on Run with the code strategy, and warns in Generate Bundle', async function () {
      expect(idProblem('855')).to.match(/purely numeric/);
      expect(idProblem('KH-22')).to.equal(undefined);
      const out = await generateExport(model, options({}));
      expect(out.rows.map((r) => `${r.code} ${r.severity}`)).to.have.members(
        ['855', '2201', '2202', '2203', '2204', '2205'].map((c) => `${c} WARNING`),
      );
      expect(out.objects).to.equal(7);
      const run = await planExport(model, options({}), 'run');
      expect(run.objects.map((p) => p.object.code)).to.deep.equal(['KH-22']);
      expect(run.rows.find((r) => r.code === '855')).to.deep.include({
        severity: 'ERROR',
        message:
          'code "855" is purely numeric, which servers such as HAPI refuse as a client-assigned id: choose the "safe" or "server" id strategy',
      });
      expect(safeId('855')).to.match(/^855-[0-9a-f]{8}$/);
      expect(idProblem(safeId('855'))).to.equal(undefined);
      expect(idProblem(safeId('a_b'.repeat(30)))).to.equal(undefined);
    });
  });
});
