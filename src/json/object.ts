// The plain-object guard every layer needs when it reads parsed JSON (GPR answers, transform results, request
// bodies, token claims). It imports nothing of the project, so any folder may import it.

/** A parsed JSON object, keys not yet checked. */
export type JsonObject = Record<string, unknown>;

/** A JSON object, as opposed to an array, a primitive or null. */
export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
