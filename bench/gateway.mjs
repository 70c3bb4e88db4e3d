// Gateway benchmark: the cost of gateway-authorize in a running Node-RED (http in → gateway-authorize → http
// response) against the sandbox FHIR server it fronts, a minimal jose-verifying proxy and Node-RED's own
// pass-through (http in → http request → http response) and the least a forwarding flow costs (http in → a function
// node requesting with Node's own client → http response), all on loopback, measured in one run with the same
// autocannon settings (a process of its own, 10 connections, 3 s per target, after a warm-up), for several rounds of
// all targets in turn. Prints per target the rounds' median req/s, p50 and p99, its throughput ratio to the direct
// request the backend gets for it and to the pass-through, and the CPU time this process (Node-RED, and the jose
// proxy) spent per request, for the gateway against the pass-through's and the function forward's: each ratio within a
// round, their median and range.
// Usage: npm run build && node bench/gateway.mjs [--rounds=K] [extra Patients]   (default 5 rounds and 0: the gateway seed alone, so that the
// sandbox's `_tag` scan, which grows with the store, does not hide the gateway's own cost)
import http from 'node:http';
import { execFileSync, execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { median, medianCell, roundsArgument } from './rounds.mjs';

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

const { rounds, rest } = roundsArgument(process.argv.slice(2), 5);
const EXTRA = Number(rest[0] ?? 0);
const DURATION = 3;
const CONNECTIONS = 10;
const PUBLIC = 'https://gateway.example.org/fhir';

// Nothing may hang: after a minute per round and one more the run fails. Whatever ends the process takes its peers down.
const peers = [];
process.on('exit', () => peers.forEach((peer) => peer.child.kill()));
const limitSeconds = 60 * (rounds + 1);
setTimeout(() => {
  console.error(`gateway bench: still running after ${limitSeconds} s, giving up`);
  process.exit(2);
}, limitSeconds * 1000).unref();

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

// In a function node of the flows below: the backend path of the request that reached http in, with its query.
const BACKEND_PATH = `msg.req.params[0] + (msg.req.originalUrl.includes('?') ? msg.req.originalUrl.slice(msg.req.originalUrl.indexOf('?')) : '')`;
// Node-RED with the gateway flow, GET only.
// The least any flow that forwards pays: a function node making the request with Node's own client and a keep-alive pool.
const forwardAgent = new http.Agent({ keepAlive: true, maxSockets: 16 });
const nr = await startRuntime({
  settings: { logging: { console: { level: 'error' } }, functionGlobalContext: { forward: { http, agent: forwardAgent, base: fhir.url } } },
});
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
    func: `msg.url = ${JSON.stringify(fhir.url)} + ${BACKEND_PATH}; msg.headers = { accept: 'application/fhir+json' }; delete msg.payload; return msg;`,
    wires: [['pass-request']],
  },
  { id: 'pass-request', z: 't1', type: 'http request', method: 'GET', ret: 'bin', url: '', wires: [['pass-out']] },
  { id: 'pass-out', z: 't1', type: 'http response', wires: [] },
  { id: 'fwd-in', z: 't1', type: 'http in', url: '/forward/*', method: 'get', wires: [['fwd']] },
  {
    id: 'fwd',
    z: 't1',
    type: 'function',
    func: `const { http, agent, base } = global.get('forward');
http.get(base + ${BACKEND_PATH}, { agent, headers: { accept: 'application/fhir+json' } }, (res) => {
  const chunks = [];
  res.on('data', (chunk) => chunks.push(chunk));
  res.on('end', () => {
    msg.payload = Buffer.concat(chunks);
    msg.headers = { 'content-type': res.headers['content-type'] };
    node.send(msg);
  });
});
return null;`,
    wires: [['fwd-out']],
  },
  { id: 'fwd-out', z: 't1', type: 'http response', wires: [] },
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
  { name: 'Node-RED function forward Patient?_count=10', url: `${nr.nodes}/forward/Patient?_count=10`, base: search },
  { name: 'Node-RED function forward Patient/patient-L1a', url: `${nr.nodes}/forward/Patient/patient-L1a`, base: read },
  { name: 'gateway webby Patient?_count=10 (unfiltered)', url: `${gatewayUrl}Patient?_count=10`, headers: bearer(webby), base: search },
  { name: 'gateway webby Patient/patient-L1a (unfiltered)', url: `${gatewayUrl}Patient/patient-L1a`, headers: bearer(webby), base: read },
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
    `${resources.length + EXTRA} resources (gateway seed + ${EXTRA} Patients); autocannon -c ${CONNECTIONS} -d ${DURATION} ` +
    `in its own process, after 1 s warm-up; ${rounds} rounds, ratios within each round (median, range)`,
);
// Every target must answer 200 before anything is measured.
for (const target of targets) {
  const check = await fetch(target.url, { headers: target.headers });
  if (check.status !== 200) throw new Error(`${target.name} answered ${check.status}: ${await check.text()}`);
  await check.arrayBuffer();
  await run(target, 1);
  target.results = [];
}
// The targets in turn, in the order of the table and then back (a machine that speeds up or slows down during the run
// favours none), each ratio taken between targets of the same round.
for (let i = 0; i < rounds; i++) {
  for (const target of i % 2 ? [...targets].reverse() : targets) {
    const result = await run(target, DURATION);
    if (result.non2xx || result.errors || result.timeouts) {
      throw new Error(`${target.name}: ${result.non2xx} non-2xx, ${result.errors} errors, ${result.timeouts} timeouts`);
    }
    target.results.push(result);
  }
  console.error(`round ${i + 1} of ${rounds} done`);
}

/** The target of the same request through the flow named `prefix`, for a gateway row. */
const sameRequest = (target, prefix) =>
  target.name.startsWith('gateway') && targets.find((t) => t.name.startsWith(prefix) && t.base === target.base);
const perRound = (target, f) => target.results.map((r, i) => f(r, i));
const rate = (r) => r.requests.average;
const cpuOf = (r) => r.cpuMsPerRequest;
/** The rounds' ratios of `value` between the target and `other` (a table cell), or nothing without `other`. */
const against = (target, other, value) => (other ? medianCell(perRound(target, (r, i) => value(r) / value(other.results[i]))) : '');
console.log(
  [
    'target',
    'req/s',
    'p50 ms',
    'p99 ms',
    'req/s ratio to its direct request',
    'to the Node-RED pass-through',
    'CPU ms per request here',
    'CPU to the pass-through',
    'CPU to the function forward',
  ].join('\t'),
);
for (const target of targets) {
  const pass = sameRequest(target, 'Node-RED pass-through');
  const forward = sameRequest(target, 'Node-RED function forward');
  const cpu = target.name.startsWith('direct') ? '' : medianCell(perRound(target, cpuOf), 3);
  const latency = (key) => median(perRound(target, (r) => r.latency[key]));
  console.log(
    [
      target.name,
      Math.round(median(perRound(target, rate))),
      latency('p50'),
      latency('p99'),
      target.base ? against(target, target.base, rate) : '1',
      against(target, pass, rate),
      cpu,
      // CPU time against the other flows' in the same round: what is the gateway's own, whatever the machine's speed.
      against(target, pass, cpuOf),
      against(target, forward, cpuOf),
    ].join('\t'),
  );
}

await nr.stop();
proxy.close();
agent.destroy();
forwardAgent.destroy();
await Promise.all(peers.map((peer) => peer.stop()));
