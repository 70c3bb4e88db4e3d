'use strict';
// The export planner's phases one by one, on a small registry built here: no FHIR server, no fixtures.
const { expect } = require('chai');
const plan = require('../nodes/lib/sync/export-plan.js');

const { DEFAULT_EXPORT_OPTIONS, planScope, exportableObjects, planObjects, linkParents, prepareExport, exportPlan, planExport } = plan;

const square = (x, y) => ({
  type: 'Polygon',
  coordinates: [
    [
      [x, y],
      [x + 1, y],
      [x + 1, y + 1],
      [x, y + 1],
      [x, y],
    ],
  ],
});
/** A polygon that crosses itself: readable, but invalid. */
const BOW_TIE = {
  type: 'Polygon',
  coordinates: [
    [
      [0, 0],
      [1, 1],
      [1, 0],
      [0, 1],
      [0, 0],
    ],
  ],
};

const object = (code, type, extra = {}) => ({ code, type, label: { default: code }, exists: true, invalid: false, ...extra });
const link = (childCode, childType, parentCode, parentType, extra = {}) => ({
  hierarchy: 'H',
  childCode,
  childType,
  parentCode,
  parentType,
  ...extra,
});

/** A country, two regions and three districts in one hierarchy H. */
function registry() {
  const type = (code, geometryType) => ({ code, label: { default: code }, geometryType, isAbstract: false });
  return {
    forDate: '2026-01-01',
    types: [type('Country', 'MULTIPOLYGON'), type('Region', 'MULTIPOLYGON'), type('District', 'MULTIPOLYGON')],
    hierarchies: [
      {
        code: 'H',
        label: { default: 'H' },
        tree: [{ type: 'Country', children: [{ type: 'Region', children: [{ type: 'District', children: [] }] }] }],
      },
    ],
    objects: [
      object('C', 'Country', { geometry: square(0, 0) }),
      object('R1', 'Region', { geometry: square(0, 0) }),
      object('R2', 'Region'),
      object('D1', 'District'),
      object('D2', 'District'),
      object('D3', 'District'),
    ],
    links: [
      link('R1', 'Region', 'C', 'Country'),
      link('R2', 'Region', 'C', 'Country'),
      link('D1', 'District', 'R1', 'Region'),
      link('D2', 'District', 'R2', 'Region'),
      link('D3', 'District', 'R2', 'Region'),
    ],
  };
}

const options = (extra = {}) => ({ ...DEFAULT_EXPORT_OPTIONS, system: 'http://moh.example/registry', ...extra });
const codes = (planned) => [...planned.keys()];
const rowTexts = (rows) => rows.map((r) => `${r.severity} ${r.code}: ${r.message}`);

