// Request bodies as the gateway inspects them. FHIR JSON arrives from `http in` as text (node-red-conventions §6),
// so JSON text is parsed by its Content-Type to check Bundles, resources and patches; the text itself is what
// is forwarded unless the gateway changes the body, so the backend gets the client's exact bytes.
import { GatewayDenial } from './outcome.js';

/** application/json, application/fhir+json, application/json-patch+json, … */
function isJsonType(contentType: string | undefined): boolean {
  const type = (contentType ?? '').split(';')[0].trim().toLowerCase();
  return /^[\w.-]+\/([\w.-]+\+)?json$/.test(type);
}

/**
 * The body as JSON when it is JSON text (by Content-Type, or text that opens like JSON when there is none), else as
 * it came: a parsed form or object, non-JSON text, or undefined. Unparsable JSON is a 400 (`invalid`).
 */
export function inspectableBody(body: unknown, contentType: string | undefined): unknown {
  const text = Buffer.isBuffer(body) ? body.toString('utf8') : body;
  if (typeof text !== 'string') return body;
  if (text.trim() === '') return undefined;
  if (!isJsonType(contentType) && (contentType !== undefined || !/^\s*[[{]/.test(text))) return text;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new GatewayDenial(400, 'invalid', 'the request body is not valid JSON');
  }
}
