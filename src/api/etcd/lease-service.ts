// etcd's Lease service. Grants and revokes go through the log; keep-alives and time-to-live are answered by
// the leader's lessor (only the leader keeps lease deadlines), so a follower forwards them to the leader.
import type { ServerDuplexStream, UntypedServiceImplementation } from '@grpc/grpc-js';
import type { KvRequest, LeaseGrantResponse, LeaseKeepAliveResponse, LeaseRevokeResponse, LeaseTimeToLiveResponse } from '../../kv/types.ts';
import type { LeaseCall } from '../../node/protocol.ts';
import type { ServiceContext } from './context.ts';
import { leaseId, num, type Wire } from './convert.ts';
import { noLeader, toServiceError } from './errors.ts';
import { overQuota } from './quota.ts';
import { unary } from './unary.ts';

/** Runs a lease call on the leader's lessor: here if this peer leads, else through the manager. */
export async function onLeader(ctx: ServiceContext, lease: LeaseCall): Promise<LeaseKeepAliveResponse | LeaseTimeToLiveResponse> {
  const sm = ctx.kv.sm;
  if (sm.lessor.isPrimary) return answerLeaseCall(ctx, lease);
  const lead = ctx.leader();
  if (lead === 0) throw noLeader();
  return (await ctx.bridge.forward({ op: 'toLeader', to: lead, call: { op: 'lease', lease } })) as LeaseKeepAliveResponse | LeaseTimeToLiveResponse;
}

/** The leader's answer (also used by the worker when the manager forwards a call here). */
export function answerLeaseCall(ctx: Pick<ServiceContext, 'kv'>, lease: LeaseCall): LeaseKeepAliveResponse | LeaseTimeToLiveResponse {
  const now = Date.now();
  return lease.kind === 'keepAlive' ? ctx.kv.sm.leaseKeepAlive({ ID: lease.ID }, now) : ctx.kv.sm.leaseTimeToLive({ ID: lease.ID, keys: lease.keys }, now);
}

export function leaseService(ctx: ServiceContext): UntypedServiceImplementation {
  const header = (revision?: number) => ctx.headers.make(revision);
  return {
    LeaseGrant: unary(async (wire) => {
      const request: KvRequest = { type: 'leaseGrant', TTL: num(wire.TTL), ID: leaseId(wire.ID) };
      const r = (await (overQuota(ctx, request) ?? ctx.runtime.propose(ctx.kv.prepare(request)))) as LeaseGrantResponse;
      return { header: header(r.header.revision), ID: r.ID.toString(), TTL: r.TTL, error: r.error };
    }),
    LeaseRevoke: unary(async (wire) => {
      const r = (await ctx.runtime.propose(ctx.kv.prepare({ type: 'leaseRevoke', ID: leaseId(wire.ID) }))) as LeaseRevokeResponse;
      return { header: header(r.header.revision) };
    }),
    LeaseTimeToLive: unary(async (wire) => {
      const r = (await onLeader(ctx, { kind: 'timeToLive', ID: leaseId(wire.ID), keys: wire.keys === true })) as LeaseTimeToLiveResponse;
      return { header: header(), ID: r.ID.toString(), TTL: r.TTL, grantedTTL: r.grantedTTL, keys: r.keys };
    }),
    LeaseLeases: unary(async () => {
      const r = ctx.kv.sm.leaseLeases();
      return { header: header(r.header.revision), leases: r.leases.map((l) => ({ ID: l.ID.toString() })) };
    }),
    LeaseKeepAlive: (call: ServerDuplexStream<Wire, Wire>) => keepAliveStream(ctx, call),
  };
}

/** Answers each keep-alive in order; an error (no leader, timeout) ends the stream so the client reconnects. */
function keepAliveStream(ctx: ServiceContext, call: ServerDuplexStream<Wire, Wire>): void {
  let closed = false;
  let queue = Promise.resolve();
  const close = () => {
    closed = true;
    unregister();
  };
  const fail = (err: unknown) => {
    if (closed) return;
    close();
    call.emit('error', toServiceError(err));
  };
  const unregister = call.metadata.get('hasleader')[0] === 'true' ? ctx.leaderless.add(fail) : () => undefined;
  call.on('data', (wire: Wire) => {
    const ID = leaseId(wire.ID);
    queue = queue.then(async () => {
      if (closed) return;
      try {
        const r = (await onLeader(ctx, { kind: 'keepAlive', ID })) as LeaseKeepAliveResponse;
        if (!closed) call.write({ header: ctx.headers.make(r.header.revision), ID: r.ID.toString(), TTL: r.TTL });
      } catch (err) {
        fail(err);
      }
    });
  });
  // The client sends no more: answer what it sent, then end, as etcd does.
  call.on('end', () => {
    void queue.then(() => {
      if (!closed) {
        close();
        call.end();
      }
    });
  });
  call.on('cancelled', close);
  call.on('error', close);
  call.on('close', close);
}
