// Everything heavy the extension does, without `vscode`: starting the embedded cluster (manager, peer workers,
// the control API) and connecting the etcd3 client, to it or to an external etcd. Bundled on its own
// (dist/extension-runtime.js) and loaded by extension.ts only when a cluster starts or a connection opens,
// so activation stays fast. The tests drive it directly.
import { createServer } from 'node:net';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ClusterManager } from '../cluster/cluster-manager.ts';
import { ControlServer } from '../api/control-server.ts';
import { voterEndpoints, type ClusterStatus } from '../cluster/status.ts';
import { explainEtcdError } from '../keys/etcd-errors.ts';
import { Etcd3Source, parseEndpoints, type ConnectOptions } from '../keys/etcd3-source.ts';
import { kvAlarm } from '../cluster/kv-client.ts';
import { clusterManagerHost, type DashboardHost } from './dashboard-host.ts';

export { ClusterManager, Etcd3Source, parseEndpoints, clusterManagerHost, kvAlarm };
export type { ConnectOptions, DashboardHost };

export interface LocalClusterOptions {
  nodes: number;
  timing: 'etcd' | 'fast';
  clientPortBase: number;
  /** 0 picks a free port; undefined starts no control API. */
  controlPort?: number;
  /** undefined: in memory. */
  dataDir?: string;
  /** etcd's --quota-backend-bytes: 0 for etcd's 2 GiB, negative for none. */
  quotaBackendBytes?: number;
  /** The dashboard bundle folder the control API serves (dist/dashboard). */
  dashboardDir?: string;
  log?: (line: string) => void;
  /** After members were added or removed: the client now uses these endpoints. */
  onEndpointsChange?: (endpoints: string[]) => void;
}

export class PortInUseError extends Error {
  constructor(
    readonly port: number,
    readonly what: string,
  ) {
    super(`${what} port ${port} on 127.0.0.1 is already in use (another cluster or etcd?); stop what uses it or change the setting`);
    this.name = 'PortInUseError';
  }
}

export function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });
}

/**
 * The embedded cluster: its manager, the control API and one etcd3 client over the voters' endpoints. The
 * client follows membership changes (each status checks the member list), so keys keep working after the
 * original nodes are removed, for as long as the members have a quorum.
 */
export class LocalCluster {
  private constructor(
    readonly manager: ClusterManager,
    readonly control: ControlServer | undefined,
    readonly source: Etcd3Source,
  ) {}

  static async start(opts: LocalClusterOptions): Promise<LocalCluster> {
    const log = opts.log ?? (() => undefined);
    for (let i = 0; i < opts.nodes; i++) {
      if (!(await portFree(opts.clientPortBase + i))) throw new PortInUseError(opts.clientPortBase + i, 'client');
    }
    const manager = await ClusterManager.start({
      nodes: opts.nodes,
      timing: opts.timing,
      clientPortBase: opts.clientPortBase,
      ...(opts.dataDir ? { dataDir: opts.dataDir } : { memory: true }),
      ...(opts.quotaBackendBytes ? { quotaBackendBytes: opts.quotaBackendBytes } : {}),
    });
    let control: ControlServer | undefined;
    if (opts.controlPort !== undefined) {
      const dashboardDir = opts.dashboardDir && existsSync(join(opts.dashboardDir, 'index.html')) ? opts.dashboardDir : undefined;
      const start = (port: number) => ControlServer.start(manager, { port, ...(dashboardDir ? { dashboardDir } : {}) });
      try {
        control = await start(opts.controlPort);
      } catch (err) {
        log(`control API: ${(err as Error).message}; using a free port instead`);
        control = await start(0).catch(() => undefined);
      }
    }
    const source = new Etcd3Source({ endpoints: manager.endpoints() });
    manager.on('status', (status: ClusterStatus) => {
      const endpoints = voterEndpoints(status.peers);
      if (!source.setEndpoints(endpoints)) return;
      log(`members changed: the key client now uses ${endpoints.join(',')}`);
      opts.onEndpointsChange?.(endpoints);
    });
    return new LocalCluster(manager, control, source);
  }

  endpoints(): string[] {
    return this.manager.endpoints();
  }

  status(): ClusterStatus {
    return this.manager.status();
  }

  async stop(): Promise<void> {
    this.source.close();
    await this.control?.close().catch(() => undefined);
    await this.manager.stop();
  }
}

/** One member of an external etcd, as its Cluster view shows it. */
export interface ExternalMember {
  id: string;
  name: string;
  clientUrls: string[];
  isLearner: boolean;
  isLeader: boolean;
}

export interface ExternalStatus {
  members: ExternalMember[];
  leader: string;
  raftTerm: number;
  revision: number;
  version: string;
}

/** An external etcd reached through the etcd3 client. */
export class ExternalConnection {
  private constructor(
    readonly source: Etcd3Source,
    readonly endpointList: string[],
  ) {}

  /** Connects and checks the cluster answers (a status call), so a wrong endpoint fails here, clearly. */
  static async connect(opts: ConnectOptions): Promise<ExternalConnection> {
    const source = new Etcd3Source({ ...opts, endpoints: opts.endpoints.flatMap((e) => parseEndpoints(e)) });
    const conn = new ExternalConnection(source, opts.endpoints);
    try {
      await conn.status();
    } catch (err) {
      source.close();
      throw err;
    }
    return conn;
  }

  endpoints(): string[] {
    return this.endpointList.map((e) => e.replace(/^https?:\/\//, ''));
  }

  async status(): Promise<ExternalStatus> {
    const client = this.source.client;
    const [st, list] = await Promise.all([client.maintenance.status(), client.cluster.memberList({})]).catch((err: unknown) => {
      throw explainEtcdError(err);
    });
    const leader = String(st.leader ?? '0');
    return {
      leader,
      raftTerm: Number(st.raftTerm ?? 0),
      revision: Number(st.header?.revision ?? 0),
      version: String(st.version ?? ''),
      members: (list.members ?? []).map((m) => ({
        id: String(m.ID),
        name: m.name || String(m.ID),
        clientUrls: m.clientURLs ?? [],
        isLearner: !!(m as { isLearner?: boolean }).isLearner,
        isLeader: String(m.ID) === leader,
      })),
    };
  }

  async stop(): Promise<void> {
    this.source.close();
  }
}
