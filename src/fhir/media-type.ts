// FHIR's JSON media type, sent and expected by the sync's client and by the gateway alike, and the form type of the
// searches both send as POST `_search`.
export const FHIR_JSON = 'application/fhir+json';
export const FORM = 'application/x-www-form-urlencoded';
