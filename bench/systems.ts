// Starting, breaking and stopping the two systems under test: a 3-peer Raft Lab (`raftlab up`, on disk,
// etcd timing) and a 3-member etcd, both on loopback, each fresh in a temporary folder.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { freePort, freePortRange } from '../scripts/free-port.ts';
import { EtcdClient } from './etcd-client.ts';

export interface System {
  name: 'raftlab' | 'etcd';
  version: string;
  endpoints: string[];
  client: EtcdClient;
  /** Milliseconds from launch to the first successful put. */
  startupMs: number;
  /** Resident memory of everything the system runs, in bytes. */
  rss(): number;
  /** CPU time (user + system) everything the system runs has used so far, in microseconds. */
  cpuMicros(): number;
  /** Kills the leader as a crash would; returns its endpoint index. */
  killLeader(): Promise<number>;
  restartMember(index: number): Promise<void>;
  stop(): Promise<void>;
}
export function rssOf(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** CPU time a process has used so far, in microseconds (Linux counts it in 10 ms clock ticks). */
export function cpuMicrosOf(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10_000;
  } catch {
    return 0;
  }
}

/** Retries a put until one succeeds; returns when it did. */
export async function firstPut(client: EtcdClient, timeoutMs: number, endpoints?: number[]): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let i = 0;
  for (;;) {
    try {
      const endpoint = endpoints ? endpoints[i++ % endpoints.length] : undefined;
      await client.put(Buffer.from('bench/probe'), Buffer.from('x'), endpoint, 300);
      return;
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`no successful put within ${timeoutMs} ms: ${(err as Error).message}`);
      await new Promise((r) => setTimeout(r, 5));
    }
  }
}

/** Waits until every endpoint answers (the first put may succeed while one member is still starting). */
export async function allEndpointsUp(client: EtcdClient, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let i = 0; i < client.endpoints.length; i++) {
    for (;;) {
      try {
        await client.status(i, 300);
        break;
      } catch (err) {
        if (Date.now() > deadline) throw new Error(`endpoint ${client.endpoints[i]} did not answer: ${(err as Error).message}`);
        await new Promise((r) => setTimeout(r, 10));
      }
    }
  }
}

async function leaderIndex(client: EtcdClient, n: number, skip = -1): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    for (let i = 0; i < n; i++) {
      if (i === skip) continue;
      try {
        const s = await client.status(i);
        if (s.leader !== '0' && s.leader === s.header.memberId) return i;
      } catch {
        // down or not ready
      }
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error('no leader found');
}

// ------------------------------------------------------------------ Raft Lab

