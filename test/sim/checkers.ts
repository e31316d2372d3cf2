// Raft's safety properties (and liveness after healing), checked incrementally from a stream of
// observations the simulator emits after every step. Each checker only sees plain observations, so the
// unit tests in checkers.test.ts can feed them hand-made bad histories and watch them fail.
import type { NodeId, Role } from '../../src/raft/types.ts';

/** A peer's log as the checkers may look at it (backed by RaftNode.term() in the simulator). */
export interface LogView {
  lastIndex: number;
  snapshotIndex: number;
  /** Term of the entry at index i, the snapshot's term at snapshotIndex, undefined when not in the log. */
  termAt(i: number): number | undefined;
}

export interface EntryFp {
  index: number;
  term: number;
  /** Exact content of the entry (type and bytes), see fingerprint.ts. */
  fp: string;
}

export type Observation =
  /** A peer's role changed (including the first report after a restart). */
  | { kind: 'role'; tick: number; node: NodeId; term: number; role: Role; log: LogView }
  /** A peer stopped (crash or retirement): it is no longer leader of anything. */
  | { kind: 'down'; tick: number; node: NodeId }
  /** A peer wrote to its disk: an optional snapshot, then entries (replacing any stored entry >= the first). */
  | {
      kind: 'persist';
      tick: number;
      node: NodeId;
      /** The disk's last index before this write (after the snapshot, if any, was written). */
      prevLastIndex: number;
      /** Term of the stored entry just before entries[0] (0 before index 1), undefined if there is none. */
      prevTerm: number | undefined;
      entries: EntryFp[];
      snapshot?: { index: number; term: number };
    }
  /** After every step of a peer that is leader: its current in-memory log. */
  | { kind: 'leaderLog'; tick: number; node: NodeId; term: number; log: LogView }
  /** A peer applied a committed entry to its state machine; `state` is the state hash afterwards. */
  | { kind: 'apply'; tick: number; node: NodeId; entry: EntryFp; state: string }
  /** A peer's state machine was (re)loaded at `index` (start, restart, or snapshot install). */
  | { kind: 'restore'; tick: number; node: NodeId; index: number; state: string }
  | { kind: 'readIssued'; tick: number; node: NodeId; ctx: string }
  | { kind: 'readAnswered'; tick: number; node: NodeId; ctx: string; index: number }
  /** The network healed and a quorum of the configuration is up: the liveness clock starts. */
  | { kind: 'healed'; tick: number }
  /** Faults resume: the liveness clock stops. */
  | { kind: 'unhealed'; tick: number }
  /** A proposal made after the last 'healed' was applied by some peer. */
  | { kind: 'probeCommitted'; tick: number }
  | { kind: 'tick'; tick: number };

export interface Violation {
  checker: string;
  tick: number;
  message: string;
}

export interface Checker {
  readonly name: string;
  observe(o: Observation): string | undefined;
}

/** 1. Election safety: at most one leader per term. */
export class ElectionSafety implements Checker {
  readonly name = 'election safety';
  private readonly leaders = new Map<number, NodeId>();

  observe(o: Observation): string | undefined {
    if (o.kind !== 'role' || o.role !== 'leader') return undefined;
    const prev = this.leaders.get(o.term);
    if (prev !== undefined && prev !== o.node) return `two leaders in term ${o.term}: ${prev} and ${o.node}`;
    this.leaders.set(o.term, o.node);
    return undefined;
  }
}

/**
 * 2. Leader append-only: while a peer is leader of a term it never overwrites or deletes its log — it does not
 * write an entry at or below its disk's last index, does not install a snapshot, and its in-memory log keeps
 * every entry it had at its previous step (compaction keeps the term of the last index readable).
 */
export class LeaderAppendOnly implements Checker {
  readonly name = 'leader append-only';
  private readonly leading = new Map<NodeId, { term: number; last: number; lastTerm: number }>();

