// One Raft peer as a pure, deterministic state machine (the design of etcd-io/raft's RawNode).
// Inputs: tick(), step(message), propose(), proposeConfChange(), readIndex(), transferLeader().
// Output: a Ready batch (see types.ts) that the caller persists, sends and applies, then acknowledges with
// advance(). No I/O, timers, clocks or ambient randomness: the same inputs always give the same outputs.
//
// Decisions worth knowing:
// - A proposal made on a follower is forwarded to the leader (as etcd does). It may still be lost on the way,
//   so callers recognise their entries when they are applied (an id in the data) and time out otherwise.
// - The leader counts its own copy of an entry towards a quorum only once the caller has persisted it
//   (advance), so an entry commits when a majority really has it on disk.
// - Membership changes take effect when their entry is applied (at advance), one at a time: a new change is
//   refused while an earlier one is not yet applied. A leader removed from the membership stops taking
//   proposals and hands leadership to the most up-to-date remaining voter (it keeps replicating meanwhile).
// - PreVote and CheckQuorum as in the thesis §9.6 and §6.2; a follower that has heard from a live leader
//   within the election timeout ignores vote requests, unless they come from a leadership transfer.
// - Applied entries may leave memory before a snapshot covers them (Config.maxAppliedEntriesInMemory): a leader
//   that needs them for a follower asks the caller to read them back (Ready.loadEntries, entriesLoaded), so the
//   core never waits on the disk.
import { applyToConfState, decodeConfChange, encodeConfChange } from './confchange.ts';
import type { Progress } from './progress.ts';
import { RaftLog } from './raft-log.ts';
import { ReadOnly } from './read-only.ts';
import { ProgressTracker } from './tracker.ts';
import {
  NONE,
  RaftError,
  type ConfChange,
  type ConfState,
  type Config,
  type Entry,
  type HardState,
  type Message,
  type MessageType,
  type NodeId,
  type PersistedState,
  type ReadState,
  type Ready,
  type Role,
  type Snapshot,
  type SoftState,
  type Status,
} from './types.ts';

/** Marks a vote request sent because of a leadership transfer: it may disturb a live leader. */
const TRANSFER_CONTEXT = new Uint8Array([0x74, 0x72, 0x61, 0x6e, 0x73, 0x66, 0x65, 0x72]); // "transfer"
const EMPTY = new Uint8Array(0);
/** Most entries, and bytes of entry data (or one append's worth if more), one read from disk brings back. */
const MAX_LOAD_ENTRIES = 4096;
const MAX_LOAD_BYTES = 4 * 1024 * 1024;

function isTransferContext(c: Uint8Array | undefined): boolean {
  return c !== undefined && c.length === TRANSFER_CONTEXT.length && c.every((b, i) => b === TRANSFER_CONTEXT[i]);
}

function message(type: MessageType, to: NodeId, fields: Partial<Message> = {}): Message {
  return { type, from: NONE, to, term: 0, logTerm: 0, index: 0, entries: [], commit: 0, reject: false, rejectHint: 0, ...fields };
}

export class RaftNode {
  readonly id: NodeId;
  private readonly cfg: Config;
  private currentTerm = 0;
  private vote: NodeId = NONE;
  private lead: NodeId = NONE;
  private role: Role = 'follower';
  private readonly log: RaftLog;
  private applied: number;

  /** Membership, each member's progress (kept up to date while leader) and the votes of an election. */
  private readonly tracker: ProgressTracker;
  private readonly voters: ReadonlySet<NodeId>;
  private readonly prs: ReadonlyMap<NodeId, Progress>;
  /** Index of the newest membership change applied (conf changes at or below it are not applied again). */
  private confIndex = 0;
  /** Index of the newest membership change proposed while leader; no other may be proposed until it applies. */
  private pendingConfIndex = 0;

  private electionElapsed = 0;
  private heartbeatElapsed = 0;
  private randomizedElectionTimeout = 0;
  private leadTransferee: NodeId = NONE;
  private readonly readOnly = new ReadOnly();
  /** Read requests that arrived before this leader committed an entry of its own term. */
  private pendingReadIndex: Message[] = [];

  private msgs: Message[] = [];
  private readStates: ReadState[] = [];
  private prevSoft: SoftState;
  private prevHard: HardState;
  private outstanding: Ready | undefined;
  /** Entries on disk only that a follower needs: asked for in the next Ready, then awaited (entriesLoaded). */
  private loadWanted: Ready['loadEntries'];
  private loadPending = false;

  /** The first state of a founding member: the initial membership as committed entries 1..n of term 1. */
  static bootstrap(voters: NodeId[]): PersistedState {
    const entries: Entry[] = voters.map((id, i) => ({
      term: 1,
      index: i + 1,
      type: 'confChange',
      data: encodeConfChange({ type: 'addNode', nodeId: id }),
    }));
    return { hardState: { term: 1, vote: NONE, commit: entries.length }, entries, applied: 0 };
  }

