// The backend FHIR server as the gateway reaches it: requests forwarded over one keep-alive connection pool,
// with the backend's own credentials, plus the internal lookups (reads, searches) other gateway parts make.
import http from 'node:http';
import https from 'node:https';
import { urlToHttpOptions } from 'node:url';
import type { ExchangeFailure } from '../../fhir/http-exchange.js';
import { httpExchange } from '../../fhir/http-exchange.js';
import type { Bundle, OperationOutcome, Resource } from '@medplum/fhirtypes';
import type { TokenSource } from '../../fhir/token-source.js';
import { describeFailure, outcomeText } from '../../fhir/errors.js';
import { DEFAULT_TIMEOUT_MS } from '../../fhir/external-system.js';
import { backendFailure, GatewayDenial } from '../http/denial.js';
import type { GatewayRequest } from '../http/request.js';
import { formatQuery, METHODS as REST_METHODS } from '../http/request.js';
import { FHIR_JSON } from '../http/answer.js';
import { FORM } from '../../fhir/media-type.js';
import type { LookupBackend } from './lookups.js';
import { requestHeaders, responseHeaders } from './headers.js';

export interface BackendOptions {
  /** The backend's FHIR base URL. */
  baseUrl: string;
  /** The backend's own Authorization header value; the client's is never forwarded. Undefined = none. */
  authorization?: () => Promise<string | undefined>;
  /** Told when the backend refuses that authorization (401); the request is then sent once more. */
  onUnauthorized?: () => void;
  /** Whole-exchange timeout in ms: the external system's (default that of an external system naming none). */
  timeoutMs?: number;
  /** Connections kept to the backend at most (default 16). */
  maxSockets?: number;
}

export interface BackendResponse {
  status: number;
  /** The allow-listed backend headers (headers.ts), lower-case names. */
  headers: Record<string, string>;
  body: Buffer | string;
  contentType?: string;
}

/** A search whose answer is a Bundle (one page); failures are GatewayDenials. */
export type BackendSearch = (type: string, params: Record<string, string[]>) => Promise<Bundle>;

const METHODS = new Set<string>([...REST_METHODS, 'HEAD']);
/** Safe to send again when a pooled connection turns out to have been closed by the backend. */
const IDEMPOTENT = new Set(['GET', 'HEAD', 'PUT', 'DELETE']);

/** Authorization for the backend from a FHIR external system's token source (src/fhir/token-source.ts). */
export function tokenAuthorization(tokens: TokenSource): Pick<BackendOptions, 'authorization' | 'onUnauthorized'> {
  return {
    authorization: async () => {
      const token = await tokens.token();
      return token ? `Bearer ${token}` : undefined;
    },
    onUnauthorized: () => tokens.invalidate(),
  };
}

/** A URL without user info or query, for messages. */
function redact(url: URL): string {
  return `${url.protocol}//${url.host}${url.pathname}`;
}

/** The path relative to the base, each segment escaped so that it cannot leave its segment (operations keep their '$'). */
function encodePath(path: string): string {
  const segments = path.replace(/^\/+/, '').split('/');
  if (segments.some((s) => s === '.' || s === '..')) throw new GatewayDenial(400, 'invalid', `invalid FHIR path '${path}'`);
  return segments.map((s) => encodeURIComponent(s).replace(/^%24/, '$')).join('/');
}

function queryString(query: Record<string, string[]>): string {
  const formatted = formatQuery(query);
  return formatted ? `?${formatted}` : '';
}

/** The request body as bytes, with a content type when the client gave none. */
function encodeBody(body: unknown, contentType: string | undefined): { bytes?: Buffer; contentType?: string } {
  if (body === undefined || body === null) return { contentType };
  if (Buffer.isBuffer(body)) return { bytes: body, contentType: contentType ?? FHIR_JSON };
  if (typeof body === 'string') return { bytes: Buffer.from(body, 'utf8'), contentType: contentType ?? FHIR_JSON };
  // An object is what a body parser made of the client's JSON or form body.
  if (contentType?.toLowerCase().startsWith(FORM)) {
    const form = new URLSearchParams();
    for (const [name, value] of Object.entries(body)) for (const v of [value].flat()) form.append(name, String(v));
    return { bytes: Buffer.from(form.toString()), contentType };
  }
  return { bytes: Buffer.from(JSON.stringify(body)), contentType: contentType ?? FHIR_JSON };
}

interface Exchange {
  method: string;
  /** Path and query on the backend's origin, escaped. */
  path: string;
  headers: Record<string, string>;
  body?: Buffer;
}

/** The backend as the gateway uses it: forwarding client requests, and its own lookups. */
export interface GatewayBackend extends LookupBackend {
  /** The base URL with a trailing '/'. */
  readonly baseUrl: string;
  /** Forward a client request; any backend status is relayed. */
  forward(req: GatewayRequest): Promise<BackendResponse>;
  /** `POST <type>/_search` with the parameters as a form body. */
  searchPost(type: string, params: Record<string, string[]>, headers?: Record<string, string>): Promise<BackendResponse>;
  /** GET a backend URL for the gateway's own use, parsed; undefined for 404 and 410, other failures are 502 denials. */
  get<T>(url: string): Promise<T | undefined>;
}

export class Backend implements GatewayBackend {
  /** The base URL with a trailing '/'. */
  readonly baseUrl: string;
  /** The base without credentials, for messages. */
  private readonly name: string;
  private readonly base: URL;
  /** The base's scheme, host, port and user info as request options, worked out once rather than per request. */
  private readonly origin: http.RequestOptions;
  private readonly agent: http.Agent;
  private readonly timeoutMs: number;

