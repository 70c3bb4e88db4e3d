// FHIR's JSON media type, sent and expected by the sync's client and by the gateway alike.
export const FHIR_JSON = 'application/fhir+json';
