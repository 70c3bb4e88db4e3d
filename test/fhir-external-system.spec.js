'use strict';
// fhir-external-system against the sandbox FHIR server (with token checks on) and the sandbox OIDC issuer.
const crypto = require('node:crypto');
const http = require('node:http');
const zlib = require('node:zlib');
const { expect } = require('chai');
const helper = require('node-red-node-test-helper');
const { nodeRedPath } = require('./support/node-red');
const { control, closedPortUrl } = require('./support/peers');
const { connectionTo, requests } = require('./support/fhir');
const { GRANTS } = require('./support/grants');
const systemNode = require('../nodes/fhir-external-system.js');
const { normaliseSettings, validateSettings, organizationProblem } = require('../nodes/lib/fhir/external-system.js');
const { createTokenSource } = require('../nodes/lib/fhir/token-source.js');
const { FhirConnection } = require('../nodes/lib/fhir/connection.js');
const { externalSystemProblem, bindExternalSystem } = require('../nodes/lib/node-red/external-system-node.js');

helper.init(nodeRedPath);

const fhir = () => process.env.FHIR_BASE;
const issuer = () => process.env.OIDC_ISSUER;

const peerPost = (route, body) => control(fhir(), route, body);

function settings(extra) {
  return {
    organization: 'MOH',
    systemId: 'sandbox',
    label: 'Sandbox FHIR',
    url: fhir(),
    system: 'http://example.org/registry',
    ...extra,
  };
}

