// The gateway's request pipeline, in the decision order of the spec (§1.2): the unauthenticated endpoints and
// allow-list, the token, the client-role gate and the role for the request (before any backend lookup), the
// authenticated allow-list, unfiltered client roles, the user's strategy and assignment, the ignore list and the
// data-access plan. `authorize` makes that decision once, as a route (route.ts); `execute.ts` carries it out.
// Every outcome is an answer: denials are OperationOutcomes.
import type { Bundle } from '@medplum/fhirtypes';
import type { AccessPlan, DataAccessSettings } from './access/plan.js';
import { planAccess } from './access/plan.js';
import { bundleToSend, EntryDenials, isBatch, planBundle, withoutDenied } from './access/bundle-plan.js';
import { resolvePlan } from './access/write-resolution.js';
import { AppConfigResolver } from './assignment/app-config.js';
import { AssignmentResolver } from './assignment/assignment.js';
import type { Scope, Scopes } from './assignment/scope.js';
import { checkSyncLocationsRole, checkSyncLocationsStrategy, takeSyncLocations } from './assignment/sync-locations.js';
import { matchAllowedQuery } from './auth/allowed-queries.js';
import { checkReadRoles, checkRoles, clientRoleOf, rolesOf } from './auth/roles.js';
import type { TokenVerifier, VerifiedToken } from './auth/token.js';
import { createTokenVerifier } from './auth/token.js';
import type { GatewaySettings } from './config/settings.js';
import { RouteExecutor } from './execute.js';
import type { Answer } from './http/answer.js';
import { denialAnswer, FHIR_JSON } from './http/answer.js';
import type { AuditRecord } from './http/audit.js';
import { auditRecord } from './http/audit.js';
import { auditEvent, interactionOf } from './http/audit-event.js';
import { withEntries } from './http/bundle-entries.js';
import { corsHeaders } from './http/cors.js';
import { failureText } from './http/denial.js';
import type { GatewayRequest, ParsedRequest } from './http/request.js';
import { emptyQuery, parsePath, parseRequest } from './http/request.js';
import { inspectableBody } from './http/request-body.js';
import { listEntriesRequest } from './opensrp/list-entries.js';
import { readsOwnAppConfig } from './opensrp/app-config-reads.js';
import { checkOwnDetails, practitionerDetailBundle } from './opensrp/practitioner-detail.js';
import { checkHierarchyRoots, hierarchyBundle, hierarchyRequest } from './opensrp/location-hierarchy.js';
import type { GatewayBackend } from './proxy/backend.js';
import { encodeForClient } from './proxy/headers.js';
import { PagingBinder, isOpaquePage } from './proxy/paging.js';
import { UrlRewriter } from './proxy/rewrite.js';
import type { Route } from './route.js';
import { searchedTypes } from './route.js';

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

/** A decision: the route of a request, what is known of its caller, and its verified claims. */
export interface Decision {
  route: Route;
  info: GatewayInfo;
  claims?: VerifiedToken;
}

export class Gateway {
  private readonly verifier: TokenVerifier;
  private readonly assignments: AssignmentResolver;
  private readonly appConfigs: AppConfigResolver;
  private readonly rewriter: UrlRewriter;
  private readonly paging: PagingBinder;
  private readonly dataAccess: DataAccessSettings;
  private readonly executor: RouteExecutor;
  private readonly now: () => Date;

  constructor(
    private readonly settings: GatewaySettings,
    private readonly backend: GatewayBackend,
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
    this.executor = new RouteExecutor({
      backend,
      rewriter: this.rewriter,
      paging: this.paging,
      publicBase: settings.publicBase,
      lineageSystem: settings.tagSystems.LocationLineage,
      syncFilterIgnore,
      discovery: () => this.verifier.discovery(),
      smartScopes: settings.smartScopes,
    });
  }

