// Runs on the repository's own `npm install`/`npm ci` (npm "prepare"; never for users who install the
// published package): installs the local FHIR server and OIDC issuer in test/peers, which the sandbox
// and the tests run against. Skipped while their installed tree is newer than their lockfile.
import { existsSync, statSync } from 'node:fs';
import { execSync } from 'node:child_process';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const peers = join(dirname(fileURLToPath(import.meta.url)), '..', 'test', 'peers');
const lock = join(peers, 'package-lock.json');
const installed = join(peers, 'node_modules', '.package-lock.json');
if (!existsSync(installed) || statSync(installed).mtimeMs < statSync(lock).mtimeMs) {
  execSync('npm ci --no-audit --no-fund', { cwd: peers, stdio: 'inherit' });
}
