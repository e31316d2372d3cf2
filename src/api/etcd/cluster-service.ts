// etcd's Cluster service. Membership is the manager's to change (it spawns and retires peers), so MemberAdd,
// MemberRemove and MemberPromote are forwarded to it; the member list comes from the directory the manager
// keeps every peer informed of, with learner flags from this peer's Raft configuration.
import type { UntypedServiceImplementation } from '@grpc/grpc-js';
import type { NodeId } from '../../raft/types.ts';
import type { ServiceContext } from './context.ts';
import { ApiError } from './errors.ts';
import { memberIdOf } from './header.ts';
import type { Wire } from './convert.ts';
import { unary } from './unary.ts';

export interface WireMember {
  ID: string;
  name: string;
  peerURLs: string[];
  clientURLs: string[];
  isLearner: boolean;
}

/** Peers talk through the manager, not over URLs; these are stable, clearly synthetic placeholders. */
export function peerUrlOf(peer: NodeId): string {
  return `http://n${peer}.raftlab.invalid:2380`;
}

/**
 * A member's client URL, without etcd's `http://`: etcdctl 3.4 dials a URL from the member list (`endpoint status
 * --cluster`, `endpoint health --cluster`) with the whole URL as the HTTP/2 :authority, which Go servers accept
 * but Node's HTTP/2 (nghttp2) refuses with PROTOCOL_ERROR; host:port is what every etcd client also takes.
 */
export function clientUrlOf(port: number): string {
  return `127.0.0.1:${port}`;
}

export function members(ctx: ServiceContext): WireMember[] {
  const learners = new Set(ctx.runtime.status().confState.learners);
  return Object.entries(ctx.kv.memberPorts)
    .map(([id]) => Number(id))
    .sort((a, b) => a - b)
    .map((id) => {
      const port = ctx.kv.memberPorts[id] ?? 0;
      return {
        ID: memberIdOf(ctx.init.clusterId, id),
        name: ctx.kv.names[id] ?? `n${id}`,
        peerURLs: [peerUrlOf(id)],
        clientURLs: port ? [clientUrlOf(port)] : [],
        isLearner: learners.has(id),
      };
    });
}

/** The peer id behind an etcd member id, or a MemberNotFound error as etcd words it. */
export function peerOfMember(ctx: ServiceContext, memberId: unknown): NodeId {
  for (const id of Object.keys(ctx.kv.memberPorts).map(Number)) {
    if (memberIdOf(ctx.init.clusterId, id) === String(memberId)) return id;
  }
  throw new ApiError('etcdserver: member not found', 'NOT_FOUND');
}

export function clusterService(ctx: ServiceContext): UntypedServiceImplementation {
  // etcd's membership answers carry no store revision in their header.
  const header = () => ({ ...ctx.headers.make(), revision: 0 });
  return {
    MemberList: unary(async () => ({ header: header(), members: members(ctx) })),
    MemberAdd: unary(async (wire: Wire) => {
      const learner = wire.isLearner === true;
      const id = (await ctx.bridge.forward({ op: 'memberAdd', learner })) as NodeId;
      const list = members(ctx);
      // This peer may not have applied the new configuration yet: the member is what was asked for.
      const listed = list.find((m) => m.ID === memberIdOf(ctx.init.clusterId, id));
      const member = listed ? { ...listed, isLearner: learner } : {
        ID: memberIdOf(ctx.init.clusterId, id),
        name: `n${id}`,
        peerURLs: [peerUrlOf(id)],
        clientURLs: [],
        isLearner: learner,
      };
      return { header: header(), member, members: [...list.filter((m) => m.ID !== member.ID), member] };
    }),
    MemberRemove: unary(async (wire: Wire) => {
      const id = peerOfMember(ctx, wire.ID);
      await ctx.bridge.forward({ op: 'memberRemove', id });
      return { header: header(), members: members(ctx).filter((m) => m.ID !== memberIdOf(ctx.init.clusterId, id)) };
    }),
    MemberPromote: unary(async (wire: Wire) => {
      const id = peerOfMember(ctx, wire.ID);
      await ctx.bridge.forward({ op: 'memberPromote', id });
      return { header: header(), members: members(ctx).map((m) => (m.ID === memberIdOf(ctx.init.clusterId, id) ? { ...m, isLearner: false } : m)) };
    }),
    MemberUpdate: unary(async () => {
      throw new ApiError('etcdserver: MemberUpdate is not supported by Raft Lab (peer URLs are synthetic)', 'UNIMPLEMENTED');
    }),
  };
}
