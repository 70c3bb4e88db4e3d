// The gateway's request pipeline, in the decision order of the spec (§1.2): the unauthenticated endpoints and
// allow-list, the token, the client-role gate and the role for the request (before any backend lookup), the
// authenticated allow-list, unfiltered client roles, the user's strategy and assignment, the ignore list and the
// data-access plan; then the backend's answer post-filtered, its paging links bound to the user, its URLs
// rewritten and, for clients that accept it, gzipped. Every outcome is an answer: denials are OperationOutcomes.
import type { Bundle, CapabilityStatement, List, Location, Resource } from '@medplum/fhirtypes';
import type { Answer } from './http/answer.js';
import { denialAnswer, FHIR_JSON, jsonAnswer } from './http/answer.js';
import type { AuditRecord } from './http/audit.js';
import { auditRecord } from './http/audit.js';
import { AppConfigResolver } from './assignment/app-config.js';
import { AssignmentResolver } from './assignment/assignment.js';
import type { Backend, BackendResponse } from './proxy/backend.js';
import { bundleToSend, entryDenial, planBundle } from './access/bundle-plan.js';
import type { AccessPlan, DataAccessSettings } from './access/plan.js';
import { planAccess } from './access/plan.js';
import { encodeForClient } from './proxy/headers.js';
import { updateLineage, writesLocation } from './opensrp/lineage.js';
import type { ListPage } from './opensrp/list-entries.js';
import {
  batchResources,
  itemBatch,
  itemReferences,
  listEntriesBundle,
  listEntriesRequest,
  readableByRoles,
  visibleItem,
} from './opensrp/list-entries.js';
import { secureCapabilities } from './proxy/metadata.js';
import { backendFailure, failureText, GatewayDenial } from './http/denial.js';
import { PagingBinder } from './proxy/paging.js';
import { checkRoles, clientRoleOf, rolesOf } from './auth/roles.js';
import type { Confined, Confinement } from './access/confine.js';
import { confine, confineBatchResponse } from './access/confine.js';
import type { GatewayRequest } from './http/request.js';
import { emptyQuery, isRecord, param, parsePath } from './http/request.js';
import { inspectableBody } from './http/request-body.js';
import { UrlRewriter } from './proxy/rewrite.js';
import type { Scope, Scopes } from './assignment/scope.js';
import { inScope } from './assignment/scope.js';
import type { GatewaySettings } from './config/settings.js';
import { checkSyncLocationsRole, checkSyncLocationsStrategy, takeSyncLocations } from './assignment/sync-locations.js';
import { matchAllowedQuery } from './auth/allowed-queries.js';
import type { TokenVerifier, VerifiedToken } from './auth/token.js';
import { createTokenVerifier } from './auth/token.js';
import { resolvePlan } from './access/write-resolution.js';

export type { AuditRecord } from './http/audit.js';

/** What the gateway decided, for logs and tests (msg.gateway). */
export interface GatewayInfo {
  sub?: string;
  roles: string[];
  clientRole?: string;
  appId?: string;
  strategy?: string;
  ids?: string[];
  decision: 'allow' | 'deny';
  reason: string;
  /** Query parameters the gateway set on the request, replacing the client's. */
  mutation?: Record<string, string[]>;
  warnings?: string[];
}

export interface GatewayResult {
  statusCode: number;
  headers: Record<string, string>;
  payload: Buffer | string;
  gateway: GatewayInfo;
  audit: AuditRecord;
}

export interface GatewayOptions {
  /** The clock of token checks, paging-link expiry and audit records, for tests. */
  now?: () => Date;
}

/**
 * How an answer is post-processed: checked against the scope (one confinement, or one per Bundle entry with its
 * scope) and its paging links bound to their user.
 */
interface Processing {
  confinement?: Confinement | Confinement[];
  scope?: Scope | Scope[];
  /** The user paging links are bound to; none for unauthenticated requests. */
  holder?: string;
  /** The resource types of the search the answer pages (one per entry of a batch answer); none: no link is signed. */
  search?: SearchedTypes | SearchedTypes[];
}

/** The resource types a search returns, whose roles a link continuing it needs; undefined for anything but a search. */
type SearchedTypes = string[] | undefined;