  /**
   * The first state of a founding member of a cluster restored from a state machine snapshot taken at `index`:
   * the snapshot stands in for the log up to there, and the founders are its membership.
   */
  static restoring(voters: NodeId[], data: Uint8Array, index: number): PersistedState {
    const snapshot: Snapshot = { meta: { index, term: 1, confState: { voters: [...voters], learners: [] } }, data };
    return { hardState: { term: 1, vote: NONE, commit: index }, snapshot, entries: [], applied: index };
  }

  /** The first state of a peer added to a running cluster: it knows nothing and waits for the leader. */
  static joining(): PersistedState {
    return { hardState: { term: 0, vote: NONE, commit: 0 }, entries: [], applied: 0 };
  }

  constructor(config: Config, state: PersistedState) {
    if (config.id === NONE) throw new Error('a raft node needs a non-zero id');
    if (config.heartbeatTick <= 0 || config.electionTick <= config.heartbeatTick) {
      throw new Error('electionTick must be greater than heartbeatTick, which must be positive');
    }
    this.id = config.id;
    this.cfg = config;
    this.tracker = new ProgressTracker(config.maxInflightMsgs);
    this.voters = this.tracker.voters;
    this.prs = this.tracker.progress;
    const snap = state.snapshot;
    this.log = new RaftLog(snap, state.entries, state.hardState.commit, state.applied);
    this.applied = Math.max(state.applied, snap?.meta.index ?? 0);
    if (this.applied > this.log.committed) throw new Error(`applied ${state.applied} is beyond commit ${this.log.committed}`);
    this.currentTerm = state.hardState.term;
    this.vote = state.hardState.vote;
    // Membership: the snapshot's, then every change the caller had already applied.
    this.setConf(snap?.meta.confState ?? { voters: [], learners: [] });
    this.confIndex = snap?.meta.index ?? 0;
    if (this.applied > this.log.firstIndex() - 1) {
      for (const e of this.log.slice(this.log.firstIndex(), this.applied + 1)) {
        if (e.type === 'confChange') this.applyConfChange(e);
      }
    }
    this.becomeFollower(this.currentTerm, NONE);
    this.prevHard = { term: this.currentTerm, vote: this.vote, commit: this.log.committed };
    this.prevSoft = { lead: this.lead, role: this.role };
  }

  // ---------------------------------------------------------------- inputs

  /** One unit of logical time. */
  tick(): void {
    if (this.role === 'leader') this.tickHeartbeat();
    else this.tickElection();
  }

  /** Starts an election now (as if the election timer fired). */
  campaign(): void {
    this.hup(false);
  }

  /** Appends `data` to the replicated log. Throws RaftError when it cannot be accepted. */
  propose(data: Uint8Array): void {
    this.stepOrThrow(message('prop', this.id, { from: this.id, entries: [{ term: 0, index: 0, type: 'normal', data }] }));
  }

  /** Proposes entries again, keeping their types: a forwarded proposal that never reached its leader. */
  proposeEntries(entries: Entry[]): void {
    const fresh = entries.map((e): Entry => ({ term: 0, index: 0, type: e.type, data: e.data }));
    this.stepOrThrow(message('prop', this.id, { from: this.id, entries: fresh }));
  }

  proposeConfChange(cc: ConfChange): void {
    if (cc.nodeId === NONE) throw new Error('a conf change needs a node id');
    const data = encodeConfChange(cc);
    this.stepOrThrow(message('prop', this.id, { from: this.id, entries: [{ term: 0, index: 0, type: 'confChange', data }] }));
  }

  /** Requests a linearizable read; the answer arrives as a ReadState carrying the same context. */
  readIndex(context: Uint8Array): void {
    this.stepOrThrow(message('readIndex', this.id, { from: this.id, context }));
  }

  /** Asks the leader to hand leadership to `to` (catch it up, then TimeoutNow). */
  transferLeader(to: NodeId): void {
    this.stepOrThrow(message('transferLeader', this.id, { from: to }));
  }

  reportUnreachable(id: NodeId): void {
    this.step(message('unreachable', this.id, { from: id }));
  }

  reportSnapshot(id: NodeId, ok: boolean): void {
    this.step(message('snapStatus', this.id, { from: id, reject: !ok }));
  }

  /**
   * The entries a Ready's `loadEntries` asked for, read back from disk (fewer, or none, if a compaction removed
   * them meanwhile). The leader sends them on to the followers that were waiting for them.
   */
  entriesLoaded(lo: number, entries: readonly Entry[]): void {
    this.loadPending = false;
    this.log.setLoaded(lo, entries);
    if (this.role !== 'leader') return;
    // As many appends as each follower's in-flight window takes (each call sends at most one).
    for (const id of this.prs.keys()) if (id !== this.id) while (this.maybeSendAppend(id, false));
  }

  /** A message from a peer. Stale, duplicated and foreign messages are ignored safely. */
  step(m: Message): void {
    const err = this.stepInternal(m);
    void err; // errors matter only for local requests (stepOrThrow)
  }

