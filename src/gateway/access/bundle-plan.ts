// A filtered user's transaction or batch Bundle: every entry planned as the same request sent alone (data-access.ts),
// then, once the gateway has checked their targets (and applied their patches), the Bundle rebuilt from what the plans
// send: search URLs with the `_tag` mutation, rewritten resources, patches sent as the PUT of their result.
import type { Bundle, BundleEntry, BundleEntryRequest, Resource } from '@medplum/fhirtypes';
import { CONDITION_FIELDS } from '../http/bundle-entries.js';
import type { AccessPlan, DataAccessSettings } from './plan.js';
import { planAccess } from './plan.js';
import { GatewayDenial, operationOutcome } from '../http/denial.js';
import type { BundleRequest, GatewayRequest } from '../http/request.js';
import { formatQuery } from '../http/request.js';
import type { Scopes } from '../assignment/scope.js';

function entryUrl(req: GatewayRequest): string {
  const query = formatQuery(req.query);
  return query ? `${req.path}?${query}` : req.path;
}

/** A denial about one entry, saying which. */
export function entryDenial(index: number, err: unknown): unknown {
  return err instanceof GatewayDenial ? new GatewayDenial(err.status, err.code, `Bundle entry ${index}: ${err.message}`, err.detail) : err;
}

/** Whether the root POST is a batch, whose entries are answered one by one (a transaction is all or nothing). */
export function isBatch(req: BundleRequest): boolean {
  return (req.body as Bundle | undefined)?.type === 'batch';
}

/**
 * The entries' denials so far: a transaction's first denial refuses it whole (thrown); a batch's denied entries
 * are answered on their own and left out of what is sent.
 */
export class EntryDenials {
  readonly denied = new Map<number, GatewayDenial>();

  constructor(private readonly batch: boolean) {}

  /** `fn`'s result for entry `index`, or undefined when a batch entry is denied (recorded); a transaction throws. */
  entry<T>(index: number, fn: () => T): T | undefined {
    try {
      return fn();
    } catch (err) {
      const denial = entryDenial(index, err);
      if (!this.batch || !(denial instanceof GatewayDenial)) throw denial;
      this.denied.set(index, denial);
      return undefined;
    }
  }

  async entryAsync<T>(index: number, fn: () => Promise<T>): Promise<T | undefined> {
    try {
      return await fn();
    } catch (err) {
      return this.entry(index, () => {
        throw err;
      });
    }
  }
}

/**
 * One plan per entry of the Bundle (undefined for an entry already denied), in entry order. The reads by id of a
 * transaction have their resource checked before it is sent: a transaction's answer cannot lose an entry.
 */
export function planBundle(
  req: BundleRequest,
  scopes: Scopes,
  settings: DataAccessSettings,
  denials: EntryDenials,
): (AccessPlan | undefined)[] {
  const transaction = !isBatch(req);
  return req.entries.map((entry, i) => {
    if (denials.denied.has(i)) return undefined;
    return denials.entry(i, () => {
      const plan = planAccess(entry, scopes, settings);
      const { type, id } = entry.parsed;
      if (transaction && plan.confinement.kind === 'resource' && type !== undefined && id !== undefined)
        return { ...plan, target: { type, id } };
      return plan;
    });
  });
}

/** The Bundle without the entries a batch denied (for unfiltered users, whose entries have no plan). */
export function withoutDenied(body: Bundle, denials: EntryDenials): Bundle {
  if (!denials.denied.size) return body;
  return { ...body, entry: (body.entry ?? []).filter((_e, i) => !denials.denied.has(i)) };
}

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  412: 'Precondition Failed',
  413: 'Payload Too Large',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
};

/**
 * A batch's answer with the entries the gateway denied put back in their places, each as its own response with
 * its OperationOutcome; `answer` holds the backend's entries for the others (none when nothing was sent).
 */
export function batchAnswer(answer: Bundle | undefined, denied: Map<number, GatewayDenial>): Bundle {
  const sent = [...(answer?.entry ?? [])];
  const count = sent.length + denied.size;
  const entry = Array.from({ length: count }, (_e, i): BundleEntry => {
    const denial = denied.get(i);
    if (!denial) return sent.shift() as BundleEntry;
    return {
      response: { status: `${denial.status} ${STATUS_TEXT[denial.status]}`, outcome: operationOutcome(denial.code, denial.message) },
    };
  });
  return { ...answer, resourceType: 'Bundle', type: 'batch-response', entry };
}

/** The entry's request as the plan sends it: method, URL and the conditions its headers carry. */
function entryRequest(req: GatewayRequest): BundleEntryRequest {
  const request: BundleEntryRequest = { method: req.method as BundleEntryRequest['method'], url: entryUrl(req) };
  for (const [field, header] of Object.entries(CONDITION_FIELDS)) {
    const value = req.headers[header];
    if (value !== undefined) request[field as keyof typeof CONDITION_FIELDS] = value;
  }
  return request;
}

/** The Bundle to send: each entry that has a plan as its (checked) plan sends it; denied entries are left out. */
export function bundleToSend(body: Bundle, plans: (AccessPlan | undefined)[]): Bundle {
  const entry = (body.entry ?? []).flatMap((original, i): BundleEntry[] => {
    const plan = plans[i];
    if (!plan) return [];
    const { body: resource, ...request } = plan.request;
    const entry: BundleEntry = { ...original, request: entryRequest({ ...request }) };
    if (resource === undefined) delete entry.resource;
    else entry.resource = resource as Resource;
    return [entry];
  });
  const sent: Bundle = { ...body, entry };
  if (!entry.length) delete sent.entry;
  return sent;
}
