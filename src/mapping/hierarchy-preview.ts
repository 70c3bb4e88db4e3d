// What a registry source would export, for the editor's preview: per hierarchy its objects as a tree (parent
// codes), counts per level, and each object's geometry thinned for drawing, with invalid geometries and missing
// parents named. Read-only over the model and the mapping's own checks. Node-RED-free.
import type { Geometry, Position as GeoPosition } from 'geojson';
import type { GeoObject, Hierarchy, RegistryModel } from '../registry/model.js';
import { validAt } from '../registry/model.js';
import { defaultLevelTypes } from './levels.js';
import { inspectGeometry } from '../registry/geometry.js';
import { chosenHierarchies } from './level-choices.js';

/** Drawn shapes: polygons as rings, lines as paths, points alone; [longitude, latitude]. */
export interface PreviewShape {
  rings?: [number, number][][];
  paths?: [number, number][][];
  points?: [number, number][];
}

export interface PreviewObject {
  code: string;
  type: string;
  label: string;
  /** Parent code in the hierarchy at the date, when it has one among the previewed objects. */
  parent?: string;
  /** Why its geometry would be refused or exported with a warning. */
  invalid?: string;
  /** Why it has no parent although its type has parent types in the hierarchy. */
  missingParent?: string;
  shape?: PreviewShape;
}

export interface PreviewLevel {
  type: string;
  label: string;
  count: number;
  invalid: number;
  missingParent: number;
}

export interface HierarchyPreview {
  code: string;
  label: string;
  levels: PreviewLevel[];
  objects: PreviewObject[];
}

export interface Preview {
  forDate: string;
  hierarchies: HierarchyPreview[];
  unknownHierarchies: string[];
  /** [west, south, east, north] of every drawn shape, or undefined when none has a geometry. */
  bbox?: [number, number, number, number];
  /** Whether shapes were thinned to keep the answer small. */
  thinned: boolean;
}

/** At most this many positions per ring or path, and in all: the preview draws, it does not measure. */
const PER_PART = 200;
const TOTAL = 60000;

function thin(positions: GeoPosition[], budget: { left: number; thinned: boolean }): [number, number][] {
  const max = Math.max(4, Math.min(PER_PART, budget.left));
  const step = Math.max(1, Math.ceil(positions.length / max));
  if (step > 1) budget.thinned = true;
  const out: [number, number][] = [];
  for (let i = 0; i < positions.length; i += step) out.push([positions[i][0], positions[i][1]]);
  if (step > 1 && positions.length) out.push([positions[positions.length - 1][0], positions[positions.length - 1][1]]);
  budget.left -= out.length;
  return out;
}

function shapeOf(geometry: Geometry, budget: { left: number; thinned: boolean }): PreviewShape {
  const shape: PreviewShape = {};
  const add = (g: Geometry) => {
    switch (g.type) {
      case 'Point':
        (shape.points ??= []).push([g.coordinates[0], g.coordinates[1]]);
        budget.left -= 1;
        break;
      case 'MultiPoint':
        for (const p of g.coordinates) (shape.points ??= []).push([p[0], p[1]]);
        budget.left -= g.coordinates.length;
        break;
      case 'LineString':
        (shape.paths ??= []).push(thin(g.coordinates, budget));
        break;
      case 'MultiLineString':
        for (const l of g.coordinates) (shape.paths ??= []).push(thin(l, budget));
        break;
      case 'Polygon':
        for (const r of g.coordinates) (shape.rings ??= []).push(thin(r, budget));
        break;
      case 'MultiPolygon':
        for (const p of g.coordinates) for (const r of p) (shape.rings ??= []).push(thin(r, budget));
        break;
      case 'GeometryCollection':
        g.geometries.forEach(add);
        break;
    }
  };
  add(geometry);
  return shape;
}

