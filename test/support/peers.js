'use strict';
// Starts the local peers (test/peers/*.mjs) as child processes and waits for their readiness line.
const { spawn } = require('node:child_process');
const path = require('node:path');
const fs = require('node:fs');
const net = require('node:net');

const PEERS = path.resolve(__dirname, '..', 'peers');
const NODE22 = path.join(PEERS, 'node_modules', 'node', 'bin', 'node');

function peerNode() {
  if (!fs.existsSync(path.join(PEERS, 'node_modules', '@medplum', 'fhir-router'))) {
    throw new Error('test peers are not installed: run `npm ci --prefix test/peers` (the root install does it)');
  }
  if (fs.existsSync(NODE22)) return { cmd: NODE22, flags: [] };
  return { cmd: process.execPath, flags: ['--experimental-websocket'] };
}

/**
 * Spawn a peer script with `port` as first argument; resolve with its base URL (the first http URL
 * it prints) and a stop() that kills it.
 */
function startPeer(script, args = [], env = {}) {
  const { cmd, flags } = peerNode();
  return startProcess(script, cmd, [...flags, path.join(PEERS, script), ...args], { env });
}

/**
 * Spawn a server process and wait (up to `timeoutMs`) for `ready` in its stdout; resolve with the first
 * loopback URL of that output, the matched text, the child and a stop() that ends it (SIGTERM, then
 * SIGKILL after 10 s). `group` runs it in a process group of its own, ended as a whole (a launcher script
 * and the server it starts).
 */
function startProcess(
  name,
  cmd,
  args,
  { env = {}, cwd, ready = /(https?:\/\/127\.0\.0\.1:\d+\S*)/, timeoutMs = 30000, group = false } = {},
) {
  const child = spawn(cmd, args, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'], detached: group });
  const signal = (sig) => {
    try {
      if (group) process.kill(-child.pid, sig);
      else child.kill(sig);
    } catch {
      // already gone
    }
  };
  let output = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => fail(new Error(`${name} did not start within ${timeoutMs / 1000} s:\n${output.slice(-4000)}`)),
      timeoutMs,
    );
    const fail = (err) => {
      clearTimeout(timer);
      signal('SIGKILL');
      reject(err);
    };
    child.stderr.on('data', (d) => (output += d));
    child.on('exit', (code) => fail(new Error(`${name} exited with ${code}:\n${output.slice(-4000)}`)));
    child.stdout.on('data', (d) => {
      output += d;
      const m = ready.exec(output);
      if (!m) return;
      clearTimeout(timer);
      child.removeAllListeners('exit');
      child.stdout.removeAllListeners('data');
      child.stderr.removeAllListeners('data');
      child.stdout.resume();
      child.stderr.resume();
      resolve({
        url: /(https?:\/\/127\.0\.0\.1:\d+\S*)/.exec(m[0])?.[1],
        line: m[0],
        // What it printed until it was ready.
        output,
        child,
        // SIGTERM, then SIGKILL after 10 s; `stop('SIGKILL')` kills at once, as a crash would.
        stop: (sig = 'SIGTERM') =>
          new Promise((res) => {
            if (child.exitCode !== null || child.signalCode !== null) return res();
            if (sig === 'SIGKILL') {
              child.once('exit', () => res());
              signal(sig);
              return;
            }
            const killer = setTimeout(() => signal('SIGKILL'), 10000);
            child.once('exit', () => {
              clearTimeout(killer);
              res();
            });
            signal(sig);
          }),
      });
    });
  });
}

/** POST to a peer's out-of-band route (`/__reset`, `/__fault`, `/__auth`), outside the FHIR base. */
async function control(baseUrl, route, body = {}) {
  const res = await fetch(new URL(route, baseUrl), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (res.status >= 300) throw new Error(`${route} answered ${res.status}: ${await res.text()}`);
}

/** A loopback URL on a port that was free a moment ago: connections to it are refused at once. */
async function closedPortUrl() {
  const server = net.createServer().listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return `http://127.0.0.1:${port}`;
}

/** A loopback port that was free a moment ago, for a server that must be told its port up front. */
async function freePort() {
  return Number(new URL(await closedPortUrl()).port);
}

module.exports = { startPeer, startProcess, control, closedPortUrl, freePort };
