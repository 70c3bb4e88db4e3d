// Builds the HAPI FHIR peer and fetches Keycloak ahead of the tests (CI does it as a phase of its own; the
// tests do it on first use otherwise). Needs Java 17 and Maven.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { javaMissing, buildHapi, keycloakHome } = require('../test/support/java-peers.js');

const missing = javaMissing();
if (missing) {
  console.error(missing);
  process.exit(1);
}
buildHapi();
console.log(`Keycloak in ${keycloakHome()}`);
