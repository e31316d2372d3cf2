// etcd's KV service. Writes go through the Raft log (a follower's proposal is forwarded to the leader by Raft
// itself); linearizable reads wait for a ReadIndex round, serializable ones read this peer's store as it is.
import type { UntypedServiceImplementation } from '@grpc/grpc-js';
import { isReadOnlyTxn, isSerializableTxn } from '../../kv/txn.ts';
import { validateRequest } from '../../kv/validate.ts';
import type { CompactionResponse, DeleteRangeResponse, KvRequest, PutResponse, TxnResponse } from '../../kv/types.ts';
import type { ServiceContext } from './context.ts';
import { deleteRangeRequest, deleteRangeResponse, num, putRequest, putResponse, rangeRequest, rangeResponse, txnRequest, txnResponse } from './convert.ts';
import { overQuota } from './quota.ts';
import { unary } from './unary.ts';

export function kvService(ctx: ServiceContext): UntypedServiceImplementation {
  const header = (revision?: number) => ctx.headers.make(revision);
  const propose = (request: KvRequest): Promise<unknown> => overQuota(ctx, request) ?? ctx.runtime.propose(ctx.kv.prepare(request));

  return {
    Range: unary(async (wire) => {
      const request = rangeRequest(wire);
      // etcd rejects bad requests before waiting on Raft.
      validateRequest({ type: 'range', ...request }, ctx.kv.sm.config.maxTxnOps);
      if (!request.serializable) await ctx.runtime.linearizableBarrier();
      return rangeResponse(ctx.kv.sm.range(request), header);
    }),
    Put: unary(async (wire) => putResponse((await propose({ type: 'put', ...putRequest(wire) })) as PutResponse, header)),
    DeleteRange: unary(async (wire) => deleteRangeResponse((await propose({ type: 'deleteRange', ...deleteRangeRequest(wire) })) as DeleteRangeResponse, header)),
    Txn: unary(async (wire) => {
      const request = txnRequest(wire);
      if (!isReadOnlyTxn(request)) return txnResponse((await propose({ type: 'txn', ...request })) as TxnResponse, header);
      // As etcd: a txn that only reads is a read (a ReadIndex round unless every range is serializable), not a
      // log entry; its compares and ranges then run in one go on this peer's store.
      validateRequest({ type: 'txn', ...request }, ctx.kv.sm.config.maxTxnOps);
      if (!isSerializableTxn(request)) await ctx.runtime.linearizableBarrier();
      return txnResponse(ctx.kv.sm.readTxn(request), header);
    }),
    Compact: unary(async (wire) => {
      const response = (await propose({ type: 'compaction', revision: num(wire.revision), physical: wire.physical === true })) as CompactionResponse;
      return { header: header(response.header.revision) };
    }),
  };
}
