// Build: compile src/ into nodes/lib/, give each adapter src/nodes/<type>.ts an entry nodes/<type>.js
// beside its hand-written nodes/<type>.html (Node-RED looks for the editor file there), then copy icons
// and example flows where Node-RED looks for them.
import { cpSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const nodes = join(root, 'nodes');

// Remove only what the build emits. Never the hand-written html or locales.
for (const name of readdirSync(nodes)) if (name.endsWith('.js')) rmSync(join(nodes, name));
for (const dir of ['lib', 'icons']) rmSync(join(nodes, dir), { recursive: true, force: true });
rmSync(join(root, 'examples'), { recursive: true, force: true });

const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
execFileSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.json')], { stdio: 'inherit' });

for (const file of readdirSync(join(root, 'src', 'nodes'))) {
  if (!file.endsWith('.ts')) continue;
  const type = file.slice(0, -3);
  writeFileSync(join(nodes, `${type}.js`), `'use strict';\nmodule.exports = require('./lib/nodes/${type}.js');\n`);
}

cpSync(join(root, 'icons'), join(nodes, 'icons'), { recursive: true });
cpSync(join(root, 'flows'), join(root, 'examples'), { recursive: true });
