// etcd's cluster and member ids for a cluster's peers. etcd derives member ids from the cluster and peer identity;
// we do the same with a hash, so an id never changes across restarts and two clusters never share ids. Values are
// decimal strings because uint64 exceeds JavaScript's safe integers.
import { createHash } from 'node:crypto';
import type { NodeId } from '../raft/types.ts';

/** The cluster id (16 hex digits in cluster.json) as etcd's uint64. */
export function clusterIdOf(clusterId: string): string {
  return /^[0-9a-f]{1,16}$/i.test(clusterId) ? BigInt(`0x${clusterId}`).toString() : hash64(`cluster/${clusterId}`);
}

/** A peer's member id: the first 8 bytes of SHA-256 over the cluster id and peer id, never 0. */
export function memberIdOf(clusterId: string, peer: NodeId): string {
  return hash64(`${clusterId}/member/${peer}`);
}

function hash64(text: string): string {
  const value = createHash('sha256').update(text).digest().readBigUInt64BE(0);
  return (value === 0n ? 1n : value).toString();
}
