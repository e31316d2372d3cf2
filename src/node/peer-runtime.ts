// Drives one Raft peer with real time, storage and a transport: ticks on a timer, persists every Ready in one
// synced write before sending or applying, applies committed entries to the state machine, answers the
// proposer, serves linearizable reads through ReadIndex (batched: one quorum round serves every read that
// arrived before it started) and takes snapshots. It runs inside the peer's worker thread.
import { decodeConfChange } from '../raft/confchange.ts';
import { RaftNode } from '../raft/raft-node.ts';
import { RaftError, type ConfChange, type ConfState, type Entry, type Message, type NodeId, type Ready, type Snapshot, type SoftState } from '../raft/types.ts';
import type { PeerStorage } from '../storage/peer-storage.ts';
import { DurationHistogram } from './duration-histogram.ts';
import { decodeEnvelope, encodeEnvelope } from './envelope.ts';
import { UNHEALTHY_MESSAGE, type CallError, type Timing } from './protocol.ts';

/** The replicated application: deterministic, fed only committed commands. */
export interface StateMachine {
  /** Applies a committed command at a log index; the result goes back to the proposer. Throws for errors. */
  apply(command: Uint8Array, index: number): unknown;
  /** Answers a read-only command from the local state. */
  read(command: Uint8Array): unknown;
  /**
   * Starts encoding a snapshot of the state as it is now, a few keys per step(), while commands keep being
   * applied: the peer is never held for the whole store.
   */
  startSnapshot(): SnapshotEncoding;
  restore(data: Uint8Array): void;
  /** Leadership gained or lost (leases are timed only on the leader). */
  onLeadership?(isLeader: boolean): void;
}

/** A snapshot being encoded in steps (see StateMachine.startSnapshot). */
export interface SnapshotEncoding {
  /** Encodes up to `maxKeys` more keys; true when the snapshot is complete. */
  step(maxKeys: number): boolean;
  result(): Uint8Array;
  cancel(): void;
}

/** An encoding step runs for about this long before the peer gets its thread back. */
const SNAPSHOT_SLICE_MS = 2;
/** Keys per step() call between clock checks. */
const SNAPSHOT_STEP_KEYS = 128;

/** Runs encoding steps for about one slice; true when the encoding is complete. */
function encodeOneSlice(encoding: SnapshotEncoding): boolean {
  const deadline = performance.now() + SNAPSHOT_SLICE_MS;
  let done: boolean;
  do done = encoding.step(SNAPSHOT_STEP_KEYS);
  while (!done && performance.now() < deadline);
  return done;
}

/**
 * Finishes an encoding a slice at a time, letting everything else waiting for the thread run in between (for
 * requests that want the current state's snapshot, such as etcd's Maintenance.Snapshot).
 */
export async function encodeInSlices(encoding: SnapshotEncoding): Promise<Uint8Array> {
  try {
    while (!encodeOneSlice(encoding)) await new Promise((resolve) => setImmediate(resolve));
    return encoding.result();
  } finally {
    encoding.cancel();
  }
}

interface SnapshotJob {
  encoding: SnapshotEncoding;
  /** The applied index and membership when the encoding started: the snapshot's. */
  index: number;
  confState: ConfState;
  data?: Uint8Array;
}

export class PeerCallError extends Error implements CallError {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
    this.name = 'PeerCallError';
  }
}

export const NO_LEADER = (): PeerCallError => new PeerCallError('etcdserver: no leader', 'UNAVAILABLE');
export const TIMED_OUT = (): PeerCallError => new PeerCallError('etcdserver: request timed out', 'UNAVAILABLE');
/** etcd's ErrTimeoutDueToLeaderFail: the request started shortly before a new leader was elected. */
const TIMED_OUT_LEADER_FAIL = (): PeerCallError => new PeerCallError('etcdserver: request timed out, possibly due to previous leader failure', 'UNAVAILABLE');
/** What etcd answers when a proposal never got into Raft (it waited for a leader): its context's own error. */
const DEADLINE_EXCEEDED = (): PeerCallError => new PeerCallError('context deadline exceeded', 'UNKNOWN');
const UNHEALTHY = (): PeerCallError => new PeerCallError(UNHEALTHY_MESSAGE, 'UNAVAILABLE');