/** The types a forwarded request searches (type, compartment and history searches), else undefined. */
function searchedTypes(req: GatewayRequest): SearchedTypes {
  const reads = req.method === 'GET' || req.method === 'HEAD';
  const parsed = parsePath(req.path);
  if ((!reads && !(req.method === 'POST' && parsed.search)) || parsed.operation || parsed.type === undefined) return undefined;
  if (parsed.id !== undefined && !parsed.compartmentType && !(parsed.history && parsed.versionId === undefined)) return undefined;
  return parsed.compartmentType ? [parsed.type, parsed.compartmentType] : [parsed.type];
}

/** A request on its way: the client's, with its body parsed for inspection, and what is known of the caller. */
interface Exchange {
  original: GatewayRequest;
  inspected: GatewayRequest;
  info: GatewayInfo;
  claims?: VerifiedToken;
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

export class Gateway {
  private readonly verifier: TokenVerifier;
  private readonly assignments: AssignmentResolver;
  private readonly appConfigs: AppConfigResolver;
  private readonly rewriter: UrlRewriter;
  private readonly paging: PagingBinder;
  private readonly dataAccess: DataAccessSettings;
  private readonly now: () => Date;

  constructor(
    private readonly settings: GatewaySettings,
    private readonly backend: Backend,
    options: GatewayOptions = {},
  ) {
    this.now = options.now ?? (() => new Date());
    this.verifier = createTokenVerifier(settings.token, { now: this.now });
    this.assignments = new AssignmentResolver(backend, settings.assignment);
    this.appConfigs = new AppConfigResolver(backend, settings.appConfig);
    this.rewriter = new UrlRewriter({ backendBase: backend.baseUrl, publicBase: settings.publicBase, aliases: settings.backendAliases });
    this.paging = new PagingBinder({
      publicBase: settings.publicBase,
      ...(settings.pagingSecret !== undefined && { secret: settings.pagingSecret }),
      now: () => this.now().getTime(),
    });
    const { syncFilterIgnore, allowedOperations, allowedSearchParams, writeTags } = settings;
    this.dataAccess = { syncFilterIgnore, allowedOperations, allowedSearchParams, writeTags };
  }

  /** The answer to a request; never rejects. */
  async handle(req: GatewayRequest): Promise<GatewayResult> {
    const x: Exchange = { original: req, inspected: req, info: { roles: [], decision: 'deny', reason: '' } };
    let answer: Answer;
    try {
      answer = await this.decide(x);
      x.info.decision = 'allow';
    } catch (err) {
      // What the client reads never carries the backend's address: a denial's text is rewritten like any answer.
      answer = denialAnswer(err, (text) => this.rewriter.text(text));
      x.info.decision = 'deny';
      x.info.reason = failureText(err);
    }
    let { body, headers } = answer;
    try {
      ({ body, headers } = await encodeForClient(body, headers, req.headers['accept-encoding']));
    } catch {
      // Uncompressed then: gzip failing on a buffer is not a reason to lose the answer.
    }
    const { decision, reason } = x.info;
    return {
      statusCode: answer.status,
      headers,
      payload: body,
      gateway: x.info,
      audit: auditRecord(this.now(), req, x.claims, { decision, reason, status: answer.status }),
    };
  }

  /** Forget cached assignments (one user's, or all) and, with no user named, the cached app configurations. */
  invalidate(sub?: string): void {
    this.assignments.invalidate(sub);
    if (sub === undefined) this.appConfigs.invalidate();
  }

