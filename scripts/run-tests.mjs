// Runs the mocha suite on Node-RED 4.1 with this Node (20) and on Node-RED 5.0 with Node 22, then
// prints one closing line with the counts of both runs. `node scripts/run-tests.mjs nr4|nr5 [spec files]` runs one.
import { spawnSync, execSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const mocha = join(root, 'node_modules', 'mocha', 'bin', 'mocha.js');
const node22 = join(root, 'test', 'peers', 'node_modules', 'node', 'bin', 'node');
const nr5 = join(root, 'test', 'nr5');

function installNr5() {
  const installed = join(nr5, 'node_modules', '.package-lock.json');
  if (!existsSync(installed) || statSync(installed).mtimeMs < statSync(join(nr5, 'package-lock.json')).mtimeMs) {
    execSync('npm ci --no-audit --no-fund', { cwd: nr5, stdio: 'inherit' });
  }
}

const runs = {
  nr4: () => ({ node: process.execPath, env: {} }),
  nr5: () => {
    if (!existsSync(node22)) throw new Error('Node 22 is missing from test/peers: run `npm ci` at the repository root');
    installNr5();
    return { node: node22, env: { NODE_RED_HOME: join(nr5, 'node_modules', 'node-red') } };
  },
};

// `node scripts/run-tests.mjs [nr4|nr5] [mocha arguments, e.g. spec files]`
const named = process.argv.slice(2).filter((a) => Object.hasOwn(runs, a));
const selected = named.length ? named : Object.keys(runs);
const mochaArgs = process.argv.slice(2).filter((a) => !Object.hasOwn(runs, a));
const dir = mkdtempSync(join(tmpdir(), 'geofhir-test-'));
const total = { passes: 0, failures: 0, pending: 0 };
let failed = false;
for (const name of selected) {
  const { node, env } = runs[name]();
  const statsFile = join(dir, `${name}.json`);
  console.log(`\n=== ${name}: ${spawnSync(node, ['--version']).stdout.toString().trim()} ===`);
  const r = spawnSync(node, [mocha, ...mochaArgs], {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, ...env, MOCHA_STATS_FILE: statsFile },
  });
  if (r.status !== 0) failed = true;
  if (!existsSync(statsFile)) {
    console.log(`${name}: mocha ended without a result (exit ${r.status})`);
    total.failures += 1;
    continue;
  }
  const stats = JSON.parse(readFileSync(statsFile, 'utf8'));
  for (const k of Object.keys(total)) total[k] += stats[k];
}
rmSync(dir, { recursive: true, force: true });
console.log(`\n${total.passes} passed, ${total.failures} failed, ${total.pending} skipped`);
process.exit(failed || total.failures > 0 ? 1 : 0);
