// Gateway benchmark: the cost of gateway-authorize in a running Node-RED (http in → gateway-authorize → http
// response) against the sandbox FHIR server it fronts, a minimal jose-verifying proxy and Node-RED's own
// pass-through (http in → http request → http response), all on loopback, measured in one run with the same
// autocannon settings (a process of its own, 10 connections, 5 s per target, after a warm-up). Prints req/s, p50 and
// p99 per target, its throughput ratio to the direct request the backend gets for it and to the pass-through, and
// the CPU time this process (Node-RED, and the jose proxy) spent per request, for the gateway against the pass-through's.
// Usage: npm run build && node bench/gateway.mjs [extra Patients]   (default 0: the gateway seed alone, so that the
// sandbox's `_tag` scan, which grows with the store, does not hide the gateway's own cost)
import http from 'node:http';
import { execFileSync, execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createRemoteJWKSet, jwtVerify } from 'jose';

const require = createRequire(import.meta.url);
const { startPeer } = require('../test/support/peers.js');
const { startRuntime, deploy } = require('../test/support/runtime.js');
const { version: nodeRedVersion } = require('../test/support/node-red.js');
const peersRequire = createRequire(new URL('../test/peers/package.json', import.meta.url));
const autocannonCli = peersRequire.resolve('autocannon/autocannon.js');
const medplumVersion = JSON.parse(
  readFileSync(new URL('../test/peers/node_modules/@medplum/fhir-router/package.json', import.meta.url)),
).version;
const { seed, resources, TAG_SYSTEMS, KEYCLOAK_USER_SYSTEM } = await import('../test/peers/gateway-seed.mjs');

const EXTRA = Number(process.argv[2] ?? 0);
const DURATION = 5;
const CONNECTIONS = 10;
const PUBLIC = 'https://gateway.example.org/fhir';

// Nothing may hang: after two minutes the run fails. Whatever ends the process takes its peers down.
const peers = [];
process.on('exit', () => peers.forEach((peer) => peer.child.kill()));
setTimeout(() => {
  console.error('gateway bench: still running after 120 s, giving up');
  process.exit(2);
}, 120_000).unref();

const fhir = await startPeer('fhir-server.mjs', ['0']);
peers.push(fhir);
const oidc = await startPeer('oidc-provider.mjs', ['0', '--audience', fhir.url]);
peers.push(oidc);
const peerNode = execFileSync(fhir.child.spawnfile, ['--version']).toString().trim();

// Data: the gateway seed plus EXTRA Patients spread over the seed's placements, as one transaction.
await seed(fhir.url);
if (EXTRA > 0) {
  const placed = ['L1a', 'L1b', 'L1a1', 'L2a', 'L2', 'L9'];
  const entry = Array.from({ length: EXTRA }, (_, i) => ({
    resource: {
      resourceType: 'Patient',
      id: `bench-${i}`,
      name: [{ family: `Bench ${i}` }],
      meta: { tag: [{ system: TAG_SYSTEMS.Location, code: placed[i % placed.length] }] },
    },
    request: { method: 'PUT', url: `Patient/bench-${i}` },
  }));
  const loaded = await fetch(fhir.url, {
    method: 'POST',
    headers: { 'content-type': 'application/fhir+json' },
    body: JSON.stringify({ resourceType: 'Bundle', type: 'transaction', entry }),
  });
  if (!loaded.ok) throw new Error(`loading ${EXTRA} Patients answered ${loaded.status}`);
  await loaded.arrayBuffer();
}

async function tokenOf(username) {
  const res = await fetch(`${oidc.url}/protocol/openid-connect/token`, {
    method: 'POST',
    headers: { authorization: `Basic ${Buffer.from('mobile-app:mobile-app-secret').toString('base64')}` },
    body: new URLSearchParams({ grant_type: 'password', username, password: `${username}-password`, scope: 'openid fhir' }),
  });
  return (await res.json()).access_token;
}
const carol = await tokenOf('carol');
const webby = await tokenOf('webby');