  private async decide(x: Exchange): Promise<Answer> {
    const { original, info } = x;
    // HEAD is answered as GET (the post-filters need the body HEAD would not bring); the HTTP server sends no body.
    const method = original.method.toUpperCase() === 'HEAD' ? 'GET' : original.method.toUpperCase();
    const parsed = parsePath(original.path);
    x.inspected = { ...original, method, body: inspectableBody(original.body, original.headers['content-type']) };

    // (0) Discovery, without a token.
    if (method === 'GET' && parsed.endpoint === 'metadata') {
      info.reason = 'metadata';
      return this.metadata(x.inspected);
    }
    if (method === 'GET' && parsed.endpoint === 'smart-configuration') {
      info.reason = 'SMART configuration';
      return jsonAnswer(200, await this.verifier.smartConfiguration(), 'application/json');
    }
    // (1) Unauthenticated allow-list.
    if (method === 'GET' && matchAllowedQuery(this.settings.allowedQueries, x.inspected, false)) {
      info.reason = 'allowed query without token';
      return this.relay(x, x.inspected, {});
    }
    // (2) Token; a paging link must be the caller's own.
    const claims = await this.verifier.verify(original.headers.authorization);
    x.claims = claims;
    info.sub = claims.sub;
    const holder = claims.sub ?? `client:${String(claims.azp ?? '')}`;
    const binding = this.paging.checkBinding(x.inspected, holder);
    // `_syncLocations` chooses the scope below; it is the gateway's and never forwarded.
    const { query, chosen } = takeSyncLocations(binding.query);
    const request: GatewayRequest = { ...x.inspected, query };
    // A bound HAPI page (`?_getpages=`) names no type: it continues a search of the types its binding names.
    const boundPage = original.path === '' && method === 'GET' && param(request.query, '_getpages') !== undefined;
    // (3) Exactly one client role; (4) the role for the request (every Bundle entry, the types a page continues),
    // before any backend lookup.
    info.roles = rolesOf(claims, this.settings.roles.sources);
    const clientRole = clientRoleOf(info.roles, this.settings.roles.clientRoles);
    info.clientRole = clientRole;
    if (boundPage) for (const type of binding.types ?? []) checkRoles({ ...request, path: type, query: emptyQuery() }, info.roles);
    else checkRoles(request, info.roles);
    const appId = claims[this.settings.appConfig.appIdClaim];
    if (typeof appId === 'string') info.appId = appId;
    const search = boundPage ? binding.types : searchedTypes(request);

    const listPage = listEntriesRequest(request);
    const filtered = clientRole === this.settings.filteredClientRole;
    const allowed = matchAllowedQuery(this.settings.allowedQueries, request, true);
    if (chosen) {
      checkSyncLocationsRole(info.roles);
      if (!filtered) checkSyncLocationsStrategy(undefined);
    }
    // (5) Authenticated allow-list; (6) unfiltered client roles.
    if (!filtered) {
      if (listPage) {
        info.reason = 'List expanded';
        return this.listEntries(x, request, listPage, { holder });
      }
      info.reason = allowed ? 'allowed query' : `client role ${clientRole} is not filtered`;
      return this.relay(x, request, { holder, search });
    }
    // (7) Strategy and assignment.
    const scopes = await this.scopes(claims, info, chosen);
    if (listPage) {
      info.reason = 'List read checked and its items filtered by assignment';
      return this.listEntries(x, request, listPage, { scope: scopes.read, holder });
    }
    // A filtered user's allow-listed request is restricted like any other, unless its entry says it is not.
    if (allowed?.unfiltered) {
      info.reason = 'allowed query marked unfiltered, answer filtered by assignment';
      return this.relay(x, request, { confinement: { kind: 'any' }, scope: scopes.read, holder, search });
    }
    if (boundPage) {
      info.reason = 'bound paging link, page filtered by assignment';
      return this.relay(x, request, { confinement: { kind: 'bundle', entries: 'all' }, scope: scopes.read, holder, search });
    }
    // (8)–(9) Ignore list and data-access plan, per entry for root Bundles.
    if (original.path === '' && method === 'POST') {
      const plans = await this.resolved(planBundle(request.body, scopes, this.dataAccess));
      info.reason = 'Bundle entries checked against the assignment';
      const sent = { ...request, body: bundleToSend(request.body as Bundle, plans) };
      const processing = {
        confinement: plans.map((p) => p.confinement),
        scope: plans.map((p) => p.scope),
        holder,
        search: plans.map((p) => searchedTypes(p.request)),
      };
      return this.relay(x, sent, processing, undefined, scopes.write);
    }
    const [plan] = await this.resolved([planAccess(request, scopes, this.dataAccess)], false);
    info.reason = plan.reason;
    if (plan.mutation) info.mutation = plan.mutation;
    return this.relay(
      x,
      plan.request,
      { confinement: plan.confinement, scope: plan.scope, holder, search },
      plan.searchByPost,
      scopes.write,
    );
  }

