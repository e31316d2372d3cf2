// A compact picture of a peer's log for the dashboard: the terms of its entries as runs of (first index, term).
// Terms never decrease along a log, so each run's end is found by binary search: the cost is
// O(runs x log entries), not O(entries), and a 100,000-entry log of a few terms costs a few dozen lookups.
import type { TermRun } from './protocol.ts';

/** Most runs reported; older ones are left out (the first run then starts after firstIndex). */
export const MAX_TERM_RUNS = 128;

/**
 * Runs covering [firstIndex, lastIndex], newest last. `term(i)` is the log's term lookup (undefined outside the
 * log). Built backwards from the last index so that the newest runs are kept when there are too many.
 */
export function termRuns(term: (index: number) => number | undefined, firstIndex: number, lastIndex: number, max = MAX_TERM_RUNS): TermRun[] {
  const runs: TermRun[] = [];
  let hi = lastIndex;
  while (hi >= firstIndex && runs.length < max) {
    const t = term(hi);
    if (t === undefined) break;
    // The first index in [firstIndex, hi] whose term is t (every index before it has a smaller term).
    let lo = firstIndex;
    let top = hi;
    while (lo < top) {
      const mid = (lo + top) >>> 1;
      if ((term(mid) ?? -1) < t) lo = mid + 1;
      else top = mid;
    }
    runs.push([lo, t]);
    hi = lo - 1;
  }
  return runs.reverse();
}
