// Our hand-written proto must agree with etcd's on every name and number it declares: we check it against the
// rpc.proto and kv.proto that the etcd3 npm client ships (etcd's own files), field by field.
import assert from 'node:assert/strict';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import * as protobuf from 'protobufjs';
import { parseEtcdProto } from '../../src/api/etcd/proto.ts';
import { framedSnapshot } from '../../src/api/etcd/snapshot-file.ts';
import { clusterIdOf, memberIdOf } from '../../src/api/etcd/header.ts';
import { createHash } from 'node:crypto';

function ours(): protobuf.Root {
  return parseEtcdProto(true);
}

/**
 * etcd's v3lock.proto and v3election.proto (server/etcdserver/api/v3lock/v3lockpb, v3election/v3electionpb), their
 * messages and services as etcd declares them, without the gateway annotations, and gRPC's health.proto
 * (grpc/health/v1): the etcd3 client ships none of them. Written out here on purpose, as the reference our
 * proto text is checked against, not shared with it.
 */
const REFERENCE_EXTRA_PROTOS = `
syntax = "proto3";
package v3lockpb;
service Lock {
  rpc Lock(LockRequest) returns (LockResponse);
  rpc Unlock(UnlockRequest) returns (UnlockResponse);
}
message LockRequest { bytes name = 1; int64 lease = 2; }
message LockResponse { etcdserverpb.ResponseHeader header = 1; bytes key = 2; }
message UnlockRequest { bytes key = 1; }
message UnlockResponse { etcdserverpb.ResponseHeader header = 1; }
---
syntax = "proto3";
package v3electionpb;
service Election {
  rpc Campaign(CampaignRequest) returns (CampaignResponse);
  rpc Proclaim(ProclaimRequest) returns (ProclaimResponse);
  rpc Leader(LeaderRequest) returns (LeaderResponse);
  rpc Observe(LeaderRequest) returns (stream LeaderResponse);
  rpc Resign(ResignRequest) returns (ResignResponse);
}
message CampaignRequest { bytes name = 1; int64 lease = 2; bytes value = 3; }
message CampaignResponse { etcdserverpb.ResponseHeader header = 1; LeaderKey leader = 2; }
message LeaderKey { bytes name = 1; bytes key = 2; int64 rev = 3; int64 lease = 4; }
message LeaderRequest { bytes name = 1; }
message LeaderResponse { etcdserverpb.ResponseHeader header = 1; mvccpb.KeyValue kv = 2; }
message ResignRequest { LeaderKey leader = 1; }
message ResignResponse { etcdserverpb.ResponseHeader header = 1; }
message ProclaimRequest { LeaderKey leader = 1; bytes value = 2; }
message ProclaimResponse { etcdserverpb.ResponseHeader header = 1; }
---
syntax = "proto3";
package grpc.health.v1;
service Health {
  rpc Check(HealthCheckRequest) returns (HealthCheckResponse);
  rpc Watch(HealthCheckRequest) returns (stream HealthCheckResponse);
}
message HealthCheckRequest { string service = 1; }
message HealthCheckResponse {
  enum ServingStatus { UNKNOWN = 0; SERVING = 1; NOT_SERVING = 2; SERVICE_UNKNOWN = 3; }
  ServingStatus status = 1;
}
`;

