'use strict';
// Backend URLs rewritten to the gateway's public base: in text bodies, in Location headers, and in Bundles
// that post-filters parse and serialise again (those against the sandbox FHIR server).
const { expect } = require('chai');
const { Backend } = require('../../nodes/lib/gateway/proxy/backend.js');
const { UrlRewriter, isTextBody } = require('../../nodes/lib/gateway/proxy/rewrite.js');

const BACKEND = 'http://hapi:8080/fhir';
const PUBLIC = 'https://gw.example.org/fhir';

const response = (contentType, body, headers = {}) => ({
  status: 200,
  headers: { 'content-type': contentType, ...headers },
  body: Buffer.from(body),
  contentType,
});

describe('gateway URL rewriting', function () {
  const rewriter = new UrlRewriter({ backendBase: BACKEND, publicBase: PUBLIC });

  describe('text', function () {
    it('replaces every occurrence of the base, with or without the following slash', function () {
      const text = `${BACKEND}/Patient/1 ${BACKEND} ${BACKEND}?_getpages=x ${BACKEND}/#top "${BACKEND}"`;
      expect(rewriter.text(text)).to.equal(`${PUBLIC}/Patient/1 ${PUBLIC} ${PUBLIC}?_getpages=x ${PUBLIC}/#top "${PUBLIC}"`);
    });

    it('treats a configured base with or without its trailing slash alike', function () {
      for (const [backendBase, publicBase] of [
        [`${BACKEND}/`, PUBLIC],
        [BACKEND, `${PUBLIC}/`],
        [`${BACKEND}/`, `${PUBLIC}/`],
      ]) {
        expect(new UrlRewriter({ backendBase, publicBase }).text(`${BACKEND}/Patient/1`)).to.equal(`${PUBLIC}/Patient/1`);
      }
    });

    it("writes a public base holding '$' as it is, not as a replacement pattern", function () {
      for (const publicBase of ['https://gw.example.org/$&', "https://gw.example.org/a$'b$1$$"]) {
        expect(new UrlRewriter({ backendBase: BACKEND, publicBase }).text(`"${BACKEND}/Patient/1"`)).to.equal(`"${publicBase}/Patient/1"`);
      }
    });

    it('leaves URLs that only start like the base', function () {
      for (const other of [`${BACKEND}2/Patient/1`, `${BACKEND}.old/Patient`, `${BACKEND}-test`, 'http://hapi:80800/fhir']) {
        expect(rewriter.text(other)).to.equal(other);
      }
    });

    it("rewrites Google Cloud Healthcare's long base path and Azure's root base, links with page tokens included", function () {
      const google = 'https://healthcare.googleapis.com/v1/projects/p/locations/l/datasets/d/fhirStores/s/fhir';
      const g = new UrlRewriter({ backendBase: google, publicBase: PUBLIC });
      expect(g.text(`"${google}/Location?_page_token=AbC-_1" "${google}/Location/7/_history/2"`)).to.equal(
        `"${PUBLIC}/Location?_page_token=AbC-_1" "${PUBLIC}/Location/7/_history/2"`,
      );
      // Another store of the same dataset is not this backend.
      expect(g.text(`${google.replace('/s/fhir', '/s2/fhir')}/Location`)).to.include('/s2/fhir/Location');
      const azure = 'https://ws-svc.fhir.azurehealthcareapis.com';
      const a = new UrlRewriter({ backendBase: `${azure}/`, publicBase: PUBLIC });
      expect(a.text(`"${azure}/Patient?_count=2&ct=W3sidG9rZW4iOiIr" "${azure}" "${azure}.evil.example/Patient"`)).to.equal(
        `"${PUBLIC}/Patient?_count=2&ct=W3sidG9rZW4iOiIr" "${PUBLIC}" "${azure}.evil.example/Patient"`,
      );
      expect(a.headers({ location: `${azure}/Location/1/_history/1` }).location).to.equal(`${PUBLIC}/Location/1/_history/1`);
    });

    it('rewrites the base under the other scheme and under configured aliases', function () {
      const aliased = new UrlRewriter({
        backendBase: BACKEND,
        publicBase: PUBLIC,
        aliases: ['http://10.0.0.5:8080/fhir/', 'https://fhir.internal/fhir'],
      });
      const text = 'https://hapi:8080/fhir/Patient/1 http://10.0.0.5:8080/fhir/Patient/2 https://fhir.internal/fhir?x=1';
      expect(aliased.text(text)).to.equal(`${PUBLIC}/Patient/1 ${PUBLIC}/Patient/2 ${PUBLIC}?x=1`);
    });

    it('ignores user info in the configured backend base', function () {
      const r = new UrlRewriter({ backendBase: 'http://user:secret@hapi:8080/fhir', publicBase: PUBLIC });
      expect(r.text(`${BACKEND}/Patient/1`)).to.equal(`${PUBLIC}/Patient/1`);
    });

    it('is idempotent, also when one base extends the other', function () {
      const cases = [
        [BACKEND, 'http://hapi:8080/fhir/gw', `${BACKEND}/Patient/1`, 'http://hapi:8080/fhir/gw/Patient/1'],
        ['http://hapi:8080/fhir/R4', 'http://hapi:8080/fhir', 'http://hapi:8080/fhir/R4/Patient/1', 'http://hapi:8080/fhir/Patient/1'],
      ];
      for (const [backendBase, publicBase, input, expected] of cases) {
        const r = new UrlRewriter({ backendBase, publicBase });
        expect(r.text(input)).to.equal(expected);
        expect(r.text(r.text(input))).to.equal(expected);
      }
    });
  });

  describe('responses', function () {
    it('rewrites JSON and XML bodies and returns them as text', function () {
      const json = rewriter.response(response('application/fhir+json; charset=utf-8', `{"fullUrl":"${BACKEND}/Patient/1"}`));
      expect(json.body).to.equal(`{"fullUrl":"${PUBLIC}/Patient/1"}`);
      const xml = rewriter.response(response('application/fhir+xml', `<fullUrl value="${BACKEND}/Patient/1"/>`));
      expect(xml.body).to.equal(`<fullUrl value="${PUBLIC}/Patient/1"/>`);
    });

    it('passes other bodies unchanged', function () {
      for (const res of [
        response('application/pdf', `%PDF ${BACKEND}/Binary/1`),
        response('text/plain', `${BACKEND}/Patient/1`),
        response('application/fhir+json', `{"url":"${BACKEND}"}`, { 'content-encoding': 'gzip' }),
        { ...response(undefined, `${BACKEND}/x`), contentType: undefined },
      ]) {
        expect(rewriter.response(res).body).to.equal(res.body);
      }
    });

    it('rewrites Location and Content-Location, and no other header', function () {
      const res = response('application/fhir+json', '{}', {
        location: `${BACKEND}/Patient/1/_history/1`,
        'content-location': `${BACKEND}/Patient/1/_history/1`,
        'x-request-id': BACKEND,
      });
      expect(rewriter.response(res).headers).to.deep.equal({
        'content-type': 'application/fhir+json',
        location: `${PUBLIC}/Patient/1/_history/1`,
        'content-location': `${PUBLIC}/Patient/1/_history/1`,
        'x-request-id': BACKEND,
      });
    });

    it('rewrites an error answer and keeps its status', function () {
      const outcome = {
        resourceType: 'OperationOutcome',
        issue: [{ severity: 'error', code: 'exception', diagnostics: `failed at ${BACKEND}/Patient` }],
      };
      const res = rewriter.response({ ...response('application/fhir+json', JSON.stringify(outcome)), status: 500 });
      expect(res.status).to.equal(500);
      expect(JSON.parse(res.body).issue[0].diagnostics).to.equal(`failed at ${PUBLIC}/Patient`);
    });

    it('knows which media types are text it rewrites', function () {
      for (const type of [
        'application/fhir+json',
        'application/json;charset=UTF-8',
        'application/fhir+xml',
        'application/xml',
        'text/xml',
        'application/json-patch+json',
      ]) {
        expect(isTextBody(type), type).to.equal(true);
      }
      for (const type of [undefined, '', 'application/pdf', 'text/html', 'application/octet-stream', 'image/png', 'application/jsonx']) {
        expect(isTextBody(type), type).to.equal(false);
      }
    });
  });

  describe('post-filtered Bundles from the sandbox FHIR server', function () {
    let backend;
    let peer;
    let family;
    const fhir = () => process.env.FHIR_BASE;

    before(async () => {
      backend = new Backend({ baseUrl: fhir() });
      peer = new UrlRewriter({ backendBase: fhir(), publicBase: PUBLIC });
      family = `Rw${Date.now()}`;
      for (let i = 0; i < 3; i++) {
        await backend.forward({
          method: 'POST',
          path: 'Patient',
          query: {},
          headers: {},
          body: { resourceType: 'Patient', name: [{ family }] },
        });
      }
    });
    after(() => backend.close());

    it('parses a searchset with public URLs, and rewrites what a post-filter adds', async function () {
      const res = await backend.forward({ method: 'GET', path: 'Patient', query: { family: [family], _count: ['2'] }, headers: {} });
      const bundle = peer.parseJson(res.body);
      expect(bundle.link.every((l) => l.url.startsWith(`${PUBLIC}/Patient?`))).to.equal(true);
      bundle.entry = bundle.entry.slice(1);
      // A post-filter may add what it read from the backend itself: that is rewritten on the way out.
      bundle.link.push({ relation: 'related', url: `${fhir()}Patient/${bundle.entry[0].resource.id}` });
      const text = peer.text(JSON.stringify(bundle));
      expect(text).not.to.include(fhir().replace(/\/$/, ''));
      const out = JSON.parse(text);
      expect(out.entry).to.have.length(1);
      expect(out.entry[0].fullUrl).to.equal(`${PUBLIC}/Patient/${out.entry[0].resource.id}`);
      expect(out.link.at(-1).url).to.equal(`${PUBLIC}/Patient/${out.entry[0].resource.id}`);
    });
  });
});
