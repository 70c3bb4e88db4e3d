// The gateway owns the bodies of the requests it answers. `http in` would parse them with its own body parsers,
// whose failures (malformed JSON, a body over the limit, too many form fields, an unparsable Content-Type) end in a
// bare 500 before any flow runs. One middleware, installed when the module loads and so ahead of every `http in`
// route, reads the raw body of requests to the routes of `http in` nodes wired straight into a gateway-authorize
// node, up to Node-RED's `apiMaxLength`, and marks it read so that `http in` passes it on untouched; a body that
// cannot be read is remembered for the gateway to answer with its own OperationOutcome.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { NodeAPI } from 'node-red';
import getRawBody from 'raw-body';

/** Why a request's body could not be read: the status and text the gateway answers with. */
export interface BodyFailure {
  status: 400 | 413;
  message: string;
}

interface Route {
  method: string;
  pattern: RegExp;
}

type Request = IncomingMessage & { _body?: boolean; body?: unknown; path?: string };

/** Node-RED's own default for `http in` bodies. */
const DEFAULT_LIMIT = '5mb';
const BODYLESS = new Set(['GET', 'HEAD', 'OPTIONS']);

const claimed = new Map<string, Route[]>();
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

function isClaimed(req: Request): boolean {
  const method = (req.method ?? '').toUpperCase();
  const path = req.path ?? new URL(req.url ?? '/', 'http://localhost').pathname;
  for (const routes of claimed.values()) if (routes.some((r) => r.method === method && r.pattern.test(path))) return true;
  return false;
}

function failureOf(err: unknown): BodyFailure {
  const { type, status } = err as { type?: string; status?: number };
  if (type === 'entity.too.large' || status === 413) return { status: 413, message: 'the request body is larger than the gateway accepts' };
  return { status: 400, message: 'the request body could not be read' };
}

/** Install the body reader on Node-RED's HTTP node router, once per router. */
export function installBodyReader(RED: NodeAPI): void {
  const router = RED.httpNode as unknown as { use: (fn: (req: Request, res: ServerResponse, next: () => void) => void) => void };
  if (installed.has(router)) return;
  installed.add(router);
  const limit = (RED.settings as { apiMaxLength?: string | number }).apiMaxLength ?? DEFAULT_LIMIT;
  router.use((req, _res, next) => {
    if (req._body || BODYLESS.has((req.method ?? '').toUpperCase()) || !isClaimed(req)) return next();
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

/** Let the body reader take the requests of the `http in` nodes wired into `nodeId` (until released). */
export function claimRoutes(RED: NodeAPI, nodeId: string): void {
  claimed.set(nodeId, feedingRoutes(RED, nodeId));
}

export function releaseRoutes(nodeId: string): void {
  claimed.delete(nodeId);
}

/** Why the body of this `http in` request could not be read, or undefined. */
export function bodyFailure(req: object): BodyFailure | undefined {
  return failures.get(req);
}
