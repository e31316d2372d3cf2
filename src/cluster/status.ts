// The one status model shared by the CLI table, the control API, the VS Code views and the dashboard.
import type { NodeId, ProgressStatus, Role } from '../raft/types.ts';
import type { LinkView } from './network.ts';
import type { TermRun } from '../node/protocol.ts';

export type PeerState = 'starting' | 'up' | 'down' | 'paused' | 'removed';

export interface PeerView {
  id: NodeId;
  name: string;
  state: PeerState;
  clientPort: number;
  role: Role | 'learner';
  term: number;
  vote: NodeId;
  leader: NodeId;
  commit: number;
  applied: number;
  firstIndex: number;
  /** Entries from firstIndex up to this one are on the peer's disk only. */
  memoryFirstIndex: number;
  lastIndex: number;
  snapshotIndex: number;
  /** Election timer progress in [0, 1]. */
  electionProgress: number;
  isLearner: boolean;
  /** On the leader: each peer's replication progress. */
  progress: Record<NodeId, ProgressStatus>;
  revision: number;
  keys: number;
  /** The alarm types raised (etcd's NOSPACE, CORRUPT), as this peer has applied them. */
  alarms: string[];
  /** Every link to and from this peer is cut. */
  cutOff: boolean;
  /** The terms of the log's entries as [first index, term] runs (the newest runs; see node/term-runs.ts). */
  logTerms?: TermRun[];
  /** Set when the peer failed (for example its data folder could not be opened). */
  error?: string;
}

export type ClusterEventType =
  | 'started'
  | 'stopped'
  | 'electionStarted'
  | 'leaderElected'
  | 'termChanged'
  | 'peerKilled'
  | 'peerRestarted'
  | 'peerPaused'
  | 'peerResumed'
  | 'peerFailed'
  | 'partitionChanged'
  | 'memberAdded'
  | 'memberRemoved'
  | 'leaderTransferred';

export interface ClusterEvent {
  /** Milliseconds since the epoch. */
  at: number;
  type: ClusterEventType;
  peer?: NodeId;
  term?: number;
  message: string;
}

export interface QuorumView {
  members: number;
  quorum: number;
  /** Failures the membership tolerates: members - quorum. */
  tolerated: number;
  /** Voting members that are down, paused or cut off now. */
  failed: number;
  hasQuorum: boolean;
}

export interface ClusterStatus {
  clusterId: string;
  running: boolean;
  leader: NodeId;
  term: number;
  timing: { heartbeatMs: number; electionMs: number };
  peers: PeerView[];
  links: LinkView[];
  quorum: QuorumView;
  events: ClusterEvent[];
  /** Totals for the dashboard's charts. */
  stats: { applied: number; writeLatencyP50: number; writeLatencyP99: number; commitsPerSecond: number };
}

/**
 * The voting members: by the leader's configuration when a leader is up, since a peer's own report can lag behind
 * it (a member that just joined as a learner has not reported yet; a promoted one reports a moment later).
 */
export function votingPeers(peers: PeerView[]): PeerView[] {
  const leader = peers.find((p) => p.role === 'leader' && p.state === 'up' && Object.keys(p.progress).length > 0);
  const isVoter = leader ? (p: PeerView) => leader.progress[p.id] !== undefined && !leader.progress[p.id]!.isLearner : (p: PeerView) => !p.isLearner;
  return peers.filter((p) => p.state !== 'removed' && isVoter(p));
}

/** The voting members' client endpoints (host:port), for etcdctl and apps: a learner answers almost nothing. */
export function voterEndpoints(peers: PeerView[]): string[] {
  return votingPeers(peers).map((p) => `127.0.0.1:${p.clientPort}`);
}

export function quorumView(peers: PeerView[]): QuorumView {
  const voters = votingPeers(peers);
  const members = voters.length;
  const quorum = Math.floor(members / 2) + 1;
  const failed = voters.filter((p) => p.state !== 'up' || p.cutOff).length;
  return { members, quorum, tolerated: members - quorum, failed, hasQuorum: members - failed >= quorum };
}
