// FHIR's id syntax, shared by whatever builds or checks resource ids and references.

/** A FHIR id: 1 to 64 letters, digits, '-' and '.'. */
export const FHIR_ID = /^[A-Za-z0-9\-.]{1,64}$/;

/** Whether a value is a FHIR id; ids made of dots alone are refused too, as a URL would resolve them as '.' / '..'. */
export function isFhirId(value: string): boolean {
  return FHIR_ID.test(value) && !/^\.+$/.test(value);
}
