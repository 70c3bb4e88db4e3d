// The checks of a filtered user's write that need the backend: the existing resource it changes must lie within the
// scope, a patch is applied to that resource by the gateway and its result checked (and sent) as a PUT over exactly
// the version checked, and a Location may only be placed under a Location the user may see.
import type { Location, Resource } from '@medplum/fhirtypes';
import { FHIR_JSON } from '../http/answer.js';
import type { Backend } from '../proxy/backend.js';
import type { AccessPlan, DataAccessSettings } from './plan.js';
import { backendFailure, GatewayDenial } from '../http/denial.js';
import type { ParsedRequest } from '../http/request.js';
import { isFhirId } from '../../fhir/ids.js';
import { emptyQuery } from '../http/request.js';
import { inScope } from '../assignment/scope.js';
import { checkedWriteBody, patchedResource } from './write-checks.js';
import { isJsonObject } from '../../json/object.js';

type Lookups = Pick<Backend, 'get'>;

/** The stored resource a plan addresses, checked to lie within its scope; undefined when the backend has none. */
async function checkedTarget(backend: Lookups, plan: AccessPlan): Promise<Resource | undefined> {
  if (!plan.target) return undefined;
  const { type, id } = plan.target;
  const existing = await backend.get<Resource>(`${type}/${id}`);
  if (existing === undefined) return undefined;
  if (!isJsonObject(existing) || existing.resourceType !== type) {
    throw backendFailure(`the FHIR server answered ${type}/${id} with something else than a ${type}`, `GET ${type}/${id}`);
  }
  if (!inScope(existing, plan.scope)) throw new GatewayDenial(403, 'forbidden', `${type}/${id} lies outside the user's assignment`);
  return existing;
}

/** An entity tag without its weak marker and quotes: `W/"3"` → `3`. */
function versionOf(etag: string): string {
  return etag
    .trim()
    .replace(/^W\//, '')
    .replace(/^"(.*)"$/, '$1');
}

/** The PUT of a patch's checked result, conditional on the version the patch was applied to. */
function patchAsPut(plan: AccessPlan, target: Resource, settings: DataAccessSettings): ParsedRequest {
  const { type, id } = plan.target ?? { type: '', id: '' };
  const version = target.meta?.versionId;
  const asked = plan.request.headers['if-match'];
  if (asked !== undefined && version !== undefined && versionOf(asked) !== version) {
    throw new GatewayDenial(412, 'conflict', `${type}/${id} is at version ${version}, not ${versionOf(asked)}`);
  }
  const result = patchedResource(target, plan.patch ?? []);
  const body = checkedWriteBody(result, plan.request.parsed, plan.scope, settings.writeTags);
  const headers: Record<string, string> = { ...plan.request.headers, 'content-type': FHIR_JSON, accept: FHIR_JSON };
  delete headers['if-match'];
  if (version !== undefined) headers['if-match'] = `W/"${version}"`;
  return { method: 'PUT', path: plan.request.path, parsed: plan.request.parsed, query: emptyQuery(), headers, body };
}

/** The Location a write stores, when it stores one. */
function writtenLocation(req: ParsedRequest): Location | undefined {
  if (req.method !== 'POST' && req.method !== 'PUT') return undefined;
  return isJsonObject(req.body) && req.body.resourceType === 'Location' ? (req.body as unknown as Location) : undefined;
}

/** 403 unless the Location's `partOf` names a Location within the scope (a missing one is refused alike: no oracle). */
async function checkParent(backend: Lookups, location: Location, plan: AccessPlan): Promise<void> {
  const reference = location.partOf?.reference;
  if (location.partOf === undefined) return;
  const id = reference?.startsWith('Location/') ? reference.slice('Location/'.length) : undefined;
  if (id === undefined || !isFhirId(id)) {
    throw new GatewayDenial(
      400,
      'not-supported',
      `a filtered user's Location must have its partOf as Location/<id>, not '${reference ?? ''}'`,
    );
  }
  const parent = await backend.get<Location>(`Location/${id}`);
  if (parent?.resourceType !== 'Location' || !inScope(parent, plan.scope)) {
    throw new GatewayDenial(403, 'forbidden', `partOf Location/${id} lies outside the user's assignment`);
  }
}

/**
 * The plan as it may be sent, after the checks that read the backend: its target within the scope, a patch applied
 * to it and sent as the checked PUT of its result (404 when there is nothing to patch, 412 when the client asked for
 * another version), a Location's parent within the scope.
 */
export async function resolvePlan(backend: Lookups, plan: AccessPlan, settings: DataAccessSettings): Promise<AccessPlan> {
  const target = await checkedTarget(backend, plan);
  let resolved = plan;
  if (plan.patch) {
    if (!target) throw new GatewayDenial(404, 'not-found', `${plan.target?.type ?? ''}/${plan.target?.id ?? ''} does not exist`);
    resolved = { ...plan, request: patchAsPut(plan, target, settings) };
  }
  const location = writtenLocation(resolved.request);
  if (location) await checkParent(backend, location, resolved);
  return resolved;
}