  constructor(private readonly options: BackendOptions) {
    this.base = new URL(options.baseUrl);
    this.base.search = '';
    this.base.hash = '';
    this.base.pathname = this.base.pathname.replace(/\/*$/, '/');
    this.baseUrl = this.base.href;
    this.name = redact(this.base);
    this.origin = urlToHttpOptions(this.base);
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.agent = new (this.base.protocol === 'https:' ? https.Agent : http.Agent)({
      keepAlive: true,
      maxSockets: options.maxSockets ?? 16,
    });
  }

  /** Forward a client request (allow-listed headers, the backend's own credentials); any backend status is relayed. */
  async forward(req: GatewayRequest): Promise<BackendResponse> {
    const method = req.method.toUpperCase();
    if (!METHODS.has(method)) throw new GatewayDenial(400, 'not-supported', `method ${req.method} is not supported`);
    const headers = requestHeaders(req.headers);
    const { bytes, contentType } = encodeBody(req.body, headers['content-type']);
    if (contentType) headers['content-type'] = contentType;
    const path = `${this.base.pathname}${encodePath(req.path)}${queryString(req.query)}`;
    return this.exchange({ method, path, headers, body: bytes });
  }

  /** `POST <type>/_search` with the parameters as a form body, so long parameter lists stay out of the URL. */
  async searchPost(type: string, params: Record<string, string[]>, headers: Record<string, string> = {}): Promise<BackendResponse> {
    return this.forward({
      method: 'POST',
      path: `${type}/_search`,
      query: {},
      headers: { ...headers, 'content-type': FORM },
      body: params,
    });
  }

  /**
   * GET a backend URL (absolute, or relative to the base) for the gateway's own use, parsed as JSON;
   * undefined when the backend answers 404 or 410. Other failures are 502 denials.
   */
  async get<T>(url: string): Promise<T | undefined> {
    const target = /^https?:/i.test(url) ? new URL(url) : new URL(`${this.baseUrl}${url.replace(/^\/+/, '')}`);
    if (target.origin !== this.base.origin || !target.pathname.startsWith(this.base.pathname)) {
      throw backendFailure(
        'the FHIR server gave a link to another server',
        `refusing to follow ${redact(target)}: not on the backend ${this.name}`,
      );
    }
    const res = await this.exchange({ method: 'GET', path: `${target.pathname}${target.search}`, headers: {} });
    if (res.status === 404 || res.status === 410) return undefined;
    const text = res.body.toString();
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw backendFailure(`the FHIR server answered ${res.status} with a body that is not JSON`, `GET ${redact(target)}`);
    }
    if (res.status >= 300) {
      const outcome =
        (parsed as OperationOutcome).resourceType === 'OperationOutcome' ? `: ${outcomeText(parsed as OperationOutcome)}` : '';
      throw backendFailure(`the FHIR server answered ${res.status}`, `GET ${redact(target)} answered ${res.status}${outcome}`);
    }
    return parsed as T;
  }

  /** One page of a GET search, for the gateway's own lookups. */
  readonly search: BackendSearch = (type, params) => this.bundle(`${encodePath(type)}${queryString(params)}`);

  /** A further page of a search, by the URL of a Bundle's link. */
  page(url: string): Promise<Bundle> {
    return this.bundle(url);
  }

  /** `GET <type>/<id>`; a resource the backend does not have (404, 410) is a 502 denial too. */
  async read(type: string, id: string): Promise<Resource> {
    const path = encodePath(`${type}/${id}`);
    const resource = await this.get<Resource>(path);
    if (!resource?.resourceType) throw backendFailure(`the FHIR server has no ${type}/${id}`, `GET ${this.name}${path}`);
    return resource;
  }

  private async bundle(url: string): Promise<Bundle> {
    const bundle = await this.get<Bundle>(url);
    if (bundle?.resourceType !== 'Bundle') {
      throw backendFailure('the FHIR server did not answer a search with a Bundle', `GET ${this.name} ${url}`);
    }
    return bundle;
  }

  /** Close the pooled connections. */
  close(): void {
    this.agent.destroy();
  }

  private async credentials(): Promise<string | undefined> {
    try {
      return await this.options.authorization?.();
    } catch (err) {
      throw backendFailure('the gateway has no credentials for the FHIR server', `${this.name}: ${describeFailure(err)}`);
    }
  }

  private async exchange(x: Exchange): Promise<BackendResponse> {
    const authorization = await this.credentials();
    const headers: Record<string, string> = { accept: FHIR_JSON, ...x.headers, 'accept-encoding': 'identity' };
    if (authorization) headers.authorization = authorization;
    const res = await this.send(x, headers, true);
    if (res.status === 401 && authorization && this.options.onUnauthorized) {
      this.options.onUnauthorized();
      const renewed = await this.credentials();
      if (renewed) return this.send(x, { ...headers, authorization: renewed }, true);
    }
    return res;
  }

  private async send(x: Exchange, headers: Record<string, string>, mayRetry: boolean): Promise<BackendResponse> {
    try {
      const res = await httpExchange({
        options: { ...this.origin, path: x.path, method: x.method, agent: this.agent },
        headers,
        body: x.body,
        timeoutMs: this.timeoutMs,
      });
      return { status: res.status, headers: responseHeaders(res.headers), body: res.body, contentType: res.headers['content-type'] };
    } catch (err) {
      const failure = err as ExchangeFailure;
      if (failure.stale && mayRetry && IDEMPOTENT.has(x.method)) return this.send(x, headers, false);
      const why = failure.timedOut ? `timed out after ${this.timeoutMs} ms` : describeFailure(failure.cause);
      const target = `${this.base.origin}${x.path.split('?')[0]}`;
      throw backendFailure('the FHIR server could not be reached', `${x.method} ${target} failed: ${why}`);
    }
  }
}
