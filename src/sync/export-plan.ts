// What an export will send, before anything is sent, in named phases: the scope (hierarchies, levels,
// mapping), the exportable objects, their ids and geometries, their parents, parent cycles broken, their
// fingerprints, and the objects to send parents first with one index by code. Shared by Run and Generate
// Bundle. Node-RED-free.
import { createHash } from 'node:crypto';
import type { GeoObject, Hierarchy, ParentLink, RegistryModel } from '../registry/model.js';
import type { Implementation, Level, LevelConfig } from '../mapping/levels.js';
import type { MappingOptions, ParentRef } from '../mapping/mcsd.js';
import type { Position } from '../registry/geometry.js';
import type { ErrorRow, Skipped } from './job.js';
import { datesProblem, validAt } from '../registry/model.js';
import { breakParentCycles } from './parent-cycles.js';
import { resolveLevels } from '../mapping/levels.js';
import { inspectGeometry, inspectPoints } from '../registry/geometry.js';
import { mapGeoObject } from '../mapping/mcsd.js';
import { conditionalUrl } from '../fhir/search-value.js';
import { FHIR_ID } from '../fhir/ids.js';

/** code: id = code (validated); safe: code, or a sanitised code + hash; server: no id, the server assigns one. */
export type IdStrategy = 'code' | 'safe' | 'server';
export type OnMissingParent = 'climb' | 'omit' | 'fail';
/** export: as it is, with a WARNING row (GPR's behaviour); refuse: an ERROR row, the object is not exported. */
export type InvalidGeometry = 'export' | 'refuse';

export interface ExportOptions {
  /** The external system's identifier System. */
  system: string;
  /** Codes of the hierarchies to export; empty = all. */
  hierarchies: string[];
  implementation: Implementation;
  levels?: LevelConfig[];
  /** The hierarchy Location.partOf follows; empty = the first of `hierarchies` (or of the registry's). */
  partOfHierarchy: string;
  idStrategy: IdStrategy;
  locationPartOf: boolean;
  onMissingParent: OnMissingParent;
  invalidGeometry: InvalidGeometry;
  gprCompat: boolean;
  /** Entries per transaction; an object's two entries are never split. */
  chunkSize: number;
  /** Largest transaction sent, in bytes of JSON: bigger chunks are split, a bigger object gets an error row. */
  maxRequestBytes: number;
  /** Send only objects that changed since the last run that was not a FAILURE. */
  incremental: boolean;
  /** What becomes of resources with this System's identifier whose object is gone: left alone, or set inactive. */
  onRemoved: 'ignore' | 'inactivate';
}

export const DEFAULT_EXPORT_OPTIONS: Omit<ExportOptions, 'system'> = {
  hierarchies: [],
  implementation: 'mcsd',
  partOfHierarchy: '',
  idStrategy: 'code',
  locationPartOf: true,
  onMissingParent: 'climb',
  invalidGeometry: 'export',
  gprCompat: false,
  chunkSize: 500,
  maxRequestBytes: 10 * 1024 * 1024,
  incremental: false,
  onRemoved: 'ignore',
};

export interface PlannedObject {
  object: GeoObject;
  level: Level;
  id?: string;
  centroid?: Position;
  parents: ParentRef[];
}

/** What every phase of the plan works within: the configuration, resolved once. */
export interface PlanScope {
  options: ExportOptions;
  mode: 'run' | 'generate';
  hierarchies: Hierarchy[];
  levels: Level[];
  /** Level index of each exported type. */
  levelOf: Map<string, number>;
  /** How the objects are mapped (the partOf hierarchy resolved). */
  mapping: MappingOptions;
}

/** The plan before incremental runs leave out what is unchanged: every object that can be exported. */
export interface PreparedExport {
  scope: PlanScope;
  /** Every exportable object by code, in the model's order. */
  planned: Map<string, PlannedObject>;
  rows: ErrorRow[];
  skipped: Skipped;
  /** Fingerprint of every exportable object, for the next incremental run; computed when first read. */
  readonly fingerprints: Record<string, string>;
  /** Codes of every object that exists at forDate, exportable or not: anything else on the server was removed. */
  existing: Set<string>;
}

export interface ExportPlan {
  levels: Level[];
  hierarchies: Hierarchy[];
  mapping: MappingOptions;
  /** The objects to send, parents first: level order, then code descending within a level (GPR's order). */
  objects: PlannedObject[];
  /** The same objects by code: the one index chunks, retries and checks look objects up in. */
  index: ReadonlyMap<string, PlannedObject>;
  rows: ErrorRow[];
  skipped: Skipped;
  /** Fingerprint of every exportable object (sent or unchanged), for the next incremental run. */
  readonly fingerprints: Record<string, string>;
  /** Codes of every object that exists at forDate, sent or not: anything else on the server was removed. */
  existing: Set<string>;
}