  /** The plans after the checks that read the backend, one after another (Bundle entries name the entry that failed). */
  private async resolved(plans: AccessPlan[], inBundle = true): Promise<AccessPlan[]> {
    const out: AccessPlan[] = [];
    for (const [i, plan] of plans.entries()) {
      try {
        out.push(await resolvePlan(this.backend, plan, this.dataAccess));
      } catch (err) {
        throw inBundle ? entryDenial(i, err) : err;
      }
    }
    return out;
  }

  /** The caller's scopes: what it reads (its assignment, or the Locations it chose with `_syncLocations`) and writes (its assignment). */
  private async scopes(claims: VerifiedToken, info: GatewayInfo, chosen: string[] | undefined): Promise<Scopes> {
    const strategy = await this.appConfigs.syncStrategy(info.appId);
    info.strategy = strategy;
    if (chosen) checkSyncLocationsStrategy(strategy);
    const scope = (ids: string[]): Scope => ({ strategy, ids, systems: this.settings.tagSystems });
    const own = scope(await this.assignments.ids(claims, strategy));
    const read = chosen ? scope(await this.assignments.chosenLocations(chosen)) : own;
    info.ids = read.ids;
    return { read, write: own };
  }

  /** Forward (the client's own body bytes unless the gateway replaced the body) and post-process the answer. */
  private async relay(
    x: Exchange,
    planned: GatewayRequest,
    processing: Processing,
    searchByPost?: AccessPlan['searchByPost'],
    writer?: Scope,
  ): Promise<Answer> {
    const body = planned.body === x.inspected.body ? x.original.body : planned.body;
    let res = searchByPost
      ? await this.backend.searchPost(searchByPost.type, searchByPost.params, planned.headers)
      : await this.backend.forward({ ...planned, body });
    if (res.status >= 200 && res.status < 300 && writesLocation(planned)) res = await this.withLineage(planned, res, x.info, writer);
    return this.respond(res, processing);
  }

  /**
   * The answer to a Location write with the lineage tags written (for a filtered writer, of the Locations within its
   * scope only); failures there only add a warning.
   */
  private async withLineage(req: GatewayRequest, res: BackendResponse, info: GatewayInfo, writer?: Scope): Promise<BackendResponse> {
    const visible = writer && ((location: Location) => inScope(location, writer));
    try {
      return await updateLineage(this.backend, req, res, this.settings.tagSystems.LocationLineage, visible);
    } catch (err) {
      (info.warnings ??= []).push(`Location lineage not updated: ${failureText(err)}`);
      return res;
    }
  }

  /** The backend's answer as the client gets it. A non-2xx answer is relayed (URLs rewritten) without post-filtering. */
  private respond(res: BackendResponse, { confinement, scope, holder, search }: Processing): Answer {
    const relayed = this.rewriter.response(res);
    const plain: Answer = { status: relayed.status, headers: relayed.headers, body: relayed.body };
    if (res.status < 200 || res.status >= 300) return plain;
    const check = checker(confinement, scope);
    if (!check && !/json/i.test(res.contentType ?? '')) return plain;
    let confined: Confined;
    try {
      if (res.body.length === 0) {
        // Nothing to see: a write answered with return=minimal, a DELETE. Reads and searches must bring their data.
        if (check && !(isConfinement(confinement) && confinement.kind === 'any')) throw new Error('the answer is empty');
        return plain;
      }
      let value: unknown;
      try {
        // JSON and XML bodies were rewritten above; only another declared type still needs it.
        value = JSON.parse(relayed.body === res.body ? this.rewriter.text(res.body.toString()) : relayed.body.toString());
      } catch {
        if (!check) return plain;
        throw new Error('the answer is not JSON');
      }
      confined = check ? check(value) : { value, changed: false };
    } catch (err) {
      throw postFilterFailure(err);
    }
    const bound = holder !== undefined && search !== undefined && this.bindPaging(confined.value, holder, search);
    if (!confined.changed && !bound) return plain;
    return { status: res.status, headers: relayed.headers, body: this.rewriter.serialiseJson(confined.value) };
  }

