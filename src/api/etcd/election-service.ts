// etcd's Election service (v3electionpb), as etcd 3.4 serves it: v3election/election.go runs clientv3/concurrency's
// Election on the server's own KV. A campaigner's key is `<name>/<lease in hex>` holding its value; the leader is
// the key under `<name>/` with the lowest create revision. Campaign waits (as Lock does) for the older keys to go;
// Proclaim and Resign act only while the key's create revision is still the leader's `rev`.
import type { ServerWritableStream, UntypedServiceImplementation } from '@grpc/grpc-js';
import { bytesEqual, prefixRangeEnd } from '../../kv/bytes.ts';
import type { KeyValue, KvEvent, LeaseId, Revision, TxnResponse } from '../../kv/types.ts';
import type { ServiceContext } from './context.ts';
import { bytes, keyValue, leaseId, num, type Wire } from './convert.ts';
import { ApiError, noLeader, toServiceError } from './errors.ts';
import { viaClient, CallCancellation, createdAt, firstCreated, linearizableRange, ownKey, rangeAt, sessionLease, txn, waitDeletes, withSlash } from './concurrency.ts';

// etcd's errors are plain Go errors, so gRPC reports them as UNKNOWN with the text as it is.
const notLeader = (): ApiError => new ApiError('election: not leader', 'UNKNOWN');
const noElectionLeader = (): ApiError => new ApiError('election: no leader', 'UNKNOWN');
const missingLeaderKey = (): ApiError => new ApiError('"leader" field must be provided', 'UNKNOWN');

interface LeaderKey {
  name: Uint8Array;
  key: Uint8Array;
  rev: Revision;
  lease: LeaseId;
}

function leaderKey(wire: unknown): LeaderKey {
  if (wire === null || typeof wire !== 'object') throw missingLeaderKey();
  const w = wire as Wire;
  // A revision past 2^53 cannot be a key's (a store would need that many writes): -1 matches no key either, and
  // stays exact in the compare that the log entry carries.
  const rev = num(w.rev);
  return { name: bytes(w.name), key: bytes(w.key), rev: Number.isSafeInteger(rev) ? rev : -1, lease: leaseId(w.lease) };
}

export function electionService(ctx: ServiceContext): UntypedServiceImplementation {
  const header = (revision?: number) => ctx.headers.make(revision);

  /** Election.Proclaim: the new value, only while the key is still the one created at `rev`. */
  const proclaim = async (key: Uint8Array, rev: Revision, lease: LeaseId, value: Uint8Array): Promise<TxnResponse> => {
    const r = await txn(ctx, { compare: [createdAt(key, rev)], success: [{ requestPut: { key, value, lease } }] });
    if (!r.succeeded) throw notLeader();
    return r;
  };
  /** Election.Resign: deletes the key if it is still the one created at `rev` (no error if not). */
  const resign = (key: Uint8Array, rev: Revision): Promise<TxnResponse> => txn(ctx, { compare: [createdAt(key, rev)], success: [{ requestDeleteRange: { key } }] });

  return {
    Campaign: viaClient(async (wire, call) => {
      const cancel = new CallCancellation(call);
      const name = bytes(wire.name);
      const value = bytes(wire.value);
      const lease = await sessionLease(ctx, leaseId(wire.lease));
      const prefix = withSlash(name);
      const key = ownKey(prefix, lease);
      const r = await txn(ctx, { compare: [createdAt(key, 0)], success: [{ requestPut: { key, value, lease } }], failure: [{ requestRange: { key } }] });
      let rev = r.header.revision;
      if (!r.succeeded) {
        // This lease already campaigns here: keep its place, with the value asked for now.
        const kv = rangeAt(r, 0).kvs[0]!;
        rev = kv.createRevision;
        if (!bytesEqual(kv.value, value)) {
          try {
            await proclaim(key, rev, lease, value);
          } catch (err) {
            await resign(key, rev).catch(() => undefined);
            throw err;
          }
        }
      }
      try {
        await waitDeletes(ctx, prefix, rev - 1, cancel);
      } catch (err) {
        // A campaigner whose client left steps down, so that it is not elected for nobody.
        if (cancel.cancelled) await resign(key, rev).catch(() => undefined);
        throw err;
      }
      // etcd answers with the header of the campaign's first txn, even after a wait.
      return { header: header(r.header.revision), leader: { name, key, rev, lease: lease.toString() } };
    }),
    Proclaim: viaClient(async (wire) => {
      const leader = leaderKey(wire.leader);
      const lease = await sessionLease(ctx, leader.lease);
      const r = await proclaim(leader.key, leader.rev, lease, bytes(wire.value));
      return { header: header(r.header.revision) };
    }),
    Leader: viaClient(async (wire) => {
      const r = await linearizableRange(ctx, firstCreated(withSlash(bytes(wire.name))));
      if (r.kvs.length === 0) throw noElectionLeader();
      return { header: header(r.header.revision), kv: keyValue(r.kvs[0]!) };
    }),
    Resign: viaClient(async (wire) => {
      const leader = leaderKey(wire.leader);
      await sessionLease(ctx, leader.lease); // as etcd's session: lease 0 grants one, used for nothing
      const r = await resign(leader.key, leader.rev);
      return { header: header(r.header.revision) };
    }),
    Observe: (call: ServerWritableStream<Wire, Wire>) => new Observer(ctx, call),
  };
}

