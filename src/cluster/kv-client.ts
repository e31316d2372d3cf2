// Simple key-value access through the manager (for `raftlab ctl put/get` and the control API): writes go to
// the leader, reads are linearizable. Apps use the etcd gRPC API instead.
import { encodeRequest } from '../kv/codec.ts';
import type { PutResponse, RangeResponse } from '../kv/types.ts';
import { ClusterError, type ClusterManager } from './cluster-manager.ts';

const text = new TextEncoder();

export async function kvPut(manager: ClusterManager, key: string, value: string): Promise<{ revision: number }> {
  if (key.length === 0) throw new ClusterError('etcdserver: key is not provided', 'INVALID_ARGUMENT');
  const lead = manager.leaderId() || (await manager.waitForLeader(manager.timing.electionMs * 5));
  const command = encodeRequest({ type: 'put', key: text.encode(key), value: text.encode(value) });
  const response = (await manager.call(lead, { op: 'propose', command })) as PutResponse;
  return { revision: response.header.revision };
}

export async function kvGet(manager: ClusterManager, key: string): Promise<{ key: string; value: string | null; revision: number; modRevision?: number; version?: number }> {
  if (key.length === 0) throw new ClusterError('etcdserver: key is not provided', 'INVALID_ARGUMENT');
  const lead = manager.leaderId() || (await manager.waitForLeader(manager.timing.electionMs * 5));
  const command = encodeRequest({ type: 'range', key: text.encode(key) });
  const response = (await manager.call(lead, { op: 'read', command, linearizable: true })) as RangeResponse;
  const kv = response.kvs[0];
  if (!kv) return { key, value: null, revision: response.header.revision };
  return { key, value: new TextDecoder().decode(kv.value), revision: response.header.revision, modRevision: kv.modRevision, version: kv.version };
}
