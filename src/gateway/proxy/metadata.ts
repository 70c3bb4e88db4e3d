// The backend's CapabilityStatement as the gateway serves it: it now sits behind OAuth bearer tokens (SMART on
// FHIR, with the issuer's OAuth endpoints) and answers CORS requests.
import type { CapabilityStatement, CapabilityStatementRest, CodeableConcept, Extension } from '@medplum/fhirtypes';

export const RESTFUL_SECURITY_SERVICE = 'http://terminology.hl7.org/CodeSystem/restful-security-service';

const service = (code: string): CodeableConcept => ({ coding: [{ system: RESTFUL_SECURITY_SERVICE, code, display: code }], text: code });

function secure(rest: CapabilityStatementRest, oauthUris: Extension | undefined): CapabilityStatementRest {
  const services = [...(rest.security?.service ?? [])];
  for (const code of ['OAuth', 'SMART-on-FHIR']) {
    if (!services.some((s) => s.coding?.some((c) => c.system === RESTFUL_SECURITY_SERVICE && c.code === code)))
      services.push(service(code));
  }
  const extension = [...(rest.security?.extension ?? []).filter((e) => e.url !== oauthUris?.url), ...(oauthUris ? [oauthUris] : [])];
  return { ...rest, security: { ...rest.security, cors: true, service: services, ...(extension.length && { extension }) } };
}

/**
 * A copy with `rest[].security.cors = true`, the OAuth and SMART-on-FHIR service codings (each once) and, when the
 * issuer's endpoints are known, SMART's `oauth-uris` extension; a statement without rest gets a server entry.
 */
export function secureCapabilities(statement: CapabilityStatement, oauthUris?: Extension): CapabilityStatement {
  const rest = statement.rest?.length ? statement.rest : [{ mode: 'server' as const }];
  return { ...statement, rest: rest.map((r) => secure(r, oauthUris)) };
}