function etcds(): protobuf.Root {
  const dir = join(dirname(require.resolve('etcd3/package.json')), 'proto');
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => (target.startsWith('/') ? target : join(dir, target.replace(/^\.\//, '')));
  root.loadSync(join(dir, 'rpc.proto'), { keepCase: true });
  for (const part of REFERENCE_EXTRA_PROTOS.split('---')) protobuf.parse(part, root, { keepCase: true });
  root.resolveAll();
  return root;
}

function walk(ns: protobuf.NamespaceBase, visit: (obj: protobuf.ReflectionObject) => void): void {
  for (const obj of ns.nestedArray) {
    visit(obj);
    if (obj instanceof protobuf.Namespace) walk(obj, visit);
  }
}

test('every message, field, enum and method we declare matches etcd’s proto', () => {
  const reference = etcds();
  const mine = ours();
  let fields = 0;
  let methods = 0;
  const newer: string[] = [];
  walk(mine, (obj) => {
    const name = obj.fullName.slice(1);
    const theirs = reference.lookup(name);
    if (obj instanceof protobuf.Type) {
      assert.ok(theirs instanceof protobuf.Type, `message ${name} exists in etcd's proto`);
      for (const f of obj.fieldsArray) {
        const t: protobuf.Field | undefined = theirs.fields[f.name];
        if (!t) {
          newer.push(`${name}.${f.name}`);
          continue;
        }
        assert.equal(f.id, t.id, `${name}.${f.name} number`);
        assert.equal(f.repeated, t.repeated, `${name}.${f.name} repeated`);
        const typeOf = (x: protobuf.Field) => (x.resolvedType ? x.resolvedType.fullName : x.type);
        assert.equal(typeOf(f), typeOf(t), `${name}.${f.name} type`);
        fields++;
      }
    } else if (obj instanceof protobuf.Enum) {
      assert.ok(theirs instanceof protobuf.Enum, `enum ${name} exists in etcd's proto`);
      // The etcd3 client's copy writes etcd's enum values in CamelCase (NOT_EQUAL -> NotEqual); only the numbers
      // travel on the wire, so names are compared ignoring case and underscores.
      const loose = (k: string) => k.replace(/_/g, '').toLowerCase();
      const theirValues = new Map(Object.entries(theirs.values).map(([k, v]) => [loose(k), v]));
      for (const [k, v] of Object.entries(obj.values)) assert.equal(theirValues.get(loose(k)), v, `${name}.${k}`);
    } else if (obj instanceof protobuf.Service) {
      assert.ok(theirs instanceof protobuf.Service, `service ${name} exists in etcd's proto`);
      for (const m of obj.methodsArray) {
        const t: protobuf.Method | undefined = theirs.methods[m.name];
        if (!t) {
          newer.push(`${name}.${m.name}`);
          continue;
        }
        assert.equal(m.resolvedRequestType!.fullName, t.resolvedRequestType!.fullName, `${name}.${m.name} request`);
        assert.equal(m.resolvedResponseType!.fullName, t.resolvedResponseType!.fullName, `${name}.${m.name} response`);
        assert.equal(Boolean(m.requestStream), Boolean(t.requestStream), `${name}.${m.name} client streaming`);
        assert.equal(Boolean(m.responseStream), Boolean(t.responseStream), `${name}.${m.name} server streaming`);
        methods++;
      }
    }
  });
  assert.ok(fields > 170 && methods > 42, `${fields} fields and ${methods} methods checked`);
  for (const service of ['v3lockpb.Lock', 'v3electionpb.Election']) assert.ok(mine.lookup(service) instanceof protobuf.Service, `${service} declared`);
  assert.deepEqual(newer, [], 'declared here but unknown to etcd');
});

test('a framed snapshot is what etcdctl snapshot save accepts: data, zero padding to 512, SHA-256', () => {
  for (const size of [0, 1, 511, 512, 513, 5000]) {
    const data = new Uint8Array(size).fill(7);
    const framed = framedSnapshot(data);
    assert.equal(framed.length % 512, 32, `size ${size}`);
    const body = framed.subarray(0, framed.length - 32);
    assert.deepEqual(body.subarray(0, size), Buffer.from(data));
    assert.ok(body.subarray(size).every((x) => x === 0));
    assert.deepEqual(framed.subarray(framed.length - 32), createHash('sha256').update(body).digest());
  }
});

test('member ids are stable, distinct and non-zero 64-bit values; the cluster id is the record’s', () => {
  const a = memberIdOf('0123456789abcdef', 1);
  assert.equal(memberIdOf('0123456789abcdef', 1), a);
  assert.notEqual(memberIdOf('0123456789abcdef', 2), a);
  assert.notEqual(memberIdOf('fedcba9876543210', 1), a);
  assert.ok(BigInt(a) > 0n && BigInt(a) < 2n ** 64n);
  assert.equal(clusterIdOf('0123456789abcdef'), BigInt('0x0123456789abcdef').toString());
});
