// The store's vocabulary, mirroring etcd's protobuf messages (etcdserverpb/rpc.proto, mvccpb/kv.proto).
// Field names are the camelCase of the proto names (as @grpc/proto-loader produces them: `range_end` ->
// `rangeEnd`, `ID` and `TTL` stay as they are), so the gRPC layer converts only number/bytes representations.
//
// Numbers: revisions, versions, counts and TTLs are JS numbers. etcd uses int64 for them; a store would need
// 2^53 (9e15) writes to lose precision, which we accept. Lease ids are bigint: etcd mints them from the
// member id in the high bits, so they routinely exceed 2^53. Optional request fields take the proto default
// (0, false, empty) when absent. Byte arrays in responses and events may share memory with the store:
// treat them as read-only.

export type Revision = number;
export type LeaseId = bigint;

/** No lease (etcd's lease.NoLease). */
export const NO_LEASE: LeaseId = 0n;

export interface KeyValue {
  key: Uint8Array;
  createRevision: Revision;
  modRevision: Revision;
  /** Number of writes in the key's current generation; 1 on creation. */
  version: number;
  value: Uint8Array;
  lease: LeaseId;
}

/** The part of etcd's ResponseHeader the store knows; cluster_id, member_id and raft_term come from the runtime. */
export interface ResponseHeader {
  revision: Revision;
}

export type SortOrder = 'NONE' | 'ASCEND' | 'DESCEND';
export type SortTarget = 'KEY' | 'VERSION' | 'CREATE' | 'MOD' | 'VALUE';

export interface RangeRequest {
  key: Uint8Array;
  /** Empty: the single key. `\0`: every key >= key. Otherwise keys in [key, rangeEnd). */
  rangeEnd?: Uint8Array;
  /** 0 or absent: no limit. */
  limit?: number;
  /** <= 0 or absent: the current revision. */
  revision?: Revision;
  sortOrder?: SortOrder;
  sortTarget?: SortTarget;
  serializable?: boolean;
  keysOnly?: boolean;
  countOnly?: boolean;
  minModRevision?: Revision;
  maxModRevision?: Revision;
  minCreateRevision?: Revision;
  maxCreateRevision?: Revision;
}

export interface RangeResponse {
  header: ResponseHeader;
  kvs: KeyValue[];
  /** The limit cut the result. */
  more: boolean;
  /** Keys in the range at the revision, before limit and revision filters (as etcd counts). */
  count: number;
}

export interface PutRequest {
  key: Uint8Array;
  value?: Uint8Array;
  lease?: LeaseId;
  prevKv?: boolean;
  ignoreValue?: boolean;
  ignoreLease?: boolean;
}

export interface PutResponse {
  header: ResponseHeader;
  prevKv?: KeyValue;
}

export interface DeleteRangeRequest {
  key: Uint8Array;
  rangeEnd?: Uint8Array;
  prevKv?: boolean;
}

export interface DeleteRangeResponse {
  header: ResponseHeader;
  deleted: number;
  prevKvs: KeyValue[];
}

export type CompareResult = 'EQUAL' | 'GREATER' | 'LESS' | 'NOT_EQUAL';
export type CompareTarget = 'VERSION' | 'CREATE' | 'MOD' | 'VALUE' | 'LEASE';

/** One txn guard. Only the field named by `target` is read (proto's target_union oneof). */
export interface Compare {
  result: CompareResult;
  target: CompareTarget;
  key: Uint8Array;
  /** Compare every key in [key, rangeEnd) (all must satisfy it); `\0` = every key >= key. */
  rangeEnd?: Uint8Array;
  version?: number;
  createRevision?: Revision;
  modRevision?: Revision;
  value?: Uint8Array;
  lease?: LeaseId;
}

export type RequestOp =
  | { requestRange: RangeRequest }
  | { requestPut: PutRequest }
  | { requestDeleteRange: DeleteRangeRequest }
  | { requestTxn: TxnRequest };

export type ResponseOp =
  | { responseRange: RangeResponse }
  | { responsePut: PutResponse }
  | { responseDeleteRange: DeleteRangeResponse }
  | { responseTxn: TxnResponse };

export interface TxnRequest {
  compare?: Compare[];
  success?: RequestOp[];
  failure?: RequestOp[];
}

export interface TxnResponse {
  header: ResponseHeader;
  succeeded: boolean;
  responses: ResponseOp[];
}

export interface CompactionRequest {
  revision: Revision;
  physical?: boolean;
}

export interface CompactionResponse {
  header: ResponseHeader;
}

export interface LeaseGrantRequest {
  /** Seconds; raised to the minimum TTL. */
  TTL: number;
  /** 0 or absent: the store mints an id (see `memberTag`). */
  ID?: LeaseId;
}