/** The parents of an object that has none (never changed in place: phases set a new array). */
const NO_PARENTS: ParentRef[] = [];

/** Characters that change what GPR's unescaped, unencoded conditional URL means (search escapes, URL syntax). */
const UNSAFE_IN_GPR_URL = /[,|$\\&#?%+\s]/;

/** Why `code` cannot be a FHIR resource id as it is (HAPI also refuses purely numeric client ids). */
export function idProblem(code: string): string | undefined {
  if (!FHIR_ID.test(code)) return `code "${code}" is not a valid FHIR id (letters, digits, "-" and "." only, at most 64)`;
  if (/^\d+$/.test(code)) return `code "${code}" is purely numeric, which servers such as HAPI refuse as a client-assigned id`;
  return undefined;
}

/** A valid id derived from `code`: the code itself when valid, else sanitised with a hash that keeps it unique. */
export function safeId(code: string): string {
  if (!idProblem(code)) return code;
  const hash = createHash('sha1').update(code).digest('hex').slice(0, 8);
  return `${code.replace(/[^A-Za-z0-9\-.]/g, '-').slice(0, 55)}-${hash}`;
}

function selectHierarchies(model: RegistryModel, codes: string[]): Hierarchy[] {
  if (!codes.length) return model.hierarchies;
  return codes.map((code) => {
    const h = model.hierarchies.find((x) => x.code === code);
    if (!h) throw new Error(`hierarchy "${code}" is not in the registry (known: ${model.hierarchies.map((x) => x.code).join(', ')})`);
    return h;
  });
}

/**
 * What an object's entries are, references to other objects by code: a digest of the resources and
 * requests the Bundle would carry, so any change to anything they are built from changes it.
 */
function fingerprint(p: PlannedObject, mapping: MappingOptions): string {
  const { organization, location } = mapGeoObject(p, mapping, (type, code) => `${type}|${code}`);
  const urls = ['Organization', 'Location'].map((t) => conditionalUrl(t, mapping.system, p.object.code, mapping.gprCompat));
  return createHash('sha1')
    .update(JSON.stringify([organization, location, urls, p.id ?? null]))
    .digest('base64');
}

/** The partOf hierarchy: the configured one, which must be exported, else the first exported. */
function partOfHierarchy(hierarchies: Hierarchy[], configured: string): string {
  if (!configured) return hierarchies[0]?.code ?? '';
  if (!hierarchies.some((h) => h.code === configured))
    throw new Error(
      `partOf hierarchy "${configured}" is not one of the exported hierarchies (${hierarchies.map((h) => h.code).join(', ')})`,
    );
  return configured;
}

/** A row about object `o`. */
function row(o: GeoObject, message: string, severity: ErrorRow['severity'] = 'ERROR'): ErrorRow {
  return { code: o.code, type: o.type, severity, message };
}

/** Phase 0: the hierarchies, levels and mapping of the configuration; configuration errors throw. */
export function planScope(model: RegistryModel, options: ExportOptions, mode: PlanScope['mode']): PlanScope {
  const hierarchies = selectHierarchies(model, options.hierarchies);
  const levels = resolveLevels(model, hierarchies, options.system, options.implementation, options.levels);
  return {
    options,
    mode,
    hierarchies,
    levels,
    levelOf: new Map(levels.map((l, i) => [l.type.code, i])),
    mapping: {
      system: options.system,
      partOfHierarchy: partOfHierarchy(hierarchies, options.partOfHierarchy),
      locationPartOf: options.locationPartOf,
      gprCompat: options.gprCompat,
    },
  };
}

/**
 * Phase 1: the objects of the levels that exist, are valid and could be read; the first of a duplicated
 * code wins. Counts what is skipped, and a row for each object that cannot be exported.
 */
export function exportableObjects(model: RegistryModel, scope: PlanScope, rows: ErrorRow[], skipped: Skipped): Map<string, GeoObject> {
  const byCode = new Map<string, GeoObject>();
  const known = new Set(model.types.map((t) => t.code));
  for (const o of model.objects) {
    if (!known.has(o.type)) rows.push(row(o, `type "${o.type}" is not one of the registry's Geo-Object Types: not exported`));
    if (!scope.levelOf.has(o.type)) continue;
    if (o.invalid) skipped.invalid++;
    else if (!o.exists) skipped.notExisting++;
    else if (o.problem) rows.push(row(o, `${o.problem}: not exported`));
    else if (byCode.has(o.code))
      rows.push(row(o, `duplicate code "${o.code}": also used by a ${byCode.get(o.code)?.type}; only the first is exported`));
    else byCode.set(o.code, o);
  }
  return byCode;
}

/** The resource id of `o` by the id strategy; undefined: none (server ids) or refused (with a row). */
function resourceId(o: GeoObject, scope: PlanScope, rows: ErrorRow[]): { id?: string; refused?: true } {
  const { idStrategy } = scope.options;
  if (idStrategy === 'safe') return { id: safeId(o.code) };
  if (idStrategy !== 'code') return {};
  const problem = idProblem(o.code);
  if (problem && scope.mode === 'run') {
    rows.push(row(o, `${problem}: choose the "safe" or "server" id strategy`));
    return { refused: true };
  }
  if (problem) rows.push(row(o, `${problem}: a server may refuse it`, 'WARNING'));
  return { id: o.code };
}

/**
 * Phase 2: each object's resource id and centroid, its geometry checked; an object whose id (runs) or
 * geometry is refused gets a row and is left out.
 */
export async function planObjects(
  objects: Map<string, GeoObject>,
  scope: PlanScope,
  rows: ErrorRow[],
): Promise<Map<string, PlannedObject>> {
  const { options, levels, levelOf } = scope;
  const planned = new Map<string, PlannedObject>();
  for (const o of objects.values()) {
    const { id, refused } = resourceId(o, scope, rows);
    if (refused) continue;
    if (options.gprCompat && UNSAFE_IN_GPR_URL.test(o.code))
      rows.push(
        row(
          o,
          `code "${o.code}" goes unescaped into GPR’s conditional URL: a server may not find its resource again and create another`,
          'WARNING',
        ),
      );
    let centroid: Position | undefined;
    if (o.geometry) {
      try {
        const inspected = inspectPoints(o.geometry) ?? (await inspectGeometry(o.geometry));
        if (inspected.defect && options.invalidGeometry === 'refuse') {
          rows.push(row(o, `${inspected.defect}; not exported (invalid geometries: refuse)`));
          continue;
        }
        if (inspected.defect) rows.push(row(o, `${inspected.defect}; exported as it is`, 'WARNING'));
        centroid = inspected.centroid;
      } catch (err) {
        rows.push(row(o, (err as Error).message));
        continue;
      }
    }
    // One shape for every object (absent values undefined), its parents set by the next phase: 100k of them stay small.
    planned.set(o.code, { object: o, level: levels[levelOf.get(o.type) as number], id, centroid, parents: NO_PARENTS });
  }
  return planned;
}

/**
 * Phase 3: each object's parents per hierarchy at forDate, resolved to exported objects (or to objects of
 * types outside the levels); a parent that is not exported is climbed over, omitted or fatal, as configured.
 */
export function linkParents(planned: Map<string, PlannedObject>, model: RegistryModel, scope: PlanScope, rows: ErrorRow[]): void {
  const { hierarchies, levelOf, options } = scope;
  // Hierarchy -> child code -> its link at forDate: the links themselves, no key or copy per object.
  const linkOf = new Map<string, Map<string, ParentLink>>(hierarchies.map((h) => [h.code, new Map()]));
  for (const l of model.links) {
    const problem = datesProblem(l);
    const child = planned.get(l.childCode);
    if (problem && linkOf.has(l.hierarchy) && child)
      rows.push(row(child.object, `its link to parent "${l.parentCode}" in hierarchy "${l.hierarchy}" is ignored: its ${problem}`));
    else if (!problem && validAt(l, model.forDate)) linkOf.get(l.hierarchy)?.set(l.childCode, l);
  }
  // The hierarchies where each level has parent types, as GPR's List Types hold them.
  const parentHierarchies = new Map(
    scope.levels.map((level) => [level, hierarchies.filter((h) => level.parentHierarchies.includes(h.code))]),
  );
  // Siblings share their parents' array (phases replace an object's array, never change it): 100k facilities under
  // a few hundred districts hold a few hundred arrays.
  const shared = new Map<string, ParentRef[]>();
  for (const p of planned.values()) {
    const parents: ParentRef[] = [];
    for (const h of parentHierarchies.get(p.level) ?? []) {
      const links = linkOf.get(h.code) as Map<string, ParentLink>;
      let parent = links.get(p.object.code);
      // Codes climbed over: made only for an object whose parent is not exported.
      let seen: Set<string> | undefined;
      while (parent && levelOf.has(parent.parentType) && !planned.has(parent.parentCode) && !seen?.has(parent.parentCode)) {
        const missing = parent.parentCode;
        (seen ??= new Set()).add(missing);
        if (options.onMissingParent === 'fail')
          throw new Error(`parent "${missing}" of "${p.object.code}" in hierarchy "${h.code}" is not exported`);
        const next = options.onMissingParent === 'climb' ? links.get(missing) : undefined;
        rows.push(
          row(
            p.object,
            `parent "${missing}" in hierarchy "${h.code}" is not exported; ${next ? `linked to "${next.parentCode}" instead` : 'no parent set'}`,
            'WARNING',
          ),
        );
        parent = next;
      }
      if (parent && !seen?.has(parent.parentCode)) parents.push({ hierarchy: h, code: parent.parentCode });
    }
    if (!parents.length) continue;
    const key = parents.map((x) => `${x.hierarchy.code}\u0000${x.code}`).join('\u0001');
    // Copied to its exact length: an array grown by push keeps room for 17.
    if (!shared.has(key)) shared.set(key, parents.slice());
    p.parents = shared.get(key) as ParentRef[];
  }
}

/** Phase 5 (runs): the fingerprint of every exportable object. */
export function fingerprints(planned: Map<string, PlannedObject>, mapping: MappingOptions): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of planned.values()) out[p.object.code] = fingerprint(p, mapping);
  return out;
}

