// CORS for browser apps on other origins: which origins may call the gateway, the headers of their answers (401s
// and denials included) and the answer to a preflight, for every verb the gateway serves.
import { METHODS } from './request.js';

export interface CorsSettings {
  /** Exact origins (`https://app.example.org`), or '*' for any. */
  origins: string[] | '*';
  /** Whether browsers may send cookies or HTTP authentication along (the allowed origin is then echoed, never '*'). */
  credentials: boolean;
  /** How long a browser may keep a preflight's answer. */
  maxAgeSec: number;
}

/** Answer headers a browser script may read: where a write went and its version, the challenge of a 401. */
const EXPOSED = ['Location', 'Content-Location', 'ETag', 'Last-Modified', 'WWW-Authenticate', 'X-Request-Id', 'X-Correlation-Id'];
/** Request headers a browser may send when a preflight names none. */
const ALLOWED_HEADERS = ['Authorization', 'Content-Type', 'Accept', 'If-Match', 'If-None-Match', 'If-None-Exist', 'Prefer', 'X-Request-Id'];
const ORIGIN = /^https?:\/\/[^/\s]+$/;

function configError(message: string): Error {
  return new Error(`CORS: ${message}`);
}

/** The checked settings of a comma-separated origin list ('' = CORS off: undefined). */
export function corsSettings(origins: string, credentials: boolean, maxAgeSec = 600): CorsSettings | undefined {
  const list = origins
    .split(',')
    .map((o) => o.trim())
    .filter((o) => o !== '');
  if (!list.length) return undefined;
  if (list.includes('*')) {
    if (list.length > 1) throw configError("'*' stands alone: it allows every origin");
    return { origins: '*', credentials, maxAgeSec };
  }
  const bad = list.find((o) => !ORIGIN.test(o));
  if (bad !== undefined) throw configError(`'${bad}' is not an origin such as https://app.example.org (scheme, host and port only)`);
  return { origins: list.map((o) => o.toLowerCase()), credentials, maxAgeSec };
}

function allowedOrigin(settings: CorsSettings, origin: string | undefined): string | undefined {
  if (origin === undefined) return undefined;
  if (settings.origins === '*') return settings.credentials ? origin : '*';
  return settings.origins.includes(origin.toLowerCase()) ? origin : undefined;
}

/** The CORS headers of an answer to a request from `origin` (none when the origin is not allowed). */
export function corsHeaders(settings: CorsSettings, origin: string | undefined): Record<string, string> {
  const allowed = allowedOrigin(settings, origin);
  if (allowed === undefined) return {};
  return {
    'access-control-allow-origin': allowed,
    ...(allowed !== '*' && { vary: 'Origin' }),
    ...(settings.credentials && { 'access-control-allow-credentials': 'true' }),
    'access-control-expose-headers': EXPOSED.join(', '),
  };
}

/** The headers of the answer (204) to a preflight from `origin` asking for `requestHeaders`. */
export function preflightHeaders(
  settings: CorsSettings,
  origin: string | undefined,
  requestHeaders: string | undefined,
): Record<string, string> {
  const base = corsHeaders(settings, origin);
  if (!base['access-control-allow-origin']) return {};
  return {
    ...base,
    'access-control-allow-methods': [...METHODS, 'HEAD'].join(', '),
    'access-control-allow-headers': requestHeaders?.trim() || ALLOWED_HEADERS.join(', '),
    'access-control-max-age': String(settings.maxAgeSec),
  };
}
