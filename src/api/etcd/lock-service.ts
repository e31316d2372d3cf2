// etcd's Lock service (v3lockpb), as etcd 3.4 serves it: v3lock/lock.go runs clientv3/concurrency's Mutex on
// the server's own KV. Lock puts `<name>/<lease in hex>` with the lease (one txn, if absent), then waits until
// every key under `<name>/` created before it is deleted; Unlock deletes the key. Writes go through the log as
// any client's, reads are linearizable and waits are watches on this peer's store (concurrency.ts).
import type { UntypedServiceImplementation } from '@grpc/grpc-js';
import type { DeleteRangeResponse } from '../../kv/types.ts';
import { CallCancellation, createdAt, firstCreated, ownKey, propose, rangeAt, sessionLease, txn, viaClient, waitDeletes, withSlash } from './concurrency.ts';
import type { ServiceContext } from './context.ts';
import { bytes, leaseId } from './convert.ts';

export function lockService(ctx: ServiceContext): UntypedServiceImplementation {
  return {
    Lock: viaClient(async (wire, call) => {
      const cancel = new CallCancellation(call);
      const lease = await sessionLease(ctx, leaseId(wire.lease));
      const prefix = withSlash(bytes(wire.name));
      const key = ownKey(prefix, lease);
      // Mutex.Lock: join the waiters (or find our key from an earlier Lock with this lease) and read the owner.
      const r = await txn(ctx, {
        compare: [createdAt(key, 0)],
        success: [{ requestPut: { key, value: new Uint8Array(0), lease } }, { requestRange: firstCreated(prefix) }],
        failure: [{ requestRange: { key } }, { requestRange: firstCreated(prefix) }],
      });
      const rev = r.succeeded ? r.header.revision : rangeAt(r, 0).kvs[0]!.createRevision;
      const owner = rangeAt(r, 1).kvs[0];
      if (!owner || owner.createRevision === rev) return { header: ctx.headers.make(r.header.revision), key };
      try {
        return { header: ctx.headers.make(await waitDeletes(ctx, prefix, rev - 1, cancel)), key };
      } catch (err) {
        // The waiter gives its place up (Mutex.Lock's Unlock on a failed wait), so it blocks no one later.
        await propose<DeleteRangeResponse>(ctx, { type: 'deleteRange', key }).catch(() => undefined);
        throw err;
      }
    }),
    Unlock: viaClient(async (wire) => {
      const r = await propose<DeleteRangeResponse>(ctx, { type: 'deleteRange', key: bytes(wire.key) });
      return { header: ctx.headers.make(r.header.revision) };
    }),
  };
}
