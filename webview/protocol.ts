// The one message protocol between the dashboard (this folder) and its host. Two hosts speak it: the VS Code
// webview panel (src/extension/dashboard-panel.ts, over postMessage) and, in a browser, a thin adapter in this
// folder (ws-host.ts) that turns it into control API calls over a WebSocket. Nothing else differs between them.
//
// The view starts with `ready`; the host answers with a full status snapshot and then streams updates (at most
// ten a second) and events. Every action carries an id that its `result` echoes. This file has no DOM and no
// Node dependencies: both sides import it.
import type { ClusterEvent, ClusterStatus } from '../src/cluster/status.ts';

export type { ClusterEvent, ClusterStatus };

/** What the dashboard can ask for; each maps to one ClusterManager action (and one control API op). */
export type DashboardAction =
  | { kind: 'kill'; peer: string }
  | { kind: 'restart'; peer: string }
  | { kind: 'pause'; peer: string }
  | { kind: 'resume'; peer: string }
  | { kind: 'isolate'; peer: string }
  | { kind: 'transfer'; peer: string }
  | { kind: 'remove'; peer: string }
  | { kind: 'promote'; peer: string }
  | { kind: 'cut'; from: string; to: string; oneWay: boolean }
  | { kind: 'drop'; from: string; to: string; percent: number }
  | { kind: 'delay'; from: string; to: string; ms: number }
  | { kind: 'heal' }
  | { kind: 'add' }
  | { kind: 'killLeader' }
  | { kind: 'put'; key: string; value: string }
  | { kind: 'get'; key: string }
  /** etcd's NOSPACE alarm as a fault ("the disk is full"), and clearing every alarm. */
  | { kind: 'alarm'; action: 'raise' | 'disarm' };

export type ActionKind = DashboardAction['kind'];

/** The value a successful action resolves with (null for the rest). */
export interface ActionValues {
  put: { revision: number };
  get: { key: string; value: string | null; revision: number };
  add: { id: number; name: string };
}
export type ActionValue<K extends ActionKind> = K extends keyof ActionValues ? ActionValues[K] : null;

export interface ActionError {
  /** A gRPC status name (UNAVAILABLE, NOT_FOUND...), as the manager and the control API use. */
  code: string;
  message: string;
}

/** Host → view. */
export type HostMessage =
  /** The whole cluster now; null when no cluster is running (the panel was restored before one started). */
  | { type: 'status'; status: ClusterStatus | null }
  | { type: 'event'; event: ClusterEvent }
  | { type: 'result'; id: number; ok: true; value: unknown }
  | { type: 'result'; id: number; ok: false; error: ActionError }
  /** The link to the cluster (only the browser adapter has one that can drop). */
  | { type: 'connection'; state: 'connecting' | 'open' | 'closed'; detail?: string };

/** View → host. */
export type ViewMessage = { type: 'ready' } | { type: 'action'; id: number; action: DashboardAction };

/** Hosts send at most one status update per this many milliseconds (ten a second). */
export const MIN_STATUS_INTERVAL_MS = 100;

/** A human label for an action, for the result line and the tests. */
export function describeAction(a: DashboardAction): string {
  switch (a.kind) {
    case 'cut':
      return `cut ${a.from} ${a.oneWay ? '→' : '↔'} ${a.to}`;
    case 'drop':
      return `drop ${a.percent}% ${a.from} → ${a.to}`;
    case 'delay':
      return `delay ${a.from} → ${a.to} by ${a.ms} ms`;
    case 'heal':
      return 'heal the network';
    case 'add':
      return 'add a peer';
    case 'killLeader':
      return 'kill the leader';
    case 'put':
      return `put ${a.key}`;
    case 'get':
      return `get ${a.key}`;
    case 'transfer':
      return `make ${a.peer} leader`;
    case 'promote':
      return `promote ${a.peer} to voter`;
    case 'alarm':
      return a.action === 'raise' ? 'fill the disk (NOSPACE alarm)' : 'disarm the alarms';
    default:
      return `${a.kind} ${a.peer}`;
  }
}

/** Checks a message from the other side before it is trusted (a webview or a socket can send anything). */
export function isViewMessage(m: unknown): m is ViewMessage {
  if (typeof m !== 'object' || m === null) return false;
  const msg = m as { type?: unknown; id?: unknown; action?: { kind?: unknown } };
  if (msg.type === 'ready') return true;
  return msg.type === 'action' && typeof msg.id === 'number' && typeof msg.action === 'object' && msg.action !== null && typeof msg.action.kind === 'string';
}
