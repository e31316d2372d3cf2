// npm run sim -- --seeds N [--from S0] [--seed S] [--nodes K] [--ticks T] [--mix NAME] [--verbose] [--jobs J] [--inject BUG] [--workload kv]
// Runs N seeds (or one, --seed S, printing its trace as it goes with --verbose). Prints each failure with its
// options and trace, a summary of the faults seen, and last exactly "<N> seeds, <V> violations"; exits 1 if V > 0.
import { INJECTABLE, KV_INJECTABLE, type InjectedBug, type KvInjectedBug } from './cluster.ts';
import { MIX_NAMES, type MixName } from './faults.ts';
import { runSeeds } from './pool.ts';
import { describeOptions, formatFailure, optionsForSeed, runSeed, type Overrides } from './run-seed.ts';
import { addResult, emptyTotals, faultLine, kvLine, type Totals } from './summary.ts';

function parse(argv: string[]): { seeds: number; from: number; seed?: number; over: Overrides; verbose: boolean; jobs?: number } {
  const out: { seeds: number; from: number; seed?: number; over: Overrides; verbose: boolean; jobs?: number } = {
    seeds: 100,
    from: 1,
    over: {},
    verbose: false,
  };
  const num = (flag: string, v: string | undefined): number => {
    const n = Number(v);
    if (v === undefined || !Number.isInteger(n) || n < 0) throw new Error(`${flag} needs a non-negative integer`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    switch (a) {
      case '--seeds':
        out.seeds = num(a, argv[++i]);
        break;
      case '--from':
        out.from = num(a, argv[++i]);
        break;
      case '--seed':
        out.seed = num(a, argv[++i]);
        break;
      case '--nodes': {
        const n = num(a, argv[++i]);
        if (n < 1) throw new Error('--nodes must be at least 1');
        out.over.nodes = n;
        break;
      }
      case '--ticks':
        out.over.ticks = num(a, argv[++i]);
        break;
      case '--mix': {
        const m = argv[++i] as MixName;
        if (!MIX_NAMES.includes(m)) throw new Error(`--mix is one of ${MIX_NAMES.join(', ')}`);
        out.over.mix = m;
        break;
      }
      case '--inject': {
        const bug = argv[++i] as InjectedBug & KvInjectedBug;
        if (!INJECTABLE.includes(bug) && !KV_INJECTABLE.includes(bug))
          throw new Error(`--inject is one of ${[...INJECTABLE, ...KV_INJECTABLE].join(', ')}`);
        out.over.inject = bug;
        break;
      }
      case '--workload': {
        const w = argv[++i];
        if (w === 'kv') out.over.workload = 'kv';
        else if (w !== 'raft') throw new Error('--workload is raft (plain proposals, the default) or kv');
        break;
      }
      case '--jobs':
        out.jobs = num(a, argv[++i]);
        break;
      case '--verbose':
        out.verbose = true;
        break;
      default:
        throw new Error(`unknown argument ${a}`);
    }
  }
  return out;
}

async function main(): Promise<number> {
  let args;
  try {
    args = parse(process.argv.slice(2));
  } catch (err) {
    console.error((err as Error).message);
    console.error('usage: npm run sim -- --seeds N [--from S0] [--seed S] [--nodes K] [--ticks T] [--mix NAME] [--verbose] [--jobs J] [--inject BUG] [--workload raft|kv]');
    return 2;
  }
  const started = performance.now();
  let totals: Totals;
  if (args.seed !== undefined) {
    const options = optionsForSeed(args.seed, args.over);
    console.log(`seed ${args.seed}: ${describeOptions(options)}`);
    const r = runSeed(options, args.verbose ? (line) => console.log(line) : undefined);
    totals = emptyTotals();
    addResult(
      totals,
      r,
      r.violation ? { seed: r.seed, checker: r.violation.checker, message: r.violation.message, report: formatFailure(r, args.over) } : undefined,
    );
  } else {
    totals = await runSeeds(args.from, args.seeds, args.over, args.jobs);
  }
  for (const [i, f] of totals.failures.entries()) {
    if (i < 3 || args.seed !== undefined) console.log(f.report + '\n');
    else console.log(`seed ${f.seed} FAILED: ${f.checker}: ${f.message.split('\n')[0]}`);
  }
  console.log(faultLine(totals));
  const kv = kvLine(totals);
  if (kv) console.log(kv);
  console.log(`took ${((performance.now() - started) / 1000).toFixed(1)}s`);
  console.log(`${totals.seeds} seeds, ${totals.violations} violations`);
  return totals.violations > 0 ? 1 : 0;
}

void main().then((code) => {
  process.exitCode = code;
});
