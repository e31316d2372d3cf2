// Shared helpers for the etcd API tests: free loopback ports, a Raft Lab cluster serving the etcd API, the
// real `etcdctl` and `etcd` binaries, and a raw gRPC client built from our own proto (so one client talks to
// both Raft Lab and real etcd in the differential test).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { ClusterManager } from '../../src/cluster/cluster-manager.ts';
import type { Timing } from '../../src/node/protocol.ts';
import { etcdPackageDefinition } from '../../src/api/etcd/proto.ts';
import { freePortRange } from '../../scripts/free-port.ts';

export { freePortRange };

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));


/**
 * Fast failovers, yet an election timeout long enough that a loaded CI machine does not delay heartbeats past
 * it (the 'fast' preset's 100 ms makes leaders flap under load, and clients then see `no leader`).
 */
export const STEADY: Timing = { heartbeatMs: 50, electionMs: 500 };

export interface TestCluster {
  manager: ClusterManager;
  endpoints: string[];
  stop(): Promise<void>;
}

export async function startCluster(
  options: { nodes?: number; timing?: 'fast' | 'etcd' | Timing; dataDir?: boolean; snapshotCount?: number; quotaBackendBytes?: number } = {},
): Promise<TestCluster> {
  // Two spare ports for members added later (MemberAdd).
  const clientPortBase = await freePortRange((options.nodes ?? 3) + 2);
  const dir = options.dataDir ? await mkdtemp(join(tmpdir(), 'raftlab-api-')) : undefined;
  const manager = await ClusterManager.start({
    nodes: options.nodes ?? 3,
    ...(dir ? { dataDir: dir } : { memory: true }),
    timing: options.timing ?? STEADY,
    clientPortBase,
    ...(options.snapshotCount ? { snapshotCount: options.snapshotCount } : {}),
    ...(options.quotaBackendBytes ? { quotaBackendBytes: options.quotaBackendBytes } : {}),
  });
  await manager.waitForLeader();
  return {
    manager,
    endpoints: manager.endpoints(),
    stop: async () => {
      await manager.stop();
      if (dir) await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Whether an outside program is installed. Outside CI a missing one skips its tests (with the reason printed), so
 * that a developer without Debian's etcd packages can still run the rest; in CI (`CI` set) .ci/run installs it,
 * so its absence is an error, not a skip: a green CI run has really run these tests.
 */
export function hasBinary(name: string): boolean {
  const found = spawnSync('sh', ['-c', `command -v ${name}`]).status === 0;
  if (!found && process.env.CI) throw new Error(`${name} is not installed, but CI must have it (.ci/run installs it)`);
  return found;
}

export interface CtlResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs etcdctl (API v3) with the given endpoints; resolves with its output, never rejects. */
export function etcdctl(endpoints: string[], args: string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<CtlResult> {
  return new Promise((resolve) => {
    const child = spawn('etcdctl', [`--endpoints=${endpoints.join(',')}`, '--dial-timeout=3s', '--command-timeout=10s', ...args], {
      env: { ...process.env, ETCDCTL_API: '3' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 20_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.on('error', () => undefined); // etcdctl may exit before reading its input (EPIPE)
    child.stdin.end(opts.input ?? '');
  });
}

/** A long-running etcdctl (watch, keep-alive); `stop()` ends it with SIGINT and returns its output. */
export function etcdctlBackground(endpoints: string[], args: string[]): { output: () => string; stop: () => Promise<CtlResult> } {
  const child = spawn('etcdctl', [`--endpoints=${endpoints.join(',')}`, ...args], { env: { ...process.env, ETCDCTL_API: '3' } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const closed = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
  return {
    output: () => stdout,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGINT');
      const code = await Promise.race([closed, sleep(3000).then(() => (child.kill('SIGKILL'), null))]);
      return { code, stdout, stderr };
    },
  };
}

/** Polls until `check` returns true (or throws with `what` after timeoutMs). */
export async function eventually(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

// ---------------------------------------------------------------- a real etcd cluster

export interface RealEtcd {
  endpoints: string[];
  stop(): Promise<void>;
}

/** Starts a real 3-member etcd on loopback in a temp folder; resolves once it answers a linearizable read. */
export async function startRealEtcd(members = 3): Promise<RealEtcd> {
  const base = await freePortRange(members * 2);
  const dir = await mkdtemp(join(tmpdir(), 'raftlab-etcd-'));
  const names = Array.from({ length: members }, (_, i) => `e${i + 1}`);
  const peer = (i: number) => `http://127.0.0.1:${base + members + i}`;
  const client = (i: number) => `http://127.0.0.1:${base + i}`;
  const initialCluster = names.map((n, i) => `${n}=${peer(i)}`).join(',');
  const children: ChildProcess[] = names.map((name, i) =>
    spawn(
      'etcd',
      [
        `--name=${name}`,
        `--data-dir=${join(dir, name)}`,
        `--listen-client-urls=${client(i)}`,
        `--advertise-client-urls=${client(i)}`,
        `--listen-peer-urls=${peer(i)}`,
        `--initial-advertise-peer-urls=${peer(i)}`,
        `--initial-cluster=${initialCluster}`,
        '--initial-cluster-token=raftlab-differential',
        '--initial-cluster-state=new',
        '--log-level=error',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    ),
  );
  const stop = async () => {
    await Promise.all(
      children.map(
        (c) =>
          new Promise<void>((resolve) => {
            if (c.exitCode !== null || c.signalCode !== null) return resolve();
            c.once('exit', () => resolve());
            c.kill('SIGKILL');
          }),
      ),
    );
    await rm(dir, { recursive: true, force: true });
  };
  const endpoints = names.map((_, i) => `127.0.0.1:${base + i}`);
  try {
    await eventually('real etcd to serve', async () => (await etcdctl(endpoints, ['endpoint', 'health'], { timeoutMs: 5000 })).code === 0, 30_000);
  } catch (err) {
    await stop();
    throw err;
  }
  return { endpoints, stop };
}

// ---------------------------------------------------------------- a raw gRPC client from our proto

type Wire = Record<string, unknown>;
type Unary = (request: Wire, metadata?: grpc.Metadata) => Promise<Wire>;

export interface RawClient {
  kv: { Range: Unary; Put: Unary; DeleteRange: Unary; Txn: Unary; Compact: Unary };
  lease: { LeaseGrant: Unary; LeaseRevoke: Unary; LeaseTimeToLive: Unary; LeaseLeases: Unary };
  maintenance: { Status: Unary; MoveLeader: Unary; Alarm: Unary; HashKV: Unary };
  cluster: { MemberList: Unary };
  watch(metadata?: grpc.Metadata): grpc.ClientDuplexStream<Wire, Wire>;
  keepAlive(): grpc.ClientDuplexStream<Wire, Wire>;
  /** Sends raw bytes to a method, for malformed-request tests. */
  rawUnary(path: string, body: Buffer): Promise<Buffer>;
  close(): void;
}

export function rawClient(endpoint: string): RawClient {
  const pkg = grpc.loadPackageDefinition(etcdPackageDefinition()) as unknown as { etcdserverpb: Record<string, grpc.ServiceClientConstructor> };
  const make = (name: string) => new pkg.etcdserverpb[name]!(endpoint, grpc.credentials.createInsecure()) as unknown as grpc.Client & Record<string, Function>;
  const clients = { kv: make('KV'), lease: make('Lease'), maintenance: make('Maintenance'), cluster: make('Cluster'), watch: make('Watch') };
  const unary = (client: grpc.Client & Record<string, Function>, method: string): Unary => (request, metadata) =>
    new Promise((resolve, reject) => {
      const deadline = Date.now() + 15_000;
      client[method]!.call(client, request, metadata ?? new grpc.Metadata(), { deadline }, (err: grpc.ServiceError | null, res: Wire) => (err ? reject(err) : resolve(res)));
    });
  const methods = <K extends string>(client: grpc.Client & Record<string, Function>, names: K[]) =>
    Object.fromEntries(names.map((n) => [n, unary(client, n)])) as Record<K, Unary>;
  return {
    kv: methods(clients.kv, ['Range', 'Put', 'DeleteRange', 'Txn', 'Compact']),
    lease: methods(clients.lease, ['LeaseGrant', 'LeaseRevoke', 'LeaseTimeToLive', 'LeaseLeases']),
    maintenance: methods(clients.maintenance, ['Status', 'MoveLeader', 'Alarm', 'HashKV']),
    cluster: methods(clients.cluster, ['MemberList']),
    watch: (metadata) => clients.watch.Watch!.call(clients.watch, metadata ?? new grpc.Metadata()) as grpc.ClientDuplexStream<Wire, Wire>,
    keepAlive: () => clients.lease.LeaseKeepAlive!.call(clients.lease) as grpc.ClientDuplexStream<Wire, Wire>,
    rawUnary: (path, body) =>
      new Promise((resolve, reject) => {
        clients.kv.makeUnaryRequest(path, (b: Buffer) => b, (b: Buffer) => b, body, (err, res) => (err ? reject(err) : resolve(res!)));
      }),
    close: () => Object.values(clients).forEach((c) => c.close()),
  };
}
