// One seed, start to finish: derive every option from the seed, then alternate chaos phases with heal
// phases (network healed and calm, a quorum up) until the tick budget is spent. Each heal phase must commit
// a fresh proposal within the liveness bound. A failing seed comes back with its options and trace.
import { SeededRng } from '../../src/raft/rand.ts';
import type { Violation } from './checkers.ts';
import { Cluster, type InjectedBug, type KvInjectedBug, type SimOptions, type SimStats } from './cluster.ts';
import { KvWorkload, type KvSeedStats } from './kv-workload.ts';
import { MIX_NAMES, makeFaultMix, type FaultCounts, type MixName } from './faults.ts';
import type { NetworkCounts } from './network.ts';

export const ELECTION_TICK = 10;

/**
 * Liveness bound: once the network is healed (calm: delay <= 2 ticks, no loss) and a quorum is up, a new
 * proposal commits within this many ticks. Budget: up to 2E for a CheckQuorum step-down or a transfer to
 * lapse, up to 2E to time out, a PreVote and a vote round, a few split-vote retries at [E, 2E) each, a
 * probe retry every E, and catching up (snapshot) — 20 election timeouts in all.
 */
export const LIVENESS_BOUND = 20 * ELECTION_TICK;

/**
 * Without PreVote a candidate with a stale log that times out first bumps the term and resets the timer of the
 * peer that could win, so each round of a two-voter election succeeds only with probability about 1/2 (seed
 * 146 needed 202 ticks). Such configurations get twice the bound, which makes a miss a ~2^-26 event.
 */
export const LIVENESS_BOUND_NO_PREVOTE = 2 * LIVENESS_BOUND;

/** How long a heal phase goes on after the probe committed, before chaos resumes. */
const SETTLE_TICKS = 2 * ELECTION_TICK;

export interface Overrides {
  nodes?: number;
  ticks?: number;
  mix?: MixName;
  /** Plant a bug (to see the checkers catch it). */
  inject?: InjectedBug | KvInjectedBug;
  /** 'kv': the etcd KV workload (kv-workload.ts) instead of plain proposals. */
  workload?: 'kv';
}

export const DEFAULT_TICKS = 1000;
/** Ticks per seed of the KV workload (each tick does more work there; see kv-sim.test.ts for timings). */
export const KV_DEFAULT_TICKS = 600;

export function optionsForSeed(seed: number, over: Overrides = {}): SimOptions {
  // Its own generator (not the cluster's), so that overriding one option does not reshuffle the others.
  const rng = new SeededRng((seed ^ 0x5eed5eed) >>> 0);
  const nodes = over.nodes ?? rng.pick([1, 3, 3, 3, 5, 5, 7]);
  const mixName = over.mix ?? rng.pick(MIX_NAMES);
  const mix = makeFaultMix(rng, mixName);
  const both = rng.chance(0.8);
  // One entry per message and one message in flight cannot keep up with the clients: not a liveness bug.
  const maxSizePerMsg = rng.pick([1, 64, 512, 1 << 20]);
  const maxInflightMsgs = rng.pick(maxSizePerMsg === 1 ? [4, 256] : [1, 2, 4, 256]);
  const preVote = both || rng.chance(0.5);
  const options: SimOptions = {
    seed,
    nodes,
    ticks: over.ticks ?? (over.workload === 'kv' ? KV_DEFAULT_TICKS : DEFAULT_TICKS),
    mix,
    electionTick: ELECTION_TICK,
    heartbeatTick: rng.pick([1, 2, 3]),
    preVote,
    checkQuorum: both || rng.chance(0.5),
    maxInflightMsgs,
    maxSizePerMsg,
    livenessBound: preVote ? LIVENESS_BOUND : LIVENESS_BOUND_NO_PREVOTE,
    chaosTicks: 120 + rng.int(180),
    traceCapacity: 200,
  };
  // Its own generator too, so that the options above are what they were before this one existed.
  const memory = new SeededRng((seed ^ 0x10ad10ad) >>> 0).pick([undefined, undefined, 0, 1, 3, 8]);
  if (memory !== undefined) options.maxAppliedEntriesInMemory = memory;
  if (over.inject) options.inject = over.inject;
  if (over.workload) options.workload = over.workload;
  return options;
}