function grow(bbox: [number, number, number, number] | undefined, shape: PreviewShape): [number, number, number, number] | undefined {
  const all = [...(shape.points ?? []), ...(shape.paths ?? []).flat(), ...(shape.rings ?? []).flat()];
  let b = bbox;
  for (const [x, y] of all) {
    if (!Number.isFinite(x) || !Number.isFinite(y)) continue;
    b = b ? [Math.min(b[0], x), Math.min(b[1], y), Math.max(b[2], x), Math.max(b[3], y)] : [x, y, x, y];
  }
  return b;
}

/** Why the export would flag `object`'s geometry, or undefined. */
async function geometryProblem(object: GeoObject): Promise<string | undefined> {
  if (object.problem) return object.problem;
  if (!object.geometry) return object.invalid ? 'marked invalid in the registry' : undefined;
  try {
    const { defect } = await inspectGeometry(object.geometry);
    return defect ?? (object.invalid ? 'marked invalid in the registry' : undefined);
  } catch (err) {
    return (err as Error).message;
  }
}

async function previewHierarchy(model: RegistryModel, h: Hierarchy, budget: { left: number; thinned: boolean }) {
  const order = defaultLevelTypes(model, [h]);
  const inTree = new Set(order);
  // Types with parent types in this hierarchy: their objects need a parent.
  const childTypes = new Set<string>();
  const walk = (nodes: Hierarchy['tree'], parent: boolean) => {
    for (const n of nodes) {
      if (parent) childTypes.add(n.type);
      walk(n.children, true);
    }
  };
  walk(h.tree, false);
  const typeOf = new Map(model.types.map((t) => [t.code, t]));
  for (const t of model.types) if (t.superType && childTypes.has(t.superType)) childTypes.add(t.code);
  const objects = model.objects.filter((o) => o.exists && inTree.has(o.type));
  const codes = new Set(objects.map((o) => `${o.type}|${o.code}`));
  const parents = new Map<string, { code: string; type: string }>();
  for (const l of model.links) {
    if (l.hierarchy !== h.code || !validAt(l, model.forDate)) continue;
    parents.set(`${l.childType}|${l.childCode}`, { code: l.parentCode, type: l.parentType });
  }
  const levels = new Map(
    order.map((t) => [t, { type: t, label: typeOf.get(t)?.label.default ?? t, count: 0, invalid: 0, missingParent: 0 }]),
  );
  const previewed: PreviewObject[] = [];
  for (const o of objects) {
    const level = levels.get(o.type) as PreviewLevel;
    level.count += 1;
    const item: PreviewObject = { code: o.code, type: o.type, label: o.label.default };
    const parent = parents.get(`${o.type}|${o.code}`);
    if (parent && codes.has(`${parent.type}|${parent.code}`)) item.parent = parent.code;
    else if (parent) item.missingParent = `parent ${parent.type} "${parent.code}" does not exist at ${model.forDate}`;
    else if (childTypes.has(o.type)) item.missingParent = `no parent in ${h.code} at ${model.forDate}`;
    const invalid = await geometryProblem(o);
    if (invalid) item.invalid = invalid;
    if (item.invalid) level.invalid += 1;
    if (item.missingParent) level.missingParent += 1;
    if (o.geometry && budget.left > 0) item.shape = shapeOf(o.geometry, budget);
    else if (o.geometry) budget.thinned = true;
    previewed.push(item);
  }
  return { code: h.code, label: h.label.default, levels: [...levels.values()], objects: previewed };
}

/** The preview of `hierarchyCodes` (empty = every hierarchy) of `model` at its date. */
export async function hierarchyPreview(model: RegistryModel, hierarchyCodes: string[]): Promise<Preview> {
  const { chosen, unknown } = chosenHierarchies(model, hierarchyCodes);
  const budget = { left: TOTAL, thinned: false };
  const hierarchies: HierarchyPreview[] = [];
  for (const h of chosen) hierarchies.push(await previewHierarchy(model, h, budget));
  let bbox: Preview['bbox'];
  for (const h of hierarchies) for (const o of h.objects) if (o.shape) bbox = grow(bbox, o.shape);
  return {
    forDate: model.forDate,
    hierarchies,
    unknownHierarchies: unknown,
    ...(bbox ? { bbox } : {}),
    thinned: budget.thinned,
  };
}
