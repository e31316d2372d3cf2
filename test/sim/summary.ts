// Totals over many seeds: what faults they saw and what failed, merged across worker processes.
import type { SeedResult } from './run-seed.ts';

export interface Failure {
  seed: number;
  checker: string;
  message: string;
  /** The full readable report: options, replay command, trace. */
  report: string;
}

export interface Totals {
  seeds: number;
  violations: number;
  failures: Failure[];
  byNodes: Record<string, number>;
  byMix: Record<string, number>;
  counts: Record<string, number>;
  maxRecovery: number;
  ms: number;
  /** KV workload: operations per linearizability history, and checking time (ms), one per seed. */
  kvOps?: number[];
  kvCheckMs?: number[];
}

export function emptyTotals(): Totals {
  return { seeds: 0, violations: 0, failures: [], byNodes: {}, byMix: {}, counts: {}, maxRecovery: 0, ms: 0 };
}

const COUNTED = {
  faults: ['partitions', 'crashes', 'restarts', 'confChanges', 'transfers'],
  net: ['sent', 'lost', 'duplicated', 'cut'],
  stats: ['ticks', 'elections', 'committed', 'proposals', 'readsAnswered', 'snapshotsSent', 'confChangesApplied', 'retired', 'heals'],
} as const;

export function addResult(t: Totals, r: SeedResult, failure: Failure | undefined): void {
  t.seeds++;
  t.byNodes[r.options.nodes] = (t.byNodes[r.options.nodes] ?? 0) + 1;
  t.byMix[r.options.mix.name] = (t.byMix[r.options.mix.name] ?? 0) + 1;
  const add = (k: string, n: number) => (t.counts[k] = (t.counts[k] ?? 0) + n);
  for (const k of COUNTED.faults) add(k, r.faults[k]);
  for (const k of COUNTED.net) add(k, r.net[k]);
  for (const k of COUNTED.stats) add(k, r.stats[k]);
  if (r.stats.maxRecovery > t.maxRecovery) t.maxRecovery = r.stats.maxRecovery;
  if (r.kv) {
    (t.kvOps ??= []).push(r.kv.ops);
    (t.kvCheckMs ??= []).push(r.kv.checkMs);
    for (const [k, v] of Object.entries(r.kv)) if (k !== 'ops' && k !== 'checkMs') add(`kv.${k}`, v);
  }
  if (failure) {
    t.violations++;
    t.failures.push(failure);
  }
}

export function merge(a: Totals, b: Totals): Totals {
  const sum = (x: Record<string, number>, y: Record<string, number>) => {
    const out = { ...x };
    for (const [k, v] of Object.entries(y)) out[k] = (out[k] ?? 0) + v;
    return out;
  };
  return {
    seeds: a.seeds + b.seeds,
    violations: a.violations + b.violations,
    failures: [...a.failures, ...b.failures].sort((x, y) => x.seed - y.seed),
    byNodes: sum(a.byNodes, b.byNodes),
    byMix: sum(a.byMix, b.byMix),
    counts: sum(a.counts, b.counts),
    maxRecovery: Math.max(a.maxRecovery, b.maxRecovery),
    ms: Math.max(a.ms, b.ms),
    ...(a.kvOps || b.kvOps ? { kvOps: [...(a.kvOps ?? []), ...(b.kvOps ?? [])] } : {}),
    ...(a.kvCheckMs || b.kvCheckMs ? { kvCheckMs: [...(a.kvCheckMs ?? []), ...(b.kvCheckMs ?? [])] } : {}),
  };
}

function quantile(xs: readonly number[], q: number): number {
  if (xs.length === 0) return 0;
  const s = xs.slice().sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
}

/** One line for the KV workload: history sizes and linearizability checking time. */
export function kvLine(t: Totals): string | undefined {
  const ops = t.kvOps;
  const ms = t.kvCheckMs;
  if (!ops || !ms || ops.length === 0) return undefined;
  const n = (k: string) => t.counts[`kv.${k}`] ?? 0;
  const total = ops.reduce((a, b) => a + b, 0);
  const unknownPct = total > 0 ? ((100 * n('unknown')) / total).toFixed(1) : '0';
  const checkTotal = ms.reduce((a, b) => a + b, 0);
  return (
    `kv: ${ops.length} histories, ops per history median ${quantile(ops, 0.5)} (p90 ${quantile(ops, 0.9)}, max ${Math.max(...ops)}), ` +
    `${unknownPct}% unknown outcomes; linearizability check median ${quantile(ms, 0.5)} ms (p90 ${quantile(ms, 0.9)}, ` +
    `max ${Math.max(...ms)} ms, total ${(checkTotal / 1000).toFixed(1)} s); ${n('serializableReads')} serializable reads, ` +
    `${n('watches')} watches with ${n('watchEvents')} events (${n('watchRestores')} through a snapshot restore, ${n('watchesCompacted')} canceled for compaction), ${n('leaseGrants')} lease grants, ${n('leaseExpiries')} expiries, ${n('compactions')} compactions, ` +
    `${n('refused')} requests refused`
  );
}

/** One line: what the seeds went through. */
export function faultLine(t: Totals): string {
  const c = t.counts;
  const n = (k: string) => c[k] ?? 0;
  const per = (k: string) => (t.seeds > 0 ? (n(k) / t.seeds).toFixed(1) : '0');
  return (
    `faults: ${n('partitions')} partitions, ${n('crashes')} crashes, ${n('restarts')} restarts, ` +
    `${n('confChanges')} membership changes (${n('confChangesApplied')} conf entries applied, ${n('retired')} peers removed), ` +
    `${n('transfers')} transfers, ${n('lost')} lost / ${n('duplicated')} duplicated / ${n('cut')} cut of ${n('sent')} messages, ` +
    `${n('snapshotsSent')} snapshots sent; ${n('elections')} elections, ${n('committed')} entries committed, ` +
    `${n('readsAnswered')} reads answered, ${n('heals')} heals (slowest recovery ${t.maxRecovery} ticks); ` +
    `per seed: ${per('ticks')} ticks, ${per('crashes')} crashes, ${per('partitions')} partitions; ` +
    `sizes ${JSON.stringify(t.byNodes)}, mixes ${JSON.stringify(t.byMix)}`
  );
}
