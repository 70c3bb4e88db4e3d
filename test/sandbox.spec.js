'use strict';
// The sandbox as README describes it, on the embedded peers (`npm start`) and on HAPI FHIR + Keycloak
// (`npm run start:hapi`): it starts without an error line, and README's "Try the gateway" curl steps answer as
// README says (carol's patients only, 403 outside her district, 401 without a token). The sandbox runs on the
// root's Node-RED (4.1), so this suite runs in that pass only. Ports are free ones, given as the script reads them.
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { expect } = require('chai');
const { startProcess, freePort } = require('./support/peers');
const { requires } = require('./support/requirements');
const { javaMissing } = require('./support/java-peers');

const ROOT = path.resolve(__dirname, '..');
const CAROLS = ['patient-L1a', 'patient-L1a1', 'patient-L1b'];

/** README's "Try the gateway" commands: the shell block after that heading, continuation lines joined. */
function readmeCurlSteps() {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('#### Try the gateway'));
  const block = /```bash\n([\s\S]*?)```/.exec(section)[1];
  return block
    .replace(/\\\n\s*/g, '')
    .split('\n')
    .filter(Boolean);
}

const SANDBOXES = process.env.NODE_RED_HOME
  ? []
  : [
      { name: 'npm start (embedded peers)', args: [] },
      { name: 'npm run start:hapi (HAPI FHIR + Keycloak)', args: ['--hapi'], java: true },
    ];

for (const { name, args, java } of SANDBOXES) {
  describe(`the sandbox: ${name}`, function () {
    this.timeout(600000);
    let sandbox;
    const ports = {};

    before(async function () {
      if (java) requires(this, javaMissing());
      for (const key of ['SANDBOX_PORT', 'SANDBOX_FHIR_PORT', 'SANDBOX_OIDC_PORT']) ports[key] = String(await freePort());
      sandbox = await startProcess('sandbox', process.execPath, [path.join(ROOT, 'scripts', 'sandbox.mjs'), ...args], {
        env: ports,
        cwd: ROOT,
        ready: /Press Ctrl\+C to stop\./,
        timeoutMs: 540000,
        group: true,
      });
    });
    after(() => sandbox?.stop());

    it('starts without an error line', function () {
      expect(sandbox.output).to.include('Sandbox ready');
      expect(sandbox.output.split('\n').filter((l) => /\[error\]|Error:/.test(l))).to.deep.equal([]);
    });

    it("answers README's curl steps as README says", function () {
      // README's commands, on this run's ports instead of the defaults.
      const local = (command) =>
        command
          .replaceAll('127.0.0.1:1880', `127.0.0.1:${ports.SANDBOX_PORT}`)
          .replaceAll('127.0.0.1:18081', `127.0.0.1:${ports.SANDBOX_OIDC_PORT}`);
      const [tokenStep, ...calls] = readmeCurlSteps().map(local);
      const token = execFileSync('bash', ['-c', tokenStep.replace(/^TOKEN=\$\((.*)\)$/, '$1')], { cwd: ROOT })
        .toString()
        .trim();
      expect(token.split('.')).to.have.length(3);
      const [patients, outside, anonymous] = calls.map((call) =>
        execFileSync('bash', ['-c', call.replace(/\s+#.*$/, '')], { env: { ...process.env, TOKEN: token } }).toString(),
      );
      const bundle = JSON.parse(patients);
      expect(bundle.entry.map((e) => e.resource.id)).to.have.members(CAROLS);
      expect(JSON.parse(outside).issue[0].code).to.equal('forbidden');
      expect(anonymous).to.match(/^HTTP\/1\.1 401 /);
    });
  });
}