describe('fhir-external-system', function () {
  this.timeout(20000);

  /** A loopback URL nobody listens on: connections are refused at once. */
  let DEAD;
  before(async () => (DEAD = await closedPortUrl()));

  before(() => peerPost('/__auth', { issuer: issuer(), audience: fhir() }));
  after(() => peerPost('/__auth', {}));
  afterEach(() => helper.unload());

  describe('settings', function () {
    it('accepts a complete registration and strips the trailing slash of the URL', function () {
      const s = normaliseSettings(settings({ url: 'https://fhir.example.org/fhir/' }));
      expect(s.url).to.equal('https://fhir.example.org/fhir');
      expect(validateSettings(s, {})).to.deep.equal([]);
    });

    it('names every missing required field', function () {
      const problems = validateSettings(normaliseSettings({}), {});
      expect(problems).to.include.members([
        'Organization is required',
        'ID is required',
        'Label is required',
        'URL is required',
        'System is required',
      ]);
    });

    it('refuses a malformed URL and System', function () {
      const problems = validateSettings(normaliseSettings(settings({ url: 'ftp://x', system: 'my system|x' })), {});
      expect(problems.join('\n'))
        .to.match(/URL "ftp:\/\/x" must start with http/)
        .and.match(/System "my system\|x" must not contain/);
      expect(validateSettings(normaliseSettings(settings({ url: 'not a url' })), {})).to.deep.equal(['URL "not a url" is not a valid URL']);
      // Credentials in a URL are refused without being repeated.
      const withUser = validateSettings(normaliseSettings(settings({ url: 'https://jane:s3cret@fhir.example.org/fhir' })), {});
      expect(withUser).to.include('URL must not hold a user name or password: use the authentication settings');
      expect(withUser.join(' ')).not.to.match(/jane|s3cret/);
    });

    it('asks for what each authentication needs', function () {
      const s = (extra) => normaliseSettings(settings(extra));
      expect(validateSettings(s({ authType: 'oauth-password' }), {})).to.deep.equal([
        'Issuer or Token URL is required for OAuth2',
        'Client ID is required for OAuth2',
        'Username is required for the password grant',
        'Password is required for the password grant',
      ]);
      expect(validateSettings(s({ authType: 'bearer' }), {})).to.deep.equal(['Bearer token is required for static bearer authentication']);
      expect(
        validateSettings(s({ authType: 'oauth-client-credentials', issuer: 'http://idp.example.org/realms/x', clientId: 'c' }), {
          clientSecret: 's',
        }),
      ).to.deep.equal(['Issuer "http://idp.example.org/realms/x" uses plain http: use https, or tick "Allow plain HTTP token endpoint"']);
    });

    it('refuses an unknown authentication, client auth or algorithm instead of defaulting it', async function () {
      const s = normaliseSettings(settings({ authType: 'kerberos' }));
      const known =
        'none, oauth-password, oauth-client-credentials, private-key-jwt, bearer, google-service-account, azure-client-secret, azure-certificate, azure-managed-identity';
      expect(validateSettings(s, {})).to.deep.equal([`Authentication "kerberos" is not one of: ${known}`]);
      // Never used as "none": its token source refuses too.
      const err = await createTokenSource(s, {})
        .token()
        .catch((e) => e);
      expect(err.message).to.equal(`Authentication "kerberos" is not one of: ${known}`);
      const oauth = { authType: 'oauth-client-credentials', tokenUrl: 'https://idp.example.org/token', clientId: 'c' };
      expect(
        validateSettings(normaliseSettings(settings({ ...oauth, clientAuthMethod: 'tls_client_auth', signingAlg: 'HS256' })), {
          clientSecret: 's',
        }),
      ).to.deep.equal([
        'Client auth "tls_client_auth" is not one of: client_secret_basic, client_secret_post',
        'Algorithm "HS256" is not one of: RS384, ES384, RS256',
      ]);
      // Left empty, each takes its default.
      expect(normaliseSettings(settings({}))).to.include({
        authType: 'none',
        clientAuthMethod: 'client_secret_basic',
        signingAlg: 'RS384',
      });
    });

    it('keeps nodes of another organization out', function () {
      expect(organizationProblem({ organization: 'MOH', systemId: 'dhis' }, 'MOH')).to.equal(undefined);
      expect(organizationProblem({ organization: 'MOH', systemId: 'dhis' }, 'NGO')).to.equal(
        'external system "dhis" belongs to organization "MOH", not "NGO"',
      );
    });
  });

  describe('grants against the sandbox issuer', function () {
    for (const [name, [extra, secrets]] of Object.entries(GRANTS)) {
      it(`${name}: gets a token and reads the server's metadata`, async function () {
        const s = normaliseSettings(settings({ ...extra, issuer: issuer() }));
        expect(validateSettings(s, secrets)).to.deep.equal([]);
        const cs = await new FhirConnection(s, createTokenSource(s, secrets)).capabilities();
        expect(cs.fhirVersion).to.equal('4.0.1');
      });
    }

    it('works with a Token URL instead of discovery', async function () {
      const [extra, secrets] = GRANTS['oauth-client-credentials (client_secret_basic)'];
      const s = normaliseSettings(settings({ ...extra, tokenUrl: `${issuer()}/protocol/openid-connect/token` }));
      const cs = await new FhirConnection(s, createTokenSource(s, secrets)).capabilities();
      expect(cs.resourceType).to.equal('CapabilityStatement');
    });

    it('is refused by the FHIR server without a token', async function () {
      const s = normaliseSettings(settings({}));
      const err = await new FhirConnection(s, createTokenSource(s, {})).capabilities().catch((e) => e);
      expect(err.status).to.equal(401);
      expect(err.message).to.include(`read metadata at ${fhir().replace(/\/$/, '')} failed: HTTP 401`);
    });

    for (const [name, method] of [
      ['client_secret_basic', 'oauth-client-credentials (client_secret_basic)'],
      ['client_secret_post', 'oauth-client-credentials (client_secret_post)'],
    ]) {
      it(`reports the token endpoint's error for a wrong secret (${name})`, async function () {
        const [extra] = GRANTS[method];
        const s = normaliseSettings(settings({ ...extra, issuer: issuer() }));
        const err = await createTokenSource(s, { clientSecret: 'wrong' })
          .token()
          .catch((e) => e);
        expect(err.message).to.match(/^token request to .*\/realms\/sandbox failed: HTTP 401 invalid_client/);
      });
    }

    it('reports a wrong password as invalid_grant with the description', async function () {
      const [extra, secrets] = GRANTS['oauth-password'];
      const s = normaliseSettings(settings({ ...extra, issuer: issuer() }));
      const err = await createTokenSource(s, { ...secrets, password: 'nope' })
        .token()
        .catch((e) => e);
      expect(err.message).to.match(/invalid_grant: Invalid user credentials/);
    });

    it('reports a private_key_jwt assertion signed with a key the issuer does not know', async function () {
      const [extra] = GRANTS['private-key-jwt'];
      const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
      const pem = privateKey.export({ type: 'pkcs8', format: 'pem' });
      const s = normaliseSettings(settings({ ...extra, issuer: issuer() }));
      const err = await createTokenSource(s, { privateKey: pem })
        .token()
        .catch((e) => e);
      expect(err.message).to.match(/failed: HTTP 401 invalid_client/);
    });

    it('reports a private key that cannot be read', async function () {
      const [extra] = GRANTS['private-key-jwt'];
      const s = normaliseSettings(settings({ ...extra, issuer: issuer() }));
      const err = await createTokenSource(s, { privateKey: 'not a key' })
        .token()
        .catch((e) => e);
      expect(err.message).to.match(/^private key cannot be read as RS384 PKCS#8 PEM or JWK/);
    });

    it('reports an unreachable issuer without a stack trace', async function () {
      const s = normaliseSettings(settings({ authType: 'oauth-client-credentials', clientId: 'x', issuer: `${DEAD}/realms/x` }));
      const err = await createTokenSource(s, { clientSecret: 's' })
        .token()
        .catch((e) => e);
      expect(err.message).to.match(/^issuer discovery at http:\/\/127\.0\.0\.1:\d+\/realms\/x failed: cannot connect \(.*ECONNREFUSED/);
    });

    it('renews an expired token before using it', async function () {
      const [extra, secrets] = GRANTS['oauth-client-credentials (client_secret_basic)'];
      let now = Date.now();
      const tokens = createTokenSource(normaliseSettings(settings({ ...extra, issuer: issuer() })), secrets, { now: () => now });
      const first = await tokens.token();
      expect(await tokens.token()).to.equal(first);
      now += 300 * 1000; // the sandbox's token lifetime
      const second = await tokens.token();
      expect(second).to.be.a('string').and.not.equal(first);
    });

    /** A connection with a client-credentials token whose invalidations are counted. */
    function countedConnection() {
      const [extra, secrets] = GRANTS['oauth-client-credentials (client_secret_basic)'];
      const s = normaliseSettings(settings({ ...extra, issuer: issuer() }));
      const inner = createTokenSource(s, secrets);
      let invalidated = 0;
      const tokens = { token: () => inner.token(), invalidate: () => (invalidated++, inner.invalidate()) };
      return { connection: new FhirConnection(s, tokens), invalidated: () => invalidated };
    }

    it('gets a new token once when the FHIR server answers 401, and gives up after a second 401', async function () {
      const { connection, invalidated } = countedConnection();
      await peerPost('/__fault', { status: 401, count: 1 });
      expect((await connection.capabilities()).fhirVersion).to.equal('4.0.1');
      expect(invalidated()).to.equal(1);
      await peerPost('/__fault', { status: 401, count: 2 });
      const err = await connection.capabilities().catch((e) => e);
      expect(err.status).to.equal(401);
      expect(invalidated()).to.equal(2);
    });

    it('posts a body of bytes with its token, gets a new token once on a 401, and reports a refusal with its outcome', async function () {
      const { connection, invalidated } = countedConnection();
      const post = (text, headers) => connection.call('transaction', () => connection.postBytes(Buffer.from(text), headers));
      const organization = {
        resourceType: 'Organization',
        name: 'Région Est',
        identifier: [{ system: 'http://moh.example/registry', value: 'EST' }],
      };
      const transaction = (resource) =>
        JSON.stringify({
          resourceType: 'Bundle',
          type: 'transaction',
          entry: [{ resource, request: { method: 'POST', url: 'Organization' } }],
        });
      await peerPost('/__fault', { status: 401, count: 1 });
      const answer = await post(transaction(organization), { prefer: 'return=minimal' });
      expect(answer.type).to.equal('transaction-response');
      expect(answer.entry[0].response.status).to.match(/^201/);
      expect(answer.entry[0]).to.not.have.property('resource');
      expect(invalidated()).to.equal(1);
      const err = await post(transaction({ ...organization, colour: 'red' })).catch((e) => e);
      expect(err.status).to.equal(400);
      expect(err.outcome.resourceType).to.equal('OperationOutcome');
      expect(err.message).to.match(/^transaction at .* failed: HTTP 400: .*colour/);

      // A 307 or 308 is followed with the same body, on this server only; a 302 would make the POST a GET.
      await peerPost('/__fault', { status: 307, location: `${fhir()}?moved=1`, count: 1, match: 'POST ' });
      await peerPost('/__reset-log');
      const moved = await post(transaction({ ...organization, name: 'Moved' }), { prefer: 'return=minimal' });
      expect(moved.entry[0].response.status).to.match(/^201/);
      const posts = (await requests(fhir())).filter((r) => r.method === 'POST');
      expect(posts.map((r) => r.url)).to.deep.equal(['', '?moved=1']);
      await peerPost('/__fault', { status: 308, location: 'http://elsewhere.example/fhir/', count: 1, match: 'POST ' });
      const away = await post(transaction(organization)).catch((e) => e);
      expect(away.status).to.equal(308);
      expect(away.message, away.message).to.match(
        /^transaction at .* failed: HTTP 308: the server redirected the request to elsewhere\.example, outside .*: not followed$/,
      );
      await peerPost('/__fault', { status: 302, location: fhir(), count: 1, match: 'POST ' });
      expect((await post(transaction(organization)).catch((e) => e)).status).to.equal(302);
    });
  });

  describe('transactions', function () {
    it('ask for their answer uncompressed, from a server that compresses whenever the client does not refuse it', async function () {
      const seen = [];
      const server = http.createServer((req, res) => {
        seen.push(req.headers['accept-encoding']);
        req.resume();
        req.on('end', () => {
          const body = JSON.stringify({
            resourceType: 'Bundle',
            type: 'transaction-response',
            entry: [{ response: { status: '201 Created' } }],
          });
          if (req.headers['accept-encoding'] === 'identity')
            return res.writeHead(200, { 'content-type': 'application/fhir+json' }).end(body);
          res.writeHead(200, { 'content-type': 'application/fhir+json', 'content-encoding': 'gzip' }).end(zlib.gzipSync(body));
        });
      });
      await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
      try {
        const connection = connectionTo(`http://127.0.0.1:${server.address().port}/fhir`, 'http://moh.example/registry');
        const text = '{"resourceType":"Bundle","type":"transaction","entry":[]}';
        const answer = await connection.call('transaction', () => connection.postBytes(Buffer.from(text)));
        expect(answer.entry[0].response.status).to.equal('201 Created');
        expect(seen).to.deep.equal(['identity']);
      } finally {
        server.close();
      }
    });
  });

  describe('in Node-RED', function () {
    const CREDS = { sys: { clientSecret: 'geo-exporter-secret' } };
    // In the flow, GPR's Label is the node's name.
    const sysNode = (extra) => {
      const { label, ...rest } = settings({ ...GRANTS['oauth-client-credentials (client_secret_basic)'][0], issuer: issuer(), ...extra });
      return { id: 'sys', type: 'fhir-external-system', name: label, ...rest };
    };

    it('connects with its credentials', async function () {
      await helper.load(systemNode, [sysNode()], CREDS);
      const node = helper.getNode('sys');
      expect(node.problems).to.deep.equal([]);
      expect((await node.connection.capabilities()).fhirVersion).to.equal('4.0.1');
    });

    it('reports a configuration error naming the system', async function () {
      await helper.load(systemNode, [sysNode({ url: 'nope', system: '' })], CREDS);
      const node = helper.getNode('sys');
      expect(node.problems).to.deep.equal(['System is required', 'URL "nope" is not a valid URL']);
    });

    it('reports an unknown authentication type as a configuration error, not as "none"', async function () {
      await helper.load(systemNode, [sysNode({ authType: 'kerberos' })], CREDS);
      const node = helper.getNode('sys');
      expect(node.problems).to.have.length(1);
      expect(node.problems[0]).to.match(/^Authentication "kerberos" is not one of: none, /);
      expect(node.settings.authType).to.equal('kerberos');
    });

    it('keeps the first system of an ID working and refuses the later ones, naming the first', async function () {
      const flow = [sysNode({ label: 'A' }), { ...sysNode({ label: 'B' }), id: 'sys2' }, { ...sysNode({ label: 'C' }), id: 'sys3' }];
      await helper.load(systemNode, flow, { ...CREDS, sys2: CREDS.sys, sys3: CREDS.sys });
      expect(helper.getNode('sys').problems).to.deep.equal([]);
      expect((await helper.getNode('sys').connection.capabilities()).fhirVersion).to.equal('4.0.1');
      const refused = 'ID "sandbox" is already used by external system "A": give this one another ID';
      expect(helper.getNode('sys2').problems).to.deep.equal([refused]);
      expect(helper.getNode('sys3').problems).to.deep.equal([refused]);
    });

    it('serves the nodes of the first system of a duplicated ID', async function () {
      await helper.load([systemNode, systemUser], [...userFlow('MOH'), { ...sysNode({ label: 'B' }), id: 'sys2' }], {
        ...CREDS,
        sys2: CREDS.sys,
      });
      const out = new Promise((resolve) => helper.getNode('out').on('input', resolve));
      helper.getNode('u').receive({ payload: 'run' });
      expect((await out).payload).to.equal('sandbox');
    });

    /** A node using the system as the sync nodes do: the system's id is its output. */
    function systemUser(RED) {
      RED.nodes.registerType('test-system-user', function (config) {
        RED.nodes.createNode(this, config);
        const system = bindExternalSystem(RED, this, config.system, config.organization);
        this.on('input', (msg, send, done) => {
          try {
            send({ ...msg, payload: system().settings.systemId });
            done();
          } catch (err) {
            done(err);
          }
        });
      });
    }
    const userFlow = (organization) => [
      { id: 'f1', type: 'tab' },
      { ...sysNode(), z: undefined },
      { id: 'u', z: 'f1', type: 'test-system-user', system: 'sys', organization, wires: [['out']] },
      { id: 'out', z: 'f1', type: 'helper' },
      { id: 'c', z: 'f1', type: 'catch', scope: null, wires: [['caught']] },
      { id: 'caught', z: 'f1', type: 'helper' },
    ];

    it('serves nodes of its organization', async function () {
      await helper.load([systemNode, systemUser], userFlow('MOH'), CREDS);
      const out = new Promise((resolve) => helper.getNode('out').on('input', resolve));
      helper.getNode('u').receive({ payload: 'run' });
      expect((await out).payload).to.equal('sandbox');
    });

    it('refuses to run for a node of another organization, with an error a Catch node gets', async function () {
      await helper.load([systemNode, systemUser], userFlow('NGO'), CREDS);
      const user = helper.getNode('u');
      const caught = new Promise((resolve) => helper.getNode('caught').on('input', resolve));
      let ran = false;
      helper.getNode('out').on('input', () => (ran = true));
      user.receive({ payload: 'run' });
      const msg = await caught;
      expect(msg.error.message).to.equal('Error: external system "sandbox" belongs to organization "MOH", not "NGO"');
      expect(msg.error.source.id).to.equal('u');
      expect(ran).to.equal(false);
      expect(externalSystemProblem(undefined, 'MOH')).to.match(/no FHIR external system is configured/);
    });

    describe('Test connection', function () {
      const test = (body) => helper.request().post('/fhir-external-system/test').send(body).expect(200);

      it('shows the FHIR version and server software', async function () {
        await helper.load(systemNode, []);
        const { body } = await test({ ...sysNode(), credentials: { clientSecret: 'geo-exporter-secret' } });
        expect(body).to.include({ ok: true, fhirVersion: '4.0.1', authenticated: true });
        expect(body.software).to.match(/sandbox FHIR server/);
      });

      it("uses the deployed node's secret for a password field left unchanged", async function () {
        await helper.load(systemNode, [sysNode()], CREDS);
        const { body } = await test({ ...sysNode(), credentials: { clientSecret: '__PWRD__' } });
        expect(body.ok).to.equal(true);
      });

      it("shows the token endpoint's error", async function () {
        await helper.load(systemNode, []);
        const { body } = await test({ ...sysNode(), credentials: { clientSecret: 'wrong' } });
        expect(body.ok).to.equal(false);
        expect(body.error).to.match(/HTTP 401 invalid_client/);
        expect(body.error).to.not.include('wrong');
      });

      it('shows an unreachable FHIR server', async function () {
        await helper.load(systemNode, []);
        const { body } = await test({ ...sysNode({ url: `${DEAD}/fhir`, authType: 'none' }) });
        expect(body.ok).to.equal(false);
        expect(body.error).to.match(/^read metadata at http:\/\/127\.0\.0\.1:\d+\/fhir failed: cannot connect \(.*ECONNREFUSED/);
      });

      it('shows the HTTP status of a FHIR server that refuses the token', async function () {
        await helper.load(systemNode, []);
        const { body } = await test({ ...sysNode({ authType: 'bearer' }), credentials: { bearerToken: 'not-a-jwt' } });
        expect(body).to.include({ ok: false });
        expect(body.error).to.match(/failed: HTTP 401/);
      });

      it('lists missing fields instead of connecting', async function () {
        await helper.load(systemNode, []);
        const { body } = await test({ url: fhir() });
        expect(body.ok).to.equal(false);
        expect(body.error).to.equal('Organization is required; ID is required; Label is required; System is required');
      });
    });
  });
});
