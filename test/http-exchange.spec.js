'use strict';
// One HTTP exchange over Node's own client, as the export's transactions and the gateway's backend requests make it,
// against a plain node:http server on loopback: the body goes with its length and the answer comes whole; a deadline,
// an abort and a pooled connection the server closed each end in a failure saying which it was.
const http = require('node:http');
const { expect } = require('chai');
const { httpExchange, ExchangeFailure } = require('../nodes/lib/fhir/http-exchange.js');

describe('HTTP exchange', function () {
  let server;
  let origin;
  /** What the server does with each request: (req, body, res) => void. */
  let handle;
  const seen = [];

  before(async function () {
    server = http.createServer((req, res) => {
      const chunks = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        seen.push({ method: req.method, url: req.url, headers: req.headers, body });
        handle(req, body, res);
      });
    });
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
    origin = { protocol: 'http:', hostname: '127.0.0.1', port: server.address().port };
  });
  after(() => server.close());
  beforeEach(() => {
    seen.length = 0;
    handle = (req, body, res) => res.end(body);
  });

  const failureOf = (promise) =>
    promise.then(
      () => expect.fail('the exchange was answered'),
      (err) => err,
    );

  it('sends the body with its Content-Length and reads an answer of many pieces whole', async function () {
    const body = Buffer.from(`{"text":"${'Santé 中文 😀 '.repeat(20000)}"}`);
    handle = (req, received, res) => {
      res.writeHead(201, { 'content-type': 'application/fhir+json', location: 'Bundle/1' });
      // Written in small pieces, split inside multi-byte characters.
      for (let i = 0; i < received.length; i += 1001) res.write(received.subarray(i, i + 1001));
      res.end();
    };
    const answer = await httpExchange({ options: { ...origin, method: 'POST', path: '/fhir/' }, headers: { accept: 'x/y' }, body });
    expect(seen[0].headers['content-length']).to.equal(String(body.length));
    expect(seen[0].headers.accept).to.equal('x/y');
    expect(seen[0].url).to.equal('/fhir/');
    expect(answer.status).to.equal(201);
    expect(answer.headers.location).to.equal('Bundle/1');
    expect(answer.body.equals(body)).to.equal(true);
  });

  it('sends no Content-Length without a body', async function () {
    const answer = await httpExchange({ options: { ...origin, method: 'GET', path: '/x?y=1' }, headers: {} });
    expect(answer.status).to.equal(200);
    expect(seen[0].headers).to.not.have.property('content-length');
    expect(seen[0].url).to.equal('/x?y=1');
  });

  it('ends at its deadline as timed out, and the server sees the connection closed', async function () {
    let closed;
    const gone = new Promise((resolve) => (closed = resolve));
    handle = (req, body, res) => res.on('close', closed);
    const failure = await failureOf(httpExchange({ options: { ...origin, method: 'GET', path: '/slow' }, headers: {}, timeoutMs: 100 }));
    expect(failure).to.be.instanceOf(ExchangeFailure);
    expect(failure.timedOut).to.equal(true);
    await gone;
  });

  it('ends when its signal aborts, not as timed out', async function () {
    handle = () => {};
    const controller = new AbortController();
    const pending = httpExchange({
      options: { ...origin, method: 'GET', path: '/held' },
      headers: {},
      signal: controller.signal,
      timeoutMs: 60000,
    });
    while (!seen.length) await new Promise((resolve) => setImmediate(resolve));
    controller.abort(new Error('stopped'));
    const failure = await failureOf(pending);
    expect(failure).to.be.instanceOf(ExchangeFailure);
    expect(failure.timedOut).to.equal(false);
    expect(failure.cause.name).to.equal('AbortError');
  });

  it('says so when a pooled connection the server had closed was reused (stale)', async function () {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const options = { ...origin, method: 'GET', path: '/a', agent };
    await httpExchange({ options, headers: {} });
    // The second request's connection is the first one, which the server drops as the request arrives.
    handle = (req) => req.socket.destroy();
    const failure = await failureOf(httpExchange({ options, headers: {} }));
    agent.destroy();
    expect(seen).to.have.length(2);
    expect(failure.stale).to.equal(true);
    expect(failure.timedOut).to.equal(false);
    expect(failure.cause.code).to.equal('ECONNRESET');
  });

  it('names the network error of a server that is not there', async function () {
    const closed = http.createServer();
    await new Promise((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address();
    await new Promise((resolve) => closed.close(resolve));
    const failure = await failureOf(httpExchange({ options: { ...origin, port, method: 'GET', path: '/' }, headers: {} }));
    expect(failure.cause.code).to.equal('ECONNREFUSED');
    expect(failure.stale).to.equal(false);
    expect(failure.message).to.include('ECONNREFUSED');
  });

  it('fails, without sending, on a header value Node refuses', async function () {
    const failure = await failureOf(httpExchange({ options: { ...origin, method: 'GET', path: '/' }, headers: { 'x-bad': 'a\nb' } }));
    expect(failure).to.be.instanceOf(ExchangeFailure);
    expect(failure.cause.code).to.equal('ERR_INVALID_CHAR');
    expect(seen).to.have.length(0);
  });
});