// The minimal proxy: verify the bearer token against the issuer's JWKS, forward to the backend, relay the answer.
const { jwks_uri } = await (await fetch(`${oidc.url}/.well-known/openid-configuration`)).json();
const jwks = createRemoteJWKSet(new URL(jwks_uri));
const agent = new http.Agent({ keepAlive: true });
const proxy = http.createServer(async (req, res) => {
  try {
    await jwtVerify(/^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1] ?? '', jwks, { issuer: oidc.url, audience: fhir.url });
  } catch {
    return res.writeHead(401).end();
  }
  const upstream = http.request(new URL(req.url.replace(/^\/fhir\//, ''), fhir.url), { method: req.method, agent }, (answer) => {
    res.writeHead(answer.statusCode, answer.headers);
    answer.pipe(res);
  });
  upstream.on('error', () => res.destroy());
  req.pipe(upstream);
});
await new Promise((resolve) => proxy.listen(0, '127.0.0.1', resolve));
const proxyUrl = `http://127.0.0.1:${proxy.address().port}/fhir/`;

// Node-RED with the gateway flow, GET only.
const nr = await startRuntime({ settings: { logging: { console: { level: 'error' } } } });
await deploy(nr.admin, [
  { id: 't1', type: 'tab' },
  {
    id: 'sys',
    type: 'fhir-external-system',
    name: 'Backend',
    organization: 'MOH',
    systemId: 'backend',
    url: fhir.url,
    system: 'http://moh.example/registry',
    authType: 'none',
  },
  { id: 'in', z: 't1', type: 'http in', url: '/fhir/*', method: 'get', wires: [['gw']] },
  {
    id: 'gw',
    z: 't1',
    type: 'gateway-authorize',
    system: 'sys',
    publicBase: PUBLIC,
    issuer: oidc.url,
    audiences: fhir.url,
    practitionerIdentifierSystem: KEYCLOAK_USER_SYSTEM,
    wires: [['out'], []],
  },
  { id: 'out', z: 't1', type: 'http response', wires: [] },
  // What a Node-RED user would otherwise build: http in → http request to the backend → http response, no checks.
  { id: 'pass-in', z: 't1', type: 'http in', url: '/pass/*', method: 'get', wires: [['pass-url']] },
  {
    id: 'pass-url',
    z: 't1',
    type: 'function',
    func: `msg.url = ${JSON.stringify(fhir.url)} + msg.req.params[0] + (msg.req.originalUrl.includes('?') ? msg.req.originalUrl.slice(msg.req.originalUrl.indexOf('?')) : ''); msg.headers = { accept: 'application/fhir+json' }; delete msg.payload; return msg;`,
    wires: [['pass-request']],
  },
  { id: 'pass-request', z: 't1', type: 'http request', method: 'GET', ret: 'bin', url: '', wires: [['pass-out']] },
  { id: 'pass-out', z: 't1', type: 'http response', wires: [] },
]);
const gatewayUrl = `${nr.nodes}/fhir/`;
const passUrl = `${nr.nodes}/pass/`;

