// Export levels ("Org Units"): which Geo-Object Types are exported, in which order, and how. Defaults
// walk the selected hierarchies' type trees so every parent type precedes its children. Node-RED-free.
import type { GeoObjectType, Hierarchy, RegistryModel, TypeNode } from '../registry/model.js';

/** basic: no mCSD parts; mcsd: GPR's default; multi-hierarchy: parents always in the mCSD hierarchy extension. */
export type Implementation = 'basic' | 'mcsd' | 'multi-hierarchy';
export const IMPLEMENTATIONS: readonly Implementation[] = ['basic', 'mcsd', 'multi-hierarchy'];

/** auto: MULTIPOINT types are facilities, everything else jurisdictions (GPR's rule). */
export type Kind = 'auto' | 'facility' | 'jurisdiction';

export interface Coding {
  system: string;
  code: string;
  display?: string;
}

export interface LevelConfig {
  geoObjectType: string;
  /** The type coding written to Organization.type[0] / Location.type[0]; default {System, type code, type label}. */
  fhirType?: Partial<Coding>;
  kind?: Kind;
  implementation?: Implementation;
}

/** A level with its defaults applied. */
export interface Level {
  type: GeoObjectType;
  fhirType: Coding;
  facility: boolean;
  implementation: Implementation;
  /** Codes of the selected hierarchies in which the type has parent types, in selection order. */
  parentHierarchies: string[];
}

/** Concrete types a tree node stands for: an abstract type stands for its subtypes. */
function concrete(code: string, types: Map<string, GeoObjectType>): string[] {
  const type = types.get(code);
  if (!type?.isAbstract) return [code];
  return [...types.values()].filter((t) => t.superType === code).flatMap((t) => concrete(t.code, types));
}

/** parent type -> child types over the selected hierarchies, abstract types expanded. */
function typeEdges(model: RegistryModel, hierarchies: Hierarchy[]): { order: string[]; edges: Map<string, Set<string>> } {
  const types = new Map(model.types.map((t) => [t.code, t]));
  const order: string[] = [];
  const edges = new Map<string, Set<string>>();
  const seen = (code: string) => {
    if (!order.includes(code)) order.push(code);
    if (!edges.has(code)) edges.set(code, new Set());
  };
  const walk = (nodes: TypeNode[], parents: string[]) => {
    for (const node of nodes) {
      const codes = concrete(node.type, types);
      codes.forEach(seen);
      for (const p of parents) for (const c of codes) edges.get(p)?.add(c);
      walk(node.children, codes);
    }
  };
  for (const h of hierarchies) walk(h.tree, []);
  return { order, edges };
}

/** Types in an order where every parent type precedes its children (first-seen order otherwise). */
export function defaultLevelTypes(model: RegistryModel, hierarchies: Hierarchy[]): string[] {
  const { order, edges } = typeEdges(model, hierarchies);
  const indegree = new Map(order.map((c) => [c, 0]));
  for (const children of edges.values()) for (const c of children) indegree.set(c, (indegree.get(c) ?? 0) + 1);
  const result: string[] = [];
  const ready = order.filter((c) => indegree.get(c) === 0);
  while (ready.length) {
    const code = ready.shift() as string;
    result.push(code);
    for (const c of edges.get(code) ?? []) {
      indegree.set(c, (indegree.get(c) ?? 0) - 1);
      if (indegree.get(c) === 0) ready.push(c);
    }
  }
  if (result.length !== order.length) throw new Error('the selected hierarchies contain a cycle of types');
  return result;
}

/**
 * The levels to export, with defaults applied, checked: every configured type exists and is concrete,
 * and a parent type that is itself a level comes before its child's level.
 */
export function resolveLevels(
  model: RegistryModel,
  hierarchies: Hierarchy[],
  system: string,
  implementation: Implementation,
  configured?: LevelConfig[],
): Level[] {
  const types = new Map(model.types.map((t) => [t.code, t]));
  const wanted: LevelConfig[] = configured?.length
    ? configured
    : defaultLevelTypes(model, hierarchies).map((geoObjectType) => ({ geoObjectType }));
  const childTypes = hierarchies.map((h) => {
    const { edges } = typeEdges(model, [h]);
    return { code: h.code, children: new Set([...edges.values()].flatMap((c) => [...c])) };
  });
  const levels = wanted.map((cfg, i): Level => {
    const type = types.get(cfg.geoObjectType);
    if (!type) throw new Error(`level ${i + 1}: Geo-Object Type "${cfg.geoObjectType}" is not in the registry`);
    if (type.isAbstract) throw new Error(`level ${i + 1}: Geo-Object Type "${type.code}" is abstract; configure its subtypes`);
    const kind = cfg.kind ?? 'auto';
    return {
      type,
      fhirType: {
        system: cfg.fhirType?.system || system,
        code: cfg.fhirType?.code || type.code,
        display: cfg.fhirType?.display || type.label.default,
      },
      facility: kind === 'facility' || (kind === 'auto' && type.geometryType === 'MULTIPOINT'),
      implementation: cfg.implementation ?? implementation,
      parentHierarchies: childTypes.filter((h) => h.children.has(type.code)).map((h) => h.code),
    };
  });
  const position = new Map(levels.map((l, i) => [l.type.code, i]));
  const { edges } = typeEdges(model, hierarchies);
  for (const [parent, children] of edges) {
    for (const child of children) {
      const p = position.get(parent);
      const c = position.get(child);
      if (p !== undefined && c !== undefined && p > c) {
        throw new Error(`level of "${parent}" must come before the level of its child type "${child}"`);
      }
    }
  }
  return levels;
}
