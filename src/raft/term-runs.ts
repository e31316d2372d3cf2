// A log's terms as runs [first index, term], oldest first: terms never decrease along a log, so a few runs
// describe any number of entries. Used for the entries a peer keeps on disk only (raft-log.ts) and by the
// dashboard for each peer's log.

/** The term of the last run starting at or before `index` (the caller checks that `index` is covered). */
export function termInRuns(runs: readonly (readonly [number, number])[], index: number): number {
  let lo = 0;
  let hi = runs.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >>> 1;
    if (runs[mid]![0] <= index) lo = mid;
    else hi = mid - 1;
  }
  return runs[lo]![1];
}
