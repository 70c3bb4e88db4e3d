// Which headers cross the gateway in each direction, and the encoding of the answer to the client.
import type { IncomingHttpHeaders } from 'node:http';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';

/**
 * Client headers passed to the backend: the reference list plus `accept` (so XML can be asked for).
 * Never authorization (the backend gets its own), cookie or host. Not accept-encoding either: the gateway
 * must read the backend's body to rewrite it, and compresses its own answer (encodeForClient).
 */
const REQUEST_HEADERS = new Set([
  'accept',
  'content-type',
  'last-modified',
  'etag',
  'prefer',
  'fhirversion',
  'if-none-exist',
  'if-match',
  'if-none-match',
  'if-modified-since',
  'if-unmodified-since',
  'if-range',
  'x-request-id',
  'x-correlation-id',
  'x-forwarded-for',
  'x-forwarded-host',
]);

/** Backend headers passed to the client: the reference list plus content-type (the backend's is kept). */
const RESPONSE_HEADERS = new Set([
  'content-type',
  'last-modified',
  'date',
  'expires',
  'content-location',
  'content-encoding',
  'etag',
  'location',
  'x-progress',
  'x-request-id',
  'x-correlation-id',
]);

type Headers = Record<string, string | string[] | undefined>;

function pick(headers: Headers, allowed: Set<string>): Record<string, string> {
  const kept: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    const lower = name.toLowerCase();
    if (value === undefined || !allowed.has(lower)) continue;
    kept[lower] = Array.isArray(value) ? value.join(', ') : value;
  }
  return kept;
}

/** The client headers the backend may see, with lower-case names. */
export function requestHeaders(headers: Headers): Record<string, string> {
  return pick(headers, REQUEST_HEADERS);
}

/** The backend headers the client may see, with lower-case names. */
export function responseHeaders(headers: IncomingHttpHeaders | Headers): Record<string, string> {
  return pick(headers, RESPONSE_HEADERS);
}

/** Whether an Accept-Encoding value accepts gzip: named in any case, and not with q=0. */
function acceptsGzip(acceptEncoding: string | undefined): boolean {
  return (acceptEncoding ?? '').split(',').some((part) => {
    const [name, ...params] = part.split(';').map((s) => s.trim().toLowerCase());
    return name === 'gzip' && !params.some((p) => /^q=0(\.0*)?$/.test(p));
  });
}

const gzipAsync = promisify(gzip);

/**
 * The answer as the client gets it: gzip-compressed when its Accept-Encoding allows gzip (reference step 12),
 * unless the body is empty or already encoded.
 */
export async function encodeForClient(
  body: Buffer | string,
  headers: Record<string, string>,
  acceptEncoding: string | undefined,
): Promise<{ body: Buffer | string; headers: Record<string, string> }> {
  if (!acceptsGzip(acceptEncoding) || body.length === 0 || headers['content-encoding']) return { body, headers };
  const vary = headers.vary ? `${headers.vary}, Accept-Encoding` : 'Accept-Encoding';
  return { body: await gzipAsync(body), headers: { ...headers, 'content-encoding': 'gzip', vary } };
}
