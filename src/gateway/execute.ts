// Carrying out a route: the request sent to the backend, then its answer as the client gets it: post-filtered,
// its paging links bound to their user, its URLs rewritten (once). Answers are parsed only when there is something
// to check or a paging link to sign. Denials (a post-filter failing closed) are thrown as GatewayDenials.
import type { Bundle, CapabilityStatement, List, Location, Resource } from '@medplum/fhirtypes';
import type { Confined, Confinement } from './access/confine.js';
import { confine, confineBatchResponse } from './access/confine.js';
import { batchAnswer } from './access/bundle-plan.js';
import type { Scope } from './assignment/scope.js';
import { inScope } from './assignment/scope.js';
import type { SyncFilterIgnoreEntry } from './access/sync-ignore.js';
import type { Answer } from './http/answer.js';
import { FHIR_JSON, jsonAnswer } from './http/answer.js';
import { backendFailure, failureText, GatewayDenial } from './http/denial.js';
import type { GatewayRequest, ParsedRequest } from './http/request.js';
import { emptyQuery } from './http/request.js';
import { updateLineage, writesLocation } from './opensrp/lineage.js';
import { batchResources, itemBatch, itemReferences, listEntriesBundle, readableByRoles, visibleItem } from './opensrp/list-entries.js';
import type { BackendResponse, GatewayBackend } from './proxy/backend.js';
import { secureCapabilities } from './proxy/metadata.js';
import { oauthUris, smartConfiguration } from './auth/smart.js';
import type { PagingBinder } from './proxy/paging.js';
import { mayHoldPagingLinks } from './proxy/paging.js';
import type { UrlRewriter } from './proxy/rewrite.js';
import type { Processing, Route, SearchedTypes } from './route.js';
import { isJsonObject } from '../json/object.js';

export interface ExecutorParts {
  backend: GatewayBackend;
  rewriter: UrlRewriter;
  paging: PagingBinder;
  publicBase: string;
  lineageSystem: string;
  syncFilterIgnore: SyncFilterIgnoreEntry[];
  /** The issuer's OpenID discovery document. */
  discovery: () => Promise<unknown>;
  /** Scopes a client asks for to get a token for the gateway, added to the issuer's. */
  smartScopes: string[];
}

/** What is known of the exchange beside the route: the client's request as it came, and where warnings go. */
export interface ExchangeContext {
  original: GatewayRequest;
  /** The body as the gateway inspected it: a route sending it unchanged sends the client's own bytes instead. */
  inspectedBody: unknown;
  warnings: () => string[];
}

function isTypes(search: SearchedTypes | SearchedTypes[]): search is string[] {
  return search !== undefined && search.every((t) => typeof t === 'string');
}

function isConfinement(value: Processing['confinement']): value is Confinement {
  return value !== undefined && !Array.isArray(value);
}

/** The post-filter of an answer, or undefined when there is nothing to check. */
function checker(confinement: Processing['confinement'], scope: Processing['scope']): ((value: unknown) => Confined) | undefined {
  if (!scope || confinement === undefined) return undefined;
  if (Array.isArray(confinement)) return Array.isArray(scope) ? (value) => confineBatchResponse(value, confinement, scope) : undefined;
  if (Array.isArray(scope) || confinement.kind === 'none') return undefined;
  return (value) => confine(value, confinement, scope);
}

function postFilterFailure(err: unknown): GatewayDenial {
  return err instanceof GatewayDenial ? err : backendFailure("the FHIR server's answer could not be checked", failureText(err));
}

const ok = (status: number) => status >= 200 && status < 300;

/** The text of an answer with its URLs rewritten: as relayed for JSON and XML, rewritten here for another declared type. */
function rewrittenText(res: BackendResponse, relayed: BackendResponse, rewriter: UrlRewriter): string {
  return relayed.body === res.body ? rewriter.text(res.body.toString()) : relayed.body.toString();
}

export class RouteExecutor {
  constructor(private readonly parts: ExecutorParts) {}