  observe(o: Observation): string | undefined {
    switch (o.kind) {
      case 'role': {
        if (o.role === 'leader') {
          const last = o.log.lastIndex;
          this.leading.set(o.node, { term: o.term, last, lastTerm: o.log.termAt(last) ?? -1 });
        } else this.leading.delete(o.node);
        return undefined;
      }
      case 'down':
        this.leading.delete(o.node);
        return undefined;
      case 'persist': {
        const l = this.leading.get(o.node);
        if (!l) return undefined;
        if (o.snapshot) return `leader ${o.node} (term ${l.term}) installed a snapshot at ${o.snapshot.index}, replacing its log`;
        if (o.entries.length > 0 && o.entries[0]!.index <= o.prevLastIndex)
          return `leader ${o.node} (term ${l.term}) wrote entry ${o.entries[0]!.index} over its own log (last index ${o.prevLastIndex})`;
        return undefined;
      }
      case 'leaderLog': {
        const l = this.leading.get(o.node);
        if (!l || l.term !== o.term) return undefined;
        if (o.log.lastIndex < l.last) return `leader ${o.node} (term ${l.term}) log shrank from ${l.last} to ${o.log.lastIndex}`;
        const t = o.log.termAt(l.last);
        if (t !== undefined && t !== l.lastTerm)
          return `leader ${o.node} (term ${l.term}) changed entry ${l.last} from term ${l.lastTerm} to ${t}`;
        if (t === undefined && l.last > o.log.snapshotIndex)
          return `leader ${o.node} (term ${l.term}) lost entry ${l.last}`;
        l.last = o.log.lastIndex;
        l.lastTerm = o.log.termAt(l.last) ?? -1;
        return undefined;
      }
      default:
        return undefined;
    }
  }
}

/**
 * 3. Log matching: if two logs contain an entry with the same index and term, the logs are identical up to
 * it. Checked incrementally with a registry keyed by (index, term) of the entry's content and the term of
 * the entry before it: by induction over the index, equal (index, term) then implies equal prefixes.
 */
export class LogMatching implements Checker {
  readonly name = 'log matching';
  private readonly registry = new Map<string, { fp: string; prevTerm: number; node: NodeId }>();

  observe(o: Observation): string | undefined {
    if (o.kind !== 'persist' || o.entries.length === 0) return undefined;
    let prevTerm = o.prevTerm;
    let prevIndex = o.entries[0]!.index - 1;
    if (prevTerm === undefined) return `peer ${o.node} wrote entry ${prevIndex + 1} with no entry ${prevIndex} before it (gap)`;
    for (const e of o.entries) {
      if (e.index !== prevIndex + 1) return `peer ${o.node} wrote non-contiguous entries (${prevIndex} then ${e.index})`;
      if (e.term < prevTerm) return `peer ${o.node} wrote entry ${e.index} of term ${e.term} after one of term ${prevTerm}`;
      const key = `${e.index}@${e.term}`;
      const seen = this.registry.get(key);
      if (seen === undefined) this.registry.set(key, { fp: e.fp, prevTerm, node: o.node });
      else {
        if (seen.fp !== e.fp)
          return `entry ${key} differs: peer ${seen.node} has ${JSON.stringify(seen.fp)}, peer ${o.node} has ${JSON.stringify(e.fp)}`;
        if (seen.prevTerm !== prevTerm)
          return `entry ${key} follows term ${seen.prevTerm} on peer ${seen.node} but term ${prevTerm} on peer ${o.node}`;
      }
      prevTerm = e.term;
      prevIndex = e.index;
    }
    return undefined;
  }
}

/**
 * 4. Leader completeness: every committed entry (one that some peer applied) is in the log of every later
 * leader — checked when a leader is elected, against its log or the snapshot that covers it.
 */
export class LeaderCompleteness implements Checker {
  readonly name = 'leader completeness';
  /** committed[i] = term of the committed entry at index i. */
  private readonly committed: number[] = [];

  observe(o: Observation): string | undefined {
    if (o.kind === 'apply') {
      this.committed[o.entry.index] ??= o.entry.term;
      return undefined;
    }
    if (o.kind !== 'role' || o.role !== 'leader') return undefined;
    const snap = o.log.snapshotIndex;
    for (let i = Math.max(1, snap); i < this.committed.length; i++) {
      const want = this.committed[i];
      if (want === undefined) continue;
      if (want > o.term) continue; // cannot happen for a real history; not this checker's concern
      const have = o.log.termAt(i);
      if (have !== want)
        return `new leader ${o.node} of term ${o.term} lacks committed entry ${i}@${want} (its log has ${have === undefined ? 'nothing' : `term ${have}`} there, last index ${o.log.lastIndex})`;
    }
    return undefined;
  }
}

/**
 * 5. State machine safety: no two peers apply different entries at the same index, a peer applies indexes in
 * order with no gaps, and a state restored from a snapshot equals what the others had at that index.
 */