/** Phase 6: the objects parents first: level order, then code descending within a level (GPR's order). */
export function parentsFirst(objects: Iterable<PlannedObject>, levelOf: Map<string, number>): PlannedObject[] {
  return [...objects].sort(
    (a, b) =>
      (levelOf.get(a.object.type) as number) - (levelOf.get(b.object.type) as number) ||
      (a.object.code < b.object.code ? 1 : a.object.code > b.object.code ? -1 : 0),
  );
}

/**
 * Every exportable object of `model` at its forDate, planned: phases 0 to 5 (the fingerprints when first read). `mode` decides what an
 * invalid id is: an error that keeps the object out (run) or a warning (generate). Configuration errors throw.
 */
export async function prepareExport(model: RegistryModel, options: ExportOptions, mode: PlanScope['mode']): Promise<PreparedExport> {
  const scope = planScope(model, options, mode);
  const rows: ErrorRow[] = [];
  const skipped: Skipped = { invalid: 0, notExisting: 0, unchanged: 0 };
  const objects = exportableObjects(model, scope, rows, skipped);
  const planned = await planObjects(objects, scope, rows);
  linkParents(planned, model, scope, rows);
  // Phase 4: objects on parent cycles are left out, their children lose that parent.
  rows.push(
    ...breakParentCycles(
      planned,
      scope.hierarchies.map((h) => h.code),
    ),
  );
  let computed: Record<string, string> | undefined;
  return {
    scope,
    planned,
    rows,
    skipped,
    get fingerprints() {
      return (computed ??= fingerprints(planned, scope.mapping));
    },
    existing: new Set(objects.keys()),
  };
}