  /** The answer to a request; never rejects. */
  async handle(req: GatewayRequest): Promise<GatewayResult> {
    const info: GatewayInfo = { roles: [], decision: 'deny', reason: '' };
    let claims: VerifiedToken | undefined;
    let answer: Answer;
    let request: ParsedRequest | undefined;
    try {
      request = this.inspected(req);
      const decision = await this.decide(request, info);
      claims = decision.claims;
      answer = await this.executor.execute(decision.route, {
        original: req,
        inspectedBody: request.body,
        warnings: () => (info.warnings ??= []),
      });
      info.decision = 'allow';
    } catch (err) {
      // What the client reads never carries the backend's address: a denial's text is rewritten like any answer.
      answer = denialAnswer(err, (text) => this.rewriter.text(text));
      info.decision = 'deny';
      info.reason = failureText(err);
    }
    let { body, headers } = answer;
    // Browser apps on allowed origins may read every answer, denials included.
    if (this.settings.cors) headers = { ...headers, ...corsHeaders(this.settings.cors, req.headers.origin) };
    try {
      ({ body, headers } = await encodeForClient(body, headers, req.headers['accept-encoding']));
    } catch {
      // Uncompressed then: gzip failing on a buffer is not a reason to lose the answer.
    }
    const { decision, reason } = info;
    const audit = auditRecord(this.now(), req, claims, { decision, reason, status: answer.status });
    if (request && claims) await this.writeAuditEvent(request, audit, claims, info);
    return { statusCode: answer.status, headers, payload: body, gateway: info, audit };
  }

  /** The AuditEvent of a request, when its action is configured; a failure to write it is a warning, not the client's. */
  private async writeAuditEvent(request: ParsedRequest, audit: AuditRecord, claims: VerifiedToken, info: GatewayInfo): Promise<void> {
    if (!this.settings.auditEventActions.includes(interactionOf(request).action)) return;
    const body = auditEvent(request, audit, claims, this.settings.publicBase);
    try {
      const res = await this.backend.forward({
        method: 'POST',
        path: 'AuditEvent',
        query: emptyQuery(),
        headers: { 'content-type': FHIR_JSON },
        body,
      });
      if (res.status >= 300) throw new Error(`the FHIR server answered ${res.status}`);
    } catch (err) {
      (info.warnings ??= []).push(`AuditEvent not written: ${failureText(err)}`);
    }
  }

  /** The route of a request, with every check and lookup it needs done; rejects with the denial. Nothing is forwarded. */
  async authorize(req: GatewayRequest): Promise<Decision> {
    const info: GatewayInfo = { roles: [], decision: 'allow', reason: '' };
    return this.decide(this.inspected(req), info);
  }

  /** Forget cached assignments (one user's, or all) and, with no user named, the cached app configurations. */
  invalidate(sub?: string): void {
    this.assignments.invalidate(sub);
    if (sub === undefined) this.appConfigs.invalidate();
  }

  /** The request parsed once: method (HEAD as GET: the post-filters need the body HEAD would not bring), path, body. */
  private inspected(req: GatewayRequest): ParsedRequest {
    const parsed = parseRequest(req);
    return { ...parsed, body: inspectableBody(req.body, req.headers['content-type']) };
  }

