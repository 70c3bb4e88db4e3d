'use strict';
// Bad input gets its row (or a clear configuration error), never silence: parent cycles, unreadable WKT,
// unknown types, invalid dates; and failure messages keep their cause (a token endpoint's status).
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');
const { expect } = require('chai');
const helper = require('node-red-node-test-helper');
const { nodeRedPath } = require('./support/node-red');
const { readEvents } = require('../nodes/lib/registry/gpr-json.js');
const { parseWktGeometries } = require('../nodes/lib/registry/files.js');
const { asRegistryModel, isCalendarDate } = require('../nodes/lib/registry/model.js');
const { DEFAULT_EXPORT_OPTIONS } = require('../nodes/lib/sync/export-plan.js');
const { generateExport } = require('../nodes/lib/sync/generate.js');
const { runExport } = require('../nodes/lib/sync/export-run.js');
const { normaliseSettings } = require('../nodes/lib/fhir/external-system.js');
const { createTokenSource } = require('../nodes/lib/fhir/token-source.js');
const { FhirConnection } = require('../nodes/lib/fhir/connection.js');
const { control } = require('./support/peers');
const { FAST_RETRY, connectionTo, searchAll } = require('./support/fhir');
const { requiresReferenceData } = require('./support/requirements');

helper.init(nodeRedPath);

const FIXTURES = path.resolve(__dirname, '..', '..', 'shared', 'fixtures', 'gpr');
const fixture = (name) => JSON.parse(fs.readFileSync(path.join(FIXTURES, name), 'utf8'));
const SYSTEM = 'http://moh.example/registry';
const ADMIN = 'USATestDataAdminCode';
const options = (extra) => ({ ...DEFAULT_EXPORT_OPTIONS, system: SYSTEM, hierarchies: [ADMIN], idStrategy: 'server', ...extra });

const events = () => fixture('events.json');
const model = (evs = events()) => readEvents(evs, fixture('geo-object-types.json'), fixture('hierarchy-types.json'), '2020-06-01');
const rowsOf = (out, severity = 'ERROR') => out.rows.filter((r) => r.severity === severity).map((r) => `${r.code}: ${r.message}`);