export function fromRaftError(err: unknown): unknown {
  if (!(err instanceof RaftError)) return err;
  switch (err.code) {
    case 'noLeader':
      return NO_LEADER();
    case 'transferInProgress':
      return new PeerCallError('etcdserver: leader changed', 'UNAVAILABLE');
    case 'badTransferee':
      return new PeerCallError('etcdserver: bad leader transferee', 'FAILED_PRECONDITION');
    case 'confChangePending':
      return new PeerCallError(`etcdserver: ${err.message}`, 'FAILED_PRECONDITION');
    case 'tooLarge':
      return new PeerCallError('etcdserver: request is too large', 'INVALID_ARGUMENT');
    default:
      return new PeerCallError(`etcdserver: ${err.message}`, 'UNAVAILABLE');
  }
}

/** Messages only a leader sends, which do not depend on anything in the Ready being durable. */
function sendsBeforePersist(m: Message): boolean {
  return m.type === 'app' || m.type === 'heartbeat' || m.type === 'snap';
}

interface Waiter<T> {
  resolve: (value: T) => void;
  reject: (err: unknown) => void;
  timer: ReturnType<typeof setTimeout>;
  startedAt: number;
  /** A proposal waiting for a leader, not yet handed to Raft. */
  leaderless?: boolean;
}

interface ReadWaiter {
  resolve: () => void;
  reject: (err: unknown) => void;
  index: number; // 0 until its ReadIndex round answers
}

export interface RuntimeOptions {
  timing: Timing;
  snapshotCount: number;
  catchUpEntries: number;
  requestTimeoutMs: number;
  send: (msgs: Message[]) => void;
  /** Whether the link to a peer is up (a peer that is down refuses it at once, as a dead process's port would). */
  connected?: (peer: NodeId) => boolean;
  /** Called when status-worthy state changed (role, term, indexes). */
  onChange?: () => void;
  onApplied?: (entries: number, latencyMs: number | undefined) => void;
  onFatal: (err: unknown) => void;
}

export class PeerRuntime {
  readonly id: NodeId;
  private ticker: ReturnType<typeof setInterval> | undefined;
  private processing = false;
  private scheduled = false;
  private stopped = false;
  /** What /metrics reports of this peer's runtime, under etcd's names. */
  readonly counters = { leaderChanges: 0, proposalsFailed: 0, walSync: new DurationHistogram() };
  private paused = false;
  private inbox: Message[] = [];
  private queuedProposals: Entry[] = [];
  private nextSeq = 1;
  private readonly proposals = new Map<number, Waiter<unknown>>();
  private readonly confWaiters: { change: ConfChange; waiter: Waiter<void> }[] = [];
  private readsQueued: ReadWaiter[] = [];
  private readRound: { key: number; readers: ReadWaiter[]; startedAt: number } | undefined;
  private readsAnswered: ReadWaiter[] = [];
  private lastSnapshotIndex: number;
  private softState: SoftState = { lead: 0, role: 'follower' };
  private idle: Promise<void> = Promise.resolve();
  /** When each peer was last heard from (performance.now()), for the reconfiguration checks. */
  private readonly lastHeard = new Map<NodeId, number>();
  private snapshotWriting = false;
  /** A snapshot being encoded while entries keep being applied. */
  private snapshotJob: SnapshotJob | undefined;
  private snapshotWrite: Promise<void> = Promise.resolve();
  private idleResolve: (() => void) | undefined;
  /**
   * Proposals and read requests waiting for the next leader: those the network handed back because their
   * leader's process was down (nobody ever received them, so sending them again cannot make anything commit
   * twice), and those made while this peer knew no leader, which etcd holds until one is elected.
   */
  private undelivered: { proposals: Entry[][]; reads: boolean; lead: NodeId; term: number } | undefined;
  /** When this peer last learned of a new leader (performance.now()). */
  private leaderElectedAt: number | undefined;

