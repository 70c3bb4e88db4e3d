// What an export will send, before anything is sent: levels, objects parents-first, resource ids per
// id strategy, each object's parents, and the rows for what cannot be exported. Shared by Run and
// Generate Bundle. Node-RED-free.
import { createHash } from 'node:crypto';
import type { GeoObject, Hierarchy, RegistryModel } from '../registry/model.js';
import type { Implementation, Level, LevelConfig } from '../mapping/levels.js';
import type { MappingOptions, ParentRef } from '../mapping/mcsd.js';
import type { Position } from '../registry/geometry.js';
import type { ErrorRow, Skipped } from './job.js';
import { datesProblem, validAt } from '../registry/model.js';
import { breakParentCycles } from './parent-cycles.js';
import { resolveLevels } from '../mapping/levels.js';
import { inspectGeometry } from '../registry/geometry.js';
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

export interface ExportPlan {
  levels: Level[];
  hierarchies: Hierarchy[];
  /** How the objects are mapped (the partOf hierarchy resolved). */
  mapping: MappingOptions;
  /** Parents first: level order, then code descending within a level (GPR's order). */
  objects: PlannedObject[];
  rows: ErrorRow[];
  skipped: Skipped;
  /** Fingerprint of every exportable object (sent or unchanged), for the next incremental run. */
  fingerprints: Record<string, string>;
  /** Codes of every object that exists at forDate, sent or not: anything else on the server was removed. */
  existing: Set<string>;
}

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

/**
 * Plan an export of `model` at its forDate. `mode` decides what an invalid id is: an error that keeps
 * the object out (run) or a warning (generate). With `previous` fingerprints and the incremental option,
 * unchanged objects are left out. Configuration errors throw.
 */
export async function planExport(
  model: RegistryModel,
  options: ExportOptions,
  mode: 'run' | 'generate',
  previous: Record<string, string> = {},
): Promise<ExportPlan> {
  const hierarchies = selectHierarchies(model, options.hierarchies);
  const levels = resolveLevels(model, hierarchies, options.system, options.implementation, options.levels);
  const levelOf = new Map(levels.map((l, i) => [l.type.code, i]));
  const mapping: MappingOptions = {
    system: options.system,
    partOfHierarchy: partOfHierarchy(hierarchies, options.partOfHierarchy),
    locationPartOf: options.locationPartOf,
    gprCompat: options.gprCompat,
  };
  const rows: ErrorRow[] = [];
  const skipped: Skipped = { invalid: 0, notExisting: 0, unchanged: 0 };
  const error = (o: GeoObject, message: string, severity: ErrorRow['severity'] = 'ERROR') =>
    rows.push({ code: o.code, type: o.type, severity, message });

  // Objects of the levels that exist and are valid; the first of a duplicated code wins.
  const byCode = new Map<string, GeoObject>();
  const known = new Set(model.types.map((t) => t.code));
  for (const o of model.objects) {
    if (!known.has(o.type)) error(o, `type "${o.type}" is not one of the registry's Geo-Object Types: not exported`);
    if (!levelOf.has(o.type)) continue;
    if (o.invalid) skipped.invalid++;
    else if (!o.exists) skipped.notExisting++;
    else if (o.problem) error(o, `${o.problem}: not exported`);
    else if (byCode.has(o.code))
      error(o, `duplicate code "${o.code}": also used by a ${byCode.get(o.code)?.type}; only the first is exported`);
    else byCode.set(o.code, o);
  }

  const planned = new Map<string, PlannedObject>();
  for (const o of byCode.values()) {
    let id: string | undefined;
    if (options.idStrategy === 'code') {
      const problem = idProblem(o.code);
      if (problem && mode === 'run') {
        error(o, `${problem}: choose the "safe" or "server" id strategy`);
        continue;
      }
      if (problem) error(o, `${problem}: a server may refuse it`, 'WARNING');
      id = o.code;
    } else if (options.idStrategy === 'safe') id = safeId(o.code);
    if (options.gprCompat && UNSAFE_IN_GPR_URL.test(o.code))
      error(
        o,
        `code "${o.code}" goes unescaped into GPR’s conditional URL: a server may not find its resource again and create another`,
        'WARNING',
      );
    let centroid: Position | undefined;
    if (o.geometry) {
      try {
        const inspected = await inspectGeometry(o.geometry);
        if (inspected.defect && options.invalidGeometry === 'refuse') {
          error(o, `${inspected.defect}; not exported (invalid geometries: refuse)`);
          continue;
        }
        if (inspected.defect) error(o, `${inspected.defect}; exported as it is`, 'WARNING');
        centroid = inspected.centroid;
      } catch (err) {
        error(o, (err as Error).message);
        continue;
      }
    }
    planned.set(o.code, {
      object: o,
      level: levels[levelOf.get(o.type) as number],
      ...(id ? { id } : {}),
      ...(centroid ? { centroid } : {}),
      parents: [],
    });
  }

  // Parents per hierarchy at forDate, resolved to exported objects (or to objects of types outside the levels).
  const parentOf = new Map<string, { code: string; type: string }>();
  const selected = new Set(hierarchies.map((h) => h.code));
  for (const l of model.links) {
    const problem = datesProblem(l);
    if (problem && selected.has(l.hierarchy) && planned.has(l.childCode)) {
      const child = planned.get(l.childCode) as PlannedObject;
      error(child.object, `its link to parent "${l.parentCode}" in hierarchy "${l.hierarchy}" is ignored: its ${problem}`);
    } else if (!problem && validAt(l, model.forDate))
      parentOf.set(`${l.hierarchy}|${l.childCode}`, { code: l.parentCode, type: l.parentType });
  }
  for (const p of planned.values()) {
    // Parents in the hierarchies where the object's type has parent types, as GPR's List Types hold them.
    for (const h of hierarchies.filter((x) => p.level.parentHierarchies.includes(x.code))) {
      let parent = parentOf.get(`${h.code}|${p.object.code}`);
      const seen = new Set<string>();
      while (parent && levelOf.has(parent.type) && !planned.has(parent.code) && !seen.has(parent.code)) {
        seen.add(parent.code);
        const missing = parent.code;
        if (options.onMissingParent === 'fail')
          throw new Error(`parent "${missing}" of "${p.object.code}" in hierarchy "${h.code}" is not exported`);
        const next = options.onMissingParent === 'climb' ? parentOf.get(`${h.code}|${missing}`) : undefined;
        error(
          p.object,
          `parent "${missing}" in hierarchy "${h.code}" is not exported; ${next ? `linked to "${next.code}" instead` : 'no parent set'}`,
          'WARNING',
        );
        parent = next;
      }
      if (parent && !seen.has(parent.code)) p.parents.push({ hierarchy: h, code: parent.code });
    }
  }

  rows.push(
    ...breakParentCycles(
      planned,
      hierarchies.map((h) => h.code),
    ),
  );

  const fingerprints: Record<string, string> = {};
  for (const p of planned.values()) {
    fingerprints[p.object.code] = fingerprint(p, mapping);
    if (options.incremental && previous[p.object.code] === fingerprints[p.object.code]) {
      planned.delete(p.object.code);
      skipped.unchanged++;
    }
  }

  const objects = [...planned.values()].sort(
    (a, b) =>
      (levelOf.get(a.object.type) as number) - (levelOf.get(b.object.type) as number) ||
      (a.object.code < b.object.code ? 1 : a.object.code > b.object.code ? -1 : 0),
  );
  return { levels, hierarchies, mapping, objects, rows, skipped, fingerprints, existing: new Set(byCode.keys()) };
}