describe('bad input', function () {
  before(function () {
    requiresReferenceData(this);
  });
  this.timeout(30000);

  describe('parent cycles', function () {
    /**
     * Colorado under its own district (Colorado → District One → Colorado), Washington its own parent. (A cycle
     * through the root type cannot form: like GPR, the export gives no parent to a type without parent types.)
     */
    function cyclic() {
      const m = model();
      Object.assign(
        m.links.find((l) => l.hierarchy === ADMIN && l.childCode === 'USATestDataColorado'),
        { parentCode: 'USATestDataColoradoDistrictOne', parentType: 'USATestDataDistrict' },
      );
      Object.assign(
        m.links.find((l) => l.hierarchy === ADMIN && l.childCode === 'USATestDataWashington'),
        { parentCode: 'USATestDataWashington', parentType: 'USATestDataState' },
      );
      return m;
    }

    it('rows each object on a cycle, per hierarchy, and leaves them out', async function () {
      const out = await generateExport(cyclic(), options());
      expect(rowsOf(out)).to.have.members([
        'USATestDataColorado: parent cycle in hierarchy "USATestDataAdminCode": "USATestDataColorado" → "USATestDataColoradoDistrictOne" → "USATestDataColorado": not exported',
        'USATestDataColoradoDistrictOne: parent cycle in hierarchy "USATestDataAdminCode": "USATestDataColorado" → "USATestDataColoradoDistrictOne" → "USATestDataColorado": not exported',
        'USATestDataWashington: parent cycle in hierarchy "USATestDataAdminCode": "USATestDataWashington" → "USATestDataWashington": not exported',
      ]);
      expect(rowsOf(out, 'WARNING')).to.include(
        'USATestDataColoradoCountyOne: parent "USATestDataColorado" in hierarchy "USATestDataAdminCode" is on a parent cycle; no parent set',
      );
      const codes = out.bundles.flatMap((b) => b.entry.map((e) => e.resource.identifier[0].value));
      expect(codes).to.not.include.members(['USATestDataColoradoDistrictOne', 'USATestDataColorado', 'USATestDataWashington']);
      expect(out.objects).to.equal(16);
    });

    it('exports the rest, and the server holds no cycle', async function () {
      const base = process.env.FHIR_BASE;
      await control(base, '/__reset');
      const job = await runExport({
        model: cyclic(),
        options: options(),
        connection: connectionTo(base, SYSTEM),
        concurrency: 2,
        retry: FAST_RETRY,
      });
      expect(job).to.deep.include({ status: 'WARNING', objectsExported: 16 });
      const orgs = await searchAll(`${base}Organization?identifier=${encodeURIComponent(SYSTEM)}|&_count=100`);
      expect(orgs).to.have.length(16);
      const parent = new Map(orgs.map((o) => [`Organization/${o.id}`, o.partOf?.reference]));
      for (const start of parent.keys()) {
        const seen = new Set();
        for (let ref = start; ref; ref = parent.get(ref)) {
          expect(seen.has(ref), `cycle through ${ref}`).to.equal(false);
          seen.add(ref);
        }
      }
    });
  });

  it('gives an object with unreadable WKT its row, as a broken GeoJSON geometry gets, and reads the rest', async function () {
    const m = model();
    m.objects.find((o) => o.code === 'USATestDataColoradoDistrictTwo').geometry = 'MULTIPOINT ((104.9 11.5)';
    m.objects.find((o) => o.code === 'USATestDataColoradoDistrictOne').geometry = 'multipoint ((104.9 11.5))';
    // The fault: this used to fail the whole source read.
    await parseWktGeometries(m);
    const out = await generateExport(m, options());
    const [row] = rowsOf(out);
    expect(row).to.match(/^USATestDataColoradoDistrictTwo: geometry: WKT cannot be read: .+: not exported$/);
    expect(out.objects).to.equal(18);
    const one = out.bundles[0].entry.find(
      (e) => e.resource.resourceType === 'Location' && e.resource.identifier[0].value === 'USATestDataColoradoDistrictOne',
    );
    expect(one.resource.position).to.deep.equal({ longitude: 104.9, latitude: 11.5 });
  });

  it('gives an object of a type not in the type list its row', async function () {
    const m = model();
    m.objects.push({ ...m.objects.find((o) => o.code === 'USATestDataHsOne'), code: 'Stray', type: 'NoSuchType' });
    const out = await generateExport(m, options());
    expect(rowsOf(out)).to.deep.equal(['Stray: type "NoSuchType" is not one of the registry\'s Geo-Object Types: not exported']);
  });

  it('gives objects and links with invalid dates their rows', async function () {
    const evs = events();
    const event = (code, type) =>
      evs.find((e) => e['@type'] === type && (e.code === code || JSON.parse(e.object ?? '{}').properties?.code === code));
    event('USATestDataColoradoDistrictOne', 'RemoteGeoObjectEvent').startDate = 'not-a-date';
    event('USATestDataColoradoDistrictTwo', 'RemoteGeoObjectEvent').endDate = '2020-13-45';
    event('USATestDataWashington', 'RemoteGeoObjectSetParentEvent').startDate = 'garbage';
    const out = await generateExport(model(evs), options());
    expect(rowsOf(out)).to.have.members([
      'USATestDataColoradoDistrictOne: its event\'s start date "not-a-date" is not a valid yyyy-mm-dd date: not exported',
      'USATestDataColoradoDistrictTwo: its event\'s end date "2020-13-45" is not a valid yyyy-mm-dd date: not exported',
      'USATestDataWashington: its link to parent "USATestDataUSA" in hierarchy "USATestDataAdminCode" is ignored: its start date "garbage" is not a valid yyyy-mm-dd date',
    ]);
  });

  describe('impossible for-dates', function () {
    afterEach(() => helper.unload());

    it('are refused: 2020-02-30 is no date', async function () {
      expect(isCalendarDate('2020-02-30')).to.equal(false);
      expect(isCalendarDate('2020-02-29')).to.equal(true);
      expect(() => asRegistryModel({ ...model(), forDate: '2020-02-30' })).to.throw(
        'msg.payload is not a registry model: no valid forDate',
      );
      await helper.load(require('../nodes/gpr-hierarchy-source.js'), [
        { id: 'src', type: 'gpr-hierarchy-source', source: 'sample', forDate: '2020-02-30', wires: [[]] },
        { id: 'c', type: 'catch', scope: ['src'], wires: [['out']] },
        { id: 'out', type: 'helper' },
      ]);
      const caught = new Promise((resolve) => helper.getNode('out').on('input', resolve));
      helper.getNode('src').receive({ payload: 'run' });
      expect((await caught).error.message).to.match(/for-date "2020-02-30" is not a valid yyyy-mm-dd date$/);
    });
  });

  it('keeps a token endpoint’s status in the message (503 without an OAuth error body)', async function () {
    let asked = 0;
    const down = http.createServer((req, res) => {
      asked++;
      res.writeHead(503, { 'content-type': 'text/plain' });
      res.end('upstream down');
    });
    await new Promise((resolve) => down.listen(0, '127.0.0.1', resolve));
    try {
      const settings = normaliseSettings({
        url: process.env.FHIR_BASE,
        system: SYSTEM,
        organization: 'MOH',
        systemId: 'sb',
        label: 'sb',
        authType: 'oauth-client-credentials',
        tokenUrl: `http://127.0.0.1:${down.address().port}/token`,
        clientId: 'c',
      });
      const connection = new FhirConnection(settings, createTokenSource(settings, { clientSecret: 's' }));
      const job = await runExport({ model: model(), options: options(), connection, concurrency: 1, retry: FAST_RETRY });
      expect(asked).to.equal(1);
      expect(job).to.deep.include({ status: 'FAILURE', stage: 'CONNECTION_FAILED' });
      expect(job.exception.message).to.match(
        /^token request to http:\/\/127\.0\.0\.1:\d+\/token failed: .*: HTTP 503 Service Unavailable$/,
      );
    } finally {
      down.close();
    }
  });
});