describe('export plan phases', function () {
  describe('scope', function () {
    it('resolves the levels parents first and the partOf hierarchy', function () {
      const scope = planScope(registry(), options(), 'run');
      expect(scope.levels.map((l) => l.type.code)).to.deep.equal(['Country', 'Region', 'District']);
      expect([...scope.levelOf]).to.deep.equal([
        ['Country', 0],
        ['Region', 1],
        ['District', 2],
      ]);
      expect(scope.mapping).to.deep.include({ partOfHierarchy: 'H', system: 'http://moh.example/registry' });
    });

    it('refuses a hierarchy the registry does not have, and a partOf hierarchy that is not exported', function () {
      expect(() => planScope(registry(), options({ hierarchies: ['X'] }), 'run')).to.throw(
        'hierarchy "X" is not in the registry (known: H)',
      );
      expect(() => planScope(registry(), options({ partOfHierarchy: 'X' }), 'run')).to.throw(
        'partOf hierarchy "X" is not one of the exported hierarchies (H)',
      );
    });
  });

  describe('exportable objects', function () {
    it('counts invalid and non-existing objects, and gives a row to duplicates, unknown types and unreadable objects', function () {
      const model = registry();
      model.objects.find((o) => o.code === 'D1').invalid = true;
      model.objects.find((o) => o.code === 'D2').exists = false;
      model.objects.find((o) => o.code === 'D3').problem = 'geometry: WKT cannot be read';
      model.objects.push(object('R1', 'District'), object('X1', 'Planet'));
      const rows = [];
      const skipped = { invalid: 0, notExisting: 0, unchanged: 0 };
      const objects = exportableObjects(model, planScope(model, options(), 'run'), rows, skipped);
      expect(codes(objects)).to.deep.equal(['C', 'R1', 'R2']);
      expect(skipped).to.deep.equal({ invalid: 1, notExisting: 1, unchanged: 0 });
      expect(rowTexts(rows)).to.deep.equal([
        'ERROR D3: geometry: WKT cannot be read: not exported',
        'ERROR R1: duplicate code "R1": also used by a Region; only the first is exported',
        'ERROR X1: type "Planet" is not one of the registry\'s Geo-Object Types: not exported',
      ]);
    });
  });

  describe('ids and geometries', function () {
    const planned = async (model, opts, mode) => {
      const scope = planScope(model, opts, mode);
      const rows = [];
      const objects = exportableObjects(model, scope, rows, { invalid: 0, notExisting: 0, unchanged: 0 });
      return { planned: await planObjects(objects, scope, rows), rows };
    };

    it('refuses a code that cannot be an id in a run, and only warns of it in Generate Bundle', async function () {
      const model = registry();
      model.objects.find((o) => o.code === 'D1').code = '123';
      model.links.find((l) => l.childCode === 'D1').childCode = '123';
      const run = await planned(model, options({ idStrategy: 'code' }), 'run');
      expect(run.planned.has('123')).to.equal(false);
      expect(rowTexts(run.rows)).to.deep.equal([
        'ERROR 123: code "123" is purely numeric, which servers such as HAPI refuse as a client-assigned id: choose the "safe" or "server" id strategy',
      ]);
      const generate = await planned(model, options({ idStrategy: 'code' }), 'generate');
      expect(generate.planned.get('123').id).to.equal('123');
      expect(generate.rows.map((r) => r.severity)).to.deep.equal(['WARNING']);
    });

    it('gives ids by the strategy, and centroids of the geometries', async function () {
      const model = registry();
      model.objects.push(object('a b', 'District'));
      const safe = await planned(model, options({ idStrategy: 'safe' }), 'run');
      expect(safe.planned.get('C').id).to.equal('C');
      expect(safe.planned.get('a b').id).to.match(/^a-b-[0-9a-f]{8}$/);
      expect(safe.planned.get('C').centroid).to.deep.equal({ longitude: 0.5, latitude: 0.5 });
      expect(safe.planned.get('R2').centroid).to.equal(undefined);
      const server = await planned(model, options({ idStrategy: 'server' }), 'run');
      expect([...server.planned.values()].map((p) => p.id)).to.deep.equal(Array(7).fill(undefined));
    });

    it('exports an invalid geometry with a warning, or refuses it as configured', async function () {
      const model = registry();
      model.objects.find((o) => o.code === 'R2').geometry = BOW_TIE;
      const exported = await planned(model, options(), 'run');
      expect(exported.planned.has('R2')).to.equal(true);
      expect(exported.rows).to.have.length(1);
      expect(exported.rows[0]).to.deep.include({ code: 'R2', severity: 'WARNING' });
      expect(exported.rows[0].message).to.match(/^geometry is invalid: Self-intersection.*; exported as it is$/);
      const refused = await planned(model, options({ invalidGeometry: 'refuse' }), 'run');
      expect(refused.planned.has('R2')).to.equal(false);
      expect(refused.rows[0].message).to.match(/; not exported \(invalid geometries: refuse\)$/);
    });
  });

  describe('parents', function () {
    /** Plan with region R2 left out (invalid), so that D2 and D3 have a parent that is not exported. */
    const withoutR2 = async (onMissingParent) => {
      const model = registry();
      model.objects.find((o) => o.code === 'R2').invalid = true;
      const scope = planScope(model, options({ onMissingParent }), 'run');
      const rows = [];
      const objects = exportableObjects(model, scope, rows, { invalid: 0, notExisting: 0, unchanged: 0 });
      const planned = await planObjects(objects, scope, rows);
      linkParents(planned, model, scope, rows);
      const parents = Object.fromEntries([...planned].map(([code, p]) => [code, p.parents.map((x) => `${x.hierarchy.code}:${x.code}`)]));
      return { parents, rows };
    };

    it('links each object to its parent at the date, climbing over one that is not exported', async function () {
      const { parents, rows } = await withoutR2('climb');
      expect(parents).to.deep.equal({ C: [], R1: ['H:C'], D1: ['H:R1'], D2: ['H:C'], D3: ['H:C'] });
      expect(rowTexts(rows)).to.deep.equal([
        'WARNING D2: parent "R2" in hierarchy "H" is not exported; linked to "C" instead',
        'WARNING D3: parent "R2" in hierarchy "H" is not exported; linked to "C" instead',
      ]);
    });

    it('omits such a parent, or fails, as configured', async function () {
      const omitted = await withoutR2('omit');
      expect(omitted.parents.D2).to.deep.equal([]);
      expect(omitted.rows[0].message).to.equal('parent "R2" in hierarchy "H" is not exported; no parent set');
      const err = await withoutR2('fail').catch((e) => e);
      expect(err.message).to.equal('parent "R2" of "D2" in hierarchy "H" is not exported');
    });

    it('ignores a link with an invalid date, with a row for its child, and links not valid at the date', async function () {
      const model = registry();
      model.links.find((l) => l.childCode === 'D1').startDate = '2020-13-45';
      model.links.find((l) => l.childCode === 'D2').startDate = '2027-01-01';
      const scope = planScope(model, options(), 'run');
      const rows = [];
      const planned = await planObjects(exportableObjects(model, scope, rows, { invalid: 0, notExisting: 0, unchanged: 0 }), scope, rows);
      linkParents(planned, model, scope, rows);
      expect(planned.get('D1').parents).to.deep.equal([]);
      expect(planned.get('D2').parents).to.deep.equal([]);
      expect(rowTexts(rows)).to.deep.equal([
        'ERROR D1: its link to parent "R1" in hierarchy "H" is ignored: its start date "2020-13-45" is not a valid yyyy-mm-dd date',
      ]);
    });

    it('leaves out the objects on a parent cycle, and their children lose that parent', async function () {
      const model = registry();
      // R1 → D1 → R1 (a district as a region's parent).
      model.links.push(link('R1', 'Region', 'D1', 'District'));
      model.links.splice(
        model.links.findIndex((l) => l.childCode === 'R1' && l.parentCode === 'C'),
        1,
      );
      model.objects.push(object('D4', 'District'));
      model.links.push(link('D4', 'District', 'D1', 'District'));
      const prepared = await prepareExport(model, options({ onMissingParent: 'omit' }), 'run');
      expect(codes(prepared.planned)).to.not.include.members(['R1', 'D1']);
      expect(rowTexts(prepared.rows).filter((t) => t.includes('cycle'))).to.deep.equal([
        'ERROR R1: parent cycle in hierarchy "H": "R1" → "D1" → "R1": not exported',
        'ERROR D1: parent cycle in hierarchy "H": "R1" → "D1" → "R1": not exported',
        'WARNING D4: parent "D1" in hierarchy "H" is on a parent cycle; no parent set',
      ]);
    });
  });

  describe('the plan to send', function () {
    it('orders the objects parents first (level, then code descending) and indexes them by code', async function () {
      const p = await planExport(registry(), options(), 'run');
      expect(p.objects.map((o) => o.object.code)).to.deep.equal(['C', 'R2', 'R1', 'D3', 'D2', 'D1']);
      expect([...p.index.keys()].sort()).to.deep.equal(['C', 'D1', 'D2', 'D3', 'R1', 'R2']);
      for (const o of p.objects) expect(p.index.get(o.object.code)).to.equal(o);
      expect([...p.existing].sort()).to.deep.equal(['C', 'D1', 'D2', 'D3', 'R1', 'R2']);
    });

    it('leaves out what is unchanged in incremental runs, and can be taken again with other fingerprints', async function () {
      const model = registry();
      const prepared = await prepareExport(model, options({ incremental: true }), 'run');
      const all = exportPlan(prepared, {});
      expect(all.objects).to.have.length(6);
      const previous = { ...prepared.fingerprints };
      const none = exportPlan(prepared, previous);
      expect(none.objects).to.deep.equal([]);
      expect(none.skipped.unchanged).to.equal(6);
      delete previous.D2;
      const one = exportPlan(prepared, previous);
      expect(one.objects.map((o) => o.object.code)).to.deep.equal(['D2']);
      expect(one.skipped.unchanged).to.equal(5);
      // The fingerprints are those of every exportable object, sent or not.
      expect(Object.keys(one.fingerprints)).to.have.length(6);
    });

    it('changes an object’s fingerprint with what its resources are built from, and only that object’s', async function () {
      const before = (await prepareExport(registry(), options(), 'generate')).fingerprints;
      const model = registry();
      model.objects.find((o) => o.code === 'D3').label.default = 'Renamed';
      const after = (await prepareExport(model, options(), 'generate')).fingerprints;
      expect(Object.keys(before).filter((code) => before[code] !== after[code])).to.deep.equal(['D3']);
    });
  });
});
