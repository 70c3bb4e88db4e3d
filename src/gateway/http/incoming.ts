// The GatewayRequest of an HTTP request as an `http in` node delivers it (express's req plus the parsed
// body), or as a flow builds it by hand (`msg.fhirRequest`). Node-RED-free.
import type { GatewayRequest } from './request.js';
import { emptyQuery, parseQuery } from './request.js';
import { GatewayDenial } from './denial.js';
import { isJsonObject } from '../../json/object.js';

/** The parts of express's request the gateway reads. */
export interface HttpIn {
  method: string;
  /** `params[0]` is the path under the route's wildcard (`/fhir/*`). */
  params: Record<string, string | undefined>;
  /** The URL as received, whose query string keeps repeated parameters in order. */
  originalUrl: string;
  headers: Record<string, string | string[] | undefined>;
}

/** Methods whose request carries no body; `http in` puts the query in msg.payload for them. */
const BODYLESS = new Set(['GET', 'HEAD', 'DELETE']);

function lowerCaseHeaders(headers: HttpIn['headers']): Record<string, string> {
  // Header names are the client's too: no prototype, so '__proto__' cannot reach one.
  const out = Object.create(null) as Record<string, string>;
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) out[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

/** No body: nothing, an empty string, or the empty Buffer the gateway's body reader gives for an empty request. */
function isEmpty(payload: unknown): boolean {
  return payload === undefined || payload === '' || (Buffer.isBuffer(payload) && payload.length === 0);
}

export function fromHttpIn(req: HttpIn, payload: unknown): GatewayRequest {
  const method = req.method.toUpperCase();
  const queryAt = req.originalUrl.indexOf('?');
  return {
    method,
    path: (req.params[0] ?? '').replace(/^\/+/, ''),
    query: parseQuery(queryAt < 0 ? '' : req.originalUrl.slice(queryAt + 1)),
    headers: lowerCaseHeaders(req.headers),
    ...(BODYLESS.has(method) || isEmpty(payload) ? {} : { body: payload }),
  };
}

/** `msg.fhirRequest = {method, path, query:{name:[values]}, headers, body}`, checked. */
export function fromFhirRequest(value: unknown): GatewayRequest {
  if (!isJsonObject(value) || typeof value.method !== 'string' || typeof value.path !== 'string')
    throw new GatewayDenial(400, 'invalid', 'msg.fhirRequest needs a method and a path');
  const query = emptyQuery(
    isJsonObject(value.query)
      ? Object.entries(value.query).map(([name, values]): [string, string[]] => [
          name,
          (Array.isArray(values) ? values : [values]).map(String),
        ])
      : [],
  );
  const headers = isJsonObject(value.headers) ? lowerCaseHeaders(value.headers as HttpIn['headers']) : {};
  return { method: value.method.toUpperCase(), path: value.path.replace(/^\/+/, ''), query, headers, body: value.body };
}
