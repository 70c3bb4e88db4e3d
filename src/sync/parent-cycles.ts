// Parent cycles per hierarchy (X → Y → X, or X its own parent): a server would store them as they are, so
// the objects on a cycle are not exported, each with an error row naming the cycle, and the objects below
// them lose that parent with a warning. Node-RED-free.
import type { PlannedObject } from './export-plan.js';
import type { ErrorRow } from './job.js';

/** Remove the objects on parent cycles from `planned` (in place) and return the rows saying so. */
export function breakParentCycles(planned: Map<string, PlannedObject>, hierarchies: string[]): ErrorRow[] {
  const rows: ErrorRow[] = [];
  const onCycle = new Map<string, string>(); // code -> the cycle's description
  for (const h of hierarchies) {
    const parentOf = (code: string) => planned.get(code)?.parents.find((p) => p.hierarchy.code === h)?.code;
    const settled = new Set<string>();
    for (const start of planned.keys()) {
      // Most objects are settled by the walk up from an earlier one: nothing to make for them.
      if (settled.has(start)) continue;
      const path: string[] = [];
      const index = new Map<string, number>();
      for (let code: string | undefined = start; code !== undefined && !settled.has(code); code = parentOf(code)) {
        if (index.has(code)) {
          const cycle = path.slice(index.get(code));
          const text = `parent cycle in hierarchy "${h}": ${[...cycle, code].map((c) => `"${c}"`).join(' → ')}`;
          for (const c of cycle) if (!onCycle.has(c)) onCycle.set(c, text);
          break;
        }
        index.set(code, path.length);
        path.push(code);
      }
      for (const c of path) settled.add(c);
    }
  }
  for (const [code, text] of onCycle) {
    const p = planned.get(code) as PlannedObject;
    rows.push({ code, type: p.object.type, severity: 'ERROR', message: `${text}: not exported` });
    planned.delete(code);
  }
  if (!onCycle.size) return rows;
  for (const p of planned.values()) {
    if (!p.parents.some((x) => onCycle.has(x.code))) continue;
    const kept = p.parents.filter((x) => !onCycle.has(x.code));
    for (const x of p.parents.filter((y) => onCycle.has(y.code)))
      rows.push({
        code: p.object.code,
        type: p.object.type,
        severity: 'WARNING',
        message: `parent "${x.code}" in hierarchy "${x.hierarchy.code}" is on a parent cycle; no parent set`,
      });
    p.parents = kept;
  }
  return rows;
}