/** `nodeFlags` go to the cluster's Node process (e.g. --cpu-prof), for bench:profile. */
export async function startRaftLab(cli: string, timing: 'etcd' | 'fast' = 'etcd', nodeFlags: string[] = [], upArgs: string[] = []): Promise<System & { pid: number }> {
  const dir = await mkdtemp(join(tmpdir(), 'raftlab-bench-'));
  const port = await freePortRange(3);
  const controlPort = await freePort();
  const endpoints = [0, 1, 2].map((i) => `127.0.0.1:${port + i}`);
  const started = performance.now();
  const child = spawn(process.execPath, [...nodeFlags, cli, 'up', '--data-dir', dir, '--port', String(port), '--control-port', String(controlPort), '--timing', timing, ...upArgs], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const client = new EtcdClient(endpoints);
  await firstPut(client, 20_000);
  const startupMs = performance.now() - started;
  await allEndpointsUp(client);
  const ws = new WebSocket(`ws://127.0.0.1:${controlPort}`);
  await new Promise((resolve, reject) => (ws.once('open', resolve), ws.once('error', reject)));
  let nextId = 1;
  const control = (op: string, args: object = {}) =>
    new Promise<any>((resolve, reject) => {
      const id = nextId++;
      const onMessage = (data: WebSocket.RawData) => {
        const m = JSON.parse(data.toString());
        if (m.id !== id) return;
        ws.off('message', onMessage);
        if (m.ok) resolve(m.result);
        else reject(new Error(m.error.message));
      };
      ws.on('message', onMessage);
      ws.send(JSON.stringify({ v: 1, id, op, ...args }));
    });
  const version = spawnSync(process.execPath, ['-e', 'console.log(require("./package.json").version)'], { encoding: 'utf8' }).stdout.trim();
  return {
    name: 'raftlab',
    version: `raftlab ${version} (Node ${process.versions.node})`,
    endpoints,
    client,
    startupMs,
    pid: child.pid!,
    rss: () => rssOf(child.pid!),
    cpuMicros: () => cpuMicrosOf(child.pid!),
    async killLeader() {
      const index = await leaderIndex(client, 3);
      await control('kill', { peer: `n${index + 1}` });
      return index;
    },
    async restartMember(index) {
      await control('restart', { peer: `n${index + 1}` });
    },
    async stop() {
      ws.close();
      client.close();
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
      await rm(dir, { recursive: true, force: true });
    },
  };
}

// ------------------------------------------------------------------ etcd

export function etcdVersion(): string | undefined {
  const r = spawnSync('etcd', ['--version'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) return undefined;
  return /etcd Version: (\S+)/.exec(r.stdout)?.[1] ?? r.stdout.split('\n')[0];
}

export async function startEtcd(): Promise<System> {
  const dir = await mkdtemp(join(tmpdir(), 'etcd-bench-'));
  const clientPorts = [await freePort(), await freePort(), await freePort()];
  const peerPorts = [await freePort(), await freePort(), await freePort()];
  const initialCluster = peerPorts.map((p, i) => `e${i + 1}=http://127.0.0.1:${p}`).join(',');
  const args = (i: number) => [
    '--name', `e${i + 1}`,
    '--data-dir', join(dir, `e${i + 1}`),
    '--listen-client-urls', `http://127.0.0.1:${clientPorts[i]}`,
    '--advertise-client-urls', `http://127.0.0.1:${clientPorts[i]}`,
    '--listen-peer-urls', `http://127.0.0.1:${peerPorts[i]}`,
    '--initial-advertise-peer-urls', `http://127.0.0.1:${peerPorts[i]}`,
    '--initial-cluster', initialCluster,
    '--initial-cluster-state', 'new',
    '--initial-cluster-token', 'raftlab-bench',
    '--logger', 'zap',
    '--log-level', 'error',
  ];
  const endpoints = clientPorts.map((p) => `127.0.0.1:${p}`);
  const started = performance.now();
  const procs: (ChildProcess | undefined)[] = [0, 1, 2].map((i) => spawn('etcd', args(i), { stdio: 'ignore' }));
  const client = new EtcdClient(endpoints);
  await firstPut(client, 20_000);
  const startupMs = performance.now() - started;
  await allEndpointsUp(client);
  return {
    name: 'etcd',
    version: `etcd ${etcdVersion()}`,
    endpoints,
    client,
    startupMs,
    rss: () => procs.reduce((sum, p) => sum + (p?.pid ? rssOf(p.pid) : 0), 0),
    cpuMicros: () => procs.reduce((sum, p) => sum + (p?.pid ? cpuMicrosOf(p.pid) : 0), 0),
    async killLeader() {
      const index = await leaderIndex(client, 3);
      const p = procs[index]!;
      const exited = new Promise((r) => p.once('exit', r));
      p.kill('SIGKILL');
      await exited;
      procs[index] = undefined;
      return index;
    },
    async restartMember(index) {
      procs[index] = spawn('etcd', args(index), { stdio: 'ignore' });
      await leaderIndex(client, 3);
    },
    async stop() {
      client.close();
      await Promise.all(
        procs.map((p) => {
          if (!p || p.exitCode !== null) return undefined;
          const exited = new Promise((r) => p.once('exit', r));
          p.kill('SIGTERM');
          return exited;
        }),
      );
      await rm(dir, { recursive: true, force: true });
    },
  };
}
