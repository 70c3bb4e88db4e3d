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
  // Gateway users (test/peers/gateway-seed.mjs holds their Practitioners and assignments). ANDROID_CLIENT users are
  // filtered by their assignment under the app's sync strategy; WEB_CLIENT users are not. `fhir_core_app_id` names
  // the app configuration their strategy comes from; `care_team_ids` and `practitioner_id` feed the claims assignment source.
  {
    username: 'carol',
    password: 'carol-password',
    sub: '2fd59e29-ec18-4cd7-9e5c-eb4649826619',
    roles: [
      'ANDROID_CLIENT',
      'GET_PATIENT',
      'POST_PATIENT',
      'PUT_PATIENT',
      'PATCH_PATIENT',
      'DELETE_PATIENT',
      'GET_OBSERVATION',
      'POST_OBSERVATION',
      'GET_ENCOUNTER',
      'GET_LOCATION',
      'POST_LOCATION',
      'PUT_LOCATION',
      'GET_GROUP',
      'GET_LIST',
      'GET_COMPOSITION',
      'GET_BINARY',
      'GET_QUESTIONNAIRE',
      'GET_STRUCTUREMAP',
    ],
    location_ids: ['L1'],
    organization_ids: ['O1'],
    care_team_ids: ['CT1'],
    practitioner_id: 'practitioner-carol',
    fhir_core_app_id: 'sandbox-app',
  },
  {
    username: 'dave',
    password: 'dave-password',
    sub: '3af2c187-b0bb-48ee-82f2-1aa13f9f1518',
    roles: [
      'ANDROID_CLIENT',
      'GET_PATIENT',
      'POST_PATIENT',
      'PUT_PATIENT',
      'GET_OBSERVATION',
      'GET_ENCOUNTER',
      'GET_COMPOSITION',
      'GET_BINARY',
    ],
    location_ids: [],
    organization_ids: ['O2', 'O3'],
    care_team_ids: [],
    practitioner_id: 'practitioner-dave',
    fhir_core_app_id: 'sandbox-app-org',
  },
  {
    username: 'erin',
    password: 'erin-password',
    sub: '8241c649-d6ed-4d9e-b6b9-83654f295734',
    roles: ['ANDROID_CLIENT', 'GET_PATIENT', 'POST_PATIENT', 'GET_OBSERVATION', 'GET_ENCOUNTER', 'GET_COMPOSITION', 'GET_BINARY'],
    location_ids: [],
    organization_ids: [],
    care_team_ids: ['CT1'],
    practitioner_id: 'practitioner-erin',
    fhir_core_app_id: 'sandbox-app-careteam',
  },
  {
    // RelatedEntityLocation; ALL_LOCATIONS lets her choose the synced locations with _syncLocations.
    username: 'rita',
    password: 'rita-password',
    sub: 'eb824263-cab9-4614-ad53-2df7c7655832',
    roles: [
      'ANDROID_CLIENT',
      'ALL_LOCATIONS',
      'GET_PATIENT',
      'POST_PATIENT',
      'GET_OBSERVATION',
      'GET_ENCOUNTER',
      'GET_LOCATION',
      'GET_COMPOSITION',
      'GET_BINARY',
    ],
    location_ids: ['L2'],
    organization_ids: ['O2'],
    care_team_ids: [],
    practitioner_id: 'practitioner-rita',
    fhir_core_app_id: 'sandbox-app-rel',
  },
  {
    // Practitioner strategy: sees and writes only what carries her own practitioner tag.
    username: 'pia',
    password: 'pia-password',
    sub: '047c9e27-a592-4b45-aadf-8b232f906f87',
    roles: ['ANDROID_CLIENT', 'GET_PATIENT', 'POST_PATIENT', 'GET_OBSERVATION', 'GET_ENCOUNTER', 'GET_COMPOSITION', 'GET_BINARY'],
    location_ids: [],
    organization_ids: [],
    care_team_ids: [],
    practitioner_id: 'practitioner-pia',
    fhir_core_app_id: 'sandbox-app-practitioner',
  },
  {
    username: 'webby',
    password: 'webby-password',
    sub: '31221c9e-fe78-48c3-98a8-afba2b76b60d',
    roles: ['WEB_CLIENT', 'MANAGE_PATIENT', 'GET_OBSERVATION', 'GET_ENCOUNTER', 'GET_LOCATION'],
    location_ids: [],
    organization_ids: [],
    care_team_ids: [],
    practitioner_id: 'practitioner-webby',
  },
  {
    // Broken on purpose: both client roles.
    username: 'twoclients',
    password: 'twoclients-password',
    sub: '0a2c9e4c-7a40-4e69-bc78-6f3c6f1a1769',
    roles: ['ANDROID_CLIENT', 'WEB_CLIENT', 'GET_PATIENT'],
    location_ids: ['L1'],
    organization_ids: [],
    care_team_ids: [],
    practitioner_id: 'practitioner-twoclients',
  },
  {
    // Broken on purpose: no client role.
    username: 'noclient',
    password: 'noclient-password',
    sub: '6f36ad00-a7d6-4f58-92e9-2e1569981399',
    roles: ['GET_PATIENT'],
    location_ids: ['L1'],
    organization_ids: [],
    care_team_ids: [],
    practitioner_id: 'practitioner-noclient',
  },
  {
    // A Practitioner with nothing assigned: an empty assignment under every strategy.
    username: 'unassigned',
    password: 'unassigned-password',
    sub: '2c346d72-3971-40cc-87bf-41e1b6cc1eca',
    roles: ['ANDROID_CLIENT', 'GET_PATIENT'],
    location_ids: [],
    organization_ids: [],
    care_team_ids: [],
    practitioner_id: 'practitioner-unassigned',
  },
  {
    // No Practitioner carries this user's id.
    username: 'stranger',
    password: 'stranger-password',
    sub: '4677f84b-bc26-45a8-bd4d-24adcb370dab',
    roles: ['ANDROID_CLIENT', 'GET_PATIENT'],
    location_ids: [],
    organization_ids: [],
    care_team_ids: [],
  },
];