export interface SeedResult {
  seed: number;
  options: SimOptions;
  violation: Violation | undefined;
  trace: string[];
  stats: SimStats;
  faults: FaultCounts;
  net: NetworkCounts;
  /** The KV workload's numbers (history size, check time, ...). */
  kv?: KvSeedStats;
}

export function runSeed(options: SimOptions, echo?: (line: string) => void): SeedResult {
  let kv: KvWorkload | undefined;
  const c = new Cluster(options, options.workload === 'kv' ? (cl) => (kv = new KvWorkload(cl)) : undefined);
  if (echo) c.trace.echo = echo;
  const hardStop = options.ticks + 4 * options.livenessBound;
  while (!c.violation && c.tick < options.ticks) {
    const end = Math.min(options.ticks, c.tick + options.chaosTicks);
    while (!c.violation && c.tick < end) c.step();
    if (c.violation) break;
    c.heal();
    // The liveness checker flags a heal phase that does not commit the probe in time, so this ends.
    while (!c.violation && c.probeCommittedFor() < SETTLE_TICKS && c.tick < hardStop) c.step();
    if (!c.violation && c.tick < options.ticks) c.unheal();
  }
  kv?.finish();
  return {
    seed: options.seed,
    options,
    violation: c.violation,
    trace: c.violation ? c.trace.lines() : [],
    stats: c.stats,
    faults: c.faults.counts,
    net: c.net.counts,
    ...(kv ? { kv: kv.stats } : {}),
  };
}

export function describeOptions(o: SimOptions): string {
  const m = o.mix;
  const n = m.network;
  return (
    (o.workload ? `workload=${o.workload} ` : '') +
    `nodes=${o.nodes} ticks=${o.ticks} mix=${m.name} E=${o.electionTick} H=${o.heartbeatTick} preVote=${o.preVote} ` +
    `checkQuorum=${o.checkQuorum} inflight=${o.maxInflightMsgs} maxSize=${o.maxSizePerMsg} chaos=${o.chaosTicks} ` +
    `delay=${n.minDelay}..${n.maxDelay} loss=${n.lossRate.toFixed(3)} dup=${n.dupRate.toFixed(3)} reorder=${n.reorderRate.toFixed(3)} ` +
    `partition=${m.partitionRate.toFixed(3)} crash=${m.crashRate.toFixed(3)} conf=${m.confChangeRate.toFixed(3)} ` +
    `transfer=${m.transferRate.toFixed(3)} propose=${m.proposeRate.toFixed(2)} read=${m.readRate.toFixed(2)} ` +
    `snapshotEvery=${m.snapshotEvery} keep=${m.snapshotKeep}` +
    (o.maxAppliedEntriesInMemory === undefined ? '' : ` inMemory=${o.maxAppliedEntriesInMemory}`)
  );
}

export function replayCommand(seed: number, over: Overrides): string {
  let cmd = `npm run sim -- --seed ${seed}`;
  if (over.workload !== undefined) cmd += ` --workload ${over.workload}`;
  if (over.nodes !== undefined) cmd += ` --nodes ${over.nodes}`;
  if (over.ticks !== undefined) cmd += ` --ticks ${over.ticks}`;
  if (over.mix !== undefined) cmd += ` --mix ${over.mix}`;
  if (over.inject !== undefined) cmd += ` --inject ${over.inject}`;
  return cmd;
}

/** The readable report of a failing seed. */
export function formatFailure(r: SeedResult, over: Overrides): string {
  const v = r.violation!;
  return [
    `seed ${r.seed} FAILED at tick ${v.tick}: ${v.checker}: ${v.message}`,
    `  options: ${describeOptions(r.options)}`,
    `  replay:  ${replayCommand(r.seed, over)} --verbose`,
    `  last ${r.trace.length} events:`,
    ...r.trace.map((l) => `    ${l}`),
    `seed ${r.seed} FAILED: ${v.checker}: ${v.message.split('\n')[0]}`,
  ].join('\n');
}
