// Security post-filters of a filtered user's answers: what the `_tag` restriction cannot reach (reads by id,
// history, included resources, operation and batch answers) is checked against the user's scope. They fail
// closed: an answer they cannot make sense of is a 502 without data, never relayed unchecked.
import type { Bundle, BundleEntry, Parameters, ParametersParameter, Resource } from '@medplum/fhirtypes';
import { GatewayDenial, operationOutcome } from '../http/denial.js';
import type { Scope } from '../assignment/scope.js';
import { inScope } from '../assignment/scope.js';
import { isJsonObject } from '../../json/object.js';

/** What the answer to a request may hold, and how what lies outside the scope is kept from the user. */
export type Confinement =
  /** Nothing to check: the request itself was restricted (a `_tag` search) or needs no restriction. */
  | { kind: 'none' }
  /** A read: the answer is that resource, within the scope, else 403. */
  | { kind: 'resource'; type: string }
  /** A Bundle: `included` removes non-match entries outside the scope (includes), `all` every entry outside it (history). */
  | { kind: 'bundle'; entries: 'included' | 'all' }
  /** One resource's history (`of` = Type/id): entries outside removed, and 403 as for a read when none is left. */
  | { kind: 'history'; of: string }
  /** Whatever comes (operation, write and allow-listed answers): Bundles and Parameters lose what lies outside, another resource outside is 403. */
  | { kind: 'any' };

export interface Confined {
  value: unknown;
  /** False when the answer passes as it came (so its bytes can be relayed unchanged). */
  changed: boolean;
}

function failure(message: string): GatewayDenial {
  return new GatewayDenial(502, 'exception', `security post-filter: ${message}`);
}

/** A resource outside the scope in an answer of any kind: refused without naming it (the client may not have). */
function outside(): GatewayDenial {
  return new GatewayDenial(403, 'forbidden', "the answer holds a resource outside the user's assignment");
}

function isResource(value: unknown): value is Resource {
  return isJsonObject(value) && typeof value.resourceType === 'string';
}

function isBundle(value: unknown): value is Bundle {
  return isResource(value) && value.resourceType === 'Bundle' && (value.entry === undefined || Array.isArray(value.entry));
}

const unchanged = (value: unknown): Confined => ({ value, changed: false });

/**
 * The entries `keep` keeps (possibly changed). `total` counts the matches: it stays when only included entries can
 * have gone (the matches were restricted by the search itself), and otherwise only when it visibly counts exactly
 * the entries kept, for it would count entries on other pages (or, with `_summary=count`, none shown) the user may
 * not see.
 */
function filterEntries(bundle: Bundle, keep: (entry: BundleEntry) => BundleEntry | undefined, matchesRestricted = false): Confined {
  const entries = bundle.entry ?? [];
  const kept: BundleEntry[] = [];
  let changed = false;
  for (const entry of entries) {
    if (!isJsonObject(entry)) throw failure('a Bundle entry is not an object');
    const result = keep(entry);
    if (result) kept.push(result);
    changed ||= result !== entry;
  }
  const countsHidden = !matchesRestricted && bundle.total !== undefined && (changed || bundle.total !== entries.length);
  if (!changed && !countsHidden) return unchanged(bundle);
  const value: Bundle = { ...bundle, entry: kept };
  if (!kept.length) delete value.entry;
  if (countsHidden) delete value.total;
  return { value, changed: true };
}

/** An entry of an answer of any kind: kept, changed (a nested Bundle or Parameters filtered) or dropped (undefined). */
function anyEntry(entry: BundleEntry, scope: Scope): BundleEntry | undefined {
  if (!isResource(entry.resource)) return undefined;
  const nested = nestedValue(entry.resource, scope);
  if (nested === undefined) return undefined;
  return nested.changed ? { ...entry, resource: nested.value as Resource } : entry;
}

/** A resource inside an answer: confined when a Bundle or Parameters, dropped (undefined) when outside the scope. */
function nestedValue(resource: Resource, scope: Scope): Confined | undefined {
  if (resource.resourceType === 'Bundle' || resource.resourceType === 'Parameters') return anyValue(resource, scope);
  return resource.resourceType === 'OperationOutcome' || inScope(resource, scope) ? unchanged(resource) : undefined;
}