export interface LeaseGrantResponse {
  header: ResponseHeader;
  ID: LeaseId;
  TTL: number;
  error: string;
}

export interface LeaseRevokeRequest {
  ID: LeaseId;
}

export interface LeaseRevokeResponse {
  header: ResponseHeader;
}

export interface LeaseKeepAliveRequest {
  ID: LeaseId;
}

export interface LeaseKeepAliveResponse {
  header: ResponseHeader;
  ID: LeaseId;
  /** 0 for an unknown lease (etcd answers keep-alives of unknown leases with TTL 0). */
  TTL: number;
}

export interface LeaseTimeToLiveRequest {
  ID: LeaseId;
  keys?: boolean;
}

export interface LeaseTimeToLiveResponse {
  header: ResponseHeader;
  ID: LeaseId;
  /** Remaining seconds; -1 for an unknown lease. */
  TTL: number;
  grantedTTL: number;
  keys: Uint8Array[];
}

export interface LeaseStatus {
  ID: LeaseId;
}

export interface LeaseLeasesResponse {
  header: ResponseHeader;
  leases: LeaseStatus[];
}

export type AlarmType = 'NONE' | 'NOSPACE' | 'CORRUPT';
export type AlarmAction = 'GET' | 'ACTIVATE' | 'DEACTIVATE';

/** etcd's AlarmMember: a member id is any uint64 (a client may raise an alarm for any id). */
export interface AlarmMember {
  memberID: bigint;
  alarm: AlarmType;
}

/** etcd's AlarmRequest; every action goes through the log, as in etcd (so a GET is linearizable). */
export interface AlarmRequest {
  action: AlarmAction;
  memberID: bigint;
  /** NONE with GET lists every alarm. */
  alarm: AlarmType;
}

export interface AlarmResponse {
  header: ResponseHeader;
  alarms: AlarmMember[];
}

/** A request as it travels in a Raft log entry. */
export type KvRequest =
  | ({ type: 'range' } & RangeRequest)
  | ({ type: 'put' } & PutRequest)
  | ({ type: 'deleteRange' } & DeleteRangeRequest)
  | ({ type: 'txn' } & TxnRequest)
  | ({ type: 'compaction' } & CompactionRequest)
  | ({ type: 'leaseGrant' } & LeaseGrantRequest & {
        /**
         * Low 16 bits of the proposing member's id. A minted lease id is (memberTag << 48 | entry index),
         * masked positive, so ids from different members differ in their high bits (as etcd's are) and every
         * peer mints the same id from the same entry.
         */
        memberTag?: number;
      })
  | ({ type: 'leaseRevoke' } & LeaseRevokeRequest)
  /** Proposed by the leader's Lessor when a lease's deadline passes; applied exactly like a revoke. */
  | ({ type: 'leaseExpire' } & LeaseRevokeRequest)
  | ({ type: 'alarm' } & AlarmRequest);

export type KvRequestType = KvRequest['type'];

export interface ResponseByType {
  range: RangeResponse;
  put: PutResponse;
  deleteRange: DeleteRangeResponse;
  txn: TxnResponse;
  compaction: CompactionResponse;
  leaseGrant: LeaseGrantResponse;
  leaseRevoke: LeaseRevokeResponse;
  leaseExpire: LeaseRevokeResponse;
  alarm: AlarmResponse;
}

export type ResponseFor<R extends KvRequest> = ResponseByType[R['type']];
export type KvResponse = ResponseByType[KvRequestType];

export type EventType = 'PUT' | 'DELETE';

/** mvccpb.Event. A DELETE event's kv holds only the key and mod_revision. */
export interface KvEvent {
  type: EventType;
  kv: KeyValue;
  /** The key's value at mod_revision - 1, when it existed (and was not compacted away). */
  prevKv?: KeyValue;
}

/** Store configuration; every peer must use the same values, since they shape replicated results. */
export interface KvConfig {
  /** Largest encoded request accepted (etcd's --max-request-bytes). Default 1.5 MiB. */
  maxRequestBytes: number;
  /** Operations per txn level (etcd's --max-txn-ops). Default 128. */
  maxTxnOps: number;
  /** Lease TTLs below this are raised to it: ~1.5 x election timeout, 2 s with etcd's defaults. */
  minLeaseTtlSeconds: number;
}

export const DEFAULT_KV_CONFIG: Readonly<KvConfig> = {
  maxRequestBytes: 1.5 * 1024 * 1024,
  maxTxnOps: 128,
  minLeaseTtlSeconds: 2,
};

/** etcd's MaxLeaseTTL: 9,000,000,000 s (~285 years). */
export const MAX_LEASE_TTL_SECONDS = 9_000_000_000;
