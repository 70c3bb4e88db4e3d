// A filtered user's transaction or batch Bundle: every entry planned as the same request sent alone (data-access.ts),
// then the Bundle rebuilt with what the plans change (search URLs with the `_tag` mutation, rewritten resources).
import type { Bundle, BundleEntry, BundleEntryRequest, Resource } from '@medplum/fhirtypes';
import { bundleEntryRequests } from './bundle-entries.js';
import type { AccessPlan, DataAccessSettings } from './data-access.js';
import { planAccess } from './data-access.js';
import { GatewayDenial } from './outcome.js';
import type { GatewayRequest } from './request.js';
import { formatQuery } from './request.js';
import type { Scope } from './scope.js';

export interface BundlePlan {
  /** The Bundle to send. */
  bundle: Bundle;
  /** One plan per entry, in entry order (the order of the answer's entries). */
  plans: AccessPlan[];
}

function entryUrl(req: GatewayRequest): string {
  const query = formatQuery(req.query);
  return query ? `${req.path}?${query}` : req.path;
}

/** A denial about one entry, saying which. */
export function entryDenial(index: number, err: unknown): unknown {
  return err instanceof GatewayDenial ? new GatewayDenial(err.status, err.code, `Bundle entry ${index}: ${err.message}`) : err;
}

function planEntry(req: GatewayRequest, index: number, scope: Scope, settings: DataAccessSettings): AccessPlan {
  try {
    return planAccess(req, scope, settings);
  } catch (err) {
    throw entryDenial(index, err);
  }
}

/** The Bundle (a parsed transaction or batch) as it may be sent for the user; throws the first entry's denial. */
export function planBundle(body: unknown, scope: Scope, settings: DataAccessSettings): BundlePlan {
  const requests = bundleEntryRequests(body);
  const plans = requests.map((req, i) => planEntry(req, i, scope, settings));
  const bundle = body as Bundle;
  const entry = (bundle.entry ?? []).map((original, i): BundleEntry => {
    const plan = plans[i];
    const changedBody = plan.request.body !== requests[i].body;
    return {
      ...original,
      ...(plan.mutation && { request: { ...(original.request as BundleEntryRequest), url: entryUrl(plan.request) } }),
      ...(changedBody && { resource: plan.request.body as Resource }),
    };
  });
  return { bundle: { ...bundle, ...(entry.length > 0 && { entry }) }, plans };
}
