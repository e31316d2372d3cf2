// One simulated peer: a RaftNode, its disk, and an application state machine (a rolling hash of what it
// applied, or with the KV workload a real KvStateMachine: kv-peer.ts). It handles each Ready in the documented order — persist, send, apply, advance — and reports what
// it did to the checkers. A crash can strike in the middle of that order; a restart builds a fresh RaftNode
// from the disk alone.
import { RaftNode } from '../../src/raft/raft-node.ts';
import { decodeConfChange } from '../../src/raft/confchange.ts';
import type { Config, ConfChange, Entry, Message, NodeId, Ready, Role } from '../../src/raft/types.ts';
import type { EntryFp, LogView, Observation } from './checkers.ts';
import { Disk } from './disk.ts';
import type { CrashPoint } from './faults.ts';
import { EMPTY_STATE, bytesToString, decodeState, encodeState, entryFp, nextState, type AppState } from './fingerprint.ts';

/** What a peer needs from the world around it. */
export interface PeerEnv {
  now(): number;
  send(m: Message): void;
  observe(o: Observation): void;
  note(node: NodeId, kind: 'role' | 'commit' | 'persist' | 'snapshot' | 'read' | 'crash' | 'load', text: string): void;
  /** The node asked for entries on disk only (Ready.loadEntries): read them back later and hand them over. */
  load(peer: Peer, lo: number, hi: number, maxBytes: number): void;
  /** A committed entry was applied here (after the checkers saw it). */
  applied(peer: Peer, e: Entry, fp: string): void;
  readAnswered(peer: Peer, ctx: string, index: number): void;
}

/** A cheap view of a node's in-memory log through RaftNode.term(), probing on from the last answer. */
class NodeLogView implements LogView {
  private last = 0;

  constructor(private readonly node: RaftNode) {}

  termAt(i: number): number | undefined {
    return this.node.term(i);
  }

  get lastIndex(): number {
    const n = this.node;
    let i = this.last;
    if (n.term(i) === undefined) i = n.status().lastIndex; // shrunk, or compacted past the guess
    while (n.term(i + 1) !== undefined) i++;
    this.last = i;
    return i;
  }

  /** The compaction point: entries after it are in memory, its own term is still known. */
  get snapshotIndex(): number {
    return this.node.status().firstIndex - 1;
  }
}

export interface PeerOptions {
  snapshotEvery: number;
  snapshotKeep: number;
  /** The application state machine (a fresh one per incarnation); default: the rolling hash. */
  makeApp?: (peer: Peer) => PeerApp;
}

/** What a peer applies committed entries to. `hash` digests the state at `applied`, for comparing peers. */
export interface PeerApp {
  readonly applied: number;
  readonly hash: string;
  apply(e: Entry, fp: string): void;
  snapshot(): Uint8Array;
  /** Replaces the state with a snapshot's. */
  restore(data: Uint8Array): void;
  /** The peer stopped (crash or retirement); this incarnation's state is gone. */
  down?(): void;
}

/** The plain workload's state machine: a rolling hash of the applied entries. */
class HashApp implements PeerApp {
  private state: AppState = EMPTY_STATE;
  get applied(): number {
    return this.state.applied;
  }
  get hash(): string {
    return this.state.hash;
  }
  apply(e: Entry, fp: string): void {
    this.state = nextState(this.state, e.index, e.term, fp);
  }
  snapshot(): Uint8Array {
    return encodeState(this.state);
  }
  restore(data: Uint8Array): void {
    this.state = decodeState(data);
  }
}

export class Peer {
  node: RaftNode | undefined;
  disk: Disk;
  app: PeerApp = new HashApp();
  role: Role = 'follower';
  term = 0;
  lead: NodeId = 0;
  /** Removed from the cluster and stopped for good. */
  retired = false;
  /** Crash at the next Ready, at this point of handling it. */
  armedCrash: CrashPoint | undefined;
  /** If no Ready comes by this tick, the armed crash happens anyway (idle). */
  armedUntil = 0;
  incarnation = 0;
  private view: NodeLogView | undefined;
  private lastSnapshot = 0;
  /** The last membership this peer was known to have (kept while it is down). */
  voters: NodeId[] = [];

  constructor(
    readonly id: NodeId,
    private readonly makeConfig: (id: NodeId, incarnation: number) => Config,
    private readonly env: PeerEnv,
    private readonly opts: PeerOptions,
    initial: ReturnType<typeof RaftNode.bootstrap>,
  ) {
    this.disk = Disk.from(initial);
  }

  get up(): boolean {
    return this.node !== undefined;
  }

  get log(): LogView {
    return this.view!;
  }

  /** Starts (or restarts) from the disk. */
  start(): void {
    const ps = this.disk.load();
    this.incarnation++;
    const node = new RaftNode(this.makeConfig(this.id, this.incarnation), ps);
    this.node = node;
    this.view = new NodeLogView(node);
    // The application state is the snapshot's (load() reports applied = the snapshot index).
    this.app = this.opts.makeApp ? this.opts.makeApp(this) : new HashApp();
    if (ps.snapshot) this.app.restore(ps.snapshot.data);
    this.lastSnapshot = this.app.applied;
    this.env.observe({ kind: 'restore', tick: this.env.now(), node: this.id, index: this.app.applied, state: this.app.hash });
    const st = node.status();
    this.voters = st.confState.voters;
    this.setRole(st.role, st.term, st.lead, true);
  }