const carolTags = ['L1', 'L1a', 'L1a1', 'L1b', 'L1c'].map((id) => `${TAG_SYSTEMS.Location}|${id}`).join(',');
const bearer = (token) => ({ authorization: `Bearer ${token}` });
// Each target is compared with the direct request the backend gets for it: the filtered search is sent with
// carol's `_tag`, so its own cost is measured against the same tag search made directly.
const search = { name: 'direct Patient?_count=10', url: `${fhir.url}Patient?_count=10` };
const tagSearch = { name: 'direct Patient?_count=10&_tag=<carol>', url: `${search.url}&_tag=${encodeURIComponent(carolTags)}` };
const read = { name: 'direct Patient/patient-L1a', url: `${fhir.url}Patient/patient-L1a` };
const targets = [
  search,
  tagSearch,
  read,
  { name: 'jose proxy Patient?_count=10', url: `${proxyUrl}Patient?_count=10`, headers: bearer(webby), base: search },
  { name: 'Node-RED pass-through Patient?_count=10', url: `${passUrl}Patient?_count=10`, base: search },
  { name: 'Node-RED pass-through Patient/patient-L1a', url: `${passUrl}Patient/patient-L1a`, base: read },
  { name: 'gateway webby Patient?_count=10 (unfiltered)', url: `${gatewayUrl}Patient?_count=10`, headers: bearer(webby), base: search },
  {
    name: 'gateway carol Patient?_count=10 (filtered, _tag)',
    url: `${gatewayUrl}Patient?_count=10`,
    headers: bearer(carol),
    base: tagSearch,
  },
  {
    name: 'gateway carol Patient/patient-L1a (tag post-check)',
    url: `${gatewayUrl}Patient/patient-L1a`,
    headers: bearer(carol),
    base: read,
  },
];

/** One autocannon run against the target, in a process of its own; its JSON result and this process's CPU ms per request. */
function run(target, duration) {
  const headers = Object.entries({ accept: 'application/fhir+json', ...target.headers }).flatMap(([k, v]) => ['-H', `${k}: ${v}`]);
  const args = [autocannonCli, '-j', '-c', String(CONNECTIONS), '-d', String(duration), ...headers, target.url];
  const cpu = process.cpuUsage();
  return new Promise((resolve, reject) =>
    execFile(process.execPath, args, { maxBuffer: 1 << 24 }, (err, stdout) => {
      if (err) return reject(err);
      const used = process.cpuUsage(cpu);
      const result = JSON.parse(stdout);
      resolve({ ...result, cpuMsPerRequest: (used.user + used.system) / 1000 / result.requests.total });
    }),
  );
}

console.log(
  `Node ${process.version} (FHIR peer on ${peerNode}), Node-RED ${nodeRedVersion}, medplum fhir-router ${medplumVersion}; ` +
    `${resources.length + EXTRA} resources (gateway seed + ${EXTRA} Patients); ` +
    `autocannon -c ${CONNECTIONS} -d ${DURATION} in its own process, after 1 s warm-up`,
);
console.log(
  'target\treq/s\tp50 ms\tp99 ms\treq/s ratio to its direct request\tto the Node-RED pass-through\tCPU ms per request here\tCPU to the pass-through',
);
// Every target must answer 200 before anything is measured.
for (const target of targets) {
  const check = await fetch(target.url, { headers: target.headers });
  if (check.status !== 200) throw new Error(`${target.name} answered ${check.status}: ${await check.text()}`);
  await check.arrayBuffer();
}
for (const target of targets) {
  await run(target, 1);
  const result = await run(target, DURATION);
  if (result.non2xx || result.errors || result.timeouts) {
    throw new Error(`${target.name}: ${result.non2xx} non-2xx, ${result.errors} errors, ${result.timeouts} timeouts`);
  }
  target.rate = result.requests.average;
  const ratio = target.base ? (target.rate / target.base.rate).toFixed(2) : '1';
  const floor = targets.find((t) => t.name.startsWith('Node-RED pass-through') && t.base === target.base && t.rate);
  const toFloor = target.name.startsWith('gateway') && floor ? (target.rate / floor.rate).toFixed(2) : '';
  target.cpu = result.cpuMsPerRequest;
  const cpu = target.name.startsWith('direct') ? '' : target.cpu.toFixed(3);
  // The CPU time against the pass-through's in the same run: what is the gateway's own, whatever the machine's speed.
  const cpuToFloor = toFloor ? (target.cpu / floor.cpu).toFixed(2) : '';
  console.log([target.name, Math.round(target.rate), result.latency.p50, result.latency.p99, ratio, toFloor, cpu, cpuToFloor].join('\t'));
}

await nr.stop();
proxy.close();
agent.destroy();
await Promise.all(peers.map((peer) => peer.stop()));