  private async decide(inspected: ParsedRequest, info: GatewayInfo): Promise<Decision> {
    const { method, parsed } = inspected;
    // (0) Discovery, without a token.
    if (method === 'GET' && parsed.endpoint === 'metadata') {
      info.reason = 'metadata';
      return { route: { kind: 'metadata', request: inspected }, info };
    }
    if (method === 'GET' && parsed.endpoint === 'smart-configuration') {
      info.reason = 'SMART configuration';
      return { route: { kind: 'smart-configuration' }, info };
    }
    // (1) Unauthenticated allow-list.
    if (method === 'GET' && matchAllowedQuery(this.settings.allowedQueries, inspected, false)) {
      info.reason = 'allowed query without token';
      return { route: { kind: 'relay', request: inspected, processing: {} }, info };
    }
    // (2) Token; a paging link must be the caller's own.
    const claims = await this.verifier.verify(inspected.headers.authorization);
    info.sub = claims.sub;
    const holder = claims.sub ?? `client:${String(claims.azp ?? '')}`;
    const binding = this.paging.checkBinding(inspected, holder);
    // `_syncLocations` chooses the scope below; it is the gateway's and never forwarded.
    const { query, chosen } = takeSyncLocations(binding.query);
    const bundle = inspected.path === '' && method === 'POST';
    const request = bundle ? withEntries({ ...inspected, query }) : { ...inspected, query };
    // A bound page the backend keeps (HAPI `?_getpages=`, which names no type; Google `_page_token`, Azure `ct`, whose
    // search is hidden in the token) continues a search of the types its binding names, and is filtered as a whole.
    const boundPage = method === 'GET' && isOpaquePage(query);
    // (3) Exactly one client role; (4) the role for the request (every Bundle entry, the types a page continues),
    // before any backend lookup.
    info.roles = rolesOf(claims, this.settings.roles.sources);
    const clientRole = clientRoleOf(info.roles, this.settings.roles.clientRoles);
    info.clientRole = clientRole;
    if (parsed.endpoint === 'practitioner-details') {
      checkOwnDetails(request, claims.sub);
      const details = await this.assignments.details(claims);
      info.reason = "the caller's own PractitionerDetail";
      return {
        route: { kind: 'answer', value: practitionerDetailBundle(request, claims.sub ?? '', details, this.settings.publicBase) },
        info,
        claims,
      };
    }
    const denials = new EntryDenials('entries' in request && isBatch(request));
    if (boundPage) checkReadRoles(binding.types ?? [], info.roles);
    else if (parsed.endpoint === 'location-hierarchy') checkReadRoles(['Location'], info.roles);
    else if ('entries' in request) request.entries.forEach((entry, i) => denials.entry(i, () => checkRoles(entry, info.roles)));
    else checkRoles(request, info.roles);
    const appId = claims[this.settings.appConfig.appIdClaim];
    if (typeof appId === 'string') info.appId = appId;
    if (parsed.endpoint === 'location-hierarchy') {
      const asked = hierarchyRequest(request);
      if (chosen) checkSyncLocationsRole(info.roles);
      const filtered = clientRole === this.settings.filteredClientRole;
      const allowed = filtered ? new Set((await this.locationScope(claims, info, chosen)).ids) : undefined;
      checkHierarchyRoots(asked, allowed);
      const locations = await this.assignments.locationsBelow(asked.ids);
      info.reason = 'LocationHierarchy of Locations within the assignment';
      return { route: { kind: 'answer', value: hierarchyBundle(asked, locations, this.settings.publicBase) }, info, claims };
    }
    const search = boundPage ? binding.types : searchedTypes(request);
    const decided = (route: Route, reason: string): Decision => {
      info.reason = reason;
      return { route, info, claims };
    };

    const listPage = listEntriesRequest(request);
    const filtered = clientRole === this.settings.filteredClientRole;
    const allowed = matchAllowedQuery(this.settings.allowedQueries, request, true);
    if (chosen) {
      checkSyncLocationsRole(info.roles);
      if (!filtered) checkSyncLocationsStrategy(undefined);
    }
    // (5) Authenticated allow-list; (6) unfiltered client roles.
    if (!filtered) {
      if (listPage) return decided(this.listRoute(request, listPage, info.roles, holder), 'List expanded');
      const reason = allowed ? 'allowed query' : `client role ${clientRole} is not filtered`;
      if ('entries' in request && denials.denied.size) {
        const sent = { ...request, body: withoutDenied(request.body as Bundle, denials) };
        return decided({ kind: 'relay', request: sent, processing: { holder }, denied: denials.denied }, reason);
      }
      return decided({ kind: 'relay', request, processing: { holder, search } }, reason);
    }
    // (7) Strategy and assignment; the caller's own app configuration, which every device of the app reads.
    const scopes = await this.scopes(claims, info, chosen);
    if (this.settings.appConfigReads && (await readsOwnAppConfig(request, info.appId, (id) => this.appConfigs.configBinaries(id)))) {
      return decided({ kind: 'relay', request, processing: { holder, search } }, "the caller's own app configuration");
    }
    if (listPage) {
      return decided(
        this.listRoute(request, listPage, info.roles, holder, scopes.read),
        'List read checked and its items filtered by assignment',
      );
    }
    // A filtered user's allow-listed request is restricted like any other, unless its entry says it is not.
    if (allowed?.unfiltered) {
      const processing = { confinement: { kind: 'any' as const }, scope: scopes.read, holder, search };
      return decided({ kind: 'relay', request, processing }, 'allowed query marked unfiltered, answer filtered by assignment');
    }
    if (boundPage) {
      const processing = { confinement: { kind: 'bundle' as const, entries: 'all' as const }, scope: scopes.read, holder, search };
      return decided({ kind: 'relay', request, processing }, 'bound paging link, page filtered by assignment');
    }
    // (8)–(9) Ignore list and data-access plan, per entry for root Bundles.
    if ('entries' in request) {
      const planned = planBundle(request, scopes, this.dataAccess, denials);
      const plans: (AccessPlan | undefined)[] = [];
      for (const [i, plan] of planned.entries()) {
        plans.push(plan && (await denials.entryAsync(i, () => resolvePlan(this.backend, plan, this.dataAccess))));
      }
      const sentPlans = plans.filter((p): p is AccessPlan => p !== undefined);
      const processing = {
        confinement: sentPlans.map((p) => p.confinement),
        scope: sentPlans.map((p) => p.scope),
        holder,
        search: sentPlans.map((p) => searchedTypes(p.request)),
      };
      const sent = { ...request, body: bundleToSend(request.body as Bundle, plans) };
      const route: Route = {
        kind: 'relay',
        request: sent,
        processing,
        writer: scopes.write,
        ...(denials.denied.size && { denied: denials.denied }),
      };
      return decided(route, 'Bundle entries checked against the assignment');
    }
    const plan = await resolvePlan(this.backend, planAccess(request, scopes, this.dataAccess), this.dataAccess);
    if (plan.mutation) info.mutation = plan.mutation;
    const processing = { confinement: plan.confinement, scope: plan.scope, holder, search };
    return decided(
      {
        kind: 'relay',
        request: plan.request,
        processing,
        ...(plan.searchByPost && { searchByPost: plan.searchByPost }),
        writer: scopes.write,
      },
      plan.reason,
    );
  }

