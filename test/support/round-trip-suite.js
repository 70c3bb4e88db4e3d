'use strict';
// The round trip registry -> export -> FHIR server -> import -> registry loses nothing: codes, labels in
// every locale, types, geometries and parent links per hierarchy, as a suite any spec runs against its server
// (the sandbox, HAPI, the cloud stand-ins): each run uses its own System and imports only that, so other data on
// the server does not matter.
const { randomUUID } = require('node:crypto');
const { expect } = require('chai');
const { DEFAULT_EXPORT_OPTIONS } = require('../../nodes/lib/sync/export-plan.js');
const { runExport } = require('../../nodes/lib/sync/export-run.js');
const { runImport, DEFAULT_IMPORT_OPTIONS } = require('../../nodes/lib/sync/import-run.js');
const { defaultTransform } = require('../../nodes/lib/mapping/fhir-to-registry.js');
const { identifierToken } = require('../../nodes/lib/fhir/search-value.js');
const { validAt } = require('../../nodes/lib/registry/model.js');
const { FAST_RETRY } = require('./fhir');
const { roundTripModel, FOR_DATE, ADMIN } = require('./round-trip-data');
const { checkResource } = require('./mcsd-rules');

/**
 * The round trip through the FHIR server `usePeer()` returns (called inside the suite: sandboxPeer, hapiPeer,
 * cloudFhirPeer), as one suite named for `server`.
 */
function roundTripSuite(server, usePeer) {
  describe(`round trip through ${server}`, function () {
    const peer = usePeer();
    this.timeout(120000);
    let system;
    let connection;
    let model;
    const exportRun = (options = {}, run = {}) =>
      runExport({
        model,
        options: { ...DEFAULT_EXPORT_OPTIONS, system, idStrategy: 'server', partOfHierarchy: ADMIN, chunkSize: 6, ...options },
        connection,
        concurrency: 2,
        retry: FAST_RETRY,
        ...run,
      });
    const ours = async (type) =>
      peer.searchAll(`${peer.base()}${type}?identifier=${encodeURIComponent(identifierToken(system, ''))}&_count=500`);

    beforeEach(() => {
      model = roundTripModel();
      system = `http://roundtrip.geofhir.invalid/${randomUUID()}`;
      connection = peer.connection(system);
    });

    it('reproduces every code, label, type, geometry and parent link per hierarchy', async function () {
      const exported = await exportRun();
      // The invalid geometry is exported as it is (a WARNING), nothing is refused.
      expect(exported.errors.filter((r) => r.severity === 'ERROR')).to.deep.equal([]);
      expect(exported.objectsExported).to.equal(model.objects.length);
      for (const type of ['Organization', 'Location']) for (const r of await ours(type)) checkResource(r);

      const { job, model: back } = await runImport({
        connection,
        transform: defaultTransform,
        retry: FAST_RETRY,
        forDate: FOR_DATE,
        options: { ...DEFAULT_IMPORT_OPTIONS, system, searchParams: { identifier: identifierToken(system, '') } },
      });
      expect(job.errors.filter((r) => r.severity === 'ERROR')).to.deep.equal([]);
      const objects = (m) =>
        Object.fromEntries(m.objects.map((o) => [o.code, { type: o.type, label: o.label, geometry: o.geometry ?? null }]));
      expect(objects(back)).to.deep.equal(objects(model));
      const types = (m) =>
        m.types.map((t) => ({ code: t.code, label: t.label, geometryType: t.geometryType })).sort((a, b) => (a.code < b.code ? -1 : 1));
      expect(types(back)).to.deep.equal(types(model));
      const links = (list) => list.map((l) => `${l.hierarchy}|${l.childType}|${l.childCode} -> ${l.parentType}|${l.parentCode}`).sort();
      expect(links(back.links)).to.deep.equal(links(model.links.filter((l) => validAt(l, FOR_DATE))));
      expect(back.hierarchies.map((h) => [h.code, h.label.default]).sort()).to.deep.equal(
        model.hierarchies.map((h) => [h.code, h.label.default]).sort(),
      );
    });

    it('keeps the resource count on repeated full exports, and every parent link on incremental runs', async function () {
      const count = async () => (await ours('Organization')).length + (await ours('Location')).length;
      let previous;
      for (let i = 0; i < 3; i++) {
        const job = await exportRun({ incremental: true }, { previous: i === 2 ? previous : undefined, onState: (s) => (previous = s) });
        expect(job.errors.filter((r) => r.severity === 'ERROR')).to.deep.equal([]);
        expect(await count(), `after run ${i + 1}`).to.equal(2 * model.objects.length);
      }
      // An incremental run that sends only children of `A,B` and `A|B` still links them to those parents.
      model.objects.find((o) => o.code === '855').label.default = 'Numeric facility (renamed)';
      const job = await exportRun({ incremental: true }, { previous });
      expect(job.objectsExported).to.equal(1);
      expect(job.errors.filter((r) => /not on the server/.test(r.message))).to.deep.equal([]);
      const orgs = await ours('Organization');
      const idOf = (code) => orgs.find((o) => o.identifier.some((i) => i.system === system && i.value === code)).id;
      const facility = orgs.find((o) => o.id === idOf('855'));
      const parents = facility.extension.map((e) => e.extension.find((x) => x.url === 'part-of').valueReference.reference);
      expect(parents).to.deep.equal([`Organization/${idOf('A,B')}`, `Organization/${idOf('Z 1')}`]);
    });
  });
}

module.exports = { roundTripSuite };