  constructor(
    private readonly node: RaftNode,
    private readonly storage: PeerStorage,
    private readonly sm: StateMachine,
    private readonly opts: RuntimeOptions,
  ) {
    this.id = node.id;
    this.lastSnapshotIndex = node.status().snapshotIndex;
  }

  start(): void {
    // Like etcd's initial election tick advance: a starting peer does not sit out a whole election timeout
    // before its first campaign. The timeout stays randomised (at least one tick remains), and PreVote keeps a
    // restarting peer from disturbing a cluster that has a leader.
    const electionTicks = Math.round(this.opts.timing.electionMs / this.opts.timing.heartbeatMs);
    for (let i = 0; i < electionTicks - 1; i++) this.node.tick();
    this.ticker = setInterval(() => this.tick(), this.opts.timing.heartbeatMs);
    this.schedule();
  }

  /** Stops timers and waits for the write in progress, so the folder can be closed cleanly. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.ticker) clearInterval(this.ticker);
    this.dropSnapshotJob();
    await this.idle;
    await this.snapshotWrite;
    const err = new PeerCallError('etcdserver: server stopped', 'UNAVAILABLE');
    for (const w of this.proposals.values()) this.settle(w, err);
    this.proposals.clear();
    for (const { waiter } of this.confWaiters) this.settle(waiter, err);
    this.failReads(err);
  }

  /** A frozen process: no ticks, no message handling, until resume(). */
  pause(): void {
    this.paused = true;
    this.opts.onChange?.();
  }

  resume(): void {
    this.paused = false;
    const inbox = this.inbox;
    this.inbox = [];
    this.receive(inbox);
    this.opts.onChange?.();
  }

  isPaused(): boolean {
    return this.paused;
  }

  receive(msgs: Message[]): void {
    if (this.stopped) return;
    if (this.paused) {
      this.inbox.push(...msgs);
      return;
    }
    const now = performance.now();
    for (const m of msgs) {
      this.lastHeard.set(m.from, now);
      this.node.step(m);
    }
    this.schedule();
  }

  /**
   * The voters this peer is connected to and heard from within an election timeout, itself included: etcd's
   * "active" members (the leader hears from every connected follower at each heartbeat).
   */
  private activeVoters(voters: readonly NodeId[]): Set<NodeId> {
    const since = performance.now() - this.opts.timing.electionMs;
    const connected = this.opts.connected ?? (() => true);
    return new Set(voters.filter((v) => v === this.id || (connected(v) && (this.lastHeard.get(v) ?? -Infinity) >= since)));
  }

  /**
   * etcd's strict reconfiguration check, by the leader before it proposes a change: removing a live voter must
   * leave enough live voters for the smaller cluster's quorum (a voter that is down may always go; a learner
   * too). Without it, removing a healthy member while another is down loses quorum.
   */
  private checkRemoval(id: NodeId): void {
    const { voters } = this.node.confState();
    if (!voters.includes(id)) return;
    const active = this.activeVoters(voters);
    if (id !== this.id && !active.has(id)) return;
    if (active.size - 1 < Math.floor((voters.length - 1) / 2) + 1) throw UNHEALTHY();
  }

  /**
   * etcd refuses a new member, learner or voter, unless every voter is connected: a voter shrinks the margin,
   * and even a learner's catch-up loads a cluster that is already missing a member.
   */
  checkAddMember(): void {
    const st = this.node.status();
    if (st.role !== 'leader') throw NO_LEADER();
    const { voters } = this.node.confState();
    if (this.activeVoters(voters).size < voters.length) throw UNHEALTHY();
  }

