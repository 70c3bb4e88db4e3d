'use strict';
// Every grant fhir-external-system supports, with the credentials the sandbox realm (test/peers/realm.mjs) gives
// it: the same in oidc-provider.mjs and in Keycloak. `[settings, secrets]` per grant.
const fs = require('node:fs');
const path = require('node:path');

const PRIVATE_KEY = fs.readFileSync(path.join(__dirname, '..', 'peers', 'keys', 'backend-service.private.jwk.json'), 'utf8');

const GRANTS = {
  'oauth-client-credentials (client_secret_basic)': [
    { authType: 'oauth-client-credentials', clientId: 'geo-exporter', clientAuthMethod: 'client_secret_basic' },
    { clientSecret: 'geo-exporter-secret' },
  ],
  'oauth-client-credentials (client_secret_post)': [
    { authType: 'oauth-client-credentials', clientId: 'fhir-gateway', clientAuthMethod: 'client_secret_post' },
    { clientSecret: 'fhir-gateway-secret' },
  ],
  'oauth-password': [
    { authType: 'oauth-password', clientId: 'mobile-app' },
    { clientSecret: 'mobile-app-secret', username: 'alice', password: 'alice-password' },
  ],
  'private-key-jwt': [
    { authType: 'private-key-jwt', clientId: 'backend-service', keyId: 'backend-service', signingAlg: 'RS384' },
    { privateKey: PRIVATE_KEY },
  ],
};

module.exports = { GRANTS };
