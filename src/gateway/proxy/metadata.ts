// The backend's CapabilityStatement as the gateway serves it: it now sits behind OAuth bearer tokens and
// answers CORS requests, as the reference gateway declares.
import type { CapabilityStatement, CapabilityStatementRest } from '@medplum/fhirtypes';

export const RESTFUL_SECURITY_SERVICE = 'http://terminology.hl7.org/CodeSystem/restful-security-service';

function secure(rest: CapabilityStatementRest): CapabilityStatementRest {
  const service = rest.security?.service ?? [];
  const declared = service.some((s) => s.coding?.some((c) => c.system === RESTFUL_SECURITY_SERVICE && c.code === 'OAuth'));
  const oauth = { coding: [{ system: RESTFUL_SECURITY_SERVICE, code: 'OAuth', display: 'OAuth' }], text: 'OAuth' };
  return { ...rest, security: { ...rest.security, cors: true, service: declared ? service : [...service, oauth] } };
}

/** A copy with `rest[].security.cors = true` and the OAuth service coding (added once); a statement without rest gets a server entry. */
export function secureCapabilities(statement: CapabilityStatement): CapabilityStatement {
  const rest = statement.rest?.length ? statement.rest : [{ mode: 'server' as const }];
  return { ...statement, rest: rest.map(secure) };
}