  /**
   * The network could not deliver these forwarded messages (the leader they were sent to is down). Instead of
   * leaving their clients to time out, they wait here for the next leader.
   */
  undeliverable(msgs: Message[]): void {
    if (this.stopped) return;
    for (const m of msgs) {
      if (m.type === 'prop') this.holdForLeader().proposals.push(m.entries);
      else if (m.type === 'readIndex' && this.readRound && m.context && this.isCurrentReadContext(m.context)) this.holdForLeader().reads = true;
    }
    this.resendUndelivered();
  }

  /** What waits for a leader other than the one this peer knows now (none, or one whose process is down). */
  private holdForLeader(): NonNullable<PeerRuntime['undelivered']> {
    const { lead, term } = this.node.status();
    return (this.undelivered ??= { proposals: [], reads: false, lead, term });
  }

  private resendUndelivered(): void {
    const held = this.undelivered;
    if (!held || this.paused) return;
    const { lead, term } = this.node.status();
    if (lead === 0 || (lead === held.lead && term === held.term)) return;
    this.undelivered = undefined;
    for (const entries of held.proposals) {
      // A proposal of this peer's whose client was already told it timed out is not sent: it must not happen after all.
      const waited = entries.filter((e) => {
        if (e.type !== 'normal') return true;
        const { proposer, seq } = decodeEnvelope(e.data);
        return proposer !== this.id || this.proposals.has(seq);
      });
      if (waited.length > 0) this.proposeOrHold(waited, true);
    }
    if (held.reads) {
      if (this.readRound) this.readsQueued.unshift(...this.readRound.readers);
      this.readRound = undefined;
      this.startReadRound();
    }
    this.schedule();
  }

  /** Hands proposals to Raft; with no leader known they wait for one, as etcd's do, until their own timeouts. */
  private proposeOrHold(entries: Entry[], wereHeld = false): void {
    try {
      this.node.proposeEntries(entries);
      if (wereHeld) this.markLeaderless(entries, false);
    } catch (err) {
      if (err instanceof RaftError && err.code === 'noLeader') {
        this.holdForLeader().proposals.push(entries);
        this.markLeaderless(entries, true);
      } else this.failProposals(entries, fromRaftError(err));
    }
  }

  private markLeaderless(entries: Entry[], leaderless: boolean): void {
    for (const e of entries) {
      if (e.type !== 'normal') continue;
      const { proposer, seq } = decodeEnvelope(e.data);
      const waiter = proposer === this.id ? this.proposals.get(seq) : undefined;
      if (waiter) waiter.leaderless = leaderless;
    }
  }

  /**
   * The error for a proposal that was not applied in time, as etcd tells them apart: one that started shortly
   * before the current leader was elected probably went to the leader that failed.
   */
  private timeoutError(startedAt: number): PeerCallError {
    const elected = this.leaderElectedAt;
    const failed = elected !== undefined && startedAt < elected && startedAt > elected - 2 * this.opts.timing.electionMs;
    return failed ? TIMED_OUT_LEADER_FAIL() : TIMED_OUT();
  }

  private failProposals(entries: Entry[], err: unknown): void {
    for (const e of entries) {
      if (e.type !== 'normal' || e.data.byteLength === 0) continue; // conf changes time out on their own
      const { proposer, seq } = decodeEnvelope(e.data);
      const waiter = proposer === this.id ? this.proposals.get(seq) : undefined;
      if (!waiter) continue;
      this.proposals.delete(seq);
      this.counters.proposalsFailed++;
      this.settle(waiter, err);
    }
  }

  private tick(): void {
    if (this.paused || this.stopped) return;
    this.node.tick();
    this.maybeRestartReadRound();
    this.resendUndelivered();
    this.schedule();
    this.opts.onChange?.();
  }

  // ------------------------------------------------------------------ client calls