function filterParameters(parameters: ParametersParameter[], scope: Scope): { kept: ParametersParameter[]; changed: boolean } {
  const kept: ParametersParameter[] = [];
  let changed = false;
  for (const parameter of parameters) {
    let result: ParametersParameter | undefined = parameter;
    if (parameter.resource !== undefined) {
      const nested = isResource(parameter.resource) ? nestedValue(parameter.resource, scope) : undefined;
      result = nested && (nested.changed ? { ...parameter, resource: nested.value as Resource } : parameter);
    }
    if (result?.part) {
      const parts = filterParameters(result.part, scope);
      if (parts.changed) result = { ...result, part: parts.kept };
    }
    if (result) kept.push(result);
    changed ||= result !== parameter;
  }
  return { kept, changed };
}

function anyValue(value: unknown, scope: Scope): Confined {
  if (!isResource(value)) throw failure('the answer is not a FHIR resource');
  if (isBundle(value)) return filterEntries(value, (entry) => anyEntry(entry, scope));
  if (value.resourceType === 'Parameters') {
    const { kept, changed } = filterParameters((value as Parameters).parameter ?? [], scope);
    return changed ? { value: { ...value, parameter: kept }, changed } : unchanged(value);
  }
  if (value.resourceType === 'OperationOutcome' || inScope(value, scope)) return unchanged(value);
  throw outside();
}

/** The answer (parsed JSON) as the user may see it; 403 for a read outside the scope, 502 for an answer that cannot be checked. */
export function confine(value: unknown, confinement: Confinement, scope: Scope): Confined {
  switch (confinement.kind) {
    case 'none':
      return unchanged(value);
    case 'resource':
      if (!isResource(value) || value.resourceType !== confinement.type) throw failure(`the answer is not a ${confinement.type}`);
      if (!inScope(value, scope))
        throw new GatewayDenial(403, 'forbidden', `${value.resourceType}/${value.id ?? ''} lies outside the user's assignment`);
      return unchanged(value);
    case 'bundle':
      if (!isBundle(value)) throw failure('the answer is not a Bundle');
      if (confinement.entries === 'all') return anyValue(value, scope);
      return filterEntries(value, (entry) => (entry.search?.mode === 'match' ? entry : anyEntry(entry, scope)), true);
    case 'history': {
      if (!isBundle(value)) throw failure('the answer is not a Bundle');
      const confined = anyValue(value, scope);
      // A history wholly outside is refused like the read of that resource: an empty page would tell it exists.
      if ((value.entry ?? []).length > 0 && !((confined.value as Bundle).entry ?? []).length) {
        throw new GatewayDenial(403, 'forbidden', `${confinement.of} lies outside the user's assignment`);
      }
      return confined;
    }
    case 'any':
      return anyValue(value, scope);
  }
}

/**
 * A batch or transaction answer, each entry confined as the request entry it answers (same order). An entry whose
 * resource lies outside the scope becomes a 403 entry; the other entries stay.
 */
export function confineBatchResponse(value: unknown, confinements: Confinement[], scopes: Scope[]): Confined {
  if (!isBundle(value) || (value.type !== 'batch-response' && value.type !== 'transaction-response')) {
    throw failure('the answer to a batch or transaction is not a batch-response or transaction-response Bundle');
  }
  const entries = value.entry ?? [];
  if (entries.length !== confinements.length) throw failure(`the answer has ${entries.length} entries for ${confinements.length} requests`);
  let changed = false;
  const confined = entries.map((entry, i): BundleEntry => {
    if (!isJsonObject(entry)) throw failure('a Bundle entry is not an object');
    if (entry.resource === undefined) return entry;
    try {
      const result = confine(entry.resource, confinements[i], scopes[i]);
      changed ||= result.changed;
      return result.changed ? { ...entry, resource: result.value as Resource } : entry;
    } catch (err) {
      // A transaction is all or nothing: its entries were checked before it was sent, so this answer cannot be shown.
      if (value.type === 'transaction-response') throw failure('the answer to a transaction holds a resource outside the assignment');
      if (!(err instanceof GatewayDenial) || err.status !== 403) throw err;
      changed = true;
      return { response: { status: '403 Forbidden', outcome: operationOutcome('forbidden', err.message) } };
    }
  });
  return changed ? { value: { ...value, entry: confined }, changed } : unchanged(value);
}