/**
 * The plan of what to send: every prepared object, or with the incremental option those whose fingerprint
 * differs from `previous` (the unchanged are counted as skipped). Cheap: it can be taken again with other
 * `previous` fingerprints.
 */
export function exportPlan(prepared: PreparedExport, previous: Record<string, string> = {}): ExportPlan {
  const { scope, planned } = prepared;
  const skipped = { ...prepared.skipped };
  let sent: Iterable<PlannedObject> = planned.values();
  if (scope.options.incremental) {
    const current = prepared.fingerprints;
    const changed = [...planned.values()].filter((p) => previous[p.object.code] !== current[p.object.code]);
    skipped.unchanged = planned.size - changed.length;
    sent = changed;
  }
  const objects = parentsFirst(sent, scope.levelOf);
  return {
    levels: scope.levels,
    hierarchies: scope.hierarchies,
    mapping: scope.mapping,
    objects,
    // Without the incremental option every prepared object is sent: their map is the index, not a copy of it.
    index: scope.options.incremental ? new Map(objects.map((p) => [p.object.code, p])) : planned,
    rows: prepared.rows,
    skipped,
    get fingerprints() {
      return prepared.fingerprints;
    },
    existing: prepared.existing,
  };
}

/** Plan an export of `model` at its forDate: `prepareExport`, then the objects to send (`exportPlan`). */
export async function planExport(
  model: RegistryModel,
  options: ExportOptions,
  mode: PlanScope['mode'],
  previous: Record<string, string> = {},
): Promise<ExportPlan> {
  return exportPlan(await prepareExport(model, options, mode), previous);
}
