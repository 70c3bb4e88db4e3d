// What a filtered user may write: a resource of the addressed type carrying the assignment's tags (or given them,
// in rewrite mode), and JSON Patches whose result is such a resource with the `resourceType`, `id` and `meta` of
// the checked target.
import { isDeepStrictEqual } from 'node:util';
import type { Resource } from '@medplum/fhirtypes';
import type { Operation } from 'fast-json-patch';
import { applyPatch } from 'fast-json-patch';
import { GatewayDenial, invalid } from '../http/denial.js';
import type { ParsedPath } from '../http/request.js';
import type { Scope } from '../assignment/scope.js';
import { withAssignmentTags, writeTagsAllowed } from '../assignment/tags.js';
import { isJsonObject } from '../../json/object.js';

function withoutCreateId(resource: Resource, parsed: ParsedPath): Resource {
  if (parsed.id !== undefined || resource.id === undefined) return resource;
  const copy = { ...resource };
  delete copy.id;
  return copy;
}

/**
 * The resource to send for a POST (create) or PUT (update) of `parsed`: the body when its tags lie within the
 * scope, else 403 — or, with `rewrite`, a copy given the scope's tags. 400 when the body is not the addressed resource.
 * A create's id is dropped, as FHIR has servers ignore it: a backend refusing a taken id would tell which ids exist.
 */
export function checkedWriteBody(body: unknown, parsed: ParsedPath, scope: Scope, mode: 'reject' | 'rewrite'): Resource {
  if (!isJsonObject(body) || typeof body.resourceType !== 'string') throw invalid('the request body is not a FHIR resource');
  if (body.resourceType !== parsed.type) throw invalid(`the body is a ${body.resourceType}, not a ${parsed.type}`);
  if (parsed.id !== undefined && body.id !== parsed.id) throw invalid(`the body's id is not '${parsed.id}'`);
  const resource = withoutCreateId(body as unknown as Resource, parsed);
  if (writeTagsAllowed(resource, scope.strategy, scope.ids, scope.systems)) return resource;
  if (mode === 'rewrite') return withAssignmentTags(resource, scope.strategy, scope.ids, scope.systems);
  throw new GatewayDenial(
    403,
    'forbidden',
    `a ${parsed.type} written under sync strategy ${scope.strategy} needs a ${scope.systems[scope.strategy]} tag of the assignment, and no other`,
  );
}

/**
 * The patched resource, checked as the body of a PUT would be: the patch must apply to the stored resource and
 * leave its `resourceType`, `id` and `meta` (which holds the assignment tags) as they were. 400 for a patch that
 * does not apply, 403 for one that changes what it may not.
 */
export function patchedResource(target: Resource, patch: Operation[]): Resource {
  let result: unknown;
  try {
    result = applyPatch(structuredClone(target), patch, true, false).newDocument;
  } catch (err) {
    throw invalid(`the patch does not apply to ${target.resourceType}/${target.id ?? ''}: ${(err as Error).message.split('\n')[0]}`);
  }
  const patched = result as Resource;
  if (!isJsonObject(result) || patched.resourceType !== target.resourceType || patched.id !== target.id) {
    throw new GatewayDenial(403, 'forbidden', 'a patch may not change the resourceType or id of the resource');
  }
  if (!isDeepStrictEqual(patched.meta, target.meta)) {
    throw new GatewayDenial(403, 'forbidden', 'a patch may not change meta, which holds the assignment tags');
  }
  return patched;
}

/** The JSON Patch a Binary carries (a PATCH entry of a Bundle), else undefined. */
function binaryPatch(body: Record<string, unknown>): unknown {
  if (typeof body.data !== 'string') return undefined;
  try {
    return JSON.parse(Buffer.from(body.data, 'base64').toString('utf8')) as unknown;
  } catch {
    throw invalid('the Binary of a PATCH does not hold a JSON Patch');
  }
}

/**
 * The JSON Patch of a PATCH body: a JSON Patch array, or (in Bundles) a Binary holding one. 400 for anything
 * else: a FHIRPath Patch cannot be applied by the gateway, so its result could not be checked.
 */
export function jsonPatchOf(body: unknown): Operation[] {
  const patch = isJsonObject(body) && body.resourceType === 'Binary' ? binaryPatch(body) : body;
  if (isJsonObject(patch) && patch.resourceType === 'Parameters') {
    throw new GatewayDenial(400, 'not-supported', 'a FHIRPath Patch cannot be checked by the gateway: send a JSON Patch');
  }
  if (!Array.isArray(patch)) throw invalid('a PATCH body must be a JSON Patch');
  for (const op of patch) {
    if (!isJsonObject(op) || typeof op.op !== 'string' || typeof op.path !== 'string')
      throw invalid('a JSON Patch operation needs op and path');
  }
  return patch as Operation[];
}
