// What the gateway does with the HTTP requests to its routes (those of the `http in` nodes wired straight into a
// gateway-authorize node) before `http in` sees them, in one middleware installed when the module loads and so ahead
// of every `http in` route:
// - it owns their bodies: `http in` would parse them with its own body parsers, whose failures (malformed JSON, a
//   body over the limit, too many form fields, an unparsable Content-Type) end in a bare 500 before any flow runs.
//   The raw body is read up to Node-RED's `apiMaxLength` and marked read, so that `http in` passes it on untouched;
//   a body that cannot be read is remembered for the gateway to answer with its own OperationOutcome;
// - the FHIR base without its trailing '/' (`POST /fhir`, a transaction) reaches the route of `/fhir/*`;
// - CORS preflights (`OPTIONS`, which `http in` does not serve) are answered with the node's CORS settings.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { NodeAPI } from 'node-red';
import getRawBody from 'raw-body';
import type { CorsSettings } from '../gateway/http/cors.js';
import { preflightHeaders } from '../gateway/http/cors.js';

/** Why a request's body could not be read: the status and text the gateway answers with. */
export interface BodyFailure {
  status: 400 | 413;
  message: string;
}

interface Route {
  method: string;
  pattern: RegExp;
}

interface Claim {
  routes: Route[];
  cors?: CorsSettings;
}

type Request = IncomingMessage & { _body?: boolean; body?: unknown; path?: string };

/** Node-RED's own default for `http in` bodies. */
const DEFAULT_LIMIT = '5mb';
const BODYLESS = new Set(['GET', 'HEAD', 'OPTIONS']);

const claimed = new Map<string, Claim>();
const failures = new WeakMap<object, BodyFailure>();
const installed = new WeakSet<object>();

/** An express route path (`/fhir/*`, `/fhir/:type`) as a pattern of request paths. */
function routePattern(url: string): RegExp {
  const path = url.startsWith('/') ? url : `/${url}`;
  const source = path
    .split('/')
    .map((segment) => {
      if (segment === '*') return '.*';
      if (segment.startsWith(':')) return '[^/]+';
      return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    })
    .join('/');
  return new RegExp(`^${source}/?$`);
}

/** The routes of the `http in` nodes whose output is wired straight into the node `nodeId`. */
function feedingRoutes(RED: NodeAPI, nodeId: string): Route[] {
  const routes: Route[] = [];
  RED.nodes.eachNode((n) => {
    const def = n as { type: string; url?: unknown; method?: unknown; wires?: string[][] };
    if (def.type !== 'http in' || typeof def.url !== 'string' || typeof def.method !== 'string') return;
    if (!(def.wires ?? []).some((port) => port.includes(nodeId))) return;
    routes.push({ method: def.method.toUpperCase(), pattern: routePattern(def.url) });
  });
  return routes;
}

/** The request's path as express routes match it: the URL before its query, as sent. */
function pathOf(req: Request): string {
  const url = req.url ?? '/';
  const query = url.indexOf('?');
  return query < 0 ? url : url.slice(0, query);
}

/** The claim whose routes take this method and path (any method: undefined). */
function claimOf(method: string | undefined, path: string): Claim | undefined {
  for (const claim of claimed.values()) {
    if (claim.routes.some((r) => (method === undefined || r.method === method) && r.pattern.test(path))) return claim;
  }
  return undefined;
}

/** `/fhir` as `/fhir/` when only the latter is a gateway route, so that the base without its slash is served too. */
function withBaseSlash(req: Request, path: string): void {
  if (path.endsWith('/') || claimOf(undefined, path) || !claimOf(undefined, `${path}/`)) return;
  const url = req.url ?? '/';
  req.url = `${path}/${url.slice(path.length)}`;
}

function answerPreflight(req: Request, res: ServerResponse, method: string): boolean {
  if (method !== 'OPTIONS') return false;
  const cors = claimOf(undefined, pathOf(req))?.cors;
  if (!cors) return false;
  const origin = req.headers.origin;
  const requested = req.headers['access-control-request-headers'];
  res.writeHead(
    204,
    preflightHeaders(cors, typeof origin === 'string' ? origin : undefined, typeof requested === 'string' ? requested : undefined),
  );
  res.end();
  return true;
}

function failureOf(err: unknown): BodyFailure {
  const { type, status } = err as { type?: string; status?: number };
  if (type === 'entity.too.large' || status === 413) return { status: 413, message: 'the request body is larger than the gateway accepts' };
  return { status: 400, message: 'the request body could not be read' };
}

/** Install the middleware on Node-RED's HTTP node router, once per router. */
export function installGatewayHttp(RED: NodeAPI): void {
  const router = RED.httpNode as unknown as { use: (fn: (req: Request, res: ServerResponse, next: () => void) => void) => void };
  if (installed.has(router)) return;
  installed.add(router);
  const limit = (RED.settings as { apiMaxLength?: string | number }).apiMaxLength ?? DEFAULT_LIMIT;
  router.use((req, res, next) => {
    withBaseSlash(req, pathOf(req));
    const method = (req.method ?? '').toUpperCase();
    if (answerPreflight(req, res, method)) return;
    if (req._body || BODYLESS.has(method) || !claimOf(method, pathOf(req))) return next();
    req._body = true;
    getRawBody(req, { length: req.headers['content-length'], limit }).then(
      (body) => {
        req.body = body;
        next();
      },
      (err: unknown) => {
        failures.set(req, failureOf(err));
        req.body = undefined;
        next();
      },
    );
  });
}

/** Take the requests of the `http in` nodes wired into `nodeId` (until released), answering preflights with `cors`. */
export function claimRoutes(RED: NodeAPI, nodeId: string, cors?: CorsSettings): void {
  claimed.set(nodeId, { routes: feedingRoutes(RED, nodeId), ...(cors && { cors }) });
}

export function releaseRoutes(nodeId: string): void {
  claimed.delete(nodeId);
}

/** Why the body of this `http in` request could not be read, or undefined. */
export function bodyFailure(req: object): BodyFailure | undefined {
  return failures.get(req);
}
