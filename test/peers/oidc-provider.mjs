// Keycloak-shaped OIDC issuer for the tests and the sandbox: oidc-provider serving one realm under
// /realms/<realm> with Keycloak's endpoint paths, RS256 JWT access tokens and Keycloak-style claims.
//
//   node oidc-provider.mjs <port> [--audience <url>]... [--signing-key <jwk file>]
//                                   (port 0 = ephemeral; OIDC_AUDIENCE=a,b also works)
//
// The first audience is the default resource; a client asking for any other listed one gets it as `aud`,
// anything else is invalid_target. ACCESS_TOKEN_TTL sets the token lifetime in seconds (default 300).
// --signing-key loads a fixed private JWK with its kid (test-only and public: keys/oidc-signing.private.jwk.json),
// so tests can sign tokens the issuer would have signed.
import { createPrivateKey, createPublicKey, generateKeyPairSync, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { pathToFileURL } from 'node:url';
import { listen, closer } from './listen.mjs';
import { parseArgs } from 'node:util';
import Provider, { errors } from 'oidc-provider';
import * as sandbox from './realm.mjs';

const OIDC = '/protocol/openid-connect';

// A new key and kid on every start unless a key file is given, so a restart is a key rotation that JWKS
// caches notice.
function signingKey(file) {
  let jwk;
  if (file) {
    jwk = JSON.parse(readFileSync(file, 'utf8'));
  } else {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    jwk = { ...privateKey.export({ format: 'jwk' }), kid: randomUUID(), use: 'sig', alg: 'RS256' };
  }
  const publicKey = createPublicKey(createPrivateKey({ key: jwk, format: 'jwk' }));
  return { jwk, spki: publicKey.export({ type: 'spki', format: 'der' }).toString('base64') };
}

// The claims Keycloak's default mappers put in an access token, plus the project's custom ones. A user's own
// `fhir_core_app_id` (a Keycloak user attribute) wins over the client's.
function keycloakClaims(client, username, holder) {
  const appId = holder.fhir_core_app_id ?? client.fhir_core_app_id;
  return {
    typ: 'Bearer',
    azp: client.client_id,
    preferred_username: username,
    realm_access: { roles: holder.roles ?? [] },
    ...(holder.clientRoles?.length && { resource_access: { [client.client_id]: { roles: holder.clientRoles } } }),
    ...(appId && { fhir_core_app_id: appId }),
  };
}

/**
 * Start the issuer. `audiences` lists the resources tokens may be issued for (the first is the default);
 * `realm` is a module shaped like realm.mjs. Resolves with the issuer URL, the http server and close().
 */
export async function startOidcProvider({
  port = 0,
  host = '127.0.0.1',
  audiences,
  realm = sandbox,
  accessTokenTTL = Number(process.env.ACCESS_TOKEN_TTL || 300),
  signingKeyFile,
}) {
  if (!audiences?.length) throw new Error('at least one token audience is required');
  const prefix = `/realms/${realm.realm}`;
  const { jwk, spki } = signingKey(signingKeyFile);
  const clients = new Map(realm.clients.map((c) => [c.client_id, c]));
  const users = new Map(realm.users.map((u) => [u.sub, u]));
  let handle;

  const server = createServer((req, res) => {
    const [path] = req.url.split('?');
    if (path === prefix) return sendRealmInfo(res);
    if (!path.startsWith(`${prefix}/`)) return res.writeHead(404).end();
    // What koa-mount would do: the provider sees paths below the issuer and derives its URLs from originalUrl.
    req.originalUrl = req.url;
    req.url = req.url.slice(prefix.length);
    handle(req, res);
  });
  const boundPort = await listen(server, port, host);
  const issuer = `http://${host}:${boundPort}${prefix}`;

  // Keycloak's realm endpoint; some gateways read the signing key from its `public_key`.
  function sendRealmInfo(res) {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        realm: realm.realm,
        public_key: spki,
        'token-service': `${issuer}${OIDC}`,
        'tokens-not-before': 0,
      }),
    );
  }

  function resourceServerInfo(resource) {
    if (!audiences.includes(resource)) throw new errors.InvalidTarget();
    return {
      scope: realm.scopes.join(' '),
      audience: resource,
      accessTokenFormat: 'jwt',
      jwt: { sign: { alg: 'RS256' } },
    };
  }

  const provider = new Provider(issuer, {
    jwks: { keys: [jwk] },
    // Non-browser clients: no redirect URIs, no response types. The realm's claim sources ride along as metadata.
    clients: realm.clients.map((c) => ({ redirect_uris: [], response_types: [], ...c })),
    extraClientMetadata: { properties: ['roles', 'clientRoles', 'fhir_core_app_id'] },
    clientAuthMethods: ['client_secret_basic', 'client_secret_post', 'private_key_jwt'],
    // SMART backend services sign client assertions with RS384 or ES384.
    enabledJWA: { clientAuthSigningAlgValues: ['RS256', 'RS384', 'PS256', 'ES256', 'ES384'] },
    ttl: { AccessToken: accessTokenTTL, ClientCredentials: accessTokenTTL },
    routes: {
      token: `${OIDC}/token`,
      jwks: `${OIDC}/certs`,
      introspection: `${OIDC}/token/introspect`,
      revocation: `${OIDC}/revoke`,
      userinfo: `${OIDC}/userinfo`,
      authorization: `${OIDC}/auth`,
      end_session: `${OIDC}/logout`,
      pushed_authorization_request: `${OIDC}/ext/par/request`,
    },
    features: {
      clientCredentials: { enabled: true },
      introspection: { enabled: true },
      revocation: { enabled: true },
      devInteractions: { enabled: false },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => audiences[0],
        useGrantedResource: () => true,
        getResourceServerInfo: (ctx, resource) => resourceServerInfo(resource),
      },
    },
    // Keycloak types its access tokens `JWT`, not RFC 9068's `at+jwt`.
    formats: { customizers: { jwt: (ctx, token, jwt) => void (jwt.header = { typ: 'JWT' }) } },
    extraTokenClaims(ctx, token) {
      const client = clients.get(token.clientId);
      if (token.kind === 'ClientCredentials') {
        return keycloakClaims(client, `service-account-${client.client_id}`, client);
      }
      const user = users.get(token.accountId);
      if (token.gty !== 'password' || !user) return undefined;
      const { location_ids, organization_ids, care_team_ids, practitioner_id } = user;
      return { ...keycloakClaims(client, user.username, user), location_ids, organization_ids, care_team_ids, practitioner_id };
    },
  });

  // Keycloak's "direct access grants": a user token for username and password, without a browser.
  provider.registerGrantType(
    'password',
    async (ctx) => {
      const { username, password, scope, resource = audiences[0] } = ctx.oidc.params;
      const user = realm.users.find((u) => u.username === username);
      if (!user || user.password !== password) {
        throw Object.assign(new errors.InvalidGrant(), { error_description: 'Invalid user credentials' });
      }
      const token = new provider.AccessToken({ accountId: user.sub, client: ctx.oidc.client, gty: 'password' });
      token.resourceServer = new provider.ResourceServer(resource, resourceServerInfo(resource));
      // Like client_credentials: keep the requested scopes the resource server knows.
      const known = scope?.split(' ').filter((s) => token.resourceServer.scopes.has(s));
      token.scope = known?.join(' ') || undefined;
      ctx.body = {
        access_token: await token.save(),
        token_type: 'Bearer',
        expires_in: token.expiration,
        scope: token.scope,
      };
    },
    ['username', 'password', 'scope', 'resource'],
  );
  // Internal errors would otherwise only reach the client as a bare server_error.
  provider.on('server_error', (ctx, err) => console.error(err));
  handle = provider.callback();

  return {
    issuer,
    server,
    close: closer(server),
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values, positionals } = parseArgs({
    options: { audience: { type: 'string', multiple: true }, 'signing-key': { type: 'string' } },
    allowPositionals: true,
  });
  const audiences = values.audience ?? process.env.OIDC_AUDIENCE?.split(',').filter(Boolean);
  try {
    const { issuer } = await startOidcProvider({
      port: Number(positionals[0] ?? 0),
      audiences,
      signingKeyFile: values['signing-key'],
    });
    console.log(`OIDC issuer on ${issuer}`);
  } catch (err) {
    console.error(
      `oidc-provider: ${err.message}\nusage: oidc-provider.mjs <port> --audience <url> [--audience <url>]... [--signing-key <jwk file>]`,
    );
    process.exit(1);
  }
}