  /** Replicates a command and resolves with the state machine's answer once it is applied here. */
  propose(command: Uint8Array): Promise<unknown> {
    return new Promise((resolve, reject) => {
      if (this.stopped) return reject(new PeerCallError('etcdserver: server stopped', 'UNAVAILABLE'));
      const seq = this.nextSeq++;
      const startedAt = performance.now();
      const timer = setTimeout(() => {
        const waiter = this.proposals.get(seq);
        this.proposals.delete(seq);
        this.counters.proposalsFailed++;
        reject(waiter?.leaderless ? DEADLINE_EXCEEDED() : this.timeoutError(startedAt));
      }, this.opts.requestTimeoutMs);
      this.proposals.set(seq, { resolve, reject, timer, startedAt });
      this.queuedProposals.push({ term: 0, index: 0, type: 'normal', data: encodeEnvelope(this.id, seq, command) });
      this.schedule();
    });
  }

  /**
   * Proposals that arrived since the last Ready go to Raft as one batch: one append message per follower (and
   * one forward to the leader) for all of them, instead of one each.
   */
  private flushProposals(): void {
    if (this.queuedProposals.length === 0) return;
    const batch = this.queuedProposals;
    this.queuedProposals = [];
    this.proposeOrHold(batch);
  }

  /** Serves a read: linearizable ones wait for a ReadIndex round and for this peer to apply up to it. */
  async read(command: Uint8Array, linearizable: boolean): Promise<unknown> {
    if (linearizable) await this.linearizableBarrier();
    return this.sm.read(command);
  }