  private stepOrThrow(m: Message): void {
    const err = this.stepInternal(m);
    if (err) throw err;
  }

  // ---------------------------------------------------------------- ready / advance

  hasReady(): boolean {
    if (this.outstanding) return false;
    return (
      this.msgs.length > 0 ||
      this.readStates.length > 0 ||
      this.loadWanted !== undefined ||
      this.log.pendingSnapshot !== undefined ||
      this.log.stabled < this.log.lastIndex() ||
      this.log.hasNextCommitted() ||
      this.hardStateChanged() ||
      this.prevSoft.lead !== this.lead ||
      this.prevSoft.role !== this.role
    );
  }

  /** The work to do now. Call advance(ready) when it is done; no new Ready is given out before that. */
  ready(): Ready {
    if (this.outstanding) throw new Error('ready() called again before advance()');
    const rd: Ready = {
      entries: this.log.unstableEntries(),
      committedEntries: this.log.nextCommittedEntries(),
      messages: this.msgs,
      readStates: this.readStates,
    };
    if (this.log.pendingSnapshot) rd.snapshot = this.log.pendingSnapshot;
    if (this.loadWanted) {
      rd.loadEntries = this.loadWanted;
      this.loadWanted = undefined;
      this.loadPending = true;
    }
    if (this.hardStateChanged()) rd.hardState = { term: this.currentTerm, vote: this.vote, commit: this.log.committed };
    if (this.prevSoft.lead !== this.lead || this.prevSoft.role !== this.role) rd.softState = { lead: this.lead, role: this.role };
    const lastCommitted = rd.committedEntries[rd.committedEntries.length - 1];
    if (lastCommitted) this.log.applying = lastCommitted.index;
    this.msgs = [];
    this.readStates = [];
    this.outstanding = rd;
    return rd;
  }

  advance(rd: Ready): void {
    if (rd !== this.outstanding) throw new Error('advance() must be given the Ready returned by ready()');
    this.outstanding = undefined;
    if (rd.hardState) this.prevHard = rd.hardState;
    if (rd.softState) this.prevSoft = rd.softState;
    if (rd.snapshot) {
      this.log.stableSnapshotTo(rd.snapshot.meta.index);
      this.applied = Math.max(this.applied, rd.snapshot.meta.index);
    }
    const lastEntry = rd.entries[rd.entries.length - 1];
    if (lastEntry) this.log.stableTo(lastEntry.index, lastEntry.term);
    for (const e of rd.committedEntries) {
      if (e.index <= this.applied) continue;
      this.applied = e.index;
      if (e.type === 'confChange' && e.index > this.confIndex) this.applyConfChange(e);
    }
    // The leader's own copy counts towards the quorum only now that it is on disk.
    if (this.role === 'leader') {
      const self = this.prs.get(this.id);
      if (self && self.maybeUpdate(this.log.stabled) && this.maybeCommit()) this.bcastAppend();
    }
    this.maybeTrimLog();
  }

  /**
   * Keeps at most cfg.maxAppliedEntriesInMemory applied entries in memory (in steps of an eighth of it, so that
   * the array is not copied at every Ready); older ones are read back from disk when a follower needs them.
   */
  private maybeTrimLog(): void {
    const keep = this.cfg.maxAppliedEntriesInMemory;
    if (keep === undefined) return;
    this.log.dropLoadedBelow(this.role === 'leader' ? this.tracker.lowestNext(this.id) : Infinity);
    const to = Math.min(this.applied, this.log.stabled) - keep;
    if (to - (this.log.memoryFirstIndex() - 1) >= Math.max(1, Math.ceil(keep / 8))) this.log.trimTo(to);
  }

  /**
   * Records a snapshot of the caller's state machine at the applied index and drops the log before it,
   * keeping `keepEntries` entries so that slightly lagging peers can still catch up without a snapshot.
   */
  createSnapshot(data: Uint8Array, keepEntries = 0): Snapshot {
    if (this.outstanding || this.log.pendingSnapshot) throw new Error('createSnapshot() must be called after advance()');
    return this.recordSnapshot(this.applied, this.confState(), data, keepEntries);
  }

  /**
   * Records a snapshot the caller took earlier, when its applied index was `index` and the membership was
   * `confState` (what confState() returned then), and drops the log before it as createSnapshot() does.
   * For a state machine that encodes its snapshot while it keeps applying entries. Returns undefined, and
   * changes nothing, when the log already holds a snapshot at or after `index` (one received from the leader
   * meanwhile, possibly not yet persisted): the caller discards its snapshot then.
   */
  createSnapshotAt(index: number, confState: ConfState, data: Uint8Array, keepEntries = 0): Snapshot | undefined {
    if (this.outstanding) throw new Error('createSnapshotAt() must be called after advance()');
    if (!Number.isSafeInteger(index) || index > this.applied) throw new Error(`cannot snapshot at ${index}: not applied (applied ${this.applied})`);
    if (this.log.pendingSnapshot || index <= (this.log.snapshot?.meta.index ?? 0)) return undefined;
    return this.recordSnapshot(index, { voters: [...confState.voters], learners: [...confState.learners] }, data, keepEntries);
  }

