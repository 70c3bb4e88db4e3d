// What the cloud FHIR stand-ins (google-healthcare.mjs, azure-health.mjs) share: the sandbox FHIR server
// (fhir-server.mjs) started in this process as the storage, and in front of it a server of the provider's shape —
// its base path, its token endpoint, a bearer token checked on every FHIR call, its page tokens in place of the
// storage's `_offset` links, its Bundle size limits and its error bodies. The provider supplies those pieces.
import http from 'node:http';
import { randomBytes } from 'node:crypto';
import { listen, closer } from './listen.mjs';
import { startFhirServer } from './fhir-server.mjs';

const FHIR_JSON = 'application/fhir+json';

/** An OperationOutcome with one error issue. */
export const outcome = (code, diagnostics) => ({ resourceType: 'OperationOutcome', issue: [{ severity: 'error', code, diagnostics }] });

export function send(res, status, body, headers = {}) {
  res.writeHead(status, { 'content-type': FHIR_JSON, ...headers });
  res.end(body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body));
}

/** A form-encoded or JSON request body, as an object. */
export function formOf(raw) {
  return Object.fromEntries(new URLSearchParams(raw.toString('utf8')));
}

/**
 * Starts a stand-in. `provider`:
 * - `basePath`: the FHIR base path ('' for a root base), without a trailing '/';
 * - `pageParam`: the query parameter of its page tokens; `keepQuery`: whether next links repeat the search's parameters;
 * - `routes(ctx)`: {`METHOD /path`: handler(req, res, raw, url)} for its token endpoints and control routes;
 * - `authorise(token)`: true when a FHIR call's bearer token is valid; `unauthorized(res)` answers otherwise;
 * - `bundleProblem(bundle, bytes)`: [status, body] refusing a Bundle over its limits, or undefined;
 * - `capabilities(statement)`: the storage's CapabilityStatement made the provider's; `reset()`: clears its state on /__reset.
 * Resolves with {url (the FHIR base, ending in '/'), origin, close}.
 */
