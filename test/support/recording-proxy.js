'use strict';
// A transparent loopback proxy in front of a FHIR server (HAPI FHIR), logging each request as the sandbox server
// logs its own ({method, url relative to the base, entries of a Bundle posted to the base, and that Bundle and its text}), so
// suites can check what reached the backend on either. The Host header passes unchanged, so the server builds
// its links on the proxy's address, which is the backend base the gateway knows. Like the sandbox server, it can
// answer the next matching requests with an error instead (`fault({status, match, count})`).
const http = require('node:http');

/** Starts the proxy for `target` (a base URL ending in /); resolves with { base, requests, reset, fault, close }. */
async function startRecordingProxy(target) {
  const upstream = new URL(target);
  let requests = [];
  let faults = [];
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const url = req.url.startsWith(upstream.pathname) ? req.url.slice(upstream.pathname.length).replace(/^\/+/, '') : req.url;
      const entry = { method: req.method, url };
      if (req.method === 'POST' && url === '') {
        const bundle = safeParse(raw);
        entry.entries = bundle?.entry?.length;
        // The Bundle itself and its text as sent, kept out of deep comparisons of the log.
        Object.defineProperty(entry, 'bundle', { value: bundle, enumerable: false });
        Object.defineProperty(entry, 'text', { value: raw.toString(), enumerable: false });
      }
      requests.push(entry);
      const fault = faults.find((f) => f.count > 0 && `${req.method} ${url}`.includes(f.match));
      if (fault) {
        fault.count--;
        res.writeHead(fault.status, { 'content-type': 'application/fhir+json' });
        const issue = { severity: 'error', code: 'transient', diagnostics: `injected fault ${fault.status}` };
        return res.end(JSON.stringify({ resourceType: 'OperationOutcome', issue: [issue] }));
      }
      const out = http.request(
        { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers },
        (answer) => {
          res.writeHead(answer.statusCode, answer.headers);
          answer.pipe(res);
        },
      );
      out.on('error', (err) => {
        res.writeHead(502, { 'content-type': 'text/plain' });
        res.end(`recording proxy: ${err.message}`);
      });
      out.end(raw);
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    base: `http://127.0.0.1:${server.address().port}${upstream.pathname}`,
    requests: () => requests,
    reset: () => (requests = []),
    /** `{clear: true}` removes every fault. */
    fault: ({ clear, status = 503, match = '', count = 1 }) => (faults = clear ? [] : [...faults, { status, match, count }]),
    close: () =>
      new Promise((resolve) => {
        server.close(resolve);
        server.closeAllConnections();
      }),
  };
}

function safeParse(raw) {
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch {
    return undefined;
  }
}

module.exports = { startRecordingProxy };
