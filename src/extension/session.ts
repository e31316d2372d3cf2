// The one cluster the window is connected to: none, the embedded local cluster, or an external etcd. Loads the
// heavy runtime (dist/extension-runtime.js: manager, workers, control API, etcd3) on first use, keeps a watch
// on the keyspace for the Keys view and the open value files, and tells the rest of the extension what changed.
import * as vscode from 'vscode';
import { join } from 'node:path';
import type { ClusterEvent, ClusterStatus } from '../cluster/status.ts';
import { connectionAuthority } from '../keys/connection-authority.ts';
import type { KvSource, WatchEvent, WatchHandle } from '../keys/kv-source.ts';
import { ValueFiles } from '../keys/value-files.ts';
import type * as Runtime from './runtime.ts';

export type Mode = 'none' | 'starting' | 'local' | 'external' | 'stopping';

let runtime: typeof Runtime | undefined;

/** The runtime bundle beside this one (dist/), or the TypeScript source when running unbundled. */
export function loadRuntime(): typeof Runtime {
  if (!runtime) {
    const started = Date.now();
    const file = __filename.endsWith('.ts') ? join(__dirname, 'runtime.ts') : join(__dirname, 'extension-runtime.js');
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    runtime = require(file) as typeof Runtime;
    log?.(`runtime loaded in ${Date.now() - started} ms`);
  }
  return runtime;
}

let log: ((line: string) => void) | undefined;

export interface LocalStartOptions extends Omit<Runtime.LocalClusterOptions, 'log'> {}

export class Session implements vscode.Disposable {
  mode: Mode = 'none';
  local: Runtime.LocalCluster | undefined;
  external: Runtime.ExternalConnection | undefined;
  /** Why the last cluster stopped, when it failed. */
  lastError: string | undefined;
  files: ValueFiles | undefined;
  /** The files of the last connection, by its authority: a reconnection to the same cluster keeps their bases. */
  private lastFiles: { authority: string; files: ValueFiles } | undefined;
  private watch: WatchHandle | undefined;
  private readonly disposables: vscode.Disposable[] = [];
  private readonly changed = new vscode.EventEmitter<void>();
  private readonly statusChanged = new vscode.EventEmitter<ClusterStatus>();
  private readonly keysChanged = new vscode.EventEmitter<WatchEvent[]>();
  private readonly clusterEvent = new vscode.EventEmitter<ClusterEvent>();
  /** The mode or the connection changed. */
  readonly onDidChange = this.changed.event;
  /** The local cluster's status (at most ten a second). */
  readonly onDidChangeStatus = this.statusChanged.event;
  readonly onDidChangeKeys = this.keysChanged.event;
  readonly onClusterEvent = this.clusterEvent.event;

  constructor(readonly output: vscode.LogOutputChannel) {
    log = (line) => output.info(line);
    this.disposables.push(this.changed, this.statusChanged, this.keysChanged, this.clusterEvent);
  }

  get source(): KvSource | undefined {
    return this.local?.source ?? this.external?.source;
  }

  get running(): boolean {
    return this.mode === 'local' || this.mode === 'external';
  }

  endpoints(): string[] {
    return this.local?.endpoints() ?? this.external?.endpoints() ?? [];
  }

  /** The authority of the value files this connection opens (keys/connection-authority.ts); none while stopped. */
  authority(): string | undefined {
    if (this.mode === 'local' && this.local) return connectionAuthority({ local: true });
    if (this.mode === 'external' && this.external) return connectionAuthority({ endpoints: this.external.endpoints() });
    return undefined;
  }

  status(): ClusterStatus | undefined {
    return this.local?.status();
  }

  /** The local cluster's manager; throws a message for the user when there is none. */
  manager(): Runtime.ClusterManager {
    if (this.local) return this.local.manager;
    throw new Error(this.mode === 'external' ? 'fault actions are for the local cluster; this window is connected to an external etcd' : 'no local cluster is running; start one with "Raft Lab: Start Local Cluster"');
  }

  /** etcd's alarms on the local cluster as a fault (kv-client.ts: kvAlarm). */
  alarm(action: 'raise' | 'disarm'): ReturnType<typeof Runtime.kvAlarm> {
    const manager = this.manager(); // first: without a local cluster, its message, and no runtime loaded
    return loadRuntime().kvAlarm(manager, action);
  }

  dashboardHost(): Runtime.DashboardHost | undefined {
    return this.local ? loadRuntime().clusterManagerHost(this.local.manager) : undefined;
  }