  execute(route: Route, x: ExchangeContext): Promise<Answer> {
    switch (route.kind) {
      case 'metadata':
        return this.metadata(route.request);
      case 'smart-configuration':
        return this.parts
          .discovery()
          .then((document) => jsonAnswer(200, smartConfiguration(document, this.parts.smartScopes), 'application/json'));
      case 'relay':
        return this.relay(route, x);
      case 'list':
        return this.listEntries(route);
      case 'answer':
        return Promise.resolve({
          status: 200,
          headers: { 'content-type': FHIR_JSON },
          body: this.parts.rewriter.text(JSON.stringify(route.value)),
        });
    }
  }

  /** Forward (the client's own body bytes unless the gateway replaced the body) and post-process the answer. */
  private async relay(route: Extract<Route, { kind: 'relay' }>, x: ExchangeContext): Promise<Answer> {
    const { request, processing, searchByPost, writer, denied } = route;
    const { backend } = this.parts;
    if (denied && !((request.body as Bundle).entry ?? []).length) {
      return jsonAnswer(200, batchAnswer(undefined, denied));
    }
    const body = request.body === x.inspectedBody ? x.original.body : request.body;
    let res = searchByPost
      ? await backend.searchPost(searchByPost.type, searchByPost.params, request.headers)
      : await backend.forward({ ...request, body });
    if (ok(res.status) && writesLocation(request)) res = await this.withLineage(request, res, x, writer);
    const answer = this.respond(res, processing);
    return denied && ok(answer.status) ? this.withDenied(answer, denied) : answer;
  }

  /** A batch's answer with the entries the gateway denied in their places. */
  private withDenied(answer: Answer, denied: Map<number, GatewayDenial>): Answer {
    let sent: Bundle;
    try {
      sent = JSON.parse(answer.body.toString()) as Bundle;
    } catch (err) {
      throw postFilterFailure(err);
    }
    if (sent?.resourceType !== 'Bundle') throw postFilterFailure(new Error('the answer to a batch is not a Bundle'));
    return { ...answer, body: JSON.stringify(batchAnswer(sent, denied)) };
  }

  /**
   * The answer to a Location write with the lineage tags written (for a filtered writer, of the Locations within its
   * scope only); failures there only add a warning.
   */
  private async withLineage(req: ParsedRequest, res: BackendResponse, x: ExchangeContext, writer?: Scope): Promise<BackendResponse> {
    const visible = writer && ((location: Location) => inScope(location, writer));
    try {
      return await updateLineage(this.parts.backend, req, res, this.parts.lineageSystem, visible);
    } catch (err) {
      x.warnings().push(`Location lineage not updated: ${failureText(err)}`);
      return res;
    }
  }

  /** The backend's answer as the client gets it. A non-2xx answer is relayed (URLs rewritten) without post-filtering. */
  private respond(res: BackendResponse, { confinement, scope, holder, search }: Processing): Answer {
    const relayed = this.parts.rewriter.response(res);
    const plain: Answer = { status: relayed.status, headers: relayed.headers, body: relayed.body };
    if (!ok(res.status)) return plain;
    const check = checker(confinement, scope);
    let rewritten: string | undefined;
    const text = () => (rewritten ??= rewrittenText(res, relayed, this.parts.rewriter));
    // An unfiltered answer is parsed only for paging links to sign: most reads and single-page searches have none.
    const signs = holder !== undefined && search !== undefined && /json/i.test(res.contentType ?? '');
    if (!check && !(signs && mayHoldPagingLinks(text()))) return plain;
    let confined: Confined;
    try {
      if (res.body.length === 0) {
        // Nothing to see: a write answered with return=minimal, a DELETE. Reads and searches must bring their data.
        if (check && !(isConfinement(confinement) && confinement.kind === 'any')) throw new Error('the answer is empty');
        return plain;
      }
      let value: unknown;
      try {
        value = JSON.parse(text());
      } catch {
        if (!check) return plain;
        throw new Error('the answer is not JSON');
      }
      confined = check ? check(value) : { value, changed: false };
    } catch (err) {
      throw postFilterFailure(err);
    }
    const bound = signs && this.bindPaging(confined.value, holder, search);
    if (!confined.changed && !bound) return plain;
    return { status: res.status, headers: relayed.headers, body: JSON.stringify(confined.value) };
  }