  /** Stops the node; what is not on the disk is gone. */
  crash(): void {
    this.node = undefined;
    this.view = undefined;
    this.app.down?.();
    this.armedCrash = undefined;
    this.role = 'follower';
    this.lead = 0;
    this.env.observe({ kind: 'down', tick: this.env.now(), node: this.id });
  }

  private setRole(role: Role, term: number, lead: NodeId, fresh = false): void {
    const changed = role !== this.role || term !== this.term || lead !== this.lead;
    const roleChanged = role !== this.role || (role === 'leader' && term !== this.term);
    this.role = role;
    this.term = term;
    this.lead = lead;
    if (changed || fresh) this.env.note(this.id, 'role', `${role} term=${term} lead=${lead}`);
    if (roleChanged || fresh) this.env.observe({ kind: 'role', tick: this.env.now(), node: this.id, term, role, log: this.view! });
  }

  /** Handles every Ready the node has (or crashes in the middle, if armed). */
  drain(): void {
    while (this.node && this.node.hasReady()) {
      const rd = this.node.ready();
      if (this.armedCrash && this.armedCrash !== 'idle') {
        const point = this.armedCrash;
        this.handle(rd, point);
        this.env.note(this.id, 'crash', `${point} of a Ready`);
        this.crash();
        return;
      }
      this.handle(rd, undefined);
    }
  }

  private handle(rd: Ready, crashAt: CrashPoint | undefined): void {
    const node = this.node!;
    const env = this.env;
    const tick = env.now();
    if (crashAt === 'beforePersist') return;
    if (rd.loadEntries) env.load(this, rd.loadEntries.lo, rd.loadEntries.hi, rd.loadEntries.maxBytes);
    if (rd.softState) {
      const st = node.status();
      this.setRole(rd.softState.role, st.term, rd.softState.lead);
    } else if (rd.hardState && rd.hardState.term !== this.term) {
      this.setRole(this.role, rd.hardState.term, this.lead);
    }
    // 1. Persist: snapshot, entries, hard state.
    const disk = this.disk;
    let snapshotNote: { index: number; term: number } | undefined;
    if (rd.snapshot) {
      disk.installSnapshot(rd.snapshot);
      snapshotNote = { index: rd.snapshot.meta.index, term: rd.snapshot.meta.term };
      env.note(this.id, 'snapshot', `installs snapshot ${snapshotNote.index}@${snapshotNote.term}`);
    }
    if (rd.entries.length > 0 || snapshotNote) {
      const prevLastIndex = disk.lastIndex();
      const first = rd.entries[0];
      const prevTerm = first ? disk.term(first.index - 1) : undefined;
      const fps: EntryFp[] = rd.entries.map((e) => ({ index: e.index, term: e.term, fp: entryFp(e) }));
      const o: Observation = { kind: 'persist', tick, node: this.id, prevLastIndex, prevTerm: first ? prevTerm : 0, entries: fps };
      if (snapshotNote) o.snapshot = snapshotNote;
      env.observe(o);
      if (first) {
        disk.append(rd.entries);
        env.note(this.id, 'persist', `entries ${first.index}..${rd.entries[rd.entries.length - 1]!.index} (t${first.term})`);
      }
    }
    if (rd.hardState) disk.hardState = { ...rd.hardState };
    if (crashAt === 'afterPersist') return;
    // 2. Send.
    for (const m of rd.messages) env.send(m);
    if (crashAt === 'afterSend') return;
    // 3. Apply.
    if (rd.snapshot) {
      this.app.restore(rd.snapshot.data);
      this.voters = rd.snapshot.meta.confState.voters;
      env.observe({ kind: 'restore', tick, node: this.id, index: this.app.applied, state: this.app.hash });
    }
    for (const e of rd.committedEntries) {
      if (e.index <= this.app.applied) continue; // already in the state machine (snapshot)
      const fp = entryFp(e);
      this.app.apply(e, fp);
      env.observe({ kind: 'apply', tick, node: this.id, entry: { index: e.index, term: e.term, fp }, state: this.app.hash });
      env.applied(this, e, fp);
    }
    // 4. Reads (the simulator only checks the index; serving waits for applied >= index).
    for (const rs of rd.readStates) env.readAnswered(this, bytesToString(rs.context), rs.index);
    node.advance(rd);
    if (rd.committedEntries.length > 0) {
      const st = node.status();
      this.voters = st.confState.voters;
      if (st.applied !== this.app.applied)
        throw new Error(`peer ${this.id}: core says applied=${st.applied} but the state machine is at ${this.app.applied}`);
      if (st.role !== this.role || st.term !== this.term || st.lead !== this.lead) this.setRole(st.role, st.term, st.lead);
    }
    if (this.role === 'leader') env.observe({ kind: 'leaderLog', tick, node: this.id, term: this.term, log: this.view! });
    this.maybeSnapshot();
  }

  private maybeSnapshot(): void {
    const every = this.opts.snapshotEvery;
    if (every <= 0 || this.app.applied - this.lastSnapshot < every || !this.node) return;
    const snap = this.node.createSnapshot(this.app.snapshot(), this.opts.snapshotKeep);
    if (snap.meta.index !== this.app.applied)
      throw new Error(`peer ${this.id}: createSnapshot at ${snap.meta.index} but the state machine is at ${this.app.applied}`);
    this.disk.compact(snap, this.node.status().firstIndex - 1);
    this.lastSnapshot = snap.meta.index;
    this.env.note(this.id, 'snapshot', `compacts at ${snap.meta.index}@${snap.meta.term}`);
  }

  static describeConfChange(e: Entry): ConfChange | undefined {
    return e.type === 'confChange' ? decodeConfChange(e.data) : undefined;
  }
}