/**
 * Election.Observe: the leader's kv now, then every change of it, and the next leader's once its key is deleted.
 * As in etcd, a failed read ends the stream without an error (concurrency's observe closes its channel).
 */
class Observer {
  private closed = false;
  private watchId = -1;
  private generation = 0;
  private readonly prefix: Uint8Array;
  private readonly unregister: () => void = () => undefined;

  constructor(
    private readonly ctx: ServiceContext,
    private readonly call: ServerWritableStream<Wire, Wire>,
  ) {
    this.prefix = withSlash(bytes(call.request?.name));
    call.on('cancelled', () => this.close());
    call.on('error', () => this.close());
    call.on('close', () => this.close());
    // etcd's stream interceptor: a stream that asks for a leader is refused, or later cut off, without one.
    if (call.metadata?.get('hasleader')[0] === 'true') {
      if (ctx.leader() === 0) {
        this.fail(noLeader());
        return;
      }
      this.unregister = ctx.leaderless.add((err) => this.fail(err));
    }
    void this.next();
  }

  /** Reads the current leader; with none, waits for the first put under the prefix. */
  private async next(): Promise<void> {
    let r;
    try {
      r = await linearizableRange(this.ctx, firstCreated(this.prefix));
    } catch {
      return this.end();
    }
    if (this.closed) return;
    const leader = r.kvs[0];
    if (leader) return this.follow(leader, r.header.revision);
    this.watch(this.prefix, prefixRangeEnd(this.prefix), r.header.revision, (events) => {
      const put = events.find((e) => e.type === 'PUT');
      if (!put) return;
      this.stopWatch();
      this.follow(put.kv, put.kv.modRevision);
    });
  }

  /** Sends the leader's kv, then its updates until it is deleted, then looks for the next leader. */
  private follow(leader: KeyValue, revision: Revision): void {
    this.send(revision, leader);
    this.watch(leader.key, new Uint8Array(0), revision + 1, (events, batchRevision) => {
      for (const e of events) {
        if (e.type === 'DELETE') {
          this.stopWatch();
          void this.next();
          return;
        }
        this.send(batchRevision, e.kv);
      }
    });
  }

  /** One watch at a time; a sink may stop its watch and start the next one while the hub is still replaying. */
  private watch(key: Uint8Array, rangeEnd: Uint8Array, startRevision: Revision, onEvents: (events: KvEvent[], revision: Revision) => void): void {
    if (this.closed) return;
    const generation = ++this.generation;
    const watches = this.ctx.kv.sm.watches;
    const id = watches.create({ key, rangeEnd, startRevision }, (batch) => {
      if (generation !== this.generation || this.closed || batch.created) return;
      if (batch.canceled) return this.end();
      onEvents(batch.events, batch.revision);
    });
    if (generation === this.generation && !this.closed) this.watchId = id;
    else watches.remove(id); // stopped (or the stream closed) while create() replayed history
  }

  private stopWatch(): void {
    this.generation++;
    if (this.watchId >= 0) this.ctx.kv.sm.watches.remove(this.watchId);
    this.watchId = -1;
  }

  private send(revision: Revision, kv: KeyValue): void {
    if (!this.closed) this.call.write({ header: this.ctx.headers.make(revision), kv: keyValue(kv) });
  }

  private end(): void {
    if (this.closed) return;
    this.close();
    this.call.end();
  }

  private fail(err: unknown): void {
    if (this.closed) return;
    this.close();
    this.call.emit('error', toServiceError(err));
  }

  private close(): void {
    if (this.closed) return;
    this.closed = true;
    this.unregister();
    if (this.watchId >= 0) this.ctx.kv.sm.watches.remove(this.watchId);
    this.watchId = -1;
  }
}