  private recordSnapshot(index: number, confState: ConfState, data: Uint8Array, keepEntries: number): Snapshot {
    const term = this.log.term(index);
    if (term === undefined) throw new Error(`cannot snapshot at ${index}: not in the log`);
    const snapshot: Snapshot = { meta: { index, term, confState }, data };
    this.log.compact(snapshot, Math.max(index - keepEntries, this.log.firstIndex() - 1));
    return snapshot;
  }

  // ---------------------------------------------------------------- introspection

  /** The highest index the caller has applied (cheaper than status()). */
  appliedIndex(): number {
    return this.applied;
  }

  status(): Status {
    const progress: Status['progress'] = {};
    if (this.role === 'leader') for (const [id, pr] of this.prs) progress[id] = pr.status();
    return {
      id: this.id,
      role: this.role,
      term: this.currentTerm,
      vote: this.vote,
      lead: this.lead,
      commit: this.log.committed,
      applied: this.applied,
      firstIndex: this.log.firstIndex(),
      memoryFirstIndex: this.log.memoryFirstIndex(),
      loadedEntries: this.log.loadedCount(),
      lastIndex: this.log.lastIndex(),
      snapshotIndex: this.log.snapshot?.meta.index ?? 0,
      electionElapsed: this.electionElapsed,
      randomizedElectionTimeout: this.role === 'leader' ? this.cfg.electionTick : this.randomizedElectionTimeout,
      leadTransferee: this.leadTransferee,
      confState: this.confState(),
      isLearner: this.tracker.learners.has(this.id),
      progress,
    };
  }

  term(index: number): number | undefined {
    return this.log.term(index);
  }

  /** Entries [lo, hi) of those held in memory (see Config.maxAppliedEntriesInMemory). */
  entries(lo: number, hi: number): Entry[] {
    return this.log.slice(Math.max(lo, this.log.memoryFirstIndex()), hi);
  }

  /** Whether this node is a learner in its current configuration (cheaper than confState()). */
  isLearner(): boolean {
    return this.tracker.learners.has(this.id);
  }

  confState(): ConfState {
    return this.tracker.confState();
  }

  // ---------------------------------------------------------------- roles

  private reset(term: number): void {
    if (term !== this.currentTerm) {
      this.currentTerm = term;
      this.vote = NONE;
    }
    this.lead = NONE;
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.randomizedElectionTimeout = this.cfg.electionTick + this.cfg.rng.int(this.cfg.electionTick);
    this.leadTransferee = NONE;
    this.tracker.resetVotes();
    this.tracker.resetProgress(this.log.lastIndex() + 1, this.id, this.log.stabled);
    this.pendingConfIndex = 0;
    this.readOnly.reset();
    this.pendingReadIndex = [];
  }

  private becomeFollower(term: number, lead: NodeId): void {
    this.reset(term);
    this.lead = lead;
    this.role = 'follower';
  }

  private becomePreCandidate(): void {
    // Neither the term nor the vote changes: a pre-election must not disturb anyone.
    this.tracker.resetVotes();
    this.lead = NONE;
    this.role = 'preCandidate';
  }

  private becomeCandidate(): void {
    this.reset(this.currentTerm + 1);
    this.vote = this.id;
    this.role = 'candidate';
  }

  private becomeLeader(): void {
    this.reset(this.currentTerm);
    this.lead = this.id;
    this.role = 'leader';
    this.prs.get(this.id)?.becomeReplicate();
    // No membership change until everything before this term's first entry is applied (thesis §4.1 fix).
    this.pendingConfIndex = this.log.lastIndex();
    // An empty entry of the new term lets the leader commit, and so learn the commit index (§5.4.2, §8).
    this.appendEntries([{ term: 0, index: 0, type: 'normal', data: EMPTY }]);
  }

  private promotable(): boolean {
    return this.voters.has(this.id) && this.log.pendingSnapshot === undefined;
  }

  private tickElection(): void {
    this.electionElapsed++;
    if (this.promotable() && this.electionElapsed >= this.randomizedElectionTimeout) {
      this.electionElapsed = 0;
      this.hup(false);
    }
  }

  private tickHeartbeat(): void {
    this.heartbeatElapsed++;
    this.electionElapsed++;
    if (this.electionElapsed >= this.cfg.electionTick) {
      this.electionElapsed = 0;
      if (this.cfg.checkQuorum) this.stepInternal(message('checkQuorum', this.id, { from: this.id }));
      // A transfer that has not finished within an election timeout is abandoned (a removed leader retries).
      if (this.role === 'leader' && this.leadTransferee !== NONE) this.leadTransferee = NONE;
      if (this.role === 'leader' && !this.voters.has(this.id)) this.transferToBestVoter();
    }
    if (this.role !== 'leader') return;
    if (this.heartbeatElapsed >= this.cfg.heartbeatTick) {
      this.heartbeatElapsed = 0;
      this.bcastHeartbeat();
    }
  }

