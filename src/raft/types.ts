// The vocabulary of the Raft core: log entries, messages, persisted state and the Ready batch.
// Everything here is plain data so that it can cross a worker boundary or be printed in a trace.

/** A peer id. 0 means "none" (no vote, no known leader). */
export type NodeId = number;
export const NONE: NodeId = 0;

export type EntryType = 'normal' | 'confChange';

export interface Entry {
  term: number;
  index: number;
  type: EntryType;
  /** Opaque command bytes; for 'confChange' entries, an encoded ConfChange (see confchange.ts). */
  data: Uint8Array;
}

export type ConfChangeType = 'addNode' | 'removeNode' | 'addLearner';

/** One membership change. Adding a voter that is currently a learner promotes it. */
export interface ConfChange {
  type: ConfChangeType;
  nodeId: NodeId;
  /** Opaque bytes for the application (for example the new peer's name or address). */
  context?: Uint8Array;
}

export interface ConfState {
  voters: NodeId[];
  learners: NodeId[];
}

/** What must be on disk before any message that depends on it is sent. */
export interface HardState {
  term: number;
  vote: NodeId;
  commit: number;
}

export interface SnapshotMeta {
  index: number;
  term: number;
  confState: ConfState;
}

export interface Snapshot {
  meta: SnapshotMeta;
  /** The application's state machine at meta.index, opaque to Raft. */
  data: Uint8Array;
}

export type Role = 'follower' | 'preCandidate' | 'candidate' | 'leader';

export type MessageType =
  // Local inputs the node gives itself.
  | 'hup' // start an election (campaign)
  | 'beat' // leader: send heartbeats
  | 'checkQuorum' // leader: step down if a quorum has not been heard from
  | 'prop' // a proposal (local, or forwarded from a follower to the leader)
  | 'readIndex' // a linearizable read request (local, or forwarded to the leader)
  | 'transferLeader' // move leadership to m.from (local, or forwarded to the leader)
  | 'unreachable' // the transport could not deliver to m.from
  | 'snapStatus' // the transport finished (or failed, reject) sending a snapshot to m.from
  // Messages between peers.
  | 'app'
  | 'appResp'
  | 'heartbeat'
  | 'heartbeatResp'
  | 'vote'
  | 'voteResp'
  | 'preVote'
  | 'preVoteResp'
  | 'snap'
  | 'timeoutNow'
  | 'readIndexResp';

export interface Message {
  type: MessageType;
  from: NodeId;
  to: NodeId;
  term: number;
  /** For app: term of the entry at `index`; for vote/preVote: term of the candidate's last entry;
   *  for a rejected appResp: the term of the follower's entry at rejectHint. */
  logTerm: number;
  /** For app: the index before the entries; for appResp: the index acknowledged or rejected;
   *  for vote/preVote: the candidate's last index; for readIndexResp: the read index. */
  index: number;
  entries: Entry[];
  commit: number;
  reject: boolean;
  rejectHint: number;
  snapshot?: Snapshot;
  /** For readIndex/heartbeat: the read request context; for vote: 'transfer' marks a forced campaign. */
  context?: Uint8Array;
}

/** A linearizable read is safe once the local applied index reaches `index`. */
export interface ReadState {
  index: number;
  context: Uint8Array;
}

export interface SoftState {
  lead: NodeId;
  role: Role;
}

/**
 * A batch of work for the caller. Handle it in this order, then call advance(ready):
 * 1. persist `snapshot` (if any), then `entries` (an entry at index i replaces any stored entry >= i),
 *    then `hardState` — in one synced write;
 * 2. send `messages`;
 * 3. apply `snapshot` to the state machine (if any), then `committedEntries` in order;
 * 4. serve `readStates` once the applied index reaches each one's index.
 * `loadEntries`, independently and at any time: read entries [lo, hi) back from disk, stopping once they hold
 * maxBytes of data (at least one entry), and hand them to entriesLoaded(lo, entries) (they are committed and
 * never rewritten; a compaction may have removed some).
 */
export interface Ready {
  softState?: SoftState;
  hardState?: HardState;
  entries: Entry[];
  snapshot?: Snapshot;
  committedEntries: Entry[];
  messages: Message[];
  readStates: ReadState[];
  loadEntries?: { lo: number; hi: number; maxBytes: number };
}

export type ProgressState = 'probe' | 'replicate' | 'snapshot';

export interface ProgressStatus {
  match: number;
  next: number;
  state: ProgressState;
  recentActive: boolean;
  inflight: number;
  isLearner: boolean;
  pendingSnapshot: number;
}

export interface Status {
  id: NodeId;
  role: Role;
  term: number;
  vote: NodeId;
  lead: NodeId;
  commit: number;
  applied: number;
  firstIndex: number;
  /** The first index whose entry is in memory (entries from firstIndex up to it are on disk only). */
  memoryFirstIndex: number;
  /** Entries on disk only that are held after being read back for followers that are behind. */
  loadedEntries: number;
  lastIndex: number;
  snapshotIndex: number;
  electionElapsed: number;
  randomizedElectionTimeout: number;
  leadTransferee: NodeId;
  confState: ConfState;
  isLearner: boolean;
  /** Only on the leader: each peer's replication progress. */
  progress: Record<NodeId, ProgressStatus>;
}

/** A deterministic source of randomness, supplied by the caller (see rand.ts for a seeded one). */
export interface Rng {
  /** An integer in [0, n). */
  int(n: number): number;
}

export interface Config {
  id: NodeId;
  /** Election timeout E in ticks; the actual timeout is randomised in [E, 2E). */
  electionTick: number;
  /** Heartbeat interval H in ticks; must be smaller than electionTick. */
  heartbeatTick: number;
  preVote: boolean;
  checkQuorum: boolean;
  /** Most append messages in flight to one peer in replicate state. */
  maxInflightMsgs: number;
  /** Most bytes of entry data in one append message (at least one entry is always sent). */
  maxSizePerMsg: number;
  /**
   * Most applied entries kept in memory (undefined: all since the last snapshot). Older ones stay on disk and are
   * read back through Ready.loadEntries when a follower needs them.
   */
  maxAppliedEntriesInMemory?: number;
  /** Most bytes of entry data one proposal batch may carry (0 = no limit). */
  maxProposalBytes?: number;
  rng: Rng;
}

/** What a peer reads back from its storage when it starts. */
export interface PersistedState {
  hardState: HardState;
  /** The latest snapshot, if the log was ever compacted or a snapshot was installed. */
  snapshot?: Snapshot;
  /** Entries after the snapshot (or from index 1), contiguous. */
  entries: Entry[];
  /** Highest index the caller has applied to its state machine (at least the snapshot index). */
  applied: number;
}

/** Why a proposal or request was not accepted. The caller retries elsewhere or reports it. */
export class RaftError extends Error {
  constructor(
    readonly code: 'noLeader' | 'transferInProgress' | 'confChangePending' | 'notLeader' | 'tooLarge' | 'badTransferee' | 'stopped',
    message: string,
    readonly leader: NodeId = NONE,
  ) {
    super(message);
    this.name = 'RaftError';
  }
}
