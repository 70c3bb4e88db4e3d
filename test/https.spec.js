'use strict';
// An export to a FHIR server over HTTPS whose certificate comes from an authority of its own, as an in-house HAPI
// behind TLS: Node-RED is told of that authority by NODE_EXTRA_CA_CERTS (read when the process starts, so each
// runtime here is a process of its own). Trusted, every transaction reaches the server whole over the kept-alive
// TLS connection and the import reads it all back; untrusted, the run fails at once (a certificate does not change
// on a retry), naming the certificate and what to do, and nothing reaches the server.
const fs = require('node:fs');
const https = require('node:https');
const os = require('node:os');
const path = require('node:path');
const { expect } = require('chai');
const { startPeer, startProcess } = require('./support/peers');
const { until } = require('./support/until');
const { sandboxExport, sandboxSystem } = require('./support/flows');

const KEYS = path.join(__dirname, 'peers', 'keys');
const KEY = path.join(KEYS, 'loopback-tls.key.pem');
const CERT = path.join(KEYS, 'loopback-tls.cert.pem');
const RUNTIME = path.join(__dirname, 'support', 'runtime-process.js');
const SYSTEM = 'http://moh.example/registry';

/** GET `url` from the TLS peer as JSON, trusting its certificate (this process was not started with it). */
function getJson(url) {
  return new Promise((resolve, reject) => {
    https
      .get(url, { ca: fs.readFileSync(CERT) }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (piece) => (text += piece));
        res.on('end', () => resolve(JSON.parse(text)));
      })
      .on('error', reject);
  });
}

const flows = (fhirBase) => [
  { id: 'f1', type: 'tab', label: 'export' },
  sandboxSystem({ url: fhirBase, system: SYSTEM }),
  { id: 'src', z: 'f1', type: 'gpr-hierarchy-source', source: 'sample', forDate: '', wires: [[]] },
  // 100 objects a transaction: the 324 of the sample, boundaries and all, in four.
  sandboxExport({ hierarchies: '', chunkSize: 200, concurrency: 1 }),
  { id: 'imp', z: 'f1', type: 'fhir-import', organization: 'MOH', system: 'sys', hierarchy: 'UgandaAdmin', pageSize: 100, wires: [[]] },
];

describe('an export over HTTPS to a server with a certificate authority of its own', function () {
  this.timeout(120000);
  let dir;
  let fhir;
  const started = [];
  const runtimeFor = async (name, env) => {
    const user = path.join(dir, name);
    fs.mkdirSync(user);
    fs.writeFileSync(path.join(user, 'flows.json'), JSON.stringify(flows(fhir.url)));
    const runtime = await startProcess('Node-RED', process.execPath, [RUNTIME, user], { env });
    started.push(runtime);
    return runtime;
  };
  const runNow = async (runtime, node = 'fhir-export/exp') => {
    const admin = (route, init) => fetch(`${runtime.url}${route}`, init).then((r) => r.json());
    const { id } = await admin(`/${node}/run`, { method: 'POST' });
    let job;
    await until('the run to end', async () => ['SUCCESS', 'FAILURE'].includes((job = await admin(`/${node}/jobs/${id}`)).status));
    return job;
  };
  const transactions = async () => (await getJson(new URL('/__requests', fhir.url))).filter((r) => r.method === 'POST' && r.url === '');

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'geofhir-https-'));
    fhir = await startPeer('fhir-server.mjs', ['0'], { FHIR_TLS: `${KEY},${CERT}` });
    started.push(fhir);
  });
  after(async () => {
    await Promise.all(started.map((p) => p.stop('SIGKILL')));
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('fails naming the certificate when the runtime does not trust its authority, and sends nothing', async function () {
    expect(fhir.url).to.match(/^https:/);
    const job = await runNow(await runtimeFor('untrusting', {}));
    expect(job.status).to.equal('FAILURE');
    expect(job.exception.message).to.match(/certificate/i);
    expect(job.exception.message).to.include(fhir.url.replace(/\/$/, ''));
    // One handshake, refused, and no request after it: the run was not retried.
    const log = await getJson(new URL('/__requests', fhir.url));
    expect(log.filter((r) => r.tlsRefused)).to.have.length(1);
    expect(log.filter((r) => r.method)).to.deep.equal([]);
  });

  it('exports the sample whole, and imports it back, when NODE_EXTRA_CA_CERTS names its authority', async function () {
    const runtime = await runtimeFor('trusting', { NODE_EXTRA_CA_CERTS: CERT });
    const job = await runNow(runtime);
    expect(job).to.deep.include({ status: 'SUCCESS', objectsExported: 324, resourcesExported: 648 });
    // Each transaction was read whole by the server: a body cut short would not have parsed into its entries.
    expect((await transactions()).map((t) => t.entries)).to.deep.equal([200, 200, 200, 48]);
    const held = await getJson(new URL(`Location?identifier=${encodeURIComponent(SYSTEM)}|&_summary=count`, fhir.url));
    expect(held.total).to.equal(324);
    // Read back page by page through the FHIR client's own requests.
    const imported = await runNow(runtime, 'fhir-import/imp');
    expect(imported).to.deep.include({ status: 'SUCCESS', objectsImported: 324 });
  });
});
