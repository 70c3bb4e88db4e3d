// What a filtered user may write: a resource of the addressed type carrying the assignment's tags (or given them,
// in rewrite mode), and patches that leave `meta` alone, so that a patched resource keeps the tags its checked
// target had.
import type { Resource } from '@medplum/fhirtypes';
import { GatewayDenial } from './outcome.js';
import type { ParsedPath } from './request.js';
import { isRecord } from './request.js';
import type { Scope } from './scope.js';
import { withAssignmentTags, writeTagsAllowed } from './tags.js';

function invalid(message: string): GatewayDenial {
  return new GatewayDenial(400, 'invalid', message);
}

/**
 * The resource to send for a POST (create) or PUT (update) of `parsed`: the body when its tags lie within the
 * scope, else 403 — or, with `rewrite`, a copy given the scope's tags. 400 when the body is not the addressed resource.
 */
export function checkedWriteBody(body: unknown, parsed: ParsedPath, scope: Scope, mode: 'reject' | 'rewrite'): Resource {
  if (!isRecord(body) || typeof body.resourceType !== 'string') throw invalid('the request body is not a FHIR resource');
  if (body.resourceType !== parsed.type) throw invalid(`the body is a ${body.resourceType}, not a ${parsed.type}`);
  if (parsed.id !== undefined && body.id !== parsed.id) throw invalid(`the body's id is not '${parsed.id}'`);
  const resource = body as unknown as Resource;
  if (writeTagsAllowed(resource, scope.strategy, scope.ids, scope.systems)) return resource;
  if (mode === 'rewrite') return withAssignmentTags(resource, scope.strategy, scope.ids, scope.systems);
  throw new GatewayDenial(
    403,
    'forbidden',
    `a ${parsed.type} written under sync strategy ${scope.strategy} needs a ${scope.systems[scope.strategy]} tag of the assignment, and no other`,
  );
}

/** A JSON Pointer into `meta` or the whole document. */
const META_POINTER = /^(\/meta(\/.*)?)?$/;
/** A FHIRPath naming meta (`Patient.meta.tag`, `meta`). */
const META_PATH = /(^|\.)meta(\.|\[|$)/;

function jsonPatchTouchesMeta(ops: unknown[]): boolean {
  return ops.some((op) => {
    if (!isRecord(op) || typeof op.op !== 'string' || typeof op.path !== 'string')
      throw invalid('a JSON Patch operation needs op and path');
    return META_POINTER.test(op.path) || (typeof op.from === 'string' && op.op === 'move' && META_POINTER.test(op.from));
  });
}

function fhirPathPatchTouchesMeta(parameters: Record<string, unknown>): boolean {
  const operations = Array.isArray(parameters.parameter) ? parameters.parameter : [];
  return operations.some((operation: unknown) => {
    const parts = isRecord(operation) && Array.isArray(operation.part) ? operation.part : [];
    const value = (name: string) => {
      const part: unknown = parts.find((p: unknown) => isRecord(p) && p.name === name);
      return isRecord(part) && typeof part.valueString === 'string' ? part.valueString : undefined;
    };
    return META_PATH.test(value('path') ?? '') || value('name') === 'meta';
  });
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
 * 403 for a patch that would change `meta` (and with it the assignment tags), 400 for a body that is no patch:
 * a JSON Patch array, a FHIRPath Patch Parameters, or (in Bundles) a Binary holding a JSON Patch.
 */
export function checkPatch(body: unknown): void {
  const patch = isRecord(body) && body.resourceType === 'Binary' ? binaryPatch(body) : body;
  let touches: boolean;
  if (Array.isArray(patch)) touches = jsonPatchTouchesMeta(patch);
  else if (isRecord(patch) && patch.resourceType === 'Parameters') touches = fhirPathPatchTouchesMeta(patch);
  else throw invalid('a PATCH body must be a JSON Patch or a FHIRPath Patch');
  if (touches) throw new GatewayDenial(403, 'forbidden', 'a patch may not change meta, which holds the assignment tags');
}