  private hup(transfer: boolean): void {
    if (this.role === 'leader' || !this.promotable()) return;
    // Committed membership changes not yet applied could change who votes; wait for them.
    if (this.log.committed > this.applied) {
      for (const e of this.log.slice(this.applied + 1, this.log.committed + 1)) if (e.type === 'confChange') return;
    }
    if (this.cfg.preVote && !transfer) this.runElection('preVote', false);
    else this.runElection('vote', transfer);
  }

  private runElection(kind: 'preVote' | 'vote', transfer: boolean): void {
    let term: number;
    if (kind === 'preVote') {
      this.becomePreCandidate();
      term = this.currentTerm + 1; // the term we would campaign in, without moving to it yet
    } else {
      this.becomeCandidate();
      term = this.currentTerm;
    }
    if (this.tracker.recordVote(this.id, true) === 'won') {
      // A single-voter cluster.
      if (kind === 'preVote') this.runElection('vote', transfer);
      else this.becomeLeader();
      return;
    }
    for (const id of this.voters) {
      if (id === this.id) continue;
      this.send(
        message(kind, id, {
          term,
          index: this.log.lastIndex(),
          logTerm: this.log.lastTerm(),
          ...(transfer ? { context: TRANSFER_CONTEXT } : {}),
        }),
      );
    }
  }

  // ---------------------------------------------------------------- step

  private stepInternal(m: Message): RaftError | undefined {
    // Term bookkeeping (§5.1), with PreVote and CheckQuorum's exceptions.
    if (m.term === 0) {
      // A local message, or a proposal / read / transfer forwarded from a follower.
    } else if (m.term > this.currentTerm) {
      if (m.type === 'vote' || m.type === 'preVote') {
        const inLease = this.cfg.checkQuorum && this.lead !== NONE && this.electionElapsed < this.cfg.electionTick;
        if (inLease && !isTransferContext(m.context)) return undefined; // we have a live leader: ignore
      }
      if (m.type === 'preVote') {
        // Never change term for a pre-vote request.
      } else if (m.type === 'preVoteResp' && !m.reject) {
        // A granted pre-vote carries the future term; we move to it only by actually campaigning.
      } else if (m.type === 'app' || m.type === 'heartbeat' || m.type === 'snap') {
        this.becomeFollower(m.term, m.from);
      } else {
        this.becomeFollower(m.term, NONE);
      }
    } else if (m.term < this.currentTerm) {
      if ((this.cfg.checkQuorum || this.cfg.preVote) && (m.type === 'heartbeat' || m.type === 'app')) {
        // A leader with a stale term, perhaps cut off for a while: tell it our term so it steps down.
        this.send(message('appResp', m.from));
      } else if (m.type === 'preVote') {
        this.send(message('preVoteResp', m.from, { term: this.currentTerm, reject: true }));
      }
      return undefined;
    }

    switch (m.type) {
      case 'hup':
        this.hup(false);
        return undefined;
      case 'vote':
      case 'preVote': {
        const respType = m.type === 'vote' ? 'voteResp' : 'preVoteResp';
        const canVote =
          this.vote === m.from ||
          (this.vote === NONE && this.lead === NONE) ||
          (m.type === 'preVote' && m.term > this.currentTerm);
        if (canVote && this.log.isUpToDate(m.index, m.logTerm)) {
          this.send(message(respType, m.from, { term: m.term }));
          if (m.type === 'vote') {
            this.electionElapsed = 0;
            this.vote = m.from;
          }
        } else {
          // The refusal carries our commit index: a candidate that has the same entry there may learn that it
          // is committed. Without it, a peer that missed the commit of a membership change (say, the leader
          // removing itself) could keep counting a vote it will never get (found by the simulator).
          const commit = this.log.committed;
          this.send(message(respType, m.from, { term: this.currentTerm, reject: true, commit, logTerm: this.log.term(commit) ?? 0 }));
        }
        return undefined;
      }
      case 'voteResp':
      case 'preVoteResp':
        // Safe for any peer: matching (index, term) means an identical prefix (log matching), and it is committed.
        if (m.reject && m.commit > this.log.committed && this.log.matchTerm(m.commit, m.logTerm)) this.log.commitTo(m.commit);
        break;
    }
    switch (this.role) {
      case 'leader':
        return this.stepLeader(m);
      case 'follower':
        return this.stepFollower(m);
      default:
        return this.stepCandidate(m);
    }
  }

