// The embedded registry: imported objects merged into a registry model that gpr-hierarchy-source can
// read back. Node-RED-free; the node keeps it in Node-RED's global context.
import type { GeoObjectType, Hierarchy, ParentLink, RegistryModel, TypeNode } from './model.js';
import { validAt } from './model.js';
import { typeTree } from './type-tree.js';

function edgesOf(nodes: TypeNode[], parent: string | undefined, out: Set<string>, roots: Set<string>) {
  for (const n of nodes) {
    if (parent) out.add(`${parent}|${n.type}`);
    else roots.add(n.type);
    edgesOf(n.children, n.type, out, roots);
  }
}

/** Two trees of the same hierarchy as one: the union of their parent→child type edges. */
function mergeTrees(a: TypeNode[], b: TypeNode[]): TypeNode[] {
  const edges = new Set<string>();
  const roots = new Set<string>();
  edgesOf(a, undefined, edges, roots);
  edgesOf(b, undefined, edges, roots);
  const children = new Map<string, string[]>();
  for (const e of edges) {
    const [p, c] = e.split('|');
    children.set(p, [...(children.get(p) ?? []), c]);
  }
  return typeTree(children, roots);
}

/**
 * `imported` merged into `base`: objects replaced by type and code, an object's links in a hierarchy
 * replaced by the imported ones, types and hierarchy trees united.
 */
export function mergeRegistry(base: RegistryModel | undefined, imported: RegistryModel): RegistryModel {
  if (!base) return structuredClone(imported);
  const objects = new Map(base.objects.map((o) => [`${o.type}|${o.code}`, o]));
  for (const o of imported.objects) objects.set(`${o.type}|${o.code}`, o);
  const relinked = new Set(imported.links.map((l) => `${l.hierarchy}|${l.childType}|${l.childCode}`));
  const links: ParentLink[] = [
    ...base.links.filter((l) => !relinked.has(`${l.hierarchy}|${l.childType}|${l.childCode}`)),
    ...imported.links,
  ];
  const types = new Map<string, GeoObjectType>(base.types.map((t) => [t.code, t]));
  for (const t of imported.types) types.set(t.code, t);
  const hierarchies = new Map<string, Hierarchy>(base.hierarchies.map((h) => [h.code, h]));
  for (const h of imported.hierarchies) {
    const known = hierarchies.get(h.code);
    hierarchies.set(h.code, known ? { ...h, tree: mergeTrees(known.tree, h.tree) } : h);
  }
  return structuredClone({
    forDate: imported.forDate,
    types: [...types.values()],
    hierarchies: [...hierarchies.values()],
    objects: [...objects.values()],
    links,
  });
}

/** The registry as it stands at `forDate`: links valid then. */
export function registryAt(model: RegistryModel, forDate: string): RegistryModel {
  return { ...model, forDate, links: model.links.filter((l) => validAt(l, forDate)) };
}
