// The pieces of clientv3/concurrency that etcd's Lock and Election services run on the server's own KV (etcd 3.4
// serves both through an in-process client): sessions on a lease, own keys under a prefix, the oldest key as the
// owner, and waiting for older keys to be deleted — here with this peer's proposals, linearizable reads and
// watches on its store.
import { prefixRangeEnd, utf8 } from '../../kv/bytes.ts';
import { KvError } from '../../kv/errors.ts';
import type { Compare, KvRequest, LeaseGrantResponse, LeaseId, RangeRequest, RangeResponse, Revision, TxnRequest, TxnResponse } from '../../kv/types.ts';
import type { ServiceContext } from './context.ts';
import { ApiError, toServiceError } from './errors.ts';
import { overQuota } from './quota.ts';
import { unary } from './unary.ts';

/** concurrency.NewSession's TTL: a call with lease 0 gets a new lease this long, which nothing keeps alive. */
const SESSION_TTL_SECONDS = 60;

type Handler = Parameters<typeof unary>[0];

/**
 * etcd runs these services on an in-process clientv3, which turns the KV's gRPC errors into plain Go errors: the
 * caller gets the same text with code UNKNOWN (measured against etcd 3.4: "requested lease not found" is 2, not 5).
 */
export function viaClient(handler: Handler): ReturnType<typeof unary> {
  return unary(async (wire, call) => {
    try {
      return await handler(wire, call);
    } catch (err) {
      const e = toServiceError(err);
      throw new ApiError(e.details ?? String(err), 'UNKNOWN');
    }
  });
}

/** A client's call going away (cancel, deadline, a gateway client hanging up): ends the waits made for it. */
export class CallCancellation {
  cancelled = false;
  private readonly listeners = new Set<() => void>();

  constructor(call: unknown) {
    // grpc-js's calls, the unary fast path's and the gateway's all emit 'cancelled' when the client goes away.
    const c = call as { cancelled?: unknown; once?: (event: string, listener: () => void) => unknown } | undefined;
    if (c?.cancelled === true) this.cancelled = true;
    else if (typeof c?.once === 'function') c.once('cancelled', () => this.cancel());
  }

  /** Runs `listener` once the call is cancelled (now, if it is); returns a function that forgets it. */
  onCancel(listener: () => void): () => void {
    if (this.cancelled) {
      listener();
      return () => undefined;
    }
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private cancel(): void {
    if (this.cancelled) return;
    this.cancelled = true;
    for (const listener of [...this.listeners]) listener();
    this.listeners.clear();
  }
}

/** What etcd's handler returns once its context is cancelled (nobody is left to read it). */
const canceled = (): ApiError => new ApiError('context canceled', 'CANCELLED');

/** A write, under the space quota as etcd's in-process client's are (its KV and Lease servers check it). */
export function propose<T>(ctx: ServiceContext, request: KvRequest): Promise<T> {
  return (overQuota(ctx, request) ?? ctx.runtime.propose(ctx.kv.prepare(request))) as Promise<T>;
}

export function txn(ctx: ServiceContext, request: TxnRequest): Promise<TxnResponse> {
  return propose<TxnResponse>(ctx, { type: 'txn', ...request });
}

/** A linearizable Get, as the server's clientv3 client sends it. */
export async function linearizableRange(ctx: ServiceContext, request: RangeRequest): Promise<RangeResponse> {
  await ctx.runtime.linearizableBarrier();
  return ctx.kv.sm.range(request);
}

/** concurrency.NewSession(WithLease(id)): lease 0 means a new lease of the default TTL. */
export async function sessionLease(ctx: ServiceContext, lease: LeaseId): Promise<LeaseId> {
  if (lease !== 0n) return lease;
  return (await propose<LeaseGrantResponse>(ctx, { type: 'leaseGrant', TTL: SESSION_TTL_SECONDS })).ID;
}

export function withSlash(name: Uint8Array): Uint8Array {
  return concat(name, utf8('/'));
}

/** The key a session holds under a prefix: Go's `fmt.Sprintf("%s%x", pfx, lease)` (lowercase hex). */
export function ownKey(prefix: Uint8Array, lease: LeaseId): Uint8Array {
  return concat(prefix, utf8(lease.toString(16)));
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/** Compare: the key's create revision is `revision` (0: the key does not exist). */
export function createdAt(key: Uint8Array, revision: Revision): Compare {
  return { result: 'EQUAL', target: 'CREATE', key, createRevision: revision };
}

/** clientv3's Get(prefix, WithFirstCreate()): the oldest key under the prefix. */
export function firstCreated(prefix: Uint8Array): RangeRequest {
  return { key: prefix, rangeEnd: prefixRangeEnd(prefix), sortTarget: 'CREATE', sortOrder: 'ASCEND', limit: 1 };
}

export function rangeAt(r: TxnResponse, i: number): RangeResponse {
  const op = r.responses[i];
  if (!op || !('responseRange' in op)) throw new ApiError('unexpected txn response', 'INTERNAL');
  return op.responseRange;
}

/**
 * concurrency's waitDeletes: until no key under the prefix has a create revision <= maxCreateRev, waits for the
 * deletion of the newest such key. Resolves with the revision of the last (empty) read.
 */
export async function waitDeletes(ctx: ServiceContext, prefix: Uint8Array, maxCreateRev: Revision, cancel: CallCancellation): Promise<Revision> {
  const request: RangeRequest = { key: prefix, rangeEnd: prefixRangeEnd(prefix), sortTarget: 'CREATE', sortOrder: 'DESCEND', limit: 1, maxCreateRevision: maxCreateRev };
  for (;;) {
    if (cancel.cancelled) throw canceled();
    const r = await linearizableRange(ctx, request);
    // A client that left during the read must not be handed the lock (etcd's Get fails on its cancelled context).
    if (cancel.cancelled) throw canceled();
    if (r.kvs.length === 0) return r.header.revision;
    await waitDelete(ctx, r.kvs[0]!.key, r.header.revision, cancel);
  }
}

/** A watch on one key from `startRevision` that ends at its first delete, or when the call is cancelled. */
function waitDelete(ctx: ServiceContext, key: Uint8Array, startRevision: Revision, cancel: CallCancellation): Promise<void> {
  const watches = ctx.kv.sm.watches;
  return new Promise((resolve, reject) => {
    let id = -1;
    let done = false;
    let forget: () => unknown = () => undefined;
    const finish = (err?: Error) => {
      if (done) return;
      done = true;
      forget();
      if (id >= 0) watches.remove(id);
      if (err) reject(err);
      else resolve();
    };
    id = watches.create({ key, startRevision }, (batch) => {
      if (batch.canceled) finish(batch.compactRevision ? new KvError('compacted') : new ApiError('lost watcher waiting for delete', 'UNKNOWN'));
      else if (batch.events.some((e) => e.type === 'DELETE')) finish();
    });
    // The hub replays history inside create(): the wait may be over before the id was known.
    if (done) watches.remove(id);
    else forget = cancel.onCancel(() => finish(canceled()));
  });
}
