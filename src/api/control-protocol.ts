// The control API's wire format (version 1): JSON over WebSocket. Shared by the server, `raftlab ctl`,
// the dashboard and users' own tests. See docs/control-api.md.
import type { ClusterEvent, ClusterStatus } from '../cluster/status.ts';

export const CONTROL_API_VERSION = 1;

/** A peer by name ("n2"), by id (2) or "leader". */
export type PeerRef = string | number;

export type ControlRequest =
  | { op: 'status' }
  | { op: 'subscribe' }
  | { op: 'unsubscribe' }
  | { op: 'kill'; peer: PeerRef }
  | { op: 'restart'; peer: PeerRef }
  | { op: 'pause'; peer: PeerRef }
  | { op: 'resume'; peer: PeerRef }
  | { op: 'isolate'; peer: PeerRef }
  | { op: 'partition'; peers: PeerRef[]; oneWay?: boolean }
  | { op: 'cut'; from: PeerRef; to: PeerRef; oneWay?: boolean }
  | { op: 'drop'; from: PeerRef; to: PeerRef; percent: number }
  | { op: 'delay'; from: PeerRef; to: PeerRef; ms: number; jitterMs?: number }
  | { op: 'heal' }
  | { op: 'transfer'; peer: PeerRef }
  /** learner: the new peer stays a learner until `promote` (otherwise it is promoted once caught up). */
  | { op: 'add'; learner?: boolean }
  | { op: 'promote'; peer: PeerRef }
  | { op: 'remove'; peer: PeerRef }
  | { op: 'put'; key: string; value: string }
  | { op: 'get'; key: string }
  /** etcd's alarms as a fault: raise one (NOSPACE unless `alarm` says CORRUPT) as the leader's; disarm or list all (of type `alarm` if given). */
  | { op: 'alarm'; action: 'list' | 'raise' | 'disarm'; alarm?: 'NOSPACE' | 'CORRUPT' };

export type ControlOp = ControlRequest['op'];

/** What a client sends: a request with its own id, echoed in the reply. */
export type ControlEnvelope = ControlRequest & { v?: number; id?: string | number };

export type ControlReply =
  | { v: 1; id: string | number | null; ok: true; result: unknown }
  | { v: 1; id: string | number | null; ok: false; error: { code: string; message: string } };

export type ControlPush = { v: 1; type: 'status'; status: ClusterStatus } | { v: 1; type: 'event'; event: ClusterEvent };

export const CONTROL_OPS: readonly ControlOp[] = [
  'status', 'subscribe', 'unsubscribe', 'kill', 'restart', 'pause', 'resume', 'isolate', 'partition', 'cut',
  'drop', 'delay', 'heal', 'transfer', 'add', 'promote', 'remove', 'put', 'get', 'alarm',
];