  /**
   * One page of a List's items: the List read as the caller may read it (404 and other failures relayed), the
   * page's items the caller has the role for read in one backend batch, and for filtered callers only the items
   * within the scope kept.
   */
  private async listEntries(route: Extract<Route, { kind: 'list' }>): Promise<Answer> {
    const { backend, rewriter, publicBase } = this.parts;
    const { read, confinement, page, roles, scope, holder } = route;
    const listed = await backend.forward(read);
    if (!ok(listed.status)) return this.respond(listed, {});
    let list: List;
    try {
      const value = rewriter.parseJson<List>(listed.body);
      if (value?.resourceType !== 'List') throw new Error('the answer to a List read is not a List');
      list = (checker(confinement, scope)?.(value).value ?? value) as List;
    } catch (err) {
      throw postFilterFailure(err);
    }
    const references = itemReferences(list, [publicBase, backend.baseUrl]);
    const wanted = references.slice((page.page - 1) * page.count, page.page * page.count).filter((r) => readableByRoles(r, roles));
    let resources: Resource[] = [];
    if (wanted.length) {
      const headers = { 'content-type': FHIR_JSON, accept: FHIR_JSON };
      const res = await backend.forward({ method: 'POST', path: '', query: emptyQuery(), headers, body: itemBatch(wanted) });
      if (!ok(res.status)) return this.respond(res, {});
      try {
        resources = batchResources(rewriter.parseJson(res.body), wanted.length);
      } catch (err) {
        throw postFilterFailure(err);
      }
    }
    if (scope) resources = resources.filter((r) => visibleItem(r, scope, this.parts.syncFilterIgnore));
    const bundle = listEntriesBundle(page, references.length, resources, publicBase, scope !== undefined);
    this.bindPaging(bundle, holder, ['List']);
    return { status: 200, headers: { 'content-type': FHIR_JSON }, body: JSON.stringify(bundle) };
  }

  /**
   * Sign for `holder` the paging links of the search answers the gateway forwarded: the Bundle's own, or (per entry)
   * those of the searches of a batch. Links inside stored resources are never signed. True if any changed.
   */
  private bindPaging(value: unknown, holder: string, search: SearchedTypes | SearchedTypes[]): boolean {
    if (!isJsonObject(value) || value.resourceType !== 'Bundle') return false;
    const bundle = value as unknown as Bundle;
    const pages: [Bundle | undefined, SearchedTypes][] = isTypes(search)
      ? [[bundle, search]]
      : (bundle.entry ?? []).map((e, i) => [e.resource?.resourceType === 'Bundle' ? (e.resource as Bundle) : undefined, search?.[i]]);
    let changed = false;
    for (const [page, types] of pages) {
      if (!page || !types?.length || !page.link?.length) continue;
      const before = page.link.map((l) => l.url);
      this.parts.paging.bindLinks(page, holder, types);
      changed ||= page.link.some((l, i) => l.url !== before[i]);
    }
    return changed;
  }

  /** The backend's CapabilityStatement, declared as served behind OAuth with CORS. */
  private async metadata(req: ParsedRequest): Promise<Answer> {
    const res = await this.parts.backend.forward({ method: 'GET', path: 'metadata', query: req.query, headers: req.headers });
    const relayed = this.parts.rewriter.response(res);
    const plain: Answer = { status: relayed.status, headers: relayed.headers, body: relayed.body };
    if (res.status !== 200 || !/json/i.test(res.contentType ?? '')) return plain;
    let statement: unknown;
    try {
      statement = JSON.parse(rewrittenText(res, relayed, this.parts.rewriter));
    } catch {
      return plain;
    }
    if (!isJsonObject(statement) || statement.resourceType !== 'CapabilityStatement') return plain;
    // Without the issuer, the statement still says how it is secured, only not where to get a token.
    const discovery = await this.parts.discovery().catch(() => undefined);
    return { ...plain, body: JSON.stringify(secureCapabilities(statement as unknown as CapabilityStatement, oauthUris(discovery))) };
  }
}
