// HTTP to a GeoPrism Registry's REST API (under <url>/api/) with HTTP Basic. Node-RED-free.
import { describeFailure } from '../fhir/errors.js';
import { wholeNumber } from '../settings/whole-number.js';

const DEFAULT_TIMEOUT_MS = 60_000;

export interface GprConnection {
  /** GPR base, e.g. https://gpr.example.org (the API is under /api). */
  url: string;
  username: string;
  password: string;
  timeoutMs: number;
}

/** A GPR answer other than 2xx; `status` 404 is how GPR says an object does not exist. */
export class GprError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

export interface GprClient {
  get(path: string, query: Record<string, string>): Promise<unknown>;
  post(path: string, body: unknown): Promise<unknown>;
}

/** Why `url` cannot be a GPR base URL, without repeating credentials it may hold; undefined when usable. */
export function gprUrlProblem(url: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return `URL "${url}" is not a valid URL`;
  }
  if (parsed.username || parsed.password) return 'URL must not hold a user name or password: enter them as the credentials';
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return `URL "${url}" must start with http:// or https://`;
  return undefined;
}

/** The connection a gpr-registry node's settings describe, and why it cannot be used (a bad URL or timeout), if so. */
export function gprConnectionFrom(
  raw: { url?: unknown; timeoutMs?: unknown },
  credentials: { username?: string; password?: string },
): { connection: GprConnection; problem?: string } {
  const url = String(raw.url ?? '').trim();
  const { username = '', password = '' } = credentials;
  let timeoutMs = DEFAULT_TIMEOUT_MS;
  let problem = gprUrlProblem(url);
  try {
    timeoutMs = wholeNumber('timeout (ms)', raw.timeoutMs, DEFAULT_TIMEOUT_MS);
  } catch (err) {
    problem ??= (err as Error).message;
  }
  return { connection: { url, username, password, timeoutMs }, ...(problem && { problem }) };
}

export function gprClient(conn: GprConnection): GprClient {
  const base = `${conn.url.replace(/\/+$/, '')}/api/`;
  const authorization = `Basic ${Buffer.from(`${conn.username}:${conn.password}`).toString('base64')}`;
  const call = async (path: string, url: string, init: RequestInit): Promise<unknown> => {
    let res: Response;
    try {
      res = await fetch(url, {
        ...init,
        headers: { authorization, accept: 'application/json', ...init.headers },
        signal: AbortSignal.timeout(conn.timeoutMs),
      });
    } catch (err) {
      throw new GprError(`GPR ${path} failed: ${describeFailure(err)}`);
    }
    if (res.status === 401 || res.status === 403)
      // Never name the user: messages reach job records, logs and the editor.
      throw new GprError(`GPR refused the configured credentials (HTTP ${res.status})`, res.status);
    const text = await res.text();
    if (!res.ok) throw new GprError(`GPR ${path} answered HTTP ${res.status}: ${text.slice(0, 200)}`, res.status);
    try {
      return text ? JSON.parse(text) : undefined;
    } catch {
      throw new GprError(`GPR ${path} answered something that is not JSON`);
    }
  };
  return {
    get: (path, query) => call(path, `${base}${path}?${new URLSearchParams(query)}`, {}),
    post: (path, body) =>
      call(path, `${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
  };
}
