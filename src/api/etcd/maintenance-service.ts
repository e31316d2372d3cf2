// etcd's Maintenance service: Status (what `etcdctl endpoint status` shows), leader transfer, the housekeeping
// calls — Defragment (the size etcd would report comes down to what is in use) and Alarm (alarms are kept in the
// replicated store) — and Snapshot, which streams the KV store's canonical snapshot in etcd's framing.
import type { ServerWritableStream, UntypedServiceImplementation } from '@grpc/grpc-js';
import { ALARM_ACTIONS, ALARM_TYPES } from '../../kv/alarms.ts';
import { digest64 } from '../../kv/hash.ts';
import type { AlarmResponse, KvRequest } from '../../kv/types.ts';
import type { ServiceContext } from './context.ts';
import { peerOfMember } from './cluster-service.ts';
import { keyValue, num, type Wire } from './convert.ts';
import { ApiError, notLeader, toServiceError } from './errors.ts';
import { memberIdOf } from './header.ts';
import { framedSnapshot } from './snapshot-file.ts';
import { unary } from './unary.ts';

export const SERVER_VERSION = '3.5.0-raftlab';
const SNAPSHOT_CHUNK_BYTES = 32 * 1024;
const ALL_KEYS = new Uint8Array([0]);

/** A uint64 field as gRPC's decoder gives it (a decimal string; the gateway checks its range first). */
function uint64(value: unknown): bigint {
  if (value === undefined || value === null) return 0n;
  const text = typeof value === 'number' && Number.isSafeInteger(value) ? String(value) : value;
  if (typeof text === 'string' && /^\d{1,20}$/.test(text) && BigInt(text) < 2n ** 64n) return BigInt(text);
  throw new ApiError(`invalid uint64 value: ${JSON.stringify(value)}`, 'INVALID_ARGUMENT');
}

export function maintenanceService(ctx: ServiceContext): UntypedServiceImplementation {
  const header = () => ctx.headers.make();
  const uint32 = (hex: string) => parseInt(hex.slice(-8), 16) >>> 0;
  return {
    Status: unary(async () => {
      const s = ctx.runtime.status();
      // The store's size as etcd's database would show it (kv-state-machine.ts: dbSize, dbSizeInUse).
      return {
        header: header(),
        version: SERVER_VERSION,
        dbSize: ctx.kv.sm.dbSize,
        dbSizeInUse: ctx.kv.sm.dbSizeInUse,
        leader: s.lead ? memberIdOf(ctx.init.clusterId, s.lead) : '0',
        raftIndex: s.commit,
        raftTerm: s.term,
        raftAppliedIndex: s.applied,
        // As etcd: a member without a leader says so here, then every raised alarm in Go's text form (etcdctl
        // shows them in the ERRORS column).
        errors: [...(s.lead ? [] : ['etcdserver: no leader']), ...ctx.kv.sm.alarms.list().map((a) => `memberID:${a.memberID} alarm:${a.alarm} `)],
        isLearner: s.isLearner,
      };
    }),
    MoveLeader: unary(async (wire: Wire) => {
      if (ctx.runtime.status().role !== 'leader') throw notLeader();
      let to: number;
      try {
        to = peerOfMember(ctx, wire.targetID);
      } catch {
        throw new ApiError('etcdserver: bad leader transferee', 'FAILED_PRECONDITION');
      }
      if (ctx.runtime.status().confState.learners.includes(to)) throw new ApiError('etcdserver: bad leader transferee', 'FAILED_PRECONDITION');
      if (to !== ctx.init.id) await ctx.runtime.transferLeader(to);
      return { header: header() };
    }),
    // Every action goes through the log, as in etcd, so a list is linearizable and a change reaches every member.
    // The answer has no header: etcd 3.4 sends none (test/api/gateway.test.ts compares).
    Alarm: unary(async (wire: Wire) => {
      const action = ALARM_ACTIONS.find((a) => a === wire.action);
      const alarm = ALARM_TYPES.find((a) => a === wire.alarm);
      // etcd applies an action or type it does not know as nothing (its switch has no case for it).
      if (action === undefined || alarm === undefined) return { alarms: [] };
      const request: KvRequest = { type: 'alarm', action, memberID: uint64(wire.memberID), alarm };
      const r = (await ctx.runtime.propose(ctx.kv.prepare(request))) as AlarmResponse;
      return { alarms: r.alarms.map((a) => ({ memberID: a.memberID.toString(), alarm: a.alarm })) };
    }),
    // etcd's defragment rewrites the member's database file without its free pages: here the size it reports
    // comes down to what the store holds now (after a compaction, that is how space is won back).
    Defragment: unary(async () => {
      ctx.kv.sm.defragment();
      return { header: header() };
    }),
    Hash: unary(async () => ({ header: header(), hash: uint32(ctx.kv.sm.hash()) })),
    HashKV: unary(async (wire: Wire) => {
      // A digest of every key at the revision (0 = latest): equal on peers that applied the same entries.
      const r = ctx.kv.sm.range({ key: ALL_KEYS, rangeEnd: ALL_KEYS, revision: num(wire.revision) });
      const text = JSON.stringify(r.kvs.map((kv) => ({ ...keyValue(kv), key: Buffer.from(kv.key).toString('base64'), value: Buffer.from(kv.value).toString('base64') })));
      return { header: header(), hash: uint32(digest64(Buffer.from(text))), compactRevision: Math.max(0, ctx.kv.sm.compactRevision) };
    }),
    Snapshot: async (call: ServerWritableStream<Wire, Wire>) => {
      try {
        const framed = framedSnapshot(await ctx.kv.snapshotNow());
        const h = header();
        for (let sent = 0; sent < framed.length; ) {
          const blob = framed.subarray(sent, Math.min(framed.length, sent + SNAPSHOT_CHUNK_BYTES));
          sent += blob.length;
          call.write({ header: h, remainingBytes: framed.length - sent, blob });
        }
        call.end();
      } catch (err) {
        call.emit('error', toServiceError(err));
      }
    },
  };
}
