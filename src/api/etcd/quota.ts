// etcd's space quota (--quota-backend-bytes; etcdserver/quota.go and v3rpc/quota.go): a request that would take
// this member's database past the quota raises the NOSPACE alarm through the log, so that every member then
// refuses what would grow the store (kv-state-machine.ts), and is itself refused with "database space exceeded".
// The size is the member's database as `etcdctl endpoint status` shows it: the most its store has held since the
// last defragment (kv-state-machine.ts: dbSize), so space is won back as in etcd, by a compaction then a defragment.
import type { KvRequest, PutRequest, RequestOp } from '../../kv/types.ts';
import { KvError } from '../../kv/errors.ts';
import type { ServiceContext } from './context.ts';
import { memberIdOf } from './header.ts';

/** etcd's DefaultQuotaBytes: 2 GiB. A quota of 0 means this; a negative one turns the quota off, as in etcd. */
export const DEFAULT_QUOTA_BACKEND_BYTES = 2 * 1024 ** 3;
/** etcd's estimate of what a put and a lease add to the database beyond their bytes. */
const KV_OVERHEAD_BYTES = 256;
const LEASE_OVERHEAD_BYTES = 64;

/** What a request would add to the database, as etcd counts it (0 for requests that do not grow it). */
export function requestCost(request: KvRequest): number {
  switch (request.type) {
    case 'put':
      return putCost(request);
    case 'txn':
      // The larger branch's puts (etcd counts the top level only).
      return Math.max(putsCost(request.success), putsCost(request.failure));
    case 'leaseGrant':
      return LEASE_OVERHEAD_BYTES;
    default:
      return 0;
  }
}

function putCost(put: PutRequest): number {
  return KV_OVERHEAD_BYTES + put.key.length + (put.value?.length ?? 0);
}

function putsCost(ops: readonly RequestOp[] | undefined): number {
  let sum = 0;
  for (const op of ops ?? []) if ('requestPut' in op) sum += putCost(op.requestPut);
  return sum;
}

export function quotaBytes(configured: number | undefined): number {
  return configured === undefined || configured === 0 ? DEFAULT_QUOTA_BACKEND_BYTES : configured;
}

/**
 * Undefined if `request` fits; else a promise that raises the NOSPACE alarm for this member and then rejects
 * with etcd's error (whether raising the alarm worked or not, as etcd's check answers). Not async, so that the
 * writes that fit (all of them, nearly always) pay no extra tick.
 */
export function overQuota(ctx: Pick<ServiceContext, 'init' | 'kv' | 'runtime'>, request: KvRequest): Promise<never> | undefined {
  const quota = quotaBytes(ctx.init.quotaBackendBytes);
  if (quota < 0) return undefined;
  const cost = requestCost(request);
  if (cost === 0 || ctx.kv.sm.dbSize + cost < quota) return undefined;
  const memberID = BigInt(memberIdOf(ctx.init.clusterId, ctx.init.id));
  const noSpace = (): never => {
    throw new KvError('noSpace');
  };
  return ctx.runtime.propose(ctx.kv.prepare({ type: 'alarm', action: 'ACTIVATE', memberID, alarm: 'NOSPACE' })).then(noSpace, noSpace);
}
