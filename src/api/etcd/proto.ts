// The subset of etcd's v3 API that Raft Lab serves, as protobuf source. Written for this project from etcd's
// documented API: package, service, method, message and field names and numbers match etcd's
// etcdserverpb/rpc.proto and mvccpb/kv.proto, because clients encode by number and decode by these names.
// Embedded as text so that the esbuild bundles need no extra files.
import type { MethodDefinition, ServiceDefinition } from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import * as protobuf from 'protobufjs';

export const ETCD_PROTO = `
syntax = "proto3";

package mvccpb;

message KeyValue {
  bytes key = 1;
  int64 create_revision = 2;
  int64 mod_revision = 3;
  int64 version = 4;
  bytes value = 5;
  int64 lease = 6;
}

message Event {
  enum EventType {
    PUT = 0;
    DELETE = 1;
  }
  EventType type = 1;
  KeyValue kv = 2;
  KeyValue prev_kv = 3;
}

package etcdserverpb;

service KV {
  rpc Range(RangeRequest) returns (RangeResponse);
  rpc Put(PutRequest) returns (PutResponse);
  rpc DeleteRange(DeleteRangeRequest) returns (DeleteRangeResponse);
  rpc Txn(TxnRequest) returns (TxnResponse);
  rpc Compact(CompactionRequest) returns (CompactionResponse);
}

service Watch {
  rpc Watch(stream WatchRequest) returns (stream WatchResponse);
}

service Lease {
  rpc LeaseGrant(LeaseGrantRequest) returns (LeaseGrantResponse);
  rpc LeaseRevoke(LeaseRevokeRequest) returns (LeaseRevokeResponse);
  rpc LeaseKeepAlive(stream LeaseKeepAliveRequest) returns (stream LeaseKeepAliveResponse);
  rpc LeaseTimeToLive(LeaseTimeToLiveRequest) returns (LeaseTimeToLiveResponse);
  rpc LeaseLeases(LeaseLeasesRequest) returns (LeaseLeasesResponse);
}

service Cluster {
  rpc MemberAdd(MemberAddRequest) returns (MemberAddResponse);
  rpc MemberRemove(MemberRemoveRequest) returns (MemberRemoveResponse);
  rpc MemberUpdate(MemberUpdateRequest) returns (MemberUpdateResponse);
  rpc MemberList(MemberListRequest) returns (MemberListResponse);
  rpc MemberPromote(MemberPromoteRequest) returns (MemberPromoteResponse);
}

service Maintenance {
  rpc Alarm(AlarmRequest) returns (AlarmResponse);
  rpc Status(StatusRequest) returns (StatusResponse);
  rpc Defragment(DefragmentRequest) returns (DefragmentResponse);
  rpc Hash(HashRequest) returns (HashResponse);
  rpc HashKV(HashKVRequest) returns (HashKVResponse);
  rpc Snapshot(SnapshotRequest) returns (stream SnapshotResponse);
  rpc MoveLeader(MoveLeaderRequest) returns (MoveLeaderResponse);
}

service Auth {
  rpc AuthEnable(AuthEnableRequest) returns (AuthEnableResponse);
  rpc AuthDisable(AuthDisableRequest) returns (AuthDisableResponse);
  rpc AuthStatus(AuthStatusRequest) returns (AuthStatusResponse);
  rpc Authenticate(AuthenticateRequest) returns (AuthenticateResponse);
  rpc UserAdd(AuthUserAddRequest) returns (AuthUserAddResponse);
  rpc UserGet(AuthUserGetRequest) returns (AuthUserGetResponse);
  rpc UserList(AuthUserListRequest) returns (AuthUserListResponse);
  rpc UserDelete(AuthUserDeleteRequest) returns (AuthUserDeleteResponse);
  rpc UserChangePassword(AuthUserChangePasswordRequest) returns (AuthUserChangePasswordResponse);
  rpc UserGrantRole(AuthUserGrantRoleRequest) returns (AuthUserGrantRoleResponse);
  rpc UserRevokeRole(AuthUserRevokeRoleRequest) returns (AuthUserRevokeRoleResponse);
  rpc RoleAdd(AuthRoleAddRequest) returns (AuthRoleAddResponse);
  rpc RoleGet(AuthRoleGetRequest) returns (AuthRoleGetResponse);
  rpc RoleList(AuthRoleListRequest) returns (AuthRoleListResponse);
  rpc RoleDelete(AuthRoleDeleteRequest) returns (AuthRoleDeleteResponse);
  rpc RoleGrantPermission(AuthRoleGrantPermissionRequest) returns (AuthRoleGrantPermissionResponse);
  rpc RoleRevokePermission(AuthRoleRevokePermissionRequest) returns (AuthRoleRevokePermissionResponse);
}

message ResponseHeader {
  uint64 cluster_id = 1;
  uint64 member_id = 2;
  int64 revision = 3;
  uint64 raft_term = 4;
}

message RangeRequest {
  enum SortOrder {
    NONE = 0;
    ASCEND = 1;
    DESCEND = 2;
  }
  enum SortTarget {
    KEY = 0;
    VERSION = 1;
    CREATE = 2;
    MOD = 3;
    VALUE = 4;
  }
  bytes key = 1;
  bytes range_end = 2;
  int64 limit = 3;
  int64 revision = 4;
  SortOrder sort_order = 5;
  SortTarget sort_target = 6;
  bool serializable = 7;
  bool keys_only = 8;
  bool count_only = 9;
  int64 min_mod_revision = 10;
  int64 max_mod_revision = 11;
  int64 min_create_revision = 12;
  int64 max_create_revision = 13;
}

message RangeResponse {
  ResponseHeader header = 1;
  repeated mvccpb.KeyValue kvs = 2;
  bool more = 3;
  int64 count = 4;
}

message PutRequest {
  bytes key = 1;
  bytes value = 2;
  int64 lease = 3;
  bool prev_kv = 4;
  bool ignore_value = 5;
  bool ignore_lease = 6;
}

message PutResponse {
  ResponseHeader header = 1;
  mvccpb.KeyValue prev_kv = 2;
}

message DeleteRangeRequest {
  bytes key = 1;
  bytes range_end = 2;
  bool prev_kv = 3;
}

message DeleteRangeResponse {
  ResponseHeader header = 1;
  int64 deleted = 2;
  repeated mvccpb.KeyValue prev_kvs = 3;
}

message RequestOp {
  oneof request {
    RangeRequest request_range = 1;
    PutRequest request_put = 2;
    DeleteRangeRequest request_delete_range = 3;
    TxnRequest request_txn = 4;
  }
}

message ResponseOp {
  oneof response {
    RangeResponse response_range = 1;
    PutResponse response_put = 2;
    DeleteRangeResponse response_delete_range = 3;
    TxnResponse response_txn = 4;
  }
}

message Compare {
  enum CompareResult {
    EQUAL = 0;
    GREATER = 1;
    LESS = 2;
    NOT_EQUAL = 3;
  }
  enum CompareTarget {
    VERSION = 0;
    CREATE = 1;
    MOD = 2;
    VALUE = 3;
    LEASE = 4;
  }
  CompareResult result = 1;
  CompareTarget target = 2;
  bytes key = 3;
  oneof target_union {
    int64 version = 4;
    int64 create_revision = 5;
    int64 mod_revision = 6;
    bytes value = 7;
    int64 lease = 8;
  }
  bytes range_end = 64;
}

message TxnRequest {
  repeated Compare compare = 1;
  repeated RequestOp success = 2;
  repeated RequestOp failure = 3;
}

message TxnResponse {
  ResponseHeader header = 1;
  bool succeeded = 2;
  repeated ResponseOp responses = 3;
}

message CompactionRequest {
  int64 revision = 1;
  bool physical = 2;
}

message CompactionResponse {
  ResponseHeader header = 1;
}

message HashRequest {}

message HashKVRequest {
  int64 revision = 1;
}

message HashKVResponse {
  ResponseHeader header = 1;
  uint32 hash = 2;
  int64 compact_revision = 3;
}

message HashResponse {
  ResponseHeader header = 1;
  uint32 hash = 2;
}

message SnapshotRequest {}

message SnapshotResponse {
  ResponseHeader header = 1;
  uint64 remaining_bytes = 2;
  bytes blob = 3;
}

message WatchRequest {
  oneof request_union {
    WatchCreateRequest create_request = 1;
    WatchCancelRequest cancel_request = 2;
    WatchProgressRequest progress_request = 3;
  }
}

message WatchCreateRequest {
  enum FilterType {
    NOPUT = 0;
    NODELETE = 1;
  }
  bytes key = 1;
  bytes range_end = 2;
  int64 start_revision = 3;
  bool progress_notify = 4;
  repeated FilterType filters = 5;
  bool prev_kv = 6;
  int64 watch_id = 7;
  bool fragment = 8;
}

message WatchCancelRequest {
  int64 watch_id = 1;
}

message WatchProgressRequest {}

message WatchResponse {
  ResponseHeader header = 1;
  int64 watch_id = 2;
  bool created = 3;
  bool canceled = 4;
  int64 compact_revision = 5;
  string cancel_reason = 6;
  bool fragment = 7;
  repeated mvccpb.Event events = 11;
}

message LeaseGrantRequest {
  int64 TTL = 1;
  int64 ID = 2;
}

message LeaseGrantResponse {
  ResponseHeader header = 1;
  int64 ID = 2;
  int64 TTL = 3;
  string error = 4;
}

message LeaseRevokeRequest {
  int64 ID = 1;
}

message LeaseRevokeResponse {
  ResponseHeader header = 1;
}

message LeaseKeepAliveRequest {
  int64 ID = 1;
}

message LeaseKeepAliveResponse {
  ResponseHeader header = 1;
  int64 ID = 2;
  int64 TTL = 3;
}

message LeaseTimeToLiveRequest {
  int64 ID = 1;
  bool keys = 2;
}

message LeaseTimeToLiveResponse {
  ResponseHeader header = 1;
  int64 ID = 2;
  int64 TTL = 3;
  int64 grantedTTL = 4;
  repeated bytes keys = 5;
}

message LeaseLeasesRequest {}

message LeaseStatus {
  int64 ID = 1;
}

message LeaseLeasesResponse {
  ResponseHeader header = 1;
  repeated LeaseStatus leases = 2;
}

message Member {
  uint64 ID = 1;
  string name = 2;
  repeated string peerURLs = 3;
  repeated string clientURLs = 4;
  bool isLearner = 5;
}

message MemberAddRequest {
  repeated string peerURLs = 1;
  bool isLearner = 2;
}

message MemberAddResponse {
  ResponseHeader header = 1;
  Member member = 2;
  repeated Member members = 3;
}

message MemberRemoveRequest {
  uint64 ID = 1;
}

message MemberRemoveResponse {
  ResponseHeader header = 1;
  repeated Member members = 2;
}

message MemberUpdateRequest {
  uint64 ID = 1;
  repeated string peerURLs = 2;
}

message MemberUpdateResponse {
  ResponseHeader header = 1;
  repeated Member members = 2;
}

message MemberListRequest {
  bool linearizable = 1;
}

message MemberListResponse {
  ResponseHeader header = 1;
  repeated Member members = 2;
}

message MemberPromoteRequest {
  uint64 ID = 1;
}

message MemberPromoteResponse {
  ResponseHeader header = 1;
  repeated Member members = 2;
}

message DefragmentRequest {}

message DefragmentResponse {
  ResponseHeader header = 1;
}

message MoveLeaderRequest {
  uint64 targetID = 1;
}

message MoveLeaderResponse {
  ResponseHeader header = 1;
}

enum AlarmType {
  NONE = 0;
  NOSPACE = 1;
  CORRUPT = 2;
}

message AlarmRequest {
  enum AlarmAction {
    GET = 0;
    ACTIVATE = 1;
    DEACTIVATE = 2;
  }
  AlarmAction action = 1;
  uint64 memberID = 2;
  AlarmType alarm = 3;
}

message AlarmMember {
  uint64 memberID = 1;
  AlarmType alarm = 2;
}

message AlarmResponse {
  ResponseHeader header = 1;
  repeated AlarmMember alarms = 2;
}

message StatusRequest {}

message StatusResponse {
  ResponseHeader header = 1;
  string version = 2;
  int64 dbSize = 3;
  uint64 leader = 4;
  uint64 raftIndex = 5;
  uint64 raftTerm = 6;
  uint64 raftAppliedIndex = 7;
  repeated string errors = 8;
  int64 dbSizeInUse = 9;
  bool isLearner = 10;
}

// Auth is disabled here: the requests keep their field numbers, the responses only their header.
message AuthEnableRequest {}
message AuthDisableRequest {}
message AuthStatusRequest {}
message AuthenticateRequest {
  string name = 1;
  string password = 2;
}
message AuthUserAddRequest {
  string name = 1;
  string password = 2;
}
message AuthUserGetRequest {
  string name = 1;
}
message AuthUserDeleteRequest {
  string name = 1;
}
message AuthUserChangePasswordRequest {
  string name = 1;
  string password = 2;
}
message AuthUserGrantRoleRequest {
  string user = 1;
  string role = 2;
}
message AuthUserRevokeRoleRequest {
  string name = 1;
  string role = 2;
}
message AuthRoleAddRequest {
  string name = 1;
}
message AuthRoleGetRequest {
  string role = 1;
}
message AuthUserListRequest {}
message AuthRoleListRequest {}
message AuthRoleDeleteRequest {
  string role = 1;
}
message AuthRoleGrantPermissionRequest {
  string name = 1;
}
message AuthRoleRevokePermissionRequest {
  string role = 1;
  bytes key = 2;
  bytes range_end = 3;
}

message AuthEnableResponse { ResponseHeader header = 1; }
message AuthDisableResponse { ResponseHeader header = 1; }
message AuthStatusResponse {
  ResponseHeader header = 1;
  bool enabled = 2;
  uint64 authRevision = 3;
}
message AuthenticateResponse {
  ResponseHeader header = 1;
  string token = 2;
}
message AuthUserAddResponse { ResponseHeader header = 1; }
message AuthUserGetResponse {
  ResponseHeader header = 1;
  repeated string roles = 2;
}
message AuthUserDeleteResponse { ResponseHeader header = 1; }
message AuthUserChangePasswordResponse { ResponseHeader header = 1; }
message AuthUserGrantRoleResponse { ResponseHeader header = 1; }
message AuthUserRevokeRoleResponse { ResponseHeader header = 1; }
message AuthRoleAddResponse { ResponseHeader header = 1; }
message AuthRoleGetResponse { ResponseHeader header = 1; }
message AuthRoleListResponse {
  ResponseHeader header = 1;
  repeated string roles = 2;
}
message AuthUserListResponse {
  ResponseHeader header = 1;
  repeated string users = 2;
}
message AuthRoleDeleteResponse { ResponseHeader header = 1; }
message AuthRoleGrantPermissionResponse { ResponseHeader header = 1; }
message AuthRoleRevokePermissionResponse { ResponseHeader header = 1; }

package v3lockpb;

service Lock {
  rpc Lock(LockRequest) returns (LockResponse);
  rpc Unlock(UnlockRequest) returns (UnlockResponse);
}

message LockRequest {
  bytes name = 1;
  int64 lease = 2;
}

message LockResponse {
  etcdserverpb.ResponseHeader header = 1;
  bytes key = 2;
}

message UnlockRequest {
  bytes key = 1;
}

message UnlockResponse {
  etcdserverpb.ResponseHeader header = 1;
}

package v3electionpb;

service Election {
  rpc Campaign(CampaignRequest) returns (CampaignResponse);
  rpc Proclaim(ProclaimRequest) returns (ProclaimResponse);
  rpc Leader(LeaderRequest) returns (LeaderResponse);
  rpc Observe(LeaderRequest) returns (stream LeaderResponse);
  rpc Resign(ResignRequest) returns (ResignResponse);
}

message CampaignRequest {
  bytes name = 1;
  int64 lease = 2;
  bytes value = 3;
}

message CampaignResponse {
  etcdserverpb.ResponseHeader header = 1;
  LeaderKey leader = 2;
}

message LeaderKey {
  bytes name = 1;
  bytes key = 2;
  int64 rev = 3;
  int64 lease = 4;
}

message LeaderRequest {
  bytes name = 1;
}

message LeaderResponse {
  etcdserverpb.ResponseHeader header = 1;
  mvccpb.KeyValue kv = 2;
}

message ResignRequest {
  LeaderKey leader = 1;
}

message ResignResponse {
  etcdserverpb.ResponseHeader header = 1;
}

message ProclaimRequest {
  LeaderKey leader = 1;
  bytes value = 2;
}

message ProclaimResponse {
  etcdserverpb.ResponseHeader header = 1;
}

package grpc.health.v1;

// The standard gRPC health service (grpc/health/v1/health.proto), which etcd serves beside its own.
service Health {
  rpc Check(HealthCheckRequest) returns (HealthCheckResponse);
  rpc Watch(HealthCheckRequest) returns (stream HealthCheckResponse);
}

message HealthCheckRequest {
  string service = 1;
}

message HealthCheckResponse {
  enum ServingStatus {
    UNKNOWN = 0;
    SERVING = 1;
    NOT_SERVING = 2;
    SERVICE_UNKNOWN = 3;
  }
  ServingStatus status = 1;
}
`;