  /** Resolves when this peer has applied everything committed before the call (thesis §6.4). */
  linearizableBarrier(): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.stopped) return reject(new PeerCallError('etcdserver: server stopped', 'UNAVAILABLE'));
      const reader: ReadWaiter = { resolve, reject, index: 0 };
      const timer = setTimeout(() => {
        reader.reject(TIMED_OUT());
        reader.resolve = reader.reject = () => undefined;
        const queued = this.readsQueued.indexOf(reader);
        if (queued >= 0) this.readsQueued.splice(queued, 1);
      }, this.opts.requestTimeoutMs);
      const done = reader.resolve;
      const fail = reader.reject;
      reader.resolve = () => (clearTimeout(timer), done());
      reader.reject = (e) => (clearTimeout(timer), fail(e));
      this.readsQueued.push(reader);
      if (!this.readRound) this.startReadRound();
    });
  }

  private startReadRound(): void {
    if (this.readsQueued.length === 0) return;
    const readers = this.readsQueued;
    this.readsQueued = [];
    const key = this.nextSeq++;
    // The leader keys pending reads by context, so it must be unique across peers, not just here.
    const context = new Uint8Array(12);
    const view = new DataView(context.buffer);
    view.setUint32(0, this.id);
    view.setFloat64(4, key);
    try {
      this.node.readIndex(context);
    } catch (err) {
      if (err instanceof RaftError && err.code === 'noLeader') {
        // No leader to ask: the reads wait for one, as etcd's do, until their own timeouts.
        this.readsQueued.unshift(...readers);
        this.holdForLeader().reads = true;
        return;
      }
      const e = fromRaftError(err);
      for (const r of readers) r.reject(e);
      return;
    }
    this.readRound = { key, readers, startedAt: performance.now() };
    this.schedule();
  }

  /** A round whose messages were lost is retried after an election timeout. */
  private maybeRestartReadRound(): void {
    if (this.readRound && performance.now() - this.readRound.startedAt > this.opts.timing.electionMs) {
      this.readsQueued.unshift(...this.readRound.readers);
      this.readRound = undefined;
      this.startReadRound();
    }
  }

  private failReads(err: unknown): void {
    for (const r of [...this.readsQueued, ...(this.readRound?.readers ?? []), ...this.readsAnswered]) r.reject(err);
    this.readsQueued = [];
    this.readRound = undefined;
    this.readsAnswered = [];
  }

  transferLeader(to: NodeId): Promise<void> {
    return new Promise((resolve, reject) => {
      try {
        this.node.transferLeader(to);
      } catch (err) {
        return reject(fromRaftError(err));
      }
      this.schedule();
      const deadline = performance.now() + 2 * this.opts.timing.electionMs + 500;
      const check = setInterval(() => {
        if (this.node.status().lead === to) {
          clearInterval(check);
          resolve();
        } else if (performance.now() > deadline || this.stopped) {
          clearInterval(check);
          reject(new PeerCallError('etcdserver: leadership transfer timed out', 'UNAVAILABLE'));
        }
      }, this.opts.timing.heartbeatMs);
    });
  }

  /** Proposes a membership change and resolves once it is applied here. */
  confChange(change: ConfChange): Promise<void> {
    return new Promise((resolve, reject) => {
      try {
        if (change.type === 'removeNode' && this.node.status().role === 'leader') this.checkRemoval(change.nodeId);
        this.node.proposeConfChange(change);
      } catch (err) {
        return reject(fromRaftError(err));
      }
      const timer = setTimeout(() => {
        const at = this.confWaiters.findIndex((c) => c.waiter.timer === timer);
        if (at >= 0) this.confWaiters.splice(at, 1);
        reject(TIMED_OUT());
      }, this.opts.requestTimeoutMs);
      this.confWaiters.push({ change, waiter: { resolve, reject, timer, startedAt: performance.now() } });
      this.schedule();
    });
  }

  /**
   * Promotes a learner to voter as etcd's leader does: only a member that is a learner in this leader's
   * configuration, and only once it has at least 90% of the leader's log (a voter that lags far behind would
   * count toward quorum without being able to help reach it).
   */
  promote(id: NodeId): Promise<void> {
    const st = this.node.status();
    if (st.role !== 'leader') return Promise.reject(NO_LEADER());
    if (!st.confState.learners.includes(id)) {
      return Promise.reject(new PeerCallError('etcdserver: can only promote a learner member', 'FAILED_PRECONDITION'));
    }
    if ((st.progress[id]?.match ?? 0) < st.lastIndex * 0.9) {
      return Promise.reject(new PeerCallError('etcdserver: can only promote a learner member which is in sync with leader', 'FAILED_PRECONDITION'));
    }
    return this.confChange({ type: 'addNode', nodeId: id });
  }

  isLearner(): boolean {
    return this.node.isLearner();
  }

  campaign(): void {
    this.node.campaign();
    this.schedule();
  }

  /** Proposals of this peer's clients not yet applied (etcd_server_proposals_pending). */
  get proposalsPending(): number {
    return this.proposals.size;
  }

  status(): ReturnType<RaftNode['status']> {
    return this.node.status();
  }

  // ------------------------------------------------------------------ the Ready loop

  private schedule(): void {
    if (this.scheduled || this.processing || this.stopped) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      void this.processReady();
    });
  }

  private async processReady(): Promise<void> {
    if (this.processing || this.stopped || this.paused) return;
    this.processing = true;
    this.idle = new Promise((r) => (this.idleResolve = r));
    try {
      while (!this.stopped && !this.paused) {
        this.flushProposals();
        if (!this.node.hasReady()) break;
        const rd = this.node.ready();
        await this.handleReady(rd);
      }
    } catch (err) {
      this.stopped = true;
      if (this.ticker) clearInterval(this.ticker);
      this.opts.onFatal(err);
    } finally {
      this.processing = false;
      this.idleResolve?.();
    }
  }

  private async handleReady(rd: Ready): Promise<void> {
    // 1. Durable first: nothing a follower or candidate sends may be seen before this write is synced. A
    //    leader's appends go out while it writes (thesis §10.2.1): its own copy counts towards the quorum
    //    only after advance(), and the term and commit index they carry are already durable.
    if (rd.snapshot) {
      this.dropSnapshotJob(); // it is older than the one being installed
      await this.snapshotWrite; // an installed snapshot replaces the one being written
    }
    if (rd.loadEntries) this.loadEntries(rd.loadEntries);
    const early = rd.messages.filter(sendsBeforePersist);
    if (early.length > 0) this.opts.send(early);
    const writeStarted = performance.now();
    await this.storage.save(rd);
    // etcd's etcd_disk_wal_fsync_duration_seconds: here the synced LevelDB batch, the log's write.
    if (rd.entries.length > 0 || rd.hardState) this.counters.walSync.observe((performance.now() - writeStarted) / 1000);
    // 2. Send the rest.
    const late = early.length === 0 ? rd.messages : rd.messages.filter((m) => !sendsBeforePersist(m));
    if (late.length > 0) this.opts.send(late);
    // 3. Apply.
    if (rd.snapshot) {
      this.dropSnapshotJob(); // in case one started while the write above was waited for
      this.sm.restore(rd.snapshot.data);
      this.lastSnapshotIndex = Math.max(this.lastSnapshotIndex, rd.snapshot.meta.index);
    }
    let latency: number | undefined;
    for (const e of rd.committedEntries) {
      const l = this.applyEntry(e);
      if (l !== undefined) latency = l;
    }
    this.node.advance(rd);
    if (rd.softState) this.onSoftState(rd.softState);
    if (this.undelivered && (rd.softState || rd.hardState)) this.resendUndelivered();
    // 4. Reads.
    for (const rs of rd.readStates) this.onReadState(rs.context, rs.index);
    this.releaseReads();
    if (rd.committedEntries.length > 0) this.opts.onApplied?.(rd.committedEntries.length, latency);
    this.maybeSnapshot();
    if (rd.softState || rd.hardState || rd.committedEntries.length > 0) this.opts.onChange?.();
  }

  /** Reads entries a follower needs back from disk, beside the Ready loop, and hands them to Raft. */
  private loadEntries({ lo, hi, maxBytes }: NonNullable<Ready['loadEntries']>): void {
    this.storage.readEntries(lo, hi, maxBytes).then(
      (entries) => {
        if (this.stopped) return;
        this.node.entriesLoaded(lo, entries);
        this.schedule();
      },
      (err: unknown) => {
        if (this.stopped) return; // the folder was closed under the read
        this.stopped = true;
        if (this.ticker) clearInterval(this.ticker);
        this.opts.onFatal(err);
      },
    );
  }

  /** Applies one committed entry; returns the proposal latency when it was ours. */
  private applyEntry(e: Entry): number | undefined {
    if (e.type === 'confChange') {
      const cc = decodeConfChange(e.data);
      const at = this.confWaiters.findIndex((w) => w.change.type === cc.type && w.change.nodeId === cc.nodeId);
      if (at >= 0) {
        const [{ waiter }] = this.confWaiters.splice(at, 1) as [{ change: ConfChange; waiter: Waiter<void> }];
        this.settle(waiter, undefined, undefined);
      }
      return undefined;
    }
    if (e.data.byteLength === 0) return undefined; // a new leader's empty entry
    const { proposer, seq, command } = decodeEnvelope(e.data);
    let result: unknown;
    let error: unknown;
    try {
      result = this.sm.apply(command, e.index);
    } catch (err) {
      error = err;
    }
    if (proposer !== this.id) return undefined;
    const waiter = this.proposals.get(seq);
    if (!waiter) return undefined;
    this.proposals.delete(seq);
    this.settle(waiter, error, result);
    return performance.now() - waiter.startedAt;
  }

  private settle<T>(w: Waiter<T>, error: unknown, value?: T): void {
    clearTimeout(w.timer);
    if (error !== undefined) w.reject(error);
    else w.resolve(value as T);
  }

  private onSoftState(soft: SoftState): void {
    if (soft.lead !== 0 && soft.lead !== this.softState.lead) {
      this.leaderElectedAt = performance.now();
      this.counters.leaderChanges++;
    }
    const wasLeader = this.softState.role === 'leader';
    this.softState = soft;
    const isLeader = soft.role === 'leader';
    if (wasLeader !== isLeader) this.sm.onLeadership?.(isLeader);
  }

  private isCurrentReadContext(context: Uint8Array): boolean {
    if (context.byteLength !== 12 || !this.readRound) return false;
    const view = new DataView(context.buffer, context.byteOffset, 12);
    return view.getUint32(0) === this.id && view.getFloat64(4) === this.readRound.key;
  }

  private onReadState(context: Uint8Array, index: number): void {
    if (!this.readRound || !this.isCurrentReadContext(context)) return;
    for (const r of this.readRound.readers) r.index = index;
    this.readsAnswered.push(...this.readRound.readers);
    this.readRound = undefined;
    this.startReadRound();
  }

  private releaseReads(): void {
    if (this.readsAnswered.length === 0) return;
    const applied = this.node.appliedIndex();
    const still: ReadWaiter[] = [];
    for (const r of this.readsAnswered) {
      if (r.index <= applied) r.resolve();
      else still.push(r);
    }
    this.readsAnswered = still;
  }

  /**
   * Takes a snapshot every snapshotCount applied entries. The state machine encodes it a slice at a time
   * between Readies (entries keep being applied meanwhile) and the snapshot is recorded at the index where the
   * encoding started. Writing it happens in the background, so that writes do not stall
   * behind it: until it is on disk, the old snapshot and the full log still are.
   */
  private maybeSnapshot(): void {
    if (this.snapshotJob) {
      if (this.snapshotJob.data) this.finishSnapshotJob();
      return;
    }
    const applied = this.node.appliedIndex();
    if (this.snapshotWriting || applied - this.lastSnapshotIndex < this.opts.snapshotCount) return;
    const job: SnapshotJob = { encoding: this.sm.startSnapshot(), index: applied, confState: this.node.confState() };
    this.snapshotJob = job;
    setImmediate(() => this.encodeSlice(job));
  }

  /** One slice of the encoding; the next one runs after whatever else is waiting for the thread. */
  private encodeSlice(job: SnapshotJob): void {
    if (this.snapshotJob !== job) return; // dropped
    if (this.stopped) return this.dropSnapshotJob();
    if (this.paused) {
      setTimeout(() => this.encodeSlice(job), this.opts.timing.heartbeatMs);
      return;
    }
    let done: boolean;
    try {
      done = encodeOneSlice(job.encoding);
    } catch (err) {
      this.snapshotJob = undefined;
      this.stopped = true;
      if (this.ticker) clearInterval(this.ticker);
      this.opts.onFatal(err);
      return;
    }
    if (!done) {
      setImmediate(() => this.encodeSlice(job));
      return;
    }
    job.data = job.encoding.result();
    // Recording it needs the Raft node between Readies: now if the loop is idle, else when its Ready ends.
    if (!this.processing) this.finishSnapshotJob();
  }

  private finishSnapshotJob(): void {
    const job = this.snapshotJob!;
    this.snapshotJob = undefined;
    const snap = this.node.createSnapshotAt(job.index, job.confState, job.data!, this.opts.catchUpEntries);
    if (snap) this.writeSnapshot(snap); // else a newer snapshot came from the leader meanwhile
  }

  private dropSnapshotJob(): void {
    this.snapshotJob?.encoding.cancel();
    this.snapshotJob = undefined;
  }

  private writeSnapshot(snap: Snapshot): void {
    this.lastSnapshotIndex = snap.meta.index;
    this.snapshotWriting = true;
    this.snapshotWrite = this.storage.saveSnapshot(snap, Math.max(0, snap.meta.index - this.opts.catchUpEntries)).then(
      () => {
        this.snapshotWriting = false;
      },
      (err: unknown) => {
        this.stopped = true;
        if (this.ticker) clearInterval(this.ticker);
        this.opts.onFatal(err);
      },
    );
  }
}
