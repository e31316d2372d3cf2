// The benchmark's workloads: closed-loop clients (each sends its next request when the last one answered),
// run for a fixed time at a given concurrency; throughput and latency percentiles.
import { randomBytes } from 'node:crypto';
import type { EtcdClient } from './etcd-client.ts';

export const WORKLOADS = ['put-distinct', 'put-hot', 'get-linearizable', 'get-serializable', 'txn-cas'] as const;
export type Workload = (typeof WORKLOADS)[number];

export interface WorkloadResult {
  workload: Workload;
  concurrency: number;
  ops: number;
  errors: number;
  opsPerSec: number;
  p50: number;
  p99: number;
  max: number;
  /** CPU time per operation of the system under test and of this load generator, in microseconds. */
  serverCpuMicrosPerOp: number;
  clientCpuMicrosPerOp: number;
}

export interface RunOptions {
  /** Called every 250 ms while the load runs (memory samples). */
  onSample?: () => void;
  /** CPU time the system under test has used so far, in microseconds. */
  serverCpuMicros: () => number;
}

const VALUE = randomBytes(256);
const HOT_KEYS = 8;
const READ_KEYS = 1000;

export async function prepare(client: EtcdClient): Promise<void> {
  for (let i = 0; i < READ_KEYS; i += 50) {
    await Promise.all(Array.from({ length: 50 }, (_, j) => client.put(Buffer.from(`bench/read/${i + j}`), VALUE)));
  }
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

export async function runWorkload(
  client: EtcdClient,
  workload: Workload,
  concurrency: number,
  durationMs: number,
  { onSample, serverCpuMicros }: RunOptions,
): Promise<WorkloadResult> {
  const latencies: number[] = [];
  let errors = 0;
  const run = `${Date.now().toString(36)}`;
  const deadline = performance.now() + durationMs;
  const sampler = onSample ? setInterval(onSample, 250) : undefined;
  const worker = async (w: number) => {
    let seq = 0;
    let casValue = Buffer.from('');
    const casKey = Buffer.from(`bench/cas/${run}/${w}`);
    if (workload === 'txn-cas') {
      casValue = Buffer.from('0');
      await client.put(casKey, casValue);
    }
    while (performance.now() < deadline) {
      const started = performance.now();
      try {
        switch (workload) {
          case 'put-distinct':
            await client.put(Buffer.from(`bench/d/${run}/${w}/${seq++}`), VALUE);
            break;
          case 'put-hot':
            await client.put(Buffer.from(`bench/hot/${seq++ % HOT_KEYS}`), VALUE);
            break;
          case 'get-linearizable':
          case 'get-serializable':
            await client.get(Buffer.from(`bench/read/${(w * 7919 + seq++) % READ_KEYS}`), workload === 'get-serializable');
            break;
          case 'txn-cas': {
            const next = Buffer.from(String(++seq));
            if (!(await client.cas(casKey, casValue, next))) throw new Error('compare-and-swap failed');
            casValue = next;
            break;
          }
        }
        latencies.push(performance.now() - started);
      } catch {
        errors++;
      }
    }
  };
  const server0 = serverCpuMicros();
  const client0 = process.cpuUsage();
  await Promise.all(Array.from({ length: concurrency }, (_, w) => worker(w)));
  const serverCpu = serverCpuMicros() - server0;
  const clientCpu = process.cpuUsage(client0);
  if (sampler) clearInterval(sampler);
  latencies.sort((a, b) => a - b);
  const round = (n: number) => Math.round(n * 10) / 10;
  return {
    workload,
    concurrency,
    ops: latencies.length,
    errors,
    opsPerSec: Math.round((latencies.length * 1000) / durationMs),
    p50: round(percentile(latencies, 50)),
    p99: round(percentile(latencies, 99)),
    max: round(latencies[latencies.length - 1] ?? 0),
    serverCpuMicrosPerOp: Math.round(serverCpu / Math.max(1, latencies.length)),
    clientCpuMicrosPerOp: Math.round((clientCpu.user + clientCpu.system) / Math.max(1, latencies.length)),
  };
}
