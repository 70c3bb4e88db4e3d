// A hierarchy's tree of types from its parent → child type edges, as the sources and the import derive
// it from the data. Node-RED-free and pure.
import type { TypeNode } from './model.js';

/**
 * The trees rooted at those `candidates` that are nobody's child; a type already on the path to a node
 * is not repeated below it, so cyclic edges end rather than recurse.
 */
export function typeTree(children: Map<string, Iterable<string>>, candidates: Iterable<string>): TypeNode[] {
  const isChild = new Set([...children.values()].flatMap((c) => [...c]));
  const node = (type: string, path: string[]): TypeNode => ({
    type,
    children: [...(children.get(type) ?? [])].filter((c) => !path.includes(c)).map((c) => node(c, [...path, c])),
  });
  return [...new Set(candidates)].filter((t) => !isChild.has(t)).map((t) => node(t, [t]));
}
