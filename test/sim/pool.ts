// Runs a range of seeds, in several worker processes when there are enough of them (one per core).
import { fork } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { formatFailure, optionsForSeed, runSeed, type Overrides } from './run-seed.ts';
import { addResult, emptyTotals, merge, type Totals } from './summary.ts';

export interface Batch {
  from: number;
  count: number;
  /** Run seeds from + offset, from + offset + stride, ... */
  offset: number;
  stride: number;
  over: Overrides;
}

/** Runs a batch in this process. */
export function runBatch(b: Batch): Totals {
  const t = emptyTotals();
  const started = performance.now();
  for (let i = b.offset; i < b.count; i += b.stride) {
    const seed = b.from + i;
    const options = optionsForSeed(seed, b.over);
    let r;
    try {
      r = runSeed(options);
    } catch (err) {
      // A crash of the simulator itself still names the seed.
      const message = err instanceof Error ? (err.stack ?? err.message) : String(err);
      t.seeds++;
      t.violations++;
      t.failures.push({ seed, checker: 'simulator error', message, report: `seed ${seed} FAILED: simulator error: ${message}` });
      continue;
    }
    const failure = r.violation
      ? { seed, checker: r.violation.checker, message: r.violation.message, report: formatFailure(r, b.over) }
      : undefined;
    addResult(t, r, failure);
  }
  t.ms = performance.now() - started;
  return t;
}

export async function runSeeds(from: number, count: number, over: Overrides, workers = availableParallelism()): Promise<Totals> {
  const n = Math.max(1, Math.min(workers, Math.floor(count / 50)));
  if (n === 1) return runBatch({ from, count, offset: 0, stride: 1, over });
  const parts = await Promise.all(
    Array.from({ length: n }, (_, k) => {
      const batch: Batch = { from, count, offset: k, stride: n, over };
      return new Promise<Totals>((resolve, reject) => {
        const child = fork(join(__dirname, 'worker.ts'), [], { execArgv: ['--import', 'tsx'] });
        let result: Totals | undefined;
        child.on('message', (m) => (result = m as Totals));
        child.on('error', reject);
        child.on('exit', (code) => (result ? resolve(result) : reject(new Error(`sim worker ${k} exited with ${code}`))));
        child.send(batch);
      });
    }),
  );
  return parts.reduce(merge);
}