  private stepLeader(m: Message): RaftError | undefined {
    switch (m.type) {
      case 'beat':
        this.bcastHeartbeat();
        return undefined;
      case 'checkQuorum':
        if (!this.tracker.quorumActive(this.id)) this.becomeFollower(this.currentTerm, NONE);
        for (const [id, pr] of this.prs) pr.recentActive = id === this.id;
        return undefined;
      case 'prop':
        return this.leaderPropose(m);
      case 'readIndex':
        this.leaderReadIndex(m);
        return undefined;
      case 'transferLeader':
        return this.leaderTransfer(m.from);
    }
    const pr = this.prs.get(m.from);
    if (!pr) return undefined;
    switch (m.type) {
      case 'appResp':
        pr.recentActive = true;
        if (m.reject) {
          const hint = m.logTerm > 0 ? this.log.findConflictByTerm(m.rejectHint, m.logTerm).index : m.rejectHint;
          if (pr.maybeDecrTo(m.index, hint)) {
            if (pr.state === 'replicate') pr.becomeProbe();
            this.sendAppend(m.from);
          }
          return undefined;
        }
        if (pr.maybeUpdate(m.index)) {
          if (pr.state === 'probe') pr.becomeReplicate();
          else if (pr.state === 'snapshot' && pr.match >= pr.pendingSnapshot) {
            pr.becomeProbe();
            pr.becomeReplicate();
          } else if (pr.state === 'replicate') pr.inflights.freeLE(m.index);
          if (this.maybeCommit()) this.bcastAppend();
          // Keep the pipeline full.
          while (this.maybeSendAppend(m.from, false)) {
            /* send until paused or caught up */
          }
          if (m.from === this.leadTransferee && pr.match === this.log.lastIndex()) this.sendTimeoutNow(m.from);
        }
        return undefined;
      case 'heartbeatResp':
        pr.recentActive = true;
        pr.probeSent = false;
        // Appends to this peer may have been lost: free a slot so that replication resumes.
        if (pr.state === 'replicate' && pr.inflights.full()) pr.inflights.freeFirst();
        if (pr.state === 'snapshot' && ++pr.snapshotWaitBeats > 3) {
          // The snapshot (or its answer) was probably lost: fall back to probing, which sends it again.
          pr.becomeProbe();
        }
        if (pr.match < this.log.lastIndex()) this.sendAppend(m.from);
        if (m.context && m.context.length > 0) this.readAcked(m.from, m.context);
        return undefined;
      case 'snapStatus':
        if (pr.state !== 'snapshot') return undefined;
        if (m.reject) pr.pendingSnapshot = 0;
        pr.becomeProbe();
        pr.probeSent = true; // wait for the follower's answer (or a heartbeat) before probing again
        return undefined;
      case 'unreachable':
        if (pr.state === 'replicate') pr.becomeProbe();
        return undefined;
    }
    return undefined;
  }

