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
  return startProcess(cmd, [...flags, path.join(PEERS, script), ...args], env);
}

/**
 * Spawn `cmd args`; resolve with the first loopback http URL it prints, the child, and stop(signal) that
 * kills it (SIGTERM unless told otherwise, e.g. SIGKILL for a crash).
 */
function startProcess(cmd, args, env = {}) {
  const script = path.basename(args.find((a) => /\.m?js$/.test(a)) ?? cmd);
  const child = spawn(cmd, args, {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error(`${script} did not start within 30 s:\n${output}`)), 30000);
    const fail = (err) => {
      clearTimeout(timer);
      child.kill();
      reject(err);
    };
    child.stderr.on('data', (d) => (output += d));
    child.on('exit', (code) => fail(new Error(`${script} exited with ${code}:\n${output}`)));
    child.stdout.on('data', (d) => {
      output += d;
      const m = /(https?:\/\/127\.0\.0\.1:\d+\S*)/.exec(output);
      if (!m) return;
      clearTimeout(timer);
      child.removeAllListeners('exit');
      child.stdout.removeAllListeners('data');
      child.stdout.resume();
      resolve({
        url: m[1],
        child,
        stop: (signal = 'SIGTERM') =>
          new Promise((res) => {
            if (child.exitCode !== null || child.signalCode !== null) return res();
            child.once('exit', () => res());
            child.kill(signal);
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

module.exports = { startPeer, startProcess, control, closedPortUrl };
