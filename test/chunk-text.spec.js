'use strict';
// A chunk's text as the export writes it, in pieces, and the bytes a run sends of it: the same text as JSON.stringify
// of the chunk's Bundle, and its UTF-8 bytes, for labels outside ASCII, chunks of one object and chunks of many
// pieces, in buffers a run lends out and takes back. No FHIR server.
const { expect } = require('chai');
const { DEFAULT_EXPORT_OPTIONS, planExport } = require('../nodes/lib/sync/export-plan.js');
const { buildChunk, chunkBundle, chunkText, planChunks } = require('../nodes/lib/sync/bundles.js');
const { TransactionBodies } = require('../nodes/lib/sync/transaction-bodies.js');

const { square } = require('./support/preview-data');

const BOUNDARY = { type: 'Polygon', coordinates: [square(0, 0, 1)] };

/** A country and `n` districts whose labels hold accents, CJK and astral characters. */
function registry(n) {
  const type = (code) => ({ code, label: { default: code }, geometryType: 'MULTIPOLYGON', isAbstract: false });
  const object = (code, t, label) => ({
    code,
    type: t,
    label: { default: label, fr: `${label} (fr)` },
    exists: true,
    invalid: false,
    geometry: BOUNDARY,
  });
  const districts = Array.from({ length: n }, (_, i) => object(`D${i}`, 'District', `Santé ${i} 中文 😀 "q" \\`));
  return {
    forDate: '2026-01-01',
    types: [type('Country'), type('District')],
    hierarchies: [{ code: 'H', label: { default: 'H' }, tree: [{ type: 'Country', children: [{ type: 'District', children: [] }] }] }],
    objects: [object('C', 'Country', 'Côte'), ...districts],
    links: districts.map((d) => ({ hierarchy: 'H', childCode: d.code, childType: 'District', parentCode: 'C', parentType: 'Country' })),
  };
}

const outside = { reference: async () => undefined };
const LIMIT = DEFAULT_EXPORT_OPTIONS.maxRequestBytes;

async function chunksOf(n, chunkSize) {
  const options = { ...DEFAULT_EXPORT_OPTIONS, system: 'http://moh.example/registry', idStrategy: 'server', chunkSize };
  const plan = await planExport(registry(n), options, 'run');
  return Promise.all(planChunks(plan, options).map((objects) => buildChunk(objects, plan, options, outside)));
}

describe("a chunk's text", function () {
  for (const [what, n, chunkSize] of [
    ['one object a chunk', 3, 2],
    ['a few objects', 5, 500],
    ['many pieces', 400, 1000],
  ]) {
    it(`is the Bundle's JSON, and the bytes sent are the text's UTF-8 (${what})`, async function () {
      const bodies = new TransactionBodies();
      for (const chunk of await chunksOf(n, chunkSize)) {
        const pieces = [...chunkText(chunk)];
        const text = pieces.join('');
        expect(text).to.equal(JSON.stringify({ ...chunk.head, entry: chunk.objects.flatMap((p) => chunk.entriesOf(p)) }));
        expect(chunkBundle(chunk)).to.deep.equal(JSON.parse(text));
        const written = bodies.write(chunkText(chunk), LIMIT);
        expect(written.fits).to.equal(true);
        expect(written.body.bytes.equals(Buffer.from(text))).to.equal(true);
        written.body.release();
        // Longer than a limit: counted to the byte, not written.
        expect(bodies.write(chunkText(chunk), Buffer.byteLength(text) - 1)).to.deep.equal({ fits: false, length: Buffer.byteLength(text) });
        expect(text.length).to.be.below(Buffer.byteLength(text));
        // Pieces of about 16 KB: every one but the last at least that long.
        for (const piece of pieces.slice(0, -1)) expect(piece.length).to.be.at.least(1 << 14);
        if (what === 'many pieces') expect(pieces.length).to.be.above(5);
      }
    });
  }
});

describe('transaction bodies', function () {
  const lend = (bodies, pieces, limit = LIMIT) => bodies.write(pieces, limit).body;

  it('are lent one buffer each while in flight, and reuse a buffer given back, grown to the largest body it held', function () {
    const bodies = new TransactionBodies();
    const large = 'é'.repeat(200 * 1024);
    const a = lend(bodies, ['{"a":"', large, '"}']);
    // A second body while the first is in flight: a buffer of its own, the first one's bytes untouched.
    const b = lend(bodies, ['{"b":1}']);
    expect(b.bytes.buffer).to.not.equal(a.bytes.buffer);
    expect(a.bytes.toString()).to.equal(`{"a":"${large}"}`);
    expect(b.bytes.toString()).to.equal('{"b":1}');
    a.release();
    // Given back twice by mistake, it is still lent only once.
    a.release();
    const c = lend(bodies, ['{"c":2}']);
    expect(c.bytes.buffer).to.equal(a.bytes.buffer);
    expect(c.bytes.toString()).to.equal('{"c":2}');
    const d = lend(bodies, ['{"d":3}']);
    expect(d.bytes.buffer).to.not.equal(a.bytes.buffer);
    expect([c, d, b].map((x) => x.bytes.length)).to.deep.equal([7, 7, 7]);
  });

  it('never grow a buffer past the request limit: a longer body is only counted, and its buffer is lent again', function () {
    const bodies = new TransactionBodies();
    const limit = 300 * 1024;
    const piece = 'x'.repeat(100 * 1024);
    expect(bodies.write([piece, piece, piece, piece, 'é'], limit)).to.deep.equal({ fits: false, length: 4 * piece.length + 2 });
    const next = lend(bodies, [piece, piece], limit);
    expect(next.bytes.length).to.equal(2 * piece.length);
    expect(next.bytes.buffer.byteLength).to.be.at.most(limit);
    next.release();
    // Exactly the limit fits.
    expect(lend(bodies, [piece, piece, 'y'.repeat(limit - 2 * piece.length)], limit).bytes.length).to.equal(limit);
  });
});
