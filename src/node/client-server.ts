// One peer's etcd v3 gRPC API on 127.0.0.1:<clientPort>, served from the peer's own worker thread so that
// reads and watches touch the store directly. The services live in src/api/etcd/.
import { Server, ServerCredentials } from '@grpc/grpc-js';
import { authService } from '../api/etcd/auth-service.ts';
import { clusterService } from '../api/etcd/cluster-service.ts';
import { LeaderlessHub, type PeerBridge, type ServiceContext } from '../api/etcd/context.ts';
import { noLeader } from '../api/etcd/errors.ts';
import { HeaderSource } from '../api/etcd/header.ts';
import { kvService } from '../api/etcd/kv-service.ts';
import { leaseService } from '../api/etcd/lease-service.ts';
import { maintenanceService } from '../api/etcd/maintenance-service.ts';
import { etcdServiceDefinitions } from '../api/etcd/proto.ts';
import { watchService } from '../api/etcd/watch-service.ts';
import type { KvPeer } from './kv-peer.ts';
import type { PeerRuntime } from './peer-runtime.ts';
import type { PeerInit } from './protocol.ts';

export type { PeerBridge } from '../api/etcd/context.ts';

/** etcd accepts gRPC messages this much above its request size limit, so that its own error answers them. */
const GRPC_OVERHEAD_BYTES = 512 * 1024;
/** Streams that require a leader are ended after this many election timeouts without one (etcd's rule). */
const LEADERLESS_ELECTIONS = 3;

export interface ClientServer {
  readonly port: number;
  close(): Promise<void>;
}

export async function startClientServer(init: PeerInit, runtime: PeerRuntime, kv: KvPeer, bridge: PeerBridge): Promise<ClientServer> {
  const ctx: ServiceContext = {
    init,
    runtime,
    kv,
    bridge,
    headers: new HeaderSource(init.clusterId, init.id, () => runtime.status().term, () => kv.sm.revision),
    leader: () => runtime.status().lead,
    leaderless: new LeaderlessHub(),
  };
  // Channelz (grpc-js's call statistics for its debugging service, which nothing here serves) is tracked per call
  // unless turned off; off, serializable gets at 64 clients measured 12-29% faster.
  const server = new Server({ 'grpc.max_receive_message_length': kv.sm.config.maxRequestBytes + GRPC_OVERHEAD_BYTES, 'grpc.enable_channelz': 0 });
  const def = etcdServiceDefinitions();
  const service = (name: string) => def[name]!;
  server.addService(service('KV'), kvService(ctx));
  server.addService(service('Watch'), watchService(ctx));
  server.addService(service('Lease'), leaseService(ctx));
  server.addService(service('Cluster'), clusterService(ctx));
  server.addService(service('Maintenance'), maintenanceService(ctx));
  server.addService(service('Auth'), authService(ctx));

  const address = `127.0.0.1:${init.clientPort}`;
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(address, ServerCredentials.createInsecure(), (err, bound) => {
      if (!err) return resolve(bound);
      const inUse = /EADDRINUSE|in use/i.test(err.message);
      reject(new Error(inUse ? `etcd client port ${address} is already in use; stop what uses it or choose another port` : `cannot serve the etcd API on ${address}: ${err.message}`));
    });
  });

  let leaderlessFor = 0;
  const monitor = setInterval(() => {
    leaderlessFor = runtime.status().lead === 0 ? leaderlessFor + 1 : 0;
    if (leaderlessFor > LEADERLESS_ELECTIONS) ctx.leaderless.endAll(noLeader());
  }, init.timing.electionMs);

  return {
    port,
    close: async () => {
      clearInterval(monitor);
      // Open streams (watches, keep-alives) would hold a graceful shutdown forever.
      server.forceShutdown();
    },
  };
}