  /** A List expansion: the List read as the caller may read it, then its items. */
  private listRoute(
    request: ParsedRequest,
    page: Extract<Route, { kind: 'list' }>['page'],
    roles: string[],
    holder: string,
    scope?: Scope,
  ): Route {
    const path = `List/${page.listId}`;
    const read: ParsedRequest = {
      method: 'GET',
      path,
      parsed: parsePath(path),
      query: emptyQuery(),
      headers: { ...request.headers, accept: FHIR_JSON },
    };
    const plan = scope ? planAccess(read, { read: scope, write: scope }, this.dataAccess) : undefined;
    return {
      kind: 'list',
      read: plan?.request ?? read,
      ...(plan && { confinement: plan.confinement }),
      page,
      roles,
      ...(scope && { scope }),
      holder,
    };
  }

  /**
   * The Locations a filtered caller may ask a LocationHierarchy of: its read scope under a Location strategy (the
   * Locations it chose, with `_syncLocations`), else the Locations its assignment reaches.
   */
  private async locationScope(claims: VerifiedToken, info: GatewayInfo, chosen: string[] | undefined): Promise<Scope> {
    const scopes = await this.scopes(claims, info, chosen);
    const strategy = scopes.read.strategy;
    if (strategy === 'Location' || strategy === 'RelatedEntityLocation') return scopes.read;
    return { strategy: 'Location', ids: await this.assignments.ids(claims, 'Location'), systems: this.settings.tagSystems };
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
}
