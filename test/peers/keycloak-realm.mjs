// The sandbox realm (realm.mjs) as a Keycloak realm representation, so Keycloak and oidc-provider.mjs serve
// one definition. Keycloak's own client scopes (basic, roles, profile, …) stay and are given to every client by
// the harness (test/support/java-peers.js), so tokens come out as Keycloak issues them. Added here: a client scope
// per realm scope, an audience mapper for the FHIR base on every client, and user attributes as claims through
// protocol mappers. The realm is created bare, then its scopes, then clients, users and client roles (partial
// import): see keycloakRealm().
import * as sandbox from './realm.mjs';

// Claims from user attributes: [attribute, multivalued].
const USER_CLAIMS = [
  ['fhir_core_app_id', false],
  ['practitioner_id', false],
  ['location_ids', true],
  ['organization_ids', true],
  ['care_team_ids', true],
];

function attributeMapper(name, multivalued) {
  return {
    name,
    protocol: 'openid-connect',
    protocolMapper: 'oidc-usermodel-attribute-mapper',
    config: {
      'user.attribute': name,
      'claim.name': name,
      'jsonType.label': 'String',
      multivalued: String(multivalued),
      'access.token.claim': 'true',
      'id.token.claim': 'false',
      'userinfo.token.claim': 'true',
    },
  };
}

const audienceMapper = (audience) => ({
  name: 'fhir-audience',
  protocol: 'openid-connect',
  protocolMapper: 'oidc-audience-mapper',
  config: { 'included.custom.audience': audience, 'access.token.claim': 'true', 'id.token.claim': 'false' },
});

// Keycloak keeps only the attributes its user profile declares, unless unmanaged attributes are enabled.
const userProfile = JSON.stringify({
  attributes: ['username', 'email', 'firstName', 'lastName'].map((name) => ({
    name,
    displayName: `\${${name}}`,
    permissions: { view: ['admin', 'user'], edit: ['admin'] },
    validations: {},
  })),
  unmanagedAttributePolicy: 'ENABLED',
});

/** Keycloak attributes (string lists) of a realm.mjs user or client; absent values left out. */
function attributesOf(holder) {
  const out = {};
  for (const [name] of USER_CLAIMS) {
    const v = holder[name];
    if (v === undefined || (Array.isArray(v) && v.length === 0)) continue;
    out[name] = Array.isArray(v) ? v : [v];
  }
  return out;
}

function client(c, audience, scopes) {
  const grants = c.grant_types ?? [];
  const jwt = c.token_endpoint_auth_method === 'private_key_jwt';
  return {
    clientId: c.client_id,
    enabled: true,
    protocol: 'openid-connect',
    publicClient: false,
    standardFlowEnabled: false,
    implicitFlowEnabled: false,
    serviceAccountsEnabled: grants.includes('client_credentials'),
    directAccessGrantsEnabled: grants.includes('password'),
    clientAuthenticatorType: jwt ? 'client-jwt' : 'client-secret',
    ...(jwt ? {} : { secret: c.client_secret }),
    attributes: jwt
      ? {
          'use.jwks.string': 'true',
          'jwks.string': JSON.stringify(c.jwks),
          'token.endpoint.auth.signing.alg': c.jwks.keys[0].alg,
        }
      : {},
    protocolMappers: [audienceMapper(audience), ...USER_CLAIMS.map(([n, m]) => attributeMapper(n, m))],
    optionalClientScopes: scopes,
  };
}

// A service account is a user of its own in Keycloak; the client's roles and attributes go there. The
// password client's `fhir_core_app_id` is its users' default (their own wins, as with oidc-provider.mjs).
function serviceAccount(c) {
  return {
    username: `service-account-${c.client_id}`,
    enabled: true,
    serviceAccountClientId: c.client_id,
    realmRoles: c.roles ?? [],
    ...(c.clientRoles?.length && { clientRoles: { [c.client_id]: c.clientRoles } }),
    attributes: attributesOf(c),
  };
}

function user(u, defaults) {
  return {
    id: u.sub,
    username: u.username,
    enabled: true,
    email: `${u.username}@sandbox.invalid`,
    emailVerified: true,
    firstName: u.username,
    lastName: 'Sandbox',
    credentials: [{ type: 'password', value: u.password, temporary: false }],
    realmRoles: u.roles ?? [],
    attributes: { ...defaults, ...attributesOf(u) },
  };
}

/**
 * The realm for Keycloak, tokens for `audience` (the FHIR base) living `accessTokenLifespan` seconds. Its
 * `roles.client`, `clients` and `users` go in a partial import once `keycloakScopes()` exist.
 */
export function keycloakRealm({ audience, accessTokenLifespan = 300, realm = sandbox }) {
  const scopes = realm.scopes.filter((s) => s !== 'openid' && s !== 'profile');
  const roleNames = new Set([...realm.clients, ...realm.users].flatMap((h) => h.roles ?? []));
  const passwordClient = realm.clients.find((c) => c.grant_types?.includes('password'));
  const defaults = passwordClient ? attributesOf({ fhir_core_app_id: passwordClient.fhir_core_app_id }) : {};
  return {
    realm: realm.realm,
    enabled: true,
    sslRequired: 'none',
    accessTokenLifespan,
    roles: {
      realm: [...roleNames].map((name) => ({ name })),
      client: Object.fromEntries(
        realm.clients.filter((c) => c.clientRoles?.length).map((c) => [c.client_id, c.clientRoles.map((name) => ({ name }))]),
      ),
    },
    clients: realm.clients.map((c) => client(c, audience, scopes)),
    users: [
      ...realm.clients.filter((c) => c.grant_types?.includes('client_credentials')).map(serviceAccount),
      ...realm.users.map((u) => user(u, defaults)),
    ],
    components: {
      'org.keycloak.userprofile.UserProfileProvider': [
        { providerId: 'declarative-user-profile', subComponents: {}, config: { 'kc.user.profile.config': [userProfile] } },
      ],
    },
  };
}

/** The client scopes the realm's clients may ask for (created after the realm, beside Keycloak's defaults). */
export function keycloakScopes(realm = sandbox) {
  return realm.scopes
    .filter((s) => s !== 'openid' && s !== 'profile')
    .map((name) => ({ name, protocol: 'openid-connect', attributes: { 'include.in.token.scope': 'true' } }));
}
