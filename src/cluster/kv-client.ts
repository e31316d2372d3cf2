// Simple key-value access through the manager (for `raftlab ctl put/get/alarm`, the control API and the
// dashboard): writes go to the leader, reads are linearizable. Apps use the etcd gRPC API instead.
//
// The manager sees the whole cluster, so its tools ride out the faults they inject: a request goes to a leader
// the simulated network lets reach a quorum, and is sent again to the next leader when the first refused it —
// any read, but a write only when it was refused before it entered the log (so it cannot happen twice).
import { encodeRequest } from '../kv/codec.ts';
import type { AlarmResponse, AlarmType, KvRequest, PutResponse, RangeResponse } from '../kv/types.ts';
import { ClusterError } from './cluster-error.ts';
import type { ClusterManager } from './cluster-manager.ts';
import type { NodeId } from '../raft/types.ts';
import { memberIdOf } from './member-id.ts';

const text = new TextEncoder();

/** Refusals by which a peer says a proposal never entered the log (etcd's words; see peer-runtime.ts). */
const REFUSED_BEFORE_LOG = new Set(['etcdserver: no leader', 'etcdserver: leader changed']);

/**
 * Runs `request` on the working leader (ClusterManager.workingLeaderId), and again on a newer one while the
 * error is one `retryable` accepts, for up to five election timeouts in all.
 */
async function onLeader<T>(manager: ClusterManager, retryable: (err: Error) => boolean, request: (lead: NodeId) => Promise<T>): Promise<T> {
  const budget = manager.timing.electionMs * 5;
  const deadline = Date.now() + budget;
  let lead = manager.workingLeaderId() || (await manager.waitForLeader(budget, undefined, true));
  for (;;) {
    try {
      return await request(lead);
    } catch (err) {
      const left = deadline - Date.now();
      if (!(err instanceof Error) || !retryable(err) || left <= 0) throw err;
      // A heartbeat later, whoever leads then: usually another peer, but a transfer may fail and leave this one.
      await new Promise((resolve) => setTimeout(resolve, Math.min(manager.timing.heartbeatMs, left)));
      lead = await manager.waitForLeader(Math.max(0, deadline - Date.now()), undefined, true).catch(() => {
        throw err;
      });
    }
  }
}

const anyUnavailable = (err: Error): boolean => (err as { code?: unknown }).code === 'UNAVAILABLE';
const refusedBeforeLog = (err: Error): boolean => REFUSED_BEFORE_LOG.has(err.message);

export async function kvPut(manager: ClusterManager, key: string, value: string): Promise<{ revision: number }> {
  if (key.length === 0) throw new ClusterError('etcdserver: key is not provided', 'INVALID_ARGUMENT');
  const command = encodeRequest({ type: 'put', key: text.encode(key), value: text.encode(value) });
  const response = (await onLeader(manager, refusedBeforeLog, (lead) => manager.call(lead, { op: 'propose', command }))) as PutResponse;
  return { revision: response.header.revision };
}

export async function kvGet(manager: ClusterManager, key: string): Promise<{ key: string; value: string | null; revision: number; modRevision?: number; version?: number }> {
  if (key.length === 0) throw new ClusterError('etcdserver: key is not provided', 'INVALID_ARGUMENT');
  const command = encodeRequest({ type: 'range', key: text.encode(key) });
  const response = (await onLeader(manager, anyUnavailable, (lead) => manager.call(lead, { op: 'read', command, linearizable: true }))) as RangeResponse;
  const kv = response.kvs[0];
  if (!kv) return { key, value: null, revision: response.header.revision };
  return { key, value: new TextDecoder().decode(kv.value), revision: response.header.revision, modRevision: kv.modRevision, version: kv.version };
}

/** A raised alarm as the tools show it: etcd's member id, and the peer's name when it is one of ours. */
export interface AlarmView {
  memberID: string;
  member: string;
  alarm: AlarmType;
}

export type AlarmFault = 'list' | 'raise' | 'disarm';

/**
 * etcd's alarms as a fault to inject: `raise` sets one off as the leader's (NOSPACE unless `alarm` says CORRUPT:
 * NOSPACE refuses writes that grow the store, as when a member passes its space quota; CORRUPT every write),
 * `disarm` clears every alarm (of type `alarm` if given) as `etcdctl alarm disarm` does, `list` shows them (of
 * type `alarm` if given). Answers the alarms raised, cleared or listed.
 */
export async function kvAlarm(manager: ClusterManager, action: AlarmFault, alarm?: 'NOSPACE' | 'CORRUPT'): Promise<AlarmView[]> {
  // Callers pass what a webview or a socket sent: anything else is refused, never taken for a disarm.
  if (action !== 'list' && action !== 'raise' && action !== 'disarm') throw new ClusterError(`alarm action is list, raise or disarm, not ${JSON.stringify(action)}`, 'INVALID_ARGUMENT');
  if (alarm !== undefined && alarm !== 'NOSPACE' && alarm !== 'CORRUPT') throw new ClusterError(`alarm type is NOSPACE or CORRUPT, not ${JSON.stringify(alarm)}`, 'INVALID_ARGUMENT');
  const names = new Map(manager.status().peers.map((p) => [memberIdOf(manager.clusterId, p.id), p.name]));
  // Every alarm action may be sent twice: raising, clearing and listing again change nothing more.
  const propose = (request: (lead: NodeId) => KvRequest & { type: 'alarm' }) =>
    onLeader(manager, anyUnavailable, async (lead) =>
      ((await manager.call(lead, { op: 'propose', command: encodeRequest(request(lead)) })) as AlarmResponse).alarms.map((a) => {
        const memberID = a.memberID.toString();
        return { memberID, member: names.get(memberID) ?? memberID, alarm: a.alarm };
      }),
    );
  if (action === 'raise') return propose((lead) => ({ type: 'alarm', action: 'ACTIVATE', memberID: BigInt(memberIdOf(manager.clusterId, lead)), alarm: alarm ?? 'NOSPACE' }));
  const raised = await propose(() => ({ type: 'alarm', action: 'GET', memberID: 0n, alarm: alarm ?? 'NONE' }));
  if (action === 'list') return raised;
  const cleared: AlarmView[] = [];
  for (const a of raised) {
    try {
      cleared.push(...(await propose(() => ({ type: 'alarm', action: 'DEACTIVATE', memberID: BigInt(a.memberID), alarm: a.alarm }))));
    } catch (err) {
      // One alarm at a time, as etcdctl disarms: say which were cleared before the one that failed.
      if (cleared.length === 0) throw err;
      const done = cleared.map((c) => `${c.alarm} ${c.member}`).join(', ');
      throw new ClusterError(`${(err as Error).message} (disarmed before that: ${done})`, (err as { code?: string }).code ?? 'UNKNOWN');
    }
  }
  return cleared;
}
