'use strict';
// HAPI FHIR (test/peers/hapi, built with Maven) and Keycloak (the keycloak-quarkus-dist zip from Maven, unpacked
// into test/peers/.cache), started once per mocha run by the first suite that asks (`javaPeers()`), stopped by
// the global teardown. HAPI runs on a PostgreSQL database created for the run (dropped at the end) when
// 127.0.0.1:5432 answers, on H2 in memory otherwise. Keycloak gets the sandbox realm (realm.mjs through
// keycloak-realm.mjs) with the FHIR OAuth base as audience; HAPI's OAuth base trusts that issuer.
const { spawnSync } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const { startProcess, freePort } = require('./peers');

const ROOT = path.resolve(__dirname, '..', '..');
const HAPI = path.join(ROOT, 'test', 'peers', 'hapi');
const CACHE = path.join(ROOT, 'test', 'peers', '.cache');
const KEYCLOAK_VERSION = '26.5.6';
// Heaps sized for a 2-core machine shared with other test runs.
const HAPI_JVM = ['-Xms128m', '-Xmx768m', '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1'];
const KEYCLOAK_HEAP = '-Xms64m -Xmx512m';

let started;
// What the run started, kept after the stop for the compatibility table.
let versions;

/** Why the HAPI and Keycloak suites cannot run here, or undefined when Java 17 and Maven are there. */
function javaMissing() {
  for (const [cmd, args] of [
    ['java', ['-version']],
    ['mvn', ['-v']],
  ]) {
    const r = spawnSync(cmd, args, { stdio: 'ignore' });
    if (r.error || r.status !== 0) return `HAPI FHIR and Keycloak suites need Java 17 and Maven, and \`${cmd}\` is not available`;
  }
  return undefined;
}

function run(cmd, args, options = {}) {
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'inherit', 'inherit'], ...options });
  if (r.error || r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.error?.message ?? `exit ${r.status}`})`);
}

function newest(dir) {
  return fs
    .readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .reduce((t, e) => Math.max(t, fs.statSync(path.join(e.parentPath, e.name)).mtimeMs), 0);
}

/** Builds the HAPI peer when its sources or pom are newer than the last build. */
function buildHapi() {
  const stamp = path.join(HAPI, 'target', 'classpath.txt');
  const sources = Math.max(newest(path.join(HAPI, 'src')), fs.statSync(path.join(HAPI, 'pom.xml')).mtimeMs);
  if (fs.existsSync(stamp) && fs.statSync(stamp).mtimeMs >= sources) return;
  run('mvn', ['-B', '-q', '-Dstyle.color=never', '-f', path.join(HAPI, 'pom.xml'), 'package']);
  // Maven leaves an unchanged classpath file as it was.
  const now = new Date();
  fs.utimesSync(stamp, now, now);
}

/** The unpacked Keycloak distribution, fetched through Maven (cached in ~/.m2) on first use. */
function keycloakHome() {
  const home = path.join(CACHE, `keycloak-${KEYCLOAK_VERSION}`);
  if (fs.existsSync(path.join(home, 'bin', 'kc.sh'))) return home;
  fs.mkdirSync(CACHE, { recursive: true });
  const artifact = `org.keycloak:keycloak-quarkus-dist:${KEYCLOAK_VERSION}:zip`;
  run(
    'mvn',
    [
      '-B',
      '-q',
      'dependency:unpack',
      `-Dartifact=${artifact}`,
      `-DoutputDirectory=${CACHE}`,
      `-DmarkersDirectory=${path.join(CACHE, '.markers')}`,
    ],
    {
      cwd: CACHE,
    },
  );
  return home;
}

const psql = (sql) =>
  spawnSync('psql', ['-h', '127.0.0.1', '-p', '5432', '-U', 'postgres', '-d', 'postgres', '-Atqc', sql], {
    encoding: 'utf8',
    timeout: 15000,
  });

const alive = (pid) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/**
 * A fresh PostgreSQL database for this run, or undefined when PostgreSQL (or psql) is not there. Databases of
 * runs that ended without dropping theirs (their process is gone) are dropped first.
 */
function createDatabase() {
  const stale = psql("SELECT datname FROM pg_database WHERE datname LIKE 'geofhir\\_test\\_%'");
  for (const db of stale.status === 0 ? stale.stdout.split('\n').filter(Boolean) : []) {
    if (!alive(Number(db.split('_')[2]))) psql(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
  }
  const name = `geofhir_test_${process.pid}_${Date.now()}`;
  const r = psql(`CREATE DATABASE ${name}`);
  return r.error || r.status !== 0 ? undefined : name;
}

/** Resident memory of a process and its descendants, in kB (Linux /proc; 0 elsewhere). */
function rssKb(pid) {
  try {
    const own = Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
    const children = fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').split(' ').filter(Boolean);
    return children.reduce((sum, c) => sum + rssKb(Number(c)), own);
  } catch {
    return 0;
  }
}

async function startHapi({ port, issuer, database }) {
  buildHapi();
  const classpath = `${path.join(HAPI, 'target', 'classes')}:${fs.readFileSync(path.join(HAPI, 'target', 'classpath.txt'), 'utf8').trim()}`;
  const db = database ? `jdbc:postgresql://127.0.0.1:5432/${database}` : 'jdbc:h2:mem:hapi';
  const hapi = await startProcess(
    'HAPI FHIR',
    'java',
    [...HAPI_JVM, '-cp', classpath, 'org.geofhir.peer.HapiPeer', '--port', String(port), '--issuer', issuer, '--db', db],
    { ready: /^HAPI FHIR [^\n]*\n/m, timeoutMs: 300000 },
  );
  return stopOnFailure(hapi, () => {
    console.log(`  ${hapi.line.trim()}`);
    const [, version, store] = /^HAPI FHIR (\S+) on (\S+):/.exec(hapi.line);
    return { ...hapi, version, store, base: hapi.url, oauthBase: hapi.url.replace(/\/fhir\/$/, '/oauth/fhir/') };
  });
}

