'use strict';
// Incremental export: after any edit to what a Bundle is built from (labels of objects, types and
// hierarchies, geometries, parent links, level mapping, options), the objects sent again are exactly
// those whose generated resources differ.
const { expect } = require('chai');
const { usaModel } = require('./support/gpr-fixtures');
const fc = require('fast-check');
const { generateExport } = require('../nodes/lib/sync/generate.js');
const { DEFAULT_EXPORT_OPTIONS, planExport } = require('../nodes/lib/sync/export-plan.js');
const { requiresReferenceData } = require('./support/requirements');

const OPTIONS = { ...DEFAULT_EXPORT_OPTIONS, system: 'http://moh.example/registry', chunkSize: 100000 };

/** code -> the JSON of its entries (resources and requests). */
async function entriesByCode(model, options) {
  const out = await generateExport(model, options);
  const by = new Map();
  for (const e of out.bundles.flatMap((b) => b.entry)) {
    const code = e.resource.identifier[0].value;
    by.set(code, (by.get(code) ?? '') + JSON.stringify([e.resource, e.request]));
  }
  return by;
}

/** One random edit of the model or the options. */
const edit = fc.oneof(
  fc.record({ kind: fc.constant('label'), i: fc.nat(), locale: fc.constantFrom('default', 'km'), text: fc.string({ minLength: 1 }) }),
  fc.record({ kind: fc.constant('typeLabel'), i: fc.nat(), text: fc.string({ minLength: 1 }) }),
  fc.record({ kind: fc.constant('hierarchyLabel'), i: fc.nat(), text: fc.string({ minLength: 1 }) }),
  fc.record({ kind: fc.constant('move'), i: fc.nat(), dx: fc.double({ min: -1, max: 1, noNaN: true }) }),
  fc.record({ kind: fc.constant('reparent'), i: fc.nat(), j: fc.nat() }),
  fc.record({ kind: fc.constant('levelDisplay'), i: fc.nat(), text: fc.string({ minLength: 1 }) }),
  fc.record({ kind: fc.constant('partOfHierarchy'), i: fc.nat() }),
  fc.record({ kind: fc.constant('levelKind'), i: fc.nat(), to: fc.constantFrom('facility', 'jurisdiction', 'auto') }),
  fc.record({ kind: fc.constant('locationPartOf') }),
);

function apply(model, options, e) {
  const pick = (list, i) => list[i % list.length];
  switch (e.kind) {
    case 'label':
      pick(model.objects, e.i).label[e.locale] = e.text;
      break;
    case 'typeLabel':
      pick(model.types, e.i).label.default = e.text;
      break;
    case 'hierarchyLabel':
      pick(model.hierarchies, e.i).label.default = e.text;
      break;
    case 'move': {
      const o = pick(
        model.objects.filter((x) => x.geometry?.type === 'MultiPoint'),
        e.i,
      );
      o.geometry = { ...o.geometry, coordinates: o.geometry.coordinates.map(([x, y]) => [x + e.dx, y]) };
      break;
    }
    case 'reparent': {
      const link = pick(model.links, e.i);
      const candidates = model.objects.filter((o) => o.type === link.parentType);
      link.parentCode = pick(candidates, e.j).code;
      break;
    }
    case 'levelDisplay': {
      const levels = options.levels ?? planLevels();
      pick(levels, e.i).fhirType = { display: e.text };
      options.levels = levels;
      break;
    }
    case 'levelKind': {
      const levels = options.levels ?? planLevels();
      pick(levels, e.i).kind = e.to;
      options.levels = levels;
      break;
    }
    case 'partOfHierarchy':
      options.partOfHierarchy = pick(model.hierarchies, e.i).code;
      break;
    case 'locationPartOf':
      options.locationPartOf = !options.locationPartOf;
      break;
  }
}

let defaultLevels;
const planLevels = () => defaultLevels.map((geoObjectType) => ({ geoObjectType }));

describe('incremental export', function () {
  before(function () {
    requiresReferenceData(this);
  });
  this.timeout(120000);

  before(async () => {
    const plan = await planExport(usaModel(), OPTIONS, 'generate');
    defaultLevels = plan.levels.map((l) => l.type.code);
  });

  it('re-sends exactly the objects whose generated resources differ, for random edits', async function () {
    await fc.assert(
      fc.asyncProperty(fc.array(edit, { minLength: 1, maxLength: 4 }), async (edits) => {
        const before = usaModel();
        const after = usaModel();
        const options = structuredClone(OPTIONS);
        for (const e of edits) apply(after, options, e);
        const previous = (await planExport(before, OPTIONS, 'generate')).fingerprints;
        const [was, is] = [await entriesByCode(before, OPTIONS), await entriesByCode(after, options)];
        const differ = [...is.keys()].filter((code) => was.get(code) !== is.get(code)).sort();
        const plan = await planExport(after, { ...options, incremental: true }, 'generate', previous);
        expect(plan.objects.map((p) => p.object.code).sort()).to.deep.equal(differ);
      }),
      { numRuns: 60 },
    );
  });

  it('re-sends every object whose hierarchy extension names a renamed hierarchy', async function () {
    const before = usaModel();
    const previous = (await planExport(before, OPTIONS, 'generate')).fingerprints;
    const after = usaModel();
    after.hierarchies.find((h) => h.code === 'USATestDataReportsToCode').label.default = 'Reports to (renamed)';
    const plan = await planExport(after, { ...OPTIONS, incremental: true }, 'generate', previous);
    expect(plan.objects.map((p) => p.object.code).sort()).to.deep.equal(['USATestDataHsOne', 'USATestDataHsTwo']);
  });
});
