// Where the embedded registry lives: Node-RED's global context, written by fhir-import and read by
// gpr-hierarchy-source (a persistent context store keeps it across restarts).
export const EMBEDDED_REGISTRY_KEY = 'geofhirRegistry';
