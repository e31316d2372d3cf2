// etcd's Maintenance service: Status (what `etcdctl endpoint status` shows), leader transfer, and the
// housekeeping calls a store without a bbolt file answers trivially (Alarm, Defragment). Snapshot streams the
// KV store's canonical snapshot in etcd's framing.
import type { ServerWritableStream, UntypedServiceImplementation } from '@grpc/grpc-js';
import { digest64 } from '../../kv/hash.ts';
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


export function maintenanceService(ctx: ServiceContext): UntypedServiceImplementation {
  const header = () => ctx.headers.make();
  const uint32 = (hex: string) => parseInt(hex.slice(-8), 16) >>> 0;
  // Without a folder (in memory) the size is the encoded store, which costs a full encode (in slices, so the
  // peer keeps serving): reuse it for a while, and refresh it in the background once it is old.
  let encoded = { size: 0, at: -Infinity };
  let encoding: Promise<number> | undefined;
  const encodedSize = async (): Promise<number> => {
    if (performance.now() - encoded.at > 5000 && !encoding) {
      encoding = ctx.kv.snapshotNow().then(
        (data) => (encoded = { size: data.length, at: performance.now() }).size,
        () => encoded.size,
      );
      void encoding.finally(() => (encoding = undefined));
    }
    return encoded.at === -Infinity && encoding ? encoding : encoded.size;
  };
  return {
    Status: unary(async () => {
      const s = ctx.runtime.status();
      const dbSize = ctx.bridge.dbSize() || (await encodedSize());
      return {
        header: header(),
        version: SERVER_VERSION,
        dbSize,
        dbSizeInUse: dbSize,
        leader: s.lead ? memberIdOf(ctx.init.clusterId, s.lead) : '0',
        raftIndex: s.commit,
        raftTerm: s.term,
        raftAppliedIndex: s.applied,
        // As etcd: a member without a leader says so here (etcdctl shows it in the ERRORS column).
        errors: s.lead ? [] : ['etcdserver: no leader'],
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
    // etcd answers an alarm list without alarms with an empty message, header and all.
    Alarm: unary(async () => ({ alarms: [] })),
    Defragment: unary(async () => ({ header: header() })),
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
