// A FHIR client for one external system: fhir-kit-client with the system's token on every request to
// that server (and to no other URL), a per-request timeout, the caller's cancellation, and one
// re-authentication when the server answers 401. Node-RED-free.
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Client } from 'fhir-kit-client' with { 'resolution-mode': 'import' };
import type { CapabilityStatement } from '@medplum/fhirtypes';
import type { ExternalSystemSettings } from './external-system.js';
import type { TokenSource } from './token-source.js';
import { fhirError } from './errors.js';
import { isUnderBase } from './paging.js';
import { FHIR_JSON, FORM } from './media-type.js';
import type { PostAnswer } from './post-body.js';
import { postBody } from './post-body.js';

export type { Client as FhirClient };

export class FhirConnection {
  private client?: Promise<Client>;
  /** The signal of the call in progress, seen by the request signer (which fhir-kit-client calls in its context). */
  private readonly callSignal = new AsyncLocalStorage<AbortSignal | undefined>();

  constructor(
    readonly settings: ExternalSystemSettings,
    readonly tokens: TokenSource,
  ) {}

  private async makeClient(): Promise<Client> {
    const { Client } = await import('fhir-kit-client');
    // Awaited by fhir-kit-client before each request, so the token is always the current one.
    return new Client({ baseUrl: this.settings.url, requestSigner: (url: string, init: RequestInit) => this.sign(url, init) });
  }

  /** The current token, the request timeout and the call's signal, on a request to this server. */
  private async sign(url: string, init: RequestInit): Promise<void> {
    // The token is for this server only: a URL elsewhere (a paging link, say) gets no request at all.
    if (!isUnderBase(url, this.settings.url)) throw new Error(`refused to send a request outside ${this.settings.url}`);
    const signal = this.callSignal.getStore();
    const token = await abortable(this.tokens.token(), signal);
    if (token) (init.headers as Headers).set('authorization', `Bearer ${token}`);
    const timeout = AbortSignal.timeout(this.settings.timeoutMs);
    init.signal = signal ? AbortSignal.any([timeout, signal]) : timeout;
  }

  /**
   * Inside `call`: POST to the base a FHIR JSON body (a transaction) given as its UTF-8 bytes. Answers and fails as
   * fhir-kit-client's requests do.
   */
  postBytes<T>(body: Buffer, headers: Record<string, string> = {}): Promise<T> {
    return this.post('', body, FHIR_JSON, headers);
  }

  /**
   * Inside `call`: a search as `POST [base]/[type]/_search`, its parameters as a form body (which no URL limit applies
   * to). Answers and fails as fhir-kit-client's searches do, at a fraction of their memory: a closing check of 100,000
   * objects makes 200 searches of 1,000 ids, which through fhir-kit-client had grown the heap by 25 MB.
   */
  searchByPost<T>(type: string, params: Record<string, string | number>): Promise<T> {
    const form = new URLSearchParams(Object.entries(params).map(([name, value]) => [name, String(value)]));
    return this.post(`${encodeURIComponent(type)}/_search`, Buffer.from(form.toString()), FORM, {});
  }

  /** POST `body` to `path` under the base, following the redirects that keep the POST; its answer parsed. */
  private async post<T>(path: string, body: Buffer, contentType: string, headers: Record<string, string>): Promise<T> {
    // Under the base, with the '/' fhir-kit-client's requests to the base itself end with.
    let url = `${this.settings.url.replace(/\/*$/, '/')}${path}`;
    let res: PostAnswer;
    for (let redirects = 0; ; redirects++) {
      const init: RequestInit = {
        // The answer is read as it comes: uncompressed (fetch would have asked for, and decoded, gzip).
        headers: new Headers({ ...headers, accept: FHIR_JSON, 'accept-encoding': 'identity', 'content-type': contentType }),
      };
      // Throws for a redirect off this server, whose token must not go there.
      await this.sign(url, init);
      res = await postBody(url, init.headers as Headers, init.signal ?? undefined, body);
      const location = res.headers.get('location');
      // A redirect that keeps the POST is followed with the same body.
      if (!REPOSTED.has(res.status) || !location || redirects >= MAX_REDIRECTS) break;
      const moved = new URL(location, url);
      if (!isUnderBase(moved.href, this.settings.url)) {
        throw answerError(url, res, `the server redirected the request to ${moved.host}, outside ${this.settings.url}: not followed`);
      }
      url = moved.href;
    }
    let data: unknown = {};
    try {
      if (res.text) data = JSON.parse(res.text);
    } catch {
      throw answerError(url, res, res.text);
    }
    if (res.status < 200 || res.status >= 300) throw answerError(url, res, data);
    return data as T;
  }

  /**
   * Run one FHIR interaction. `what` names it in error messages ("read metadata", "transaction of
   * 500 entries"); failures become a FhirRequestError with the status and OperationOutcome. `signal`
   * aborts the request and any wait for a token.
   */
  async call<T>(what: string, fn: (client: Client) => Promise<T>, signal?: AbortSignal): Promise<T> {
    this.client ??= this.makeClient();
    const client = await this.client;
    const attempt = () => this.callSignal.run(signal, () => fn(client));
    try {
      try {
        return await attempt();
      } catch (err) {
        if ((err as { response?: { status?: number } }).response?.status !== 401 || this.settings.authType === 'none') throw err;
        this.tokens.invalidate();
        return await attempt();
      }
    } catch (err) {
      throw fhirError(`${what} at ${this.settings.url}`, err);
    }
  }

  /** GET [base]/metadata, checked to be a CapabilityStatement. */
  async capabilities(): Promise<CapabilityStatement> {
    const resource: { resourceType?: string } = await this.call('read metadata', (c) => c.capabilityStatement());
    if (resource.resourceType !== 'CapabilityStatement') {
      const got = resource.resourceType ?? 'non-FHIR document';
      throw fhirError(`read metadata at ${this.settings.url}`, new Error(`answer is a ${got}, not a CapabilityStatement`));
    }
    return resource as CapabilityStatement;
  }
}

/** Redirects that keep the method and body (a 301, 302 or 303 would turn the POST into a GET: an error instead). */
const REPOSTED = new Set([307, 308]);
/** As fetch's limit. */
const MAX_REDIRECTS = 20;

/** A failed answer in fhir-kit-client's shape (`response`: status and body; `config.headers`: the answer's), as `call` reads it. */
function answerError(url: string, res: PostAnswer, data: unknown): Error {
  return Object.assign(new Error(`HTTP ${res.status}: POST ${url}`), {
    response: { status: res.status, data },
    config: { headers: res.headers },
  });
}

/** `promise`, or a rejection with the signal's reason as soon as it is aborted. */
export function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
