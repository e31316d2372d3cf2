// What goes wrong, and how often: a seed picks a fault mix, and the scheduler turns it into actions tick by
// tick during the chaos phases — partitions of several shapes that come and go, crashes (at a chosen point
// of handling a Ready) with restarts later, membership changes and leader transfers.
import type { NodeId } from '../../src/raft/types.ts';
import type { SeededRng } from '../../src/raft/rand.ts';
import type { NetworkOptions } from './network.ts';

export interface FaultMix {
  name: string;
  network: NetworkOptions;
  /** Per tick, probability that a partition starts (when none is active). */
  partitionRate: number;
  partitionTicks: [number, number];
  /** Per tick, probability that some peer crashes. */
  crashRate: number;
  downTicks: [number, number];
  /** Per tick, probability that the operator asks for a membership change. */
  confChangeRate: number;
  /** Per tick, probability of a leader transfer request. */
  transferRate: number;
  /** Per tick, probability that a client proposes / reads. */
  proposeRate: number;
  readRate: number;
  /** Each peer snapshots every this many applied entries (0 = never), keeping this many entries. */
  snapshotEvery: number;
  snapshotKeep: number;
}

export const MIX_NAMES = ['calm', 'lossy', 'partitions', 'crashes', 'membership', 'chaos'] as const;
export type MixName = (typeof MIX_NAMES)[number];

function range(rng: SeededRng, lo: number, hi: number): number {
  return lo + rng.int(hi - lo + 1);
}

export function makeFaultMix(rng: SeededRng, name: MixName): FaultMix {
  const maxDelay = range(rng, 1, 4);
  const network: NetworkOptions = {
    minDelay: rng.chance(0.5) ? 0 : 1,
    maxDelay,
    lossRate: 0,
    dupRate: 0,
    reorderRate: rng.chance(0.5) ? 0.05 : 0,
  };
  const mix: FaultMix = {
    name,
    network,
    partitionRate: 0,
    partitionTicks: [10, 60],
    crashRate: 0,
    downTicks: [5, 80],
    confChangeRate: 0,
    transferRate: 0,
    proposeRate: 0.1 + rng.float() * 0.4,
    readRate: 0.05 + rng.float() * 0.2,
    snapshotEvery: rng.pick([0, 3, 5, 10, 20]),
    snapshotKeep: rng.pick([0, 1, 3]),
  };
  const lossy = () => {
    network.lossRate = rng.float() * 0.2;
    network.dupRate = rng.float() * 0.1;
    network.reorderRate = rng.float() * 0.1;
  };
  switch (name) {
    case 'calm':
      break;
    case 'lossy':
      lossy();
      network.lossRate += 0.1;
      break;
    case 'partitions':
      mix.partitionRate = 0.02 + rng.float() * 0.05;
      break;
    case 'crashes':
      mix.crashRate = 0.01 + rng.float() * 0.03;
      break;
    case 'membership':
      mix.confChangeRate = 0.03 + rng.float() * 0.05;
      mix.transferRate = 0.01 + rng.float() * 0.02;
      if (rng.chance(0.5)) mix.crashRate = 0.01;
      break;
    case 'chaos':
      lossy();
      mix.partitionRate = 0.02 + rng.float() * 0.04;
      mix.crashRate = 0.005 + rng.float() * 0.02;
      mix.confChangeRate = 0.01 + rng.float() * 0.04;
      mix.transferRate = 0.005 + rng.float() * 0.01;
      break;
  }
  return mix;
}

export type CrashPoint = 'idle' | 'beforePersist' | 'afterPersist' | 'afterSend';

export type PartitionShape = 'minority' | 'majority' | 'oneWay' | 'isolateLeader' | 'leaderDeaf' | 'bridge';

export type FaultAction =
  | { kind: 'partition'; shape: PartitionShape; cuts: [NodeId, NodeId][] }
  | { kind: 'healPartition' }
  | { kind: 'crash'; node: NodeId; point: CrashPoint }
  | { kind: 'restart'; node: NodeId }
  | { kind: 'addLearner' }
  | { kind: 'promote'; node: NodeId }
  | { kind: 'removeVoter'; node: NodeId }
  | { kind: 'transfer'; to: NodeId };

/** What the scheduler may know about the cluster when it decides. */
export interface ClusterView {
  tick: number;
  /** Peers that are part of the run and not retired (up or down). */
  peers(): NodeId[];
  isUp(id: NodeId): boolean;
  /** The up leader with the highest term, if any. */
  leader(): NodeId | undefined;
  /** The leader's configuration, if there is a leader. */
  voters(): NodeId[];
  learners(): NodeId[];
  /** Whether the leader's progress says the learner has (nearly) all of its log. */
  caughtUp(learner: NodeId): boolean;
  /** Voters never go below this many through removals. */
  minVoters: number;
  /** Peers ever added stay at most this many. */
  canAddPeer(): boolean;
}

export interface FaultCounts {
  partitions: number;
  crashes: number;
  restarts: number;
  confChanges: number;
  transfers: number;
}