  /**
   * One page of a List's items: the List read as the caller may read it (404 and other failures relayed), the
   * page's items the caller has the role for read in one backend batch, and for filtered callers only the items
   * within the scope kept.
   */
  private async listEntries(
    x: Exchange,
    request: GatewayRequest,
    page: ListPage,
    { scope, holder }: { scope?: Scope; holder: string },
  ): Promise<Answer> {
    const read: GatewayRequest = {
      method: 'GET',
      path: `List/${page.listId}`,
      query: {},
      headers: { ...request.headers, accept: FHIR_JSON },
    };
    const plan = scope ? planAccess(read, { read: scope, write: scope }, this.dataAccess) : undefined;
    const listed = await this.backend.forward(plan?.request ?? read);
    if (listed.status < 200 || listed.status >= 300) return this.respond(listed, {});
    let list: List;
    try {
      const value = this.rewriter.parseJson<List>(listed.body);
      if (value?.resourceType !== 'List') throw new Error('the answer to a List read is not a List');
      list = (checker(plan?.confinement, scope)?.(value).value ?? value) as List;
    } catch (err) {
      throw postFilterFailure(err);
    }
    const references = itemReferences(list, [this.settings.publicBase, this.backend.baseUrl]);
    const wanted = references.slice((page.page - 1) * page.count, page.page * page.count).filter((r) => readableByRoles(r, x.info.roles));
    let resources: Resource[] = [];
    if (wanted.length) {
      const headers = { 'content-type': FHIR_JSON, accept: FHIR_JSON };
      const res = await this.backend.forward({ method: 'POST', path: '', query: {}, headers, body: itemBatch(wanted) });
      if (res.status < 200 || res.status >= 300) return this.respond(res, {});
      try {
        resources = batchResources(this.rewriter.parseJson(res.body), wanted.length);
      } catch (err) {
        throw postFilterFailure(err);
      }
    }
    if (scope) resources = resources.filter((r) => visibleItem(r, scope, this.dataAccess.syncFilterIgnore));
    const bundle = listEntriesBundle(page, references.length, resources, this.settings.publicBase);
    if (holder !== undefined) this.bindPaging(bundle, holder, ['List']);
    return { status: 200, headers: { 'content-type': FHIR_JSON }, body: this.rewriter.serialiseJson(bundle) };
  }

  /**
   * Sign for `holder` the paging links of the search answers the gateway forwarded: the Bundle's own, or (per entry)
   * those of the searches of a batch. Links inside stored resources are never signed. True if any changed.
   */
  private bindPaging(value: unknown, holder: string, search: SearchedTypes | SearchedTypes[]): boolean {
    if (!isRecord(value) || value.resourceType !== 'Bundle') return false;
    const bundle = value as unknown as Bundle;
    const pages: [Bundle | undefined, SearchedTypes][] = isTypes(search)
      ? [[bundle, search]]
      : (bundle.entry ?? []).map((e, i) => [e.resource?.resourceType === 'Bundle' ? (e.resource as Bundle) : undefined, search?.[i]]);
    let changed = false;
    for (const [page, types] of pages) {
      if (!page || !types?.length || !page.link?.length) continue;
      const before = page.link.map((l) => l.url);
      this.paging.bindLinks(page, holder, types);
      changed ||= page.link.some((l, i) => l.url !== before[i]);
    }
    return changed;
  }

  /** The backend's CapabilityStatement, declared as served behind OAuth with CORS. */
  private async metadata(req: GatewayRequest): Promise<Answer> {
    const res = await this.backend.forward({ method: 'GET', path: 'metadata', query: req.query, headers: req.headers });
    const relayed = this.rewriter.response(res);
    const plain: Answer = { status: relayed.status, headers: relayed.headers, body: relayed.body };
    if (res.status !== 200 || !/json/i.test(res.contentType ?? '')) return plain;
    let statement: unknown;
    try {
      statement = this.rewriter.parseJson(res.body);
    } catch {
      return plain;
    }
    if (!isRecord(statement) || statement.resourceType !== 'CapabilityStatement') return plain;
    return { ...plain, body: this.rewriter.serialiseJson(secureCapabilities(statement as unknown as CapabilityStatement)) };
  }
}
