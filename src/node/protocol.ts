// Messages between the cluster manager (main thread) and one peer's worker thread.
import type { ConfChange, NodeId, Status } from '../raft/types.ts';

/** A simulated network rule for one directed link, applied by the sending peer (see peer-links.ts). */
export interface LinkRule {
  cut: boolean;
  /** Percentage of messages dropped, 0-100. */
  dropPercent: number;
  delayMs: number;
  jitterMs: number;
}

/** What crossed one directed link. */
export interface LinkCounts {
  sent: number;
  delivered: number;
  dropped: number;
  /** Counts by message type (app, heartbeat, vote...), for the dashboard's traffic view. */
  byType: Record<string, number>;
}

/** The end of a MessageChannel a peer talks to another peer through (this file is also read by the webview,
 *  which has no Node types, hence the shape rather than worker_threads' MessagePort). */
export interface LinkPort {
  postMessage(value: unknown, transferList?: readonly ArrayBuffer[]): void;
  on(event: 'message', listener: (value: ArrayBuffer) => void): unknown;
  on(event: 'close', listener: () => void): unknown;
  close(): void;
}

export interface Timing {
  heartbeatMs: number;
  electionMs: number;
}

export const TIMING_PRESETS: Record<'etcd' | 'fast', Timing> = {
  etcd: { heartbeatMs: 100, electionMs: 1000 },
  fast: { heartbeatMs: 10, electionMs: 100 },
};

export interface PeerInit {
  id: NodeId;
  name: string;
  clusterId: string;
  /** The peer's own LevelDB folder; undefined runs in memory. */
  dataDir: string | undefined;
  timing: Timing;
  /** Founding members start with this membership; a peer added later starts empty and joins. */
  bootstrap: NodeId[] | 'join';
  /** A founding member of a new cluster restored from a saved store: the snapshot and its applied index. */
  restore?: { data: Uint8Array; index: number };
  /** Take a snapshot and compact the log every this many applied entries. */
  snapshotCount: number;
  /** etcd's --quota-backend-bytes: 0 or absent for etcd's 2 GiB, negative for none (src/api/etcd/quota.ts). */
  quotaBackendBytes?: number;
  /** Entries kept behind a snapshot so that slightly lagging peers catch up without one. */
  catchUpEntries: number;
  /** Applied entries kept in memory; older ones are read back from disk for a follower that needs them. */
  memoryEntries: number;
  /** Port for the etcd gRPC API on 127.0.0.1 (0 = none). */
  clientPort: number;
  /** Client ports of every member by id, for etcd's MemberList. */
  memberPorts: Record<NodeId, number>;
  /** How long a client request may wait for its entry to apply. */
  requestTimeoutMs: number;
}

/** etcd's answer when a membership change would leave the cluster without a working quorum (not retried). */
export const UNHEALTHY_MESSAGE = 'etcdserver: unhealthy cluster';

/** What a caller may ask a peer to do. Commands and results are the KV layer's encodings. */
export type PeerCall =
  | { op: 'propose'; command: Uint8Array }
  | { op: 'read'; command: Uint8Array; linearizable: boolean }
  | { op: 'transferLeader'; to: NodeId }
  | { op: 'confChange'; change: ConfChange }
  /** etcd's MemberPromote, checked by the leader against its own configuration and progress. */
  | { op: 'promote'; id: NodeId }
  /** etcd's check before a new member: every voter must be connected to the leader. */
  | { op: 'checkAddMember' }
  | { op: 'campaign' }
  /** Answered only by the leader's lessor (keep-alives are not logged); other peers forward it there. */
  | { op: 'lease'; lease: LeaseCall };

export type LeaseCall = { kind: 'keepAlive'; ID: bigint } | { kind: 'timeToLive'; ID: bigint; keys: boolean };

/** What a peer's etcd API asks the manager to do for a client (a 'forward' message). */
export type ForwardCall =
  /** Run a call on the leader; `to` is the leader this peer knows of (0: the manager picks). */
  | { op: 'toLeader'; to: NodeId; call: PeerCall }
  /** `learner`: stays a learner until promoted (etcd's `member add --learner`); otherwise promoted once caught up. */
  | { op: 'memberAdd'; learner?: boolean }
  | { op: 'memberRemove'; id: NodeId }
  | { op: 'memberPromote'; id: NodeId };

export type ToPeer =
  /** A direct link to another peer (Raft messages flow over it, see peer-links.ts). */
  | { t: 'link'; peer: NodeId; port: LinkPort }
  /** The peer is down or removed. */
  | { t: 'unlink'; peer: NodeId }
  /** The network's rules for this peer's outgoing links, by destination. */
  | { t: 'rules'; rules: Record<NodeId, LinkRule> }
  | { t: 'call'; id: number; call: PeerCall }
  | { t: 'pause' }
  | { t: 'resume' }
  | { t: 'members'; memberPorts: Record<NodeId, number>; names: Record<NodeId, string> }
  | { t: 'forwarded'; id: number; ok: true; value: unknown }
  | { t: 'forwarded'; id: number; ok: false; error: CallError }
  | { t: 'stop' }
  /** Die now, as in a crash: reset connections, write nothing more. */
  | { t: 'crash' };

export interface CallError {
  message: string;
  /** A gRPC status code name, e.g. UNAVAILABLE (see the KV errors), for the API layer. */
  code: string;
}

export interface PeerStatus {
  raft: Status;
  name: string;
  revision: number;
  compactRevision: number;
  keys: number;
  /** The alarm types raised in the cluster as this peer has applied them (NOSPACE, CORRUPT). */
  alarms: string[];
  paused: boolean;
  /** Election timer progress in [0, 1] for the dashboard. */
  electionProgress: number;
  /** Milliseconds per tick, so the UI can turn ticks into time. */
  tickMs: number;
  /** The terms of the log's entries as runs, for the dashboard's log strip (see term-runs.ts). */
  logTerms?: TermRun[];
  /** What crossed this peer's outgoing links since it started, by destination. */
  linkCounts?: Record<NodeId, LinkCounts>;
  /** Latencies (ms) of this peer's own proposals applied since the last status, for the latency chart. */
  latencySamples: number[];
}

/** A run of log entries of one term: [first index of the run, term]; the run ends where the next begins. */
export type TermRun = [fromIndex: number, term: number];

export type FromPeer =
  | { t: 'started'; clientPort: number }
  | { t: 'result'; id: number; ok: true; value: unknown }
  | { t: 'result'; id: number; ok: false; error: CallError }
  | { t: 'status'; status: PeerStatus }
  | { t: 'fatal'; message: string; code: string }
  | { t: 'forward'; id: number; call: ForwardCall }
  | { t: 'stopped' };