export async function startCloudStandIn({ port = 0, host = '127.0.0.1', provider }) {
  const storage = await startFhirServer({ port: 0, host });
  const inner = storage.url; // http://127.0.0.1:<p>/fhir/R4/
  let origin = '';
  let base = '';
  /** page token -> the storage's query for that page */
  let pages = new Map();
  let refused = []; // entry counts of the Bundles refused over the provider's limits, for GET /__refused
  const ctx = {
    get base() {
      return base;
    },
    get origin() {
      return origin;
    },
  };
  const routes = provider.routes(ctx);

  /** The storage's text with its base replaced by the stand-in's. */
  const outward = (text) => text.split(inner).join(base);

  /** The storage's `_offset` paging links as the provider's page-token links. */
  function pageLinks(bundle, path) {
    for (const link of bundle.link ?? []) {
      if (!['next', 'previous'].includes(link.relation)) continue;
      const url = new URL(link.url);
      const token = randomBytes(18).toString('base64url');
      pages.set(token, url.search.slice(1));
      const params = provider.keepQuery ? new URLSearchParams(url.searchParams) : new URLSearchParams();
      params.delete('_offset');
      params.set(provider.pageParam, token);
      link.url = `${base}${path}?${params}`;
    }
    // Both document forward paging only (self and next).
    bundle.link = bundle.link?.filter((l) => l.relation !== 'previous');
  }

  /** How many resources a conditional URL (`Type?search`) matches in the storage. */
  async function matches(conditional) {
    const [type, search = ''] = conditional.split('?');
    const params = new URLSearchParams(search);
    params.set('_summary', 'count');
    const bundle = await (await fetch(`${inner}${type}?${params}`)).json();
    return bundle.total ?? 0;
  }

  /**
   * Update as create, which both clouds support and the storage refuses ("Cannot provide ID for create by update"):
   * a conditional PUT that matches nothing and whose resource has an id becomes `PUT Type/id`, alone or in a Bundle.
   * Returns the URL (relative to the base) to use instead of `url`, or undefined.
   */
  async function asCreate(url, resource) {
    if (!resource?.id || !url.includes('?') || (await matches(url)) > 0) return undefined;
    return `${url.split('?')[0]}/${encodeURIComponent(resource.id)}`;
  }

  async function handleFhir(req, res, rel, raw) {
    const [path, query = ''] = rel.split(/\?(.*)/s);
    const params = new URLSearchParams(query);
    let innerQuery;
    if (params.has(provider.pageParam)) {
      innerQuery = pages.get(params.get(provider.pageParam));
      if (innerQuery === undefined) return send(res, 400, outcome('invalid', `invalid ${provider.pageParam}`));
    } else {
      // The clouds page with their tokens only: a client's `_offset` is not the storage's to obey.
      params.delete('_offset');
      innerQuery = params.toString();
    }
    let body;
    try {
      body = raw.length ? JSON.parse(raw.toString('utf8')) : undefined;
    } catch {
      body = undefined; // the storage answers invalid JSON
    }
    let innerPath = path;
    if (req.method === 'POST' && path === '') {
      const problem = provider.bundleProblem?.(body, raw.length, req.headers['content-type']);
      if (problem) {
        refused.push(body?.entry?.length ?? 0);
        return send(res, problem[0], problem[1]);
      }
      if (body?.resourceType === 'Bundle') {
        let changed = false;
        for (const entry of body.entry ?? []) {
          const direct = entry.request?.method === 'PUT' ? await asCreate(entry.request.url ?? '', entry.resource) : undefined;
          if (direct) [entry.request.url, changed] = [direct, true];
        }
        if (changed) raw = Buffer.from(JSON.stringify(body));
      }
    } else if (req.method === 'PUT' && innerQuery) {
      const direct = await asCreate(`${path}?${innerQuery}`, body);
      if (direct) [innerPath, innerQuery] = [direct, ''];
    }
    const headers = { ...(req.headers['content-type'] && { 'content-type': req.headers['content-type'] }) };
    for (const name of ['if-match', 'if-none-exist', 'prefer', 'accept']) if (req.headers[name]) headers[name] = req.headers[name];
    const answer = await fetch(`${inner}${innerPath}${innerQuery ? `?${innerQuery}` : ''}`, {
      method: req.method,
      headers,
      ...(raw.length && { body: raw }),
    });
    const out = { 'content-type': answer.headers.get('content-type') ?? FHIR_JSON };
    for (const name of ['location', 'content-location', 'etag', 'last-modified']) {
      if (answer.headers.get(name)) out[name] = outward(answer.headers.get(name));
    }
    const text = outward(await answer.text());
    if (!/json/.test(out['content-type'])) return send(res, answer.status, text, out);
    let answered;
    try {
      answered = JSON.parse(text);
    } catch {
      return send(res, answer.status, text, out);
    }
    if (answered.resourceType === 'Bundle' && answered.type === 'searchset') pageLinks(answered, path);
    if (answered.resourceType === 'CapabilityStatement' && provider.capabilities) answered = provider.capabilities(answered);
    return send(res, answer.status, answered, out);
  }

  async function handle(req, res) {
    const chunks = [];
    for await (const chunk of req) chunks.push(chunk);
    const raw = Buffer.concat(chunks);
    const url = new URL(req.url, origin);
    const route = routes[`${req.method} ${url.pathname}`];
    if (route) return route(req, res, raw, url);
    if (req.method === 'POST' && url.pathname === '/__reset') {
      pages = new Map();
      refused = [];
      provider.reset?.();
      await fetch(new URL('/__reset', inner), { method: 'POST' });
      return send(res, 204);
    }
    if (req.method === 'GET' && url.pathname === '/__refused') return send(res, 200, refused, { 'content-type': 'application/json' });
    // Other control routes (request log, faults) are the storage's.
    if (url.pathname.startsWith('/__')) {
      const answer = await fetch(new URL(req.url, inner), {
        method: req.method,
        headers: { 'content-type': 'application/json' },
        ...(raw.length && { body: raw }),
      });
      return send(res, answer.status, outward(await answer.text()), {
        'content-type': answer.headers.get('content-type') ?? 'application/json',
      });
    }
    const prefix = `${provider.basePath}/`;
    if (url.pathname !== provider.basePath && !url.pathname.startsWith(prefix)) {
      return provider.notFound(res, url.pathname);
    }
    const m = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '');
    if (!m || !(await provider.authorise(m[1]))) return provider.unauthorized(res);
    return handleFhir(req, res, req.url.slice(provider.basePath.length).replace(/^\/+/, ''), raw);
  }

  const server = http.createServer((req, res) => {
    handle(req, res).catch((err) => {
      if (!res.headersSent) send(res, 500, outcome('exception', String(err?.message ?? err)));
      else res.destroy(err);
    });
  });
  const bound = await listen(server, port, host);
  origin = `http://${host}:${bound}`;
  base = `${origin}${provider.basePath}/`;
  const close = closer(server);
  return {
    url: base,
    origin,
    close: async () => {
      await close();
      await storage.close();
    },
  };
}