function shuffled<T>(rng: SeededRng, items: readonly T[]): T[] {
  const a = items.slice();
  for (let i = a.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

export class FaultScheduler {
  private partitionUntil = -1;
  private readonly restartAt = new Map<NodeId, number>();
  readonly counts: FaultCounts = { partitions: 0, crashes: 0, restarts: 0, confChanges: 0, transfers: 0 };

  constructor(
    private readonly rng: SeededRng,
    readonly mix: FaultMix,
  ) {}

  /** The chaos phase ended: forget pending partitions and restarts (the cluster heals everything). */
  reset(): void {
    this.partitionUntil = -1;
    this.restartAt.clear();
  }

  private partition(view: ClusterView): FaultAction | undefined {
    const rng = this.rng;
    const all = view.peers();
    if (all.length < 2) return undefined;
    const nodes = shuffled(rng, all);
    const leader = view.leader();
    const shapes: PartitionShape[] = ['minority', 'majority', 'oneWay', 'bridge'];
    if (leader !== undefined) shapes.push('isolateLeader', 'leaderDeaf');
    const shape = rng.pick(shapes);
    const cuts: [NodeId, NodeId][] = [];
    const splitCuts = (a: NodeId[], b: NodeId[]) => {
      for (const x of a)
        for (const y of b) cuts.push([x, y], [y, x]);
    };
    const half = Math.floor(all.length / 2);
    switch (shape) {
      case 'minority': {
        const k = Math.max(1, range(rng, 1, Math.max(1, half)));
        splitCuts(nodes.slice(0, k), nodes.slice(k));
        break;
      }
      case 'majority': {
        // Cut a majority away from the rest: the side with the current leader is often the minority.
        const k = all.length - Math.max(1, half);
        splitCuts(nodes.slice(0, k), nodes.slice(k));
        break;
      }
      case 'oneWay': {
        // Asymmetric: a few random directed links go dark.
        const n = range(rng, 1, all.length);
        for (let i = 0; i < n; i++) {
          const from = rng.pick(all);
          const to = rng.pick(all);
          if (from !== to) cuts.push([from, to]);
        }
        break;
      }
      case 'bridge': {
        // Two groups that cannot talk to each other, and one peer that talks to both.
        if (all.length < 3) return undefined;
        const rest = nodes.slice(1); // nodes[0] is the bridge
        const k = range(rng, 1, rest.length - 1);
        splitCuts(rest.slice(0, k), rest.slice(k));
        break;
      }
      case 'isolateLeader':
        splitCuts([leader!], all.filter((x) => x !== leader));
        break;
      case 'leaderDeaf':
        // The leader can still send but hears nothing back: CheckQuorum must make it step down.
        for (const x of all) if (x !== leader) cuts.push([x, leader!]);
        break;
    }
    if (cuts.length === 0) return undefined;
    return { kind: 'partition', shape, cuts };
  }

  /** The actions for this chaos tick. */
  step(view: ClusterView): FaultAction[] {
    const rng = this.rng;
    const mix = this.mix;
    const out: FaultAction[] = [];
    // Partitions come and go.
    if (this.partitionUntil >= 0 && view.tick >= this.partitionUntil) {
      this.partitionUntil = -1;
      out.push({ kind: 'healPartition' });
    } else if (this.partitionUntil < 0 && mix.partitionRate > 0 && rng.chance(mix.partitionRate)) {
      const p = this.partition(view);
      if (p) {
        this.partitionUntil = view.tick + range(rng, mix.partitionTicks[0], mix.partitionTicks[1]);
        this.counts.partitions++;
        out.push(p);
      }
    }
    // Restarts that are due.
    for (const [node, at] of this.restartAt) {
      if (view.tick >= at) {
        this.restartAt.delete(node);
        if (!view.isUp(node) && view.peers().includes(node)) {
          this.counts.restarts++;
          out.push({ kind: 'restart', node });
        }
      }
    }
    // Crashes.
    if (mix.crashRate > 0 && rng.chance(mix.crashRate)) {
      const up = view.peers().filter((x) => view.isUp(x));
      if (up.length > 0) {
        const leader = view.leader();
        const node = leader !== undefined && rng.chance(0.3) ? leader : rng.pick(up);
        const point = rng.pick<CrashPoint>(['idle', 'beforePersist', 'afterPersist', 'afterSend']);
        this.restartAt.set(node, view.tick + range(rng, mix.downTicks[0], mix.downTicks[1]));
        this.counts.crashes++;
        out.push({ kind: 'crash', node, point });
      }
    }
    // Membership changes, through the leader.
    if (mix.confChangeRate > 0 && rng.chance(mix.confChangeRate) && view.leader() !== undefined) {
      const voters = view.voters();
      const learners = view.learners();
      const choices: FaultAction[] = [];
      if (view.canAddPeer()) choices.push({ kind: 'addLearner' });
      for (const l of learners) if (view.caughtUp(l)) choices.push({ kind: 'promote', node: l });
      if (voters.length > view.minVoters) choices.push({ kind: 'removeVoter', node: rng.pick(voters) });
      if (choices.length > 0) {
        this.counts.confChanges++;
        out.push(rng.pick(choices));
      }
    }
    if (mix.transferRate > 0 && rng.chance(mix.transferRate)) {
      const leader = view.leader();
      const others = view.voters().filter((x) => x !== leader);
      if (leader !== undefined && others.length > 0) {
        this.counts.transfers++;
        out.push({ kind: 'transfer', to: rng.pick(others) });
      }
    }
    return out;
  }
}