/** How messages look in JavaScript: int64 as decimal strings (ids exceed 2^53), enums by name, bytes as Buffers. */
export const LOADER_OPTIONS: protoLoader.Options = { longs: String, enums: String, bytes: Buffer, defaults: true, oneofs: true };

let cachedRoot: protobuf.Root | undefined;
let cachedProtoNamesRoot: protobuf.Root | undefined;
let cached: protoLoader.PackageDefinition | undefined;

/** etcd's packages that hold services: rpc.proto's, v3lock.proto's, v3election.proto's and gRPC's health.proto. */
export const ETCD_SERVICE_PACKAGES = ['etcdserverpb', 'v3lockpb', 'v3electionpb', 'grpc.health.v1'] as const;

/** A .proto file may hold one package; the text holds several, so each part is parsed into the same root. */
export function parseEtcdProto(keepCase: boolean): protobuf.Root {
  const root = new protobuf.Root();
  const parts = ETCD_PROTO.split(/^package ([\w.]+);$/m); // [before, name, body, name, body, …]
  for (let i = 1; i < parts.length; i += 2) protobuf.parse(`syntax = "proto3";\npackage ${parts[i]};\n${parts[i + 1]}`, root, { keepCase });
  root.resolveAll();
  return root;
}

/** The parsed protobuf types (field names camelCased, as the KV types use). */
function etcdRoot(): protobuf.Root {
  cachedRoot ??= parseEtcdProto(false);
  return cachedRoot;
}