  private leaderPropose(m: Message): RaftError | undefined {
    if (!this.prs.has(this.id)) return new RaftError('notLeader', 'this leader is being removed from the cluster');
    if (this.leadTransferee !== NONE) {
      return new RaftError('transferInProgress', `leadership is being transferred to ${this.leadTransferee}`);
    }
    if (this.cfg.maxProposalBytes) {
      const bytes = m.entries.reduce((n, e) => n + e.data.byteLength, 0);
      if (bytes > this.cfg.maxProposalBytes) return new RaftError('tooLarge', 'proposal is too large');
    }
    const entries = m.entries.map((e) => ({ ...e }));
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i]!;
      if (e.type !== 'confChange') continue;
      const refusal = this.checkConfChange(e);
      if (refusal) {
        if (m.from === this.id) return refusal;
        entries[i] = { term: 0, index: 0, type: 'normal', data: EMPTY }; // a forwarded change: keep the slot
      } else {
        this.pendingConfIndex = this.log.lastIndex() + i + 1;
      }
    }
    this.appendEntries(entries);
    this.bcastAppend();
    return undefined;
  }

  private checkConfChange(e: Entry): RaftError | undefined {
    if (this.pendingConfIndex > this.applied) {
      return new RaftError('confChangePending', 'another membership change is still in progress');
    }
    const cc = decodeConfChange(e.data);
    if (cc.type === 'removeNode' && this.voters.has(cc.nodeId) && this.voters.size === 1) {
      return new RaftError('confChangePending', 'cannot remove the last voting member');
    }
    return undefined;
  }

  private leaderReadIndex(m: Message): void {
    const context = m.context ?? EMPTY;
    if (this.voters.size === 1 && this.voters.has(this.id)) {
      this.answerRead(m.from, this.log.committed, context);
      return;
    }
    // Until the leader commits an entry of its term it does not know the commit index (§6.4 step 1).
    if (this.log.term(this.log.committed) !== this.currentTerm) {
      this.pendingReadIndex.push(m);
      return;
    }
    this.readOnly.add(this.log.committed, m.from, context);
    this.readAcked(this.id, context);
    this.bcastHeartbeat(context);
  }

  private readAcked(from: NodeId, context: Uint8Array): void {
    const acks = this.readOnly.recvAck(from, context);
    if (!acks) return;
    if (!this.tracker.isQuorum(acks)) return;
    for (const read of this.readOnly.advance(context)) this.answerRead(read.from, read.index, read.context);
  }

  private answerRead(to: NodeId, index: number, context: Uint8Array): void {
    if (to === this.id || to === NONE) this.readStates.push({ index, context });
    else this.send(message('readIndexResp', to, { index, context }));
  }

  /** Hands leadership to the remaining voter with the longest log (this leader has been removed). */
  private transferToBestVoter(): void {
    const best = this.tracker.mostUpToDateVoter();
    if (best !== NONE) this.leaderTransfer(best);
  }

  private leaderTransfer(transferee: NodeId): RaftError | undefined {
    if (!this.voters.has(transferee)) return new RaftError('badTransferee', `node ${transferee} is not a voting member`);
    if (transferee === this.id) return undefined;
    if (this.leadTransferee === transferee) return undefined;
    this.leadTransferee = transferee;
    this.electionElapsed = 0; // the transfer must finish within one election timeout
    const pr = this.prs.get(transferee)!;
    if (pr.match === this.log.lastIndex()) this.sendTimeoutNow(transferee);
    else this.sendAppend(transferee);
    return undefined;
  }

  private stepFollower(m: Message): RaftError | undefined {
    switch (m.type) {
      case 'prop':
      case 'readIndex':
      case 'transferLeader':
        if (this.lead === NONE) return new RaftError('noLeader', 'no leader');
        this.send({ ...m, to: this.lead, from: m.type === 'transferLeader' ? m.from : this.id });
        return undefined;
      case 'app':
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleAppend(m);
        return undefined;
      case 'heartbeat':
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleHeartbeat(m);
        return undefined;
      case 'snap':
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleSnapshot(m);
        return undefined;
      case 'timeoutNow':
        this.hup(true);
        return undefined;
      case 'readIndexResp':
        this.readStates.push({ index: m.index, context: m.context ?? EMPTY });
        return undefined;
    }
    return undefined;
  }

  private stepCandidate(m: Message): RaftError | undefined {
    const myResp = this.role === 'preCandidate' ? 'preVoteResp' : 'voteResp';
    switch (m.type) {
      case 'prop':
      case 'readIndex':
      case 'transferLeader':
        return new RaftError('noLeader', 'no leader (election in progress)');
      case 'app':
        this.becomeFollower(m.term, m.from);
        this.handleAppend(m);
        return undefined;
      case 'heartbeat':
        this.becomeFollower(m.term, m.from);
        this.handleHeartbeat(m);
        return undefined;
      case 'snap':
        this.becomeFollower(m.term, m.from);
        this.handleSnapshot(m);
        return undefined;
      case myResp: {
        const result = this.tracker.recordVote(m.from, !m.reject);
        if (result === 'won') {
          if (this.role === 'preCandidate') this.runElection('vote', false);
          else {
            this.becomeLeader();
            this.bcastAppend();
          }
        } else if (result === 'lost') {
          this.becomeFollower(this.currentTerm, NONE);
        }
        return undefined;
      }
    }
    return undefined;
  }

  // ---------------------------------------------------------------- follower handlers

  private handleAppend(m: Message): void {
    if (m.index < this.log.committed) {
      this.send(message('appResp', m.from, { index: this.log.committed }));
      return;
    }
    const last = this.log.maybeAppend(m.index, m.logTerm, m.commit, m.entries);
    if (last !== undefined) {
      this.send(message('appResp', m.from, { index: last }));
      return;
    }
    // Tell the leader where our log could match, skipping a whole term of conflict at once.
    const hint = this.log.findConflictByTerm(Math.min(m.index, this.log.lastIndex()), m.logTerm);
    this.send(message('appResp', m.from, { index: m.index, reject: true, rejectHint: hint.index, logTerm: hint.term }));
  }

  private handleHeartbeat(m: Message): void {
    this.log.commitTo(Math.min(m.commit, this.log.lastIndex()));
    this.send(message('heartbeatResp', m.from, m.context ? { context: m.context } : {}));
  }

  private handleSnapshot(m: Message): void {
    const snap = m.snapshot;
    if (!snap) return;
    if (this.restore(snap)) this.send(message('appResp', m.from, { index: this.log.lastIndex() }));
    else this.send(message('appResp', m.from, { index: this.log.committed }));
  }

  private restore(snap: Snapshot): boolean {
    if (snap.meta.index <= this.log.committed) return false;
    if (this.log.matchTerm(snap.meta.index, snap.meta.term)) {
      // We already have the entries it covers: just learn that they are committed.
      this.log.commitTo(snap.meta.index);
      return false;
    }
    this.log.restore(snap);
    this.setConf(snap.meta.confState);
    this.confIndex = snap.meta.index;
    return true;
  }

  // ---------------------------------------------------------------- leader helpers

  private appendEntries(ents: Entry[]): void {
    let index = this.log.lastIndex();
    for (const e of ents) {
      e.term = this.currentTerm;
      e.index = ++index;
    }
    this.log.append(ents);
  }

  /** Advances the commit index to what a quorum has — but only via an entry of this term (§5.4.2). */
  private maybeCommit(): boolean {
    const index = this.tracker.committed();
    if (index <= this.log.committed || this.log.term(index) !== this.currentTerm) return false;
    const firstInTerm = this.log.term(this.log.committed) !== this.currentTerm;
    this.log.commitTo(index);
    if (firstInTerm) this.releasePendingReads();
    return true;
  }

  private releasePendingReads(): void {
    const waiting = this.pendingReadIndex;
    this.pendingReadIndex = [];
    for (const m of waiting) this.leaderReadIndex(m);
  }

  private bcastAppend(): void {
    for (const id of this.prs.keys()) if (id !== this.id) this.sendAppend(id);
  }

  private bcastHeartbeat(context = this.readOnly.lastContext()): void {
    for (const [id, pr] of this.prs) {
      if (id === this.id) continue;
      // Never tell a follower to commit past what it is known to have.
      const commit = Math.min(pr.match, this.log.committed);
      this.send(message('heartbeat', id, { commit, ...(context ? { context } : {}) }));
    }
  }

  private sendAppend(to: NodeId): void {
    this.maybeSendAppend(to, true);
  }

  /** Sends the next append (or a snapshot) to `to` unless its progress is paused; returns whether it sent. */
  private maybeSendAppend(to: NodeId, sendIfEmpty: boolean): boolean {
    const pr = this.prs.get(to);
    if (!pr || pr.isPaused()) return false;
    const prevIndex = pr.next - 1;
    const prevTerm = this.log.term(prevIndex);
    if (prevTerm === undefined) return this.sendSnapshot(to, pr);
    const ents = pr.next <= this.log.lastIndex() ? this.log.sliceToSend(pr.next, this.log.lastIndex() + 1, this.cfg.maxSizePerMsg) : [];
    if (ents === undefined) {
      this.wantLoad(pr.next);
      return false;
    }
    if (ents.length === 0 && !sendIfEmpty) return false;
    this.send(message('app', to, { index: prevIndex, logTerm: prevTerm, entries: ents, commit: this.log.committed }));
    if (pr.state === 'replicate') {
      if (ents.length > 0) {
        const last = ents[ents.length - 1]!.index;
        pr.next = last + 1;
        pr.inflights.add(last);
      }
    } else if (pr.state === 'probe') {
      pr.probeSent = true;
    }
    return true;
  }

  /** Asks for the entries from `lo` on that are on disk only (one load at a time; its waiters retry after it). */
  private wantLoad(lo: number): void {
    if (this.loadWanted || this.loadPending) return;
    const hi = Math.min(this.log.loadEnd(lo), lo + MAX_LOAD_ENTRIES);
    this.loadWanted = { lo, hi, maxBytes: Math.max(MAX_LOAD_BYTES, this.cfg.maxSizePerMsg) };
  }

  private sendSnapshot(to: NodeId, pr: Progress): boolean {
    const snap = this.log.snapshot;
    if (!snap) return false;
    this.send(message('snap', to, { snapshot: snap }));
    pr.becomeSnapshot(snap.meta.index);
    return true;
  }

  private sendTimeoutNow(to: NodeId): void {
    this.send(message('timeoutNow', to));
  }

  private send(m: Message): void {
    m.from = m.from === NONE ? this.id : m.from;
    const keepsOwnTerm = m.type === 'vote' || m.type === 'preVote' || m.type === 'voteResp' || m.type === 'preVoteResp';
    const forwarded = m.type === 'prop' || m.type === 'readIndex' || m.type === 'transferLeader';
    if (forwarded) m.term = 0;
    else if (!keepsOwnTerm) m.term = this.currentTerm;
    this.msgs.push(m);
  }

  // ---------------------------------------------------------------- membership

  private hardStateChanged(): boolean {
    return this.prevHard.term !== this.currentTerm || this.prevHard.vote !== this.vote || this.prevHard.commit !== this.log.committed;
  }

  /** Takes on a membership; members new to it start probing from the end of the log. */
  private setConf(conf: ConfState): void {
    this.tracker.setConf(conf, this.log.lastIndex() + 1);
  }

  private applyConfChange(e: Entry): void {
    this.confIndex = e.index;
    const next = applyToConfState(this.confState(), decodeConfChange(e.data));
    this.setConf(next);
    if (this.role !== 'leader') return;
    if (!this.voters.has(this.id)) {
      // Removed: keep leading, without taking proposals, until leadership is handed to a remaining voter.
      // Stepping down at once could leave the others unaware that the removal is committed, still counting
      // this peer's vote in their configuration, and unable to elect anyone (found by the simulator).
      this.transferToBestVoter();
      return;
    }
    if (this.leadTransferee !== NONE && !this.voters.has(this.leadTransferee)) this.leadTransferee = NONE;
    // A smaller quorum may commit more; new peers need their first append.
    if (this.maybeCommit()) this.bcastAppend();
    else for (const [id, pr] of this.prs) if (id !== this.id && pr.match === 0 && !pr.probeSent) this.sendAppend(id);
  }
}
