// What the Keys view, the value files and the commands need from an etcd cluster, as an interface: the
// embedded Raft Lab cluster and an external etcd are both reached through etcd3-source.ts. Revisions are
// numbers (safe up to 2^53, far beyond any cluster here). No `vscode` here.

export interface KeyValue {
  key: Uint8Array;
  value: Uint8Array;
  createRevision: number;
  modRevision: number;
  version: number;
  /** The lease id as a decimal string; '0' when the key has none. */
  lease: string;
}

export interface RangeRequest {
  key: Uint8Array;
  /** Exclusive end; [0] means to the end of the keyspace; absent means only `key`. */
  rangeEnd?: Uint8Array;
  limit?: number;
  keysOnly?: boolean;
  countOnly?: boolean;
  /** Read at this past revision (0: now). */
  revision?: number;
}

export interface RangeResult {
  kvs: KeyValue[];
  more: boolean;
  count: number;
  /** The store's revision when it answered. */
  revision: number;
}

export interface WatchEvent {
  type: 'put' | 'delete';
  kv: KeyValue;
}

export interface WatchHandle {
  close(): Promise<void>;
}

export interface KvSource {
  range(req: RangeRequest): Promise<RangeResult>;
  put(key: Uint8Array, value: Uint8Array, lease?: string): Promise<{ revision: number }>;
  /** Writes only if the key's mod revision is still `modRevision` (0: only if the key does not exist). */
  putIfModRevision(key: Uint8Array, value: Uint8Array, modRevision: number): Promise<{ succeeded: boolean; revision: number; current?: KeyValue }>;
  /** Deletes [key, rangeEnd) (or only key); resolves with how many keys went. */
  deleteRange(key: Uint8Array, rangeEnd?: Uint8Array): Promise<{ deleted: number; revision: number }>;
  /** Seconds left on a lease; -1 when it has expired or does not exist. */
  leaseTimeToLive(lease: string): Promise<{ ttl: number; grantedTtl: number }>;
  /** Watches [key, rangeEnd) from now; `onEvents` gets each response's events; `onError` when it gives up. */
  watch(key: Uint8Array, rangeEnd: Uint8Array | undefined, onEvents: (events: WatchEvent[]) => void, onError?: (err: Error) => void): Promise<WatchHandle>;
  close(): void;
}

/** An error etcd answered with a compaction: the revision asked for is gone. */
export function isCompactedError(err: unknown): boolean {
  const message = (err as { message?: unknown })?.message;
  return typeof message === 'string' && /compacted/i.test(message);
}
