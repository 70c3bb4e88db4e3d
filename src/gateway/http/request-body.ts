// Request bodies as the gateway inspects them. FHIR JSON arrives from `http in` as text (node-red-conventions §6),
// so JSON text is parsed by its Content-Type to check Bundles, resources and patches; the text itself is what
// is forwarded unless the gateway changes the body, so the backend gets the client's exact bytes.
import { GatewayDenial } from './denial.js';

/** application/json, application/fhir+json, application/json-patch+json, … */
function isJsonType(contentType: string | undefined): boolean {
  const type = (contentType ?? '').split(';')[0].trim().toLowerCase();
  return /^[\w.-]+\/([\w.-]+\+)?json$/.test(type);
}

/** Deeper than any FHIR resource nests; the checks that walk a body (Bundles, Parameters, patches) recurse. */
const MAX_BODY_DEPTH = 128;

/** Whether a parsed JSON value nests deeper than `limit` arrays and objects (walked without recursion). */
function deeperThan(value: unknown, limit: number): boolean {
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length) {
    const [v, depth] = stack.pop() as [unknown, number];
    if (typeof v !== 'object' || v === null) continue;
    if (depth > limit) return true;
    for (const child of Object.values(v)) stack.push([child, depth + 1]);
  }
  return false;
}

function shallowEnough(value: unknown): unknown {
  if (deeperThan(value, MAX_BODY_DEPTH))
    throw new GatewayDenial(400, 'invalid', `the request body nests deeper than ${MAX_BODY_DEPTH} levels`);
  return value;
}

/**
 * The body as JSON when it is JSON text (by Content-Type, or text that opens like JSON when there is none), else as
 * it came: a parsed form or object, non-JSON text, or undefined. Unparsable or too deeply nested JSON is a 400 (`invalid`).
 */
export function inspectableBody(body: unknown, contentType: string | undefined): unknown {
  const text = Buffer.isBuffer(body) ? body.toString('utf8') : body;
  if (typeof text !== 'string') return shallowEnough(body);
  if (text.trim() === '') return undefined;
  if (!isJsonType(contentType) && (contentType !== undefined || !/^\s*[[{]/.test(text))) return text;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new GatewayDenial(400, 'invalid', 'the request body is not valid JSON');
  }
  return shallowEnough(value);
}