  async startLocal(opts: LocalStartOptions): Promise<void> {
    if (this.mode !== 'none') throw new Error(this.mode === 'starting' ? 'a cluster is already starting' : 'stop or disconnect the current cluster first');
    this.setMode('starting');
    try {
      const rt = loadRuntime();
      // New endpoints: terminals' ETCDCTL_ENDPOINTS and the Keys view follow (they listen to onDidChange).
      const cluster = await rt.LocalCluster.start({ ...opts, log: (l) => this.output.info(l), onEndpointsChange: () => this.changed.fire() });
      this.local = cluster;
      this.lastError = undefined;
      cluster.manager.on('status', (s: ClusterStatus) => this.statusChanged.fire(s));
      cluster.manager.on('event', (e: ClusterEvent) => {
        this.output.info(`[${e.type}] ${e.message}`);
        this.clusterEvent.fire(e);
      });
      this.output.info(`local cluster ${cluster.manager.clusterId} started: ${opts.nodes} nodes, endpoints ${cluster.endpoints().join(',')}, data ${opts.dataDir ?? 'in memory'}`);
      if (cluster.control) this.output.info(`control API ${cluster.control.url}${opts.dashboardDir ? `, dashboard ${cluster.control.dashboardUrl}` : ''}`);
      this.files = this.filesFor(connectionAuthority({ local: true }), cluster.source);
      // Views read keys at once: let the first election finish first (a fresh cluster needs about one
      // election timeout). Without a leader in time the cluster still counts as started; views retry.
      await cluster.manager.waitForLeader(Math.max(5000, cluster.manager.timing.electionMs * 10)).catch(() => undefined);
      this.setMode('local');
      await this.startWatch();
    } catch (err) {
      this.lastError = (err as Error).message;
      this.output.error(`start failed: ${this.lastError}`);
      this.local = undefined;
      this.setMode('none');
      throw err;
    }
  }

  /**
   * Connects the window to an external etcd. With `replace`, a running cluster (or connection) is stopped, but
   * only once the new connection works: a mistyped endpoint must not cost the lab that runs now.
   */
  async connectExternal(opts: Runtime.ConnectOptions, replace = false): Promise<void> {
    if (replace && (this.mode === 'local' || this.mode === 'external')) {
      const conn = await loadRuntime().ExternalConnection.connect(opts);
      try {
        await this.stop();
      } catch (err) {
        void conn.stop();
        throw err;
      }
      if ((this.mode as Mode) !== 'none') {
        void conn.stop();
        throw new Error('another cluster was started meanwhile');
      }
      return this.adopt(Promise.resolve(conn));
    }
    if (this.mode !== 'none') throw new Error('stop or disconnect the current cluster first');
    return this.adopt(loadRuntime().ExternalConnection.connect(opts));
  }

  private async adopt(connecting: Promise<Runtime.ExternalConnection>): Promise<void> {
    this.setMode('starting');
    try {
      const conn = await connecting;
      this.external = conn;
      this.files = this.filesFor(connectionAuthority({ endpoints: conn.endpoints() }), conn.source);
      this.lastError = undefined;
      this.output.info(`connected to etcd at ${conn.endpoints().join(',')}`);
      this.setMode('external');
      await this.startWatch();
    } catch (err) {
      this.lastError = (err as Error).message;
      this.output.error(`connect failed: ${this.lastError}`);
      this.setMode('none');
      throw err;
    }
  }

  /** Stops the local cluster cleanly (peers close their folders) or drops the external connection. */
  async stop(): Promise<void> {
    if (this.mode !== 'local' && this.mode !== 'external') return;
    const authority = this.authority(); // (none once stopping)
    this.setMode('stopping');
    const watch = this.watch;
    this.watch = undefined;
    await watch?.close().catch(() => undefined);
    try {
      if (this.local) await this.local.stop();
      if (this.external) await this.external.stop();
      this.output.info(this.local ? 'local cluster stopped' : 'disconnected');
    } finally {
      if (authority && this.files) this.lastFiles = { authority, files: this.files };
      this.local = undefined;
      this.external = undefined;
      this.files = undefined;
      this.setMode('none');
    }
  }

  private filesFor(authority: string, source: KvSource): ValueFiles {
    const last = this.lastFiles;
    return last?.authority === authority ? last.files.reconnected(source) : new ValueFiles(source);
  }

  private async startWatch(): Promise<void> {
    const source = this.source;
    if (!source) return;
    try {
      this.watch = await source.watch(
        new Uint8Array([0]),
        new Uint8Array([0]),
        (events) => this.keysChanged.fire(events),
        (err) => this.output.warn(`keys watch: ${err.message}`),
      );
    } catch (err) {
      this.output.warn(`keys watch could not start (the Keys view will not update by itself): ${(err as Error).message}`);
    }
  }

  private setMode(mode: Mode): void {
    this.mode = mode;
    void vscode.commands.executeCommand('setContext', 'raftlab.mode', mode);
    void vscode.commands.executeCommand('setContext', 'raftlab.running', mode === 'local' || mode === 'external');
    this.changed.fire();
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
  }
}
