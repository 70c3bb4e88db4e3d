// SMART App Launch discovery: `.well-known/smart-configuration` built from the issuer's OpenID discovery and what
// the gateway itself offers, and the OAuth endpoints as the CapabilityStatement's `oauth-uris` extension, so that
// SMART clients (fhirclient and the like) find where to authorize and get tokens for the gateway.
import type { Extension } from '@medplum/fhirtypes';
import { isJsonObject } from '../../json/object.js';

export const OAUTH_URIS = 'http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris';

/** The issuer's endpoints a SMART configuration carries over, as OpenID discovery names them. */
const ENDPOINTS = [
  'issuer',
  'jwks_uri',
  'authorization_endpoint',
  'token_endpoint',
  'registration_endpoint',
  'introspection_endpoint',
  'revocation_endpoint',
  'userinfo_endpoint',
] as const;

const strings = (value: unknown): string[] => (Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : []);

/**
 * The capabilities the gateway and its issuer offer together: standalone launch where the issuer authorizes, public
 * clients (with PKCE) and the confidential client authentications the issuer takes, OpenID sign-in and offline
 * access where it has them. No launch context: the gateway picks no patient or encounter.
 */
function capabilities(discovery: Record<string, unknown>): string[] {
  const auth = strings(discovery.token_endpoint_auth_methods_supported);
  const scopes = strings(discovery.scopes_supported);
  return [
    ...(typeof discovery.authorization_endpoint === 'string' ? ['launch-standalone', 'client-public'] : []),
    ...(auth.some((m) => m.startsWith('client_secret')) ? ['client-confidential-symmetric'] : []),
    ...(auth.includes('private_key_jwt') ? ['client-confidential-asymmetric'] : []),
    ...(scopes.includes('openid') ? ['sso-openid-connect'] : []),
    ...(scopes.includes('offline_access') ? ['permission-offline'] : []),
  ];
}

/**
 * The SMART configuration (SMART App Launch 2) of the gateway: the issuer's endpoints and grant types, its scopes
 * with the ones a client asks for to get a token for the gateway's audience (`audienceScopes`), S256 PKCE (never
 * `plain`), and the capabilities.
 */
export function smartConfiguration(discovery: unknown, audienceScopes: readonly string[]): Record<string, unknown> {
  const doc = isJsonObject(discovery) ? discovery : {};
  const endpoints = Object.fromEntries(ENDPOINTS.filter((name) => typeof doc[name] === 'string').map((name) => [name, doc[name]]));
  const challenges = strings(doc.code_challenge_methods_supported).filter((m) => m !== 'plain');
  return {
    ...endpoints,
    grant_types_supported: strings(doc.grant_types_supported),
    token_endpoint_auth_methods_supported: strings(doc.token_endpoint_auth_methods_supported),
    response_types_supported: strings(doc.response_types_supported),
    scopes_supported: [...new Set([...strings(doc.scopes_supported), ...audienceScopes])],
    code_challenge_methods_supported: challenges.includes('S256') ? challenges : ['S256', ...challenges],
    capabilities: capabilities(doc),
  };
}

/** The issuer's OAuth endpoints as SMART's `oauth-uris` extension of `CapabilityStatement.rest.security`. */
export function oauthUris(discovery: unknown): Extension | undefined {
  const doc = isJsonObject(discovery) ? discovery : {};
  const uris: [string, unknown][] = [
    ['authorize', doc.authorization_endpoint],
    ['token', doc.token_endpoint],
    ['register', doc.registration_endpoint],
    ['introspect', doc.introspection_endpoint],
    ['revoke', doc.revocation_endpoint],
  ];
  const extension = uris.filter(([, uri]) => typeof uri === 'string').map(([url, uri]) => ({ url, valueUri: uri as string }));
  return extension.length ? { url: OAUTH_URIS, extension } : undefined;
}