export class StateMachineSafety implements Checker {
  readonly name = 'state machine safety';
  private readonly byIndex: ({ term: number; fp: string; state: string; node: NodeId } | undefined)[] = [];
  private readonly appliedBy = new Map<NodeId, number>();

  observe(o: Observation): string | undefined {
    if (o.kind === 'restore') {
      this.appliedBy.set(o.node, o.index);
      const seen = this.byIndex[o.index];
      if (seen && seen.state !== o.state)
        return `peer ${o.node} restored state ${o.state} at ${o.index}, but peer ${seen.node} had state ${seen.state} there`;
      return undefined;
    }
    if (o.kind !== 'apply') return undefined;
    const e = o.entry;
    const prev = this.appliedBy.get(o.node) ?? 0;
    if (e.index !== prev + 1) return `peer ${o.node} applied entry ${e.index} right after ${prev}`;
    this.appliedBy.set(o.node, e.index);
    const seen = this.byIndex[e.index];
    if (seen === undefined) {
      this.byIndex[e.index] = { term: e.term, fp: e.fp, state: o.state, node: o.node };
      return undefined;
    }
    if (seen.term !== e.term || seen.fp !== e.fp)
      return `peer ${o.node} applied ${e.index}@${e.term} ${JSON.stringify(e.fp)} but peer ${seen.node} applied ${e.index}@${seen.term} ${JSON.stringify(seen.fp)}`;
    if (seen.state !== o.state) return `peer ${o.node} reached state ${o.state} at ${e.index}, peer ${seen.node} state ${seen.state}`;
    return undefined;
  }
}

/**
 * Linearizable reads: a read answered at index i must cover every entry applied anywhere before the read was
 * issued (so it cannot miss an acknowledged write).
 */
export class LinearizableReads implements Checker {
  readonly name = 'linearizable reads';
  private maxApplied = 0;
  private readonly issued = new Map<string, { tick: number; floor: number; node: NodeId }>();

  observe(o: Observation): string | undefined {
    switch (o.kind) {
      case 'apply':
        if (o.entry.index > this.maxApplied) this.maxApplied = o.entry.index;
        return undefined;
      case 'readIssued':
        this.issued.set(o.ctx, { tick: o.tick, floor: this.maxApplied, node: o.node });
        return undefined;
      case 'readAnswered': {
        const r = this.issued.get(o.ctx);
        if (!r) return `read ${JSON.stringify(o.ctx)} answered on peer ${o.node} but never issued`;
        if (o.index < r.floor)
          return `read ${JSON.stringify(o.ctx)} issued at tick ${r.tick} on peer ${r.node} when entry ${r.floor} was already applied was answered with index ${o.index} (stale read)`;
        return undefined;
      }
      default:
        return undefined;
    }
  }
}

/**
 * 6. Liveness: once the network healed and a quorum is up ('healed'), some proposal made after that commits
 * within `bound` ticks (which needs a leader to be elected first).
 */
export class Liveness implements Checker {
  readonly name = 'liveness';
  private healedAt: number | undefined;

  constructor(readonly bound: number) {}

  observe(o: Observation): string | undefined {
    switch (o.kind) {
      case 'healed':
        this.healedAt = o.tick;
        return undefined;
      case 'unhealed':
      case 'probeCommitted':
        this.healedAt = undefined;
        return undefined;
      case 'tick':
        if (this.healedAt !== undefined && o.tick - this.healedAt > this.bound) {
          const at = this.healedAt;
          this.healedAt = undefined;
          return `no proposal committed within ${this.bound} ticks after the cluster healed at tick ${at}`;
        }
        return undefined;
      default:
        return undefined;
    }
  }
}

/** Every checker at once; remembers the violations it saw. */
export class CheckerSet {
  readonly checkers: Checker[];
  readonly violations: Violation[] = [];

  constructor(livenessBound: number) {
    this.checkers = [
      new ElectionSafety(),
      new LeaderAppendOnly(),
      new LogMatching(),
      new LeaderCompleteness(),
      new StateMachineSafety(),
      new LinearizableReads(),
      new Liveness(livenessBound),
    ];
  }

  observe(o: Observation): Violation | undefined {
    let first: Violation | undefined;
    for (const c of this.checkers) {
      const msg = c.observe(o);
      if (msg !== undefined) {
        const v = { checker: c.name, tick: o.tick, message: msg };
        this.violations.push(v);
        first ??= v;
      }
    }
    return first;
  }
}
