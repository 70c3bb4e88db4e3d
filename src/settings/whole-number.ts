// A node's whole-number setting (chunk size, concurrency, page size, timeout, job history): left empty, or absent
// from a flow saved before the setting existed, it takes its default; anything else must be a whole number of at
// least `min`, and is refused with a message naming the setting, never replaced by the default.
export function wholeNumber(name: string, value: unknown, fallback: number, min = 1): number {
  if (value === undefined || value === null || value === '') return fallback;
  const n = typeof value === 'string' && /^\s*\d+\s*$/.test(value) ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < min)
    throw new Error(`${name} must be a whole number of at least ${min} (got "${String(value)}")`);
  return n;
}
