// OpenSRP's PractitionerDetail, which fhircore reads at login: what the FHIR server holds of the user (its
// Practitioner, CareTeams, Organizations, PractitionerRoles, Groups, OrganizationAffiliations and Locations) as one
// custom resource in a searchset. The reference answers for any `keycloak-uuid`; this answers for the caller only.
import type { Bundle, Resource } from '@medplum/fhirtypes';
import type { PractitionerDetails } from '../assignment/assignment.js';
import { GatewayDenial } from '../http/denial.js';
import type { ParsedRequest } from '../http/request.js';
import { param } from '../http/request.js';

const UUID_PARAM = 'keycloak-uuid';
/** What the reference answers when no Practitioner carries the user's id. */
const NOT_FOUND = 'PRACTITIONER_NOT_FOUND';

/** 403 unless the request asks for the caller's own details (`keycloak-uuid` absent or the caller's `sub`). */
export function checkOwnDetails(req: ParsedRequest, sub: string | undefined): void {
  if (req.method !== 'GET') throw new GatewayDenial(400, 'not-supported', 'PractitionerDetail is read with GET');
  const asked = param(req.query, UUID_PARAM);
  if (asked !== undefined && (asked.length !== 1 || asked[0] !== sub)) {
    throw new GatewayDenial(403, 'forbidden', "PractitionerDetail answers for the caller's own keycloak-uuid only");
  }
}

/** The searchset the reference answers, its resource named as the request named the endpoint. */
export function practitionerDetailBundle(
  req: ParsedRequest,
  sub: string,
  details: PractitionerDetails | undefined,
  publicBase: string,
): Bundle {
  const name = req.path.replace(/\/$/, '');
  const id = details?.practitioner.id ?? NOT_FOUND;
  const fhir = {
    id,
    careteams: details?.careTeams ?? [],
    teams: details?.organizations ?? [],
    locations: details?.locations ?? [],
    locationHierarchyList: [],
    practitionerRoles: details?.practitionerRoles ?? [],
    groups: details?.groups ?? [],
    practitioner: details ? [details.practitioner] : [],
    organizationAffiliations: details?.organizationAffiliations ?? [],
  };
  // A custom resource: no FHIR type describes it, so it is built as plain JSON.
  const resource = {
    resourceType: name,
    id,
    meta: { profile: ['http://hl7.org/fhir/profiles/custom-resource'] },
    fhir,
  } as unknown as Resource;
  return {
    resourceType: 'Bundle',
    type: 'searchset',
    total: 1,
    link: [{ relation: 'self', url: `${publicBase}/${name}?${UUID_PARAM}=${encodeURIComponent(sub)}` }],
    entry: [{ fullUrl: `${publicBase}/${name}/${id}`, resource }],
  };
}
