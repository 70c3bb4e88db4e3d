// The `sandbox` realm served by oidc-provider.mjs: its clients, users and roles, as plain data.
// Everything here is for loopback tests and the local sandbox only. The secrets and passwords are public,
// and so is the private half of the backend-service key (keys/backend-service.private.jwk.json).
//
// Clients use oidc-provider's client metadata names; `roles` (realm roles of the service account),
// `clientRoles` (roles under resource_access.<client_id>) and `fhir_core_app_id` become token claims.
// Users get a UUID `sub`, as Keycloak gives them.

export const realm = 'sandbox';

// Client scopes the FHIR audience knows; a token carries the requested ones found here and drops the rest.
export const scopes = ['openid', 'profile', 'fhir', 'system/*.read', 'system/*.write', 'system/*.rs', 'system/*.cruds'];

export const clients = [
  {
    client_id: 'geo-exporter',
    client_secret: 'geo-exporter-secret',
    token_endpoint_auth_method: 'client_secret_basic',
    grant_types: ['client_credentials'],
    roles: ['MANAGE_LOCATION', 'MANAGE_ORGANIZATION', 'offline_access'],
    clientRoles: ['uma_protection'],
  },
  {
    client_id: 'fhir-gateway',
    client_secret: 'fhir-gateway-secret',
    token_endpoint_auth_method: 'client_secret_post',
    grant_types: ['client_credentials'],
    roles: [],
  },
  {
    // Keycloak "direct access grants": tests mint user tokens without a browser.
    client_id: 'mobile-app',
    client_secret: 'mobile-app-secret',
    token_endpoint_auth_method: 'client_secret_basic',
    grant_types: ['password'],
    fhir_core_app_id: 'sandbox-app',
  },
  {
    // SMART backend services: authenticates with a JWT signed by its own key (RS384, as SMART asks).
    client_id: 'backend-service',
    token_endpoint_auth_method: 'private_key_jwt',
    grant_types: ['client_credentials'],
    roles: ['MANAGE_LOCATION', 'MANAGE_ORGANIZATION'],
    jwks: {
      keys: [
        {
          kty: 'RSA',
          n: 'uNbZ5m6yP106FNgBCB2JBJ4UAB7mnMcQd8O8FFo2KuyvrUQPKOHuMUkmdjql5xZYrZcub8LaU291JehgHSmp63yP9eTRikGSZJi82qzIqy72Y0khc1edRMauHcysTJznporAVB0E8OYeeivEG3Ywid6mAo0ON86ELfgVii8wW1ic8__9asX8dIU1Vl7CwN7Q3pK1tStpKkHHg61CZ9YEpGsbPuZz6YiLJSasEiIX0BpWLJWGaxn2aiKWWjaqAlxso8_yjMzO061GXw7Sf1KiFgOzL6pTIbWB2NUznDL4xWTeo6A1HtjWlZ95Q9sXpUuBzJr1AhK0EoQpDx-nVxLq_Q',
          e: 'AQAB',
          kid: 'backend-service',
          use: 'sig',
          alg: 'RS384',
        },
      ],
    },
  },
];

export const users = [
  {
    username: 'alice',
    password: 'alice-password',
    sub: 'b12ec2fa-d5de-4bec-9277-fd5901ea4cc2',
    roles: ['GET_LOCATION', 'GET_ORGANIZATION'],
    location_ids: ['UG-P1-D1'],
    organization_ids: [],
    practitioner_id: 'practitioner-alice',
  },
  {
    username: 'bob',
    password: 'bob-password',
    sub: 'acf552f1-ae3b-41d6-abdd-f641155fece6',
    roles: ['MANAGE_LOCATION', 'GET_LOCATION'],
    location_ids: [],
    organization_ids: [],
    practitioner_id: 'practitioner-bob',
  },
  {
    username: 'admin',
    password: 'admin-password',
    sub: 'b44edabc-3e4c-409a-bdea-3b549826ef5b',
    roles: ['MANAGE_LOCATION', 'MANAGE_ORGANIZATION'],
    location_ids: [],
    organization_ids: [],
    practitioner_id: 'practitioner-admin',
  },
];
