// A filtered user's transaction or batch Bundle: every entry planned as the same request sent alone (data-access.ts),
// then, once the gateway has checked their targets (and applied their patches), the Bundle rebuilt from what the plans
// send: search URLs with the `_tag` mutation, rewritten resources, patches sent as the PUT of their result.
import type { Bundle, BundleEntry, BundleEntryRequest, Resource } from '@medplum/fhirtypes';
import { CONDITION_FIELDS } from '../http/bundle-entries.js';
import type { AccessPlan, DataAccessSettings } from './plan.js';
import { planAccess } from './plan.js';
import { GatewayDenial } from '../http/denial.js';
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

/** One plan per entry of the Bundle (a transaction or batch), in entry order; throws the first entry's denial. */
export function planBundle(req: BundleRequest, scopes: Scopes, settings: DataAccessSettings): AccessPlan[] {
  return req.entries.map((entry, i) => {
    try {
      return planAccess(entry, scopes, settings);
    } catch (err) {
      throw entryDenial(i, err);
    }
  });
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

/** The Bundle to send: each entry as its (checked) plan sends it. */
export function bundleToSend(body: Bundle, plans: AccessPlan[]): Bundle {
  const entry = (body.entry ?? []).map((original, i): BundleEntry => {
    const { body: resource, ...request } = plans[i].request;
    const entry: BundleEntry = { ...original, request: entryRequest({ ...request }) };
    if (resource === undefined) delete entry.resource;
    else entry.resource = resource as Resource;
    return entry;
  });
  return { ...body, ...(entry.length > 0 && { entry }) };
}
