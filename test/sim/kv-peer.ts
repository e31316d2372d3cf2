// The KV workload's state machine on one simulated peer: a real KvStateMachine, fed every committed entry in
// log order. It answers the clients that proposed through this peer (as the runtime's proposer does), serves
// reads once this peer has applied up to their ReadIndex, carries the watches opened on this peer, and its
// snapshots are `sm.snapshot()`. One KvApp per incarnation: a crash loses it (pending requests, watches), a
// restart builds a new one from the disk's snapshot and the log.
import { KvError } from '../../src/kv/errors.ts';
import { KvStateMachine } from '../../src/kv/kv-state-machine.ts';
import type { KvResponse } from '../../src/kv/types.ts';
import type { Entry } from '../../src/raft/types.ts';
import type { Peer, PeerApp } from './peer.ts';

/** Virtual time: one tick is 100 ms (E = 10 ticks = 1 s, as etcd's defaults), so a 2 s lease lasts 20 ticks. */
export const TICK_MS = 100;

/** Every client command travels in a log entry as "KV1" + proposer u32 + op id u32 + the encoded request. */
const MAGIC = [0x4b, 0x56, 0x31];
const HEADER = 11;

export function encodeKvEntry(proposer: number, opId: number, command: Uint8Array): Uint8Array {
  const out = new Uint8Array(HEADER + command.length);
  out.set(MAGIC, 0);
  const view = new DataView(out.buffer);
  view.setUint32(3, proposer);
  view.setUint32(7, opId);
  out.set(command, HEADER);
  return out;
}

/** The envelope of a KV entry, or undefined for anything else (empty leader entries, liveness probes). */
export function decodeKvEntry(data: Uint8Array): { proposer: number; opId: number; command: Uint8Array } | undefined {
  if (data.length < HEADER || data[0] !== MAGIC[0] || data[1] !== MAGIC[1] || data[2] !== MAGIC[2]) return undefined;
  const view = new DataView(data.buffer, data.byteOffset, data.length);
  return { proposer: view.getUint32(3), opId: view.getUint32(7), command: data.subarray(HEADER) };
}

export type ApplyOutcome = { ok: KvResponse } | { error: KvError };

export interface KvAppHooks {
  /** After this app applied (or skipped) a committed entry; `outcome` is undefined for non-KV entries. */
  applied(app: KvApp, e: Entry, outcome: ApplyOutcome | undefined): void;
  /** A snapshot replaced this app's state (its live watches then catch up from the new store). */
  restored?(app: KvApp): void;
  /** The planted kvSkipApply bug: whether this app should skip applying this entry. */
  skip?(app: KvApp, e: Entry): boolean;
}

interface PendingRead {
  /** The ReadIndex answer, once it came. */
  index: number | undefined;
  serve: () => void;
}

export class KvApp implements PeerApp {
  readonly sm = new KvStateMachine();
  /** The term this peer last promoted its lessor in (0: not leader). */
  leaderTerm = 0;
  /** False once the peer crashed (this incarnation is gone). */
  alive = true;
  private readonly proposals = new Map<number, (outcome: ApplyOutcome) => void>();
  private readonly reads = new Map<string, PendingRead>();
  private readonly onDown = new Set<() => void>();
  private hashKey = '';
  private hashValue = '';

  constructor(
    readonly peer: Peer,
    readonly incarnation: number,
    private readonly hooks: KvAppHooks,
  ) {}

  get applied(): number {
    return this.sm.appliedIndex;
  }

  /**
   * sm.hash() (the whole store, history included) — recomputed only when something it covers may have changed:
   * the revision, the compaction point or the lease table (grants and revokes bump its version).
   */
  get hash(): string {
    const key = `${this.sm.revision}/${this.sm.compactRevision}/${this.sm.leases.version}`;
    if (key !== this.hashKey) {
      this.hashKey = key;
      this.hashValue = this.sm.hash();
    }
    return this.hashValue;
  }

  apply(e: Entry): void {
    const kv = e.type === 'normal' ? decodeKvEntry(e.data) : undefined;
    if (!kv || this.hooks.skip?.(this, e)) {
      this.sm.markApplied(e.index);
      this.hooks.applied(this, e, undefined);
    } else {
      let outcome: ApplyOutcome;
      try {
        outcome = { ok: this.sm.apply(kv.command, e.index) };
      } catch (err) {
        if (!(err instanceof KvError)) throw err; // a bug in the store: the cluster reports it
        outcome = { error: err };
      }
      this.hooks.applied(this, e, outcome);
      if (kv.proposer === this.peer.id) {
        const answer = this.proposals.get(kv.opId);
        if (answer) {
          this.proposals.delete(kv.opId);
          answer(outcome);
        }
      }
    }
    this.releaseReads();
  }

  snapshot(): Uint8Array {
    return this.sm.snapshot();
  }

  restore(data: Uint8Array): void {
    this.sm.restore(data);
    this.hashKey = '';
    this.hooks.restored?.(this);
    this.releaseReads();
  }

  down(): void {
    this.alive = false;
    this.proposals.clear();
    this.reads.clear();
    const fs = [...this.onDown];
    this.onDown.clear();
    for (const f of fs) f();
  }

  /** Call `f` when this incarnation goes down (until the returned function is called). */
  whenDown(f: () => void): () => void {
    this.onDown.add(f);
    return () => this.onDown.delete(f);
  }

  /** The answer to a proposal of op `opId` through this peer, when this peer applies it. */
  awaitProposal(opId: number, answer: (outcome: ApplyOutcome) => void): void {
    this.proposals.set(opId, answer);
  }

  forget(opId: number, ctx?: string): void {
    this.proposals.delete(opId);
    if (ctx !== undefined) this.reads.delete(ctx);
  }

  /** A linearizable read: `serve` runs once the ReadIndex answer came and this peer applied up to it. */
  awaitRead(ctx: string, serve: () => void): void {
    this.reads.set(ctx, { index: undefined, serve });
  }

  readAnswered(ctx: string, index: number): void {
    const r = this.reads.get(ctx);
    if (!r || r.index !== undefined) return; // not ours, or a duplicate answer
    r.index = index;
    this.releaseReads();
  }

  private releaseReads(): void {
    if (this.reads.size === 0) return;
    for (const [ctx, r] of this.reads) {
      if (r.index === undefined || r.index > this.sm.appliedIndex) continue;
      this.reads.delete(ctx);
      r.serve();
    }
  }
}
