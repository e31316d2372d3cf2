// One peer's etcd v3 gRPC API, and beside it on the same port etcd's plain-HTTP endpoints and JSON gateway, on
// 127.0.0.1:<clientPort>, served from the peer's own worker thread so that reads and watches touch the store
// directly. The services live in src/api/etcd/.
import { createServer as createHttpServer } from 'node:http';
import { Server, ServerCredentials } from '@grpc/grpc-js';
import { authService } from '../api/etcd/auth-service.ts';
import { clusterService } from '../api/etcd/cluster-service.ts';
import { electionService } from '../api/etcd/election-service.ts';
import { LeaderlessHub, type PeerBridge, type ServiceContext } from '../api/etcd/context.ts';
import { noLeader } from '../api/etcd/errors.ts';
import { HeaderSource } from '../api/etcd/header.ts';
import { kvService } from '../api/etcd/kv-service.ts';
import { healthService } from '../api/etcd/health-service.ts';
import { guardLeaderRequired } from '../api/etcd/leader-guard.ts';
import { guardLearner } from '../api/etcd/learner-guard.ts';
import { leaseService } from '../api/etcd/lease-service.ts';
import { lockService } from '../api/etcd/lock-service.ts';
import { maintenanceService } from '../api/etcd/maintenance-service.ts';
import { Gateway } from '../api/etcd/gateway.ts';
import { httpEndpoints } from '../api/etcd/http-endpoints.ts';
import { etcdServiceDefinitions } from '../api/etcd/proto.ts';
import { installUnaryFastPath } from '../api/etcd/unary-fast-path.ts';
import { watchService } from '../api/etcd/watch-service.ts';
import { listenClientPort, type ClientPort } from './client-port.ts';
import type { KvPeer } from './kv-peer.ts';
import type { PeerRuntime } from './peer-runtime.ts';
import type { PeerInit } from './protocol.ts';

export type { PeerBridge } from '../api/etcd/context.ts';

/** etcd accepts gRPC messages this much above its request size limit, so that its own error answers them. */
const GRPC_OVERHEAD_BYTES = 512 * 1024;
/** Streams that require a leader are ended after this many election timeouts without one (etcd's rule). */
const LEADERLESS_ELECTIONS = 3;
/** A connection that has not shown its protocol by then is closed. */
const ROUTE_MS = 10_000;
/** An HTTP/1 connection (health checks, the JSON gateway) idle this long is closed. */
const HTTP1_IDLE_MS = 30_000;

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
  const maxRequestBytes = kv.sm.config.maxRequestBytes + GRPC_OVERHEAD_BYTES;
  const server = new Server({ 'grpc.max_receive_message_length': maxRequestBytes, 'grpc.enable_channelz': 0 });
  const def = etcdServiceDefinitions();
  // etcd's unary interceptor refuses a learner's calls first, then calls that require a leader (leader-guard.ts).
  const services = guardLearner(
    guardLeaderRequired({
      KV: kvService(ctx),
      Watch: watchService(ctx),
      Lease: leaseService(ctx),
      Cluster: clusterService(ctx),
      Maintenance: maintenanceService(ctx),
      Auth: authService(ctx),
      Lock: lockService(ctx),
      Election: electionService(ctx),
      Health: healthService(),
    }, ctx.leader),
    () => runtime.isLearner(),
  );
  for (const [name, implementation] of Object.entries(services)) server.addService(def[name]!, implementation);

  // gRPC and etcd's plain-HTTP endpoints share the client port (client-port.ts tells them apart).
  const grpc = server.createConnectionInjector(ServerCredentials.createInsecure());
  // Unary calls skip grpc-js's per-call machinery (unary-fast-path.ts); RAFTLAB_GRPC_FAST_PATH=0 turns that off.
  if (process.env.RAFTLAB_GRPC_FAST_PATH !== '0') installUnaryFastPath(server, def, services, maxRequestBytes);
  // The JSON gateway's bodies are base64 inside JSON: a third larger than the messages they carry.
  const endpoints = httpEndpoints(ctx, new Gateway(def, services, Math.ceil(maxRequestBytes * 1.4)));
  const http = createHttpServer((req, res) => {
    // A request under way (a gateway watch may stream for hours) is not idle; the idle clock restarts after it.
    req.socket.setTimeout(0);
    res.once('close', () => req.socket.setTimeout(HTTP1_IDLE_MS));
    try {
      endpoints.handle(req, res);
    } catch (err) {
      // Whatever a request does, it must not take the peer's thread down with it.
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(`internal error: ${(err as Error).message}\n`);
    }
  });
  const address = `127.0.0.1:${init.clientPort}`;
  let clientPort: ClientPort;
  try {
    clientPort = await listenClientPort(
      '127.0.0.1',
      init.clientPort,
      { http2: (socket) => grpc.injectConnection(socket), http1: (socket) => http.emit('connection', socket) },
      { routeMs: ROUTE_MS, http1IdleMs: HTTP1_IDLE_MS },
    );
  } catch (err) {
    grpc.destroy();
    const e = err as NodeJS.ErrnoException;
    throw new Error(e.code === 'EADDRINUSE' ? `etcd client port ${address} is already in use; stop what uses it or choose another port` : `cannot serve the etcd API on ${address}: ${e.message}`);
  }

  let leaderlessFor = 0;
  const monitor = setInterval(() => {
    leaderlessFor = runtime.status().lead === 0 ? leaderlessFor + 1 : 0;
    if (leaderlessFor > LEADERLESS_ELECTIONS) ctx.leaderless.endAll(noLeader());
  }, init.timing.electionMs);

  return {
    port: clientPort.port,
    close: async () => {
      clearInterval(monitor);
      // Open streams (watches, keep-alives) would hold a graceful shutdown forever.
      grpc.destroy();
      server.forceShutdown();
      await clientPort.close();
    },
  };
}