/** The same types with the field names as the proto spells them (`create_revision`), as etcd's JSON gateway writes. */
export function etcdProtoNamesRoot(): protobuf.Root {
  cachedProtoNamesRoot ??= parseEtcdProto(true);
  return cachedProtoNamesRoot;
}

/** The package definition for @grpc/grpc-js clients (tests, the benchmark), parsed once. */
export function etcdPackageDefinition(): protoLoader.PackageDefinition {
  cached ??= protoLoader.fromJSON(etcdRoot().toJSON(), LOADER_OPTIONS);
  return cached;
}

/** protobufjs writes Buffers under Node; anything else is wrapped without a copy. */
function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * The services for a @grpc/grpc-js server, built straight from the protobuf types. Each peer builds them as it
 * starts; proto-loader's package definition also encodes descriptors for reflection, which cost every peer
 * ~50 ms of start-up that a server never uses. Messages are (de)serialised exactly as proto-loader does.
 */
export function etcdServiceDefinitions(): Record<string, ServiceDefinition> {
  const services: Record<string, ServiceDefinition> = {};
  for (const pkgName of ETCD_SERVICE_PACKAGES) {
  const pkg = etcdRoot().lookup(pkgName) as protobuf.Namespace;
  for (const service of pkg.nestedArray) {
    if (!(service instanceof protobuf.Service)) continue;
    const def: Record<string, MethodDefinition<unknown, unknown>> = {};
    for (const method of service.methodsArray) {
      const request = method.resolvedRequestType!;
      const response = method.resolvedResponseType!;
      def[method.name] = {
        path: `/${pkgName}.${service.name}/${method.name}`,
        requestStream: !!method.requestStream,
        responseStream: !!method.responseStream,
        requestSerialize: (value) => asBuffer(request.encode(request.fromObject(value as object)).finish()),
        requestDeserialize: (bytes) => request.toObject(request.decode(bytes), LOADER_OPTIONS),
        responseSerialize: (value) => asBuffer(response.encode(response.fromObject(value as object)).finish()),
        responseDeserialize: (bytes) => response.toObject(response.decode(bytes), LOADER_OPTIONS),
      };
    }
    services[service.name] = def as ServiceDefinition;
  }
  }
  return services;
}
