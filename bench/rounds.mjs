// Alternated rounds for the benchmarks' ratios: on the 2-core machine one run's time varies from run to run by as much
// as the differences measured (±15% at 10,000 objects), so each side runs several times, in the order AB BA AB …
// (a machine that speeds up or slows down during the run favours neither), and a ratio is the median of the rounds'.

/** The median of numbers. */
export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/**
 * `rounds` rounds of `a` and `b` (each a function returning `{seconds, …}` or a promise of it), alternated: every result of
 * each and the median of each side's seconds (`ratioCell` gives their ratio). `names` name the sides in the progress lines.
 */
export async function alternated(rounds, a, b, names) {
  const runs = { a, b };
  const results = { a: [], b: [] };
  for (let i = 0; i < rounds; i++)
    for (const side of i % 2 ? ['b', 'a'] : ['a', 'b']) {
      results[side].push(await runs[side]());
      // A long run says where it is (on stderr, beside the table).
      console.error(`round ${i + 1} of ${rounds}: ${names[side]} took ${results[side].at(-1).seconds.toFixed(1)} s`);
    }
  const seconds = (side) => median(results[side].map((r) => r.seconds));
  return { ...results, aSeconds: seconds('a'), bSeconds: seconds('b') };
}

/** Per-round values as a table cell: their median, then their range and count when there are several. */
export function medianCell(values, digits = 2) {
  const f = (v) => v.toFixed(digits);
  return values.length > 1
    ? `${f(median(values))} (${f(Math.min(...values))}–${f(Math.max(...values))}, ${values.length} rounds)`
    : f(values[0]);
}

/** A ratio of `alternated` as a table cell: the median, then the rounds' range. */
export const ratioCell = ({ a, b }) => medianCell(a.map((r, i) => r.seconds / b[i].seconds));

/** `--rounds=K` among the arguments (default `fallback`), and the other arguments. */
export function roundsArgument(args, fallback) {
  const flag = args.find((a) => a.startsWith('--rounds='));
  const rounds = flag ? Number(flag.slice('--rounds='.length)) : fallback;
  if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`--rounds must be a whole number of at least 1, not "${flag}"`);
  return { rounds, rest: args.filter((a) => a !== flag) };
}