/** Runs `then` on a started server; stops the server when that fails. */
async function stopOnFailure(server, then) {
  try {
    return await then();
  } catch (err) {
    await server.stop();
    throw err;
  }
}

/** An admin REST client for the dev-mode server, logged in as its bootstrap admin. */
async function keycloakAdmin(base, password) {
  const res = await fetch(`${base}/realms/master/protocol/openid-connect/token`, {
    method: 'POST',
    body: new URLSearchParams({ grant_type: 'password', client_id: 'admin-cli', username: 'admin', password }),
  });
  if (!res.ok) throw new Error(`Keycloak admin login answered ${res.status}`);
  const { access_token: token } = await res.json();
  return async (method, route, body) => {
    const r = await fetch(`${base}/admin${route}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: body && JSON.stringify(body),
    });
    const text = await r.text();
    if (!r.ok) throw new Error(`Keycloak ${method} ${route} answered ${r.status}: ${text}`);
    return text ? JSON.parse(text) : undefined;
  };
}

async function configureRealm(admin, audience) {
  const { keycloakRealm, keycloakScopes } = await import('../peers/keycloak-realm.mjs');
  const { clients, users, roles, ...realm } = keycloakRealm({ audience });
  await admin('POST', '/realms', { ...realm, roles: { realm: roles.realm } });
  const at = `/realms/${realm.realm}`;
  for (const scope of keycloakScopes()) await admin('POST', `${at}/client-scopes`, scope);
  // Keycloak gives its default client scopes to clients made in its console; a partial import must name them.
  const names = async (route) => (await admin('GET', `${at}/${route}`)).map((s) => s.name);
  const defaults = await names('default-default-client-scopes');
  const optional = await names('default-optional-client-scopes');
  for (const c of clients) {
    c.defaultClientScopes = [...defaults, ...(c.serviceAccountsEnabled ? ['service_account'] : [])];
    c.optionalClientScopes = [...optional, ...c.optionalClientScopes];
  }
  await admin('POST', `${at}/partialImport`, { ifResourceExists: 'FAIL', clients, users, roles: { client: roles.client } });
  return realm.realm;
}

async function startKeycloak({ port, audience }) {
  const home = keycloakHome();
  const password = crypto.randomUUID();
  const t0 = Date.now();
  const kc = await startProcess(
    'Keycloak',
    'bash',
    [path.join(home, 'bin', 'kc.sh'), 'start-dev', `--http-port=${port}`, '--http-host=127.0.0.1', '--db=dev-mem'],
    {
      env: { KC_BOOTSTRAP_ADMIN_USERNAME: 'admin', KC_BOOTSTRAP_ADMIN_PASSWORD: password, JAVA_OPTS_KC_HEAP: KEYCLOAK_HEAP },
      ready: /Listening on: http:\/\/127\.0\.0\.1:\d+\s/,
      timeoutMs: 300000,
      group: true,
    },
  );
  return stopOnFailure(kc, async () => {
    const base = `http://127.0.0.1:${port}`;
    const admin = await keycloakAdmin(base, password);
    const realm = await configureRealm(admin, audience);
    const issuer = `${base}/realms/${realm}`;
    console.log(
      `  Keycloak ${KEYCLOAK_VERSION} (dev mode) on ${issuer}: started in ${((Date.now() - t0) / 1000).toFixed(1)} s, RSS ${Math.round(rssKb(kc.child.pid) / 1024)} MB`,
    );
    return { ...kc, version: KEYCLOAK_VERSION, issuer, admin };
  });
}

/**
 * HAPI and Keycloak for this run, started on the first call (on `ports` when given, e.g. the sandbox's). Both
 * ports are chosen first, so both servers start at once: Keycloak's audience is HAPI's OAuth base, HAPI's issuer
 * is Keycloak's realm.
 */
function javaPeers({ hapiPort: hp, keycloakPort: kp } = {}) {
  if (!started) {
    started = (async () => {
      const [hapiPort, kcPort] = [hp ?? (await freePort()), kp ?? (await freePort())];
      const issuer = `http://127.0.0.1:${kcPort}/realms/sandbox`;
      const database = createDatabase();
      const results = await Promise.allSettled([
        startHapi({ port: hapiPort, issuer, database }),
        startKeycloak({ port: kcPort, audience: `http://127.0.0.1:${hapiPort}/oauth/fhir` }),
      ]);
      const [hapi, keycloak] = results.map((r) => (r.status === 'fulfilled' ? r.value : undefined));
      const failed = results.find((r) => r.status === 'rejected');
      if (failed) {
        await Promise.all([hapi?.stop(), keycloak?.stop()]);
        if (database) psql(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
        throw failed.reason;
      }
      versions = { hapi: hapi.version, store: hapi.store, keycloak: keycloak.version };
      return { hapi, keycloak, database };
    })();
  }
  return started;
}

/** Stops what javaPeers() started and drops the run's database. */
async function stopJavaPeers() {
  if (!started) return;
  const peers = await started.catch(() => undefined);
  started = undefined;
  if (!peers) return;
  await Promise.all([peers.hapi.stop(), peers.keycloak.stop()]);
  if (peers.database) psql(`DROP DATABASE IF EXISTS ${peers.database} WITH (FORCE)`);
}

/** The versions of the HAPI FHIR and Keycloak this run started ({hapi, store, keycloak}), if it started them. */
const javaPeerVersions = () => versions;

module.exports = { javaMissing, javaPeers, stopJavaPeers, javaPeerVersions, buildHapi, keycloakHome };
