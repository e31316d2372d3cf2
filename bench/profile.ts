// `npm run bench:profile [-- --workload put-distinct --concurrency 64 --seconds 5 --cpu-prof --snapshot-count N --memory-entries N]`: one workload
// against a fresh Raft Lab only, reporting throughput and the CPU time spent per operation by the cluster's
// process and by this load generator, measured from /proc. With --cpu-prof the cluster writes a V8 profile
// per thread into bench/profiles/ (open them in Chrome DevTools or VS Code).
import { join } from 'node:path';
import { startRaftLab } from './systems.ts';
import { prepare, runWorkload, WORKLOADS, type Workload } from './workloads.ts';

const ROOT = join(__dirname, '..');

function option(name: string, fallback: string): string {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 && process.argv[at + 1] ? process.argv[at + 1]! : fallback;
}

/** Each peer's V8 heap (used / total) and memory held outside it, from its /metrics, in MB. */
async function peerMemory(endpoints: string[]): Promise<string> {
  const mb = (text: string, name: string) => Math.round(Number(new RegExp(`^${name} (\\d+)`, 'm').exec(text)?.[1] ?? NaN) / 2 ** 20);
  const parts = await Promise.all(
    endpoints.map(async (endpoint, i) => {
      const text = await (await fetch(`http://${endpoint}/metrics`)).text();
      return `n${i + 1} heap ${mb(text, 'nodejs_heap_size_used_bytes')}/${mb(text, 'nodejs_heap_size_total_bytes')} external ${mb(text, 'nodejs_external_memory_bytes')}`;
    }),
  );
  return `${parts.join(', ')} (MB)`;
}

async function main(): Promise<void> {
  const workload = option('workload', 'put-distinct') as Workload;
  if (!WORKLOADS.includes(workload)) throw new Error(`--workload must be one of ${WORKLOADS.join(', ')}`);
  const concurrencies = option('concurrency', '64').split(',').map(Number);
  const seconds = Number(option('seconds', '5'));
  const profile = process.argv.includes('--cpu-prof');

  const flags = profile ? ['--cpu-prof', '--cpu-prof-dir', join(ROOT, 'bench', 'profiles')] : process.argv.includes('--heap-prof') ? ['--heap-prof', '--heap-prof-dir', join(ROOT, 'bench', 'profiles')] : [];
  // --node-flags "--a --b": extra Node/V8 flags for the cluster's process, to try settings without a rebuild.
  const extra = option('node-flags', '').split(' ').filter(Boolean);
  flags.push(...extra);
  // --snapshot-count N, --memory-entries N: raftlab up's flags of the same names.
  const upFlags = ['snapshot-count', 'memory-entries'].flatMap((name) => (option(name, '') ? [`--${name}`, option(name, '')] : []));
  const system = await startRaftLab(join(ROOT, 'dist', 'cli.js'), 'etcd', flags, upFlags);
  const { client } = system;
  try {
    console.log(`first put after ${Math.round(system.startupMs)} ms`);
    await prepare(client);
    for (const concurrency of concurrencies) {
      let rss = 0;
      const r = await runWorkload(client, workload, concurrency, seconds * 1000, { onSample: () => (rss = Math.max(rss, system.rss())), serverCpuMicros: system.cpuMicros });
      console.log(
        `${workload} c=${concurrency}: ${r.opsPerSec} ops/s  p50 ${r.p50} ms  p99 ${r.p99} ms  errors ${r.errors}  ` +
          `cluster CPU ${r.serverCpuMicrosPerOp} µs/op  client CPU ${r.clientCpuMicrosPerOp} µs/op  RSS ${Math.round(rss / 2 ** 20)} MB`,
      );
      console.log(`  after it: ${await peerMemory(system.endpoints)}`);
    }
  } finally {
    await system.stop();
  }
  if (profile) console.log(`profiles in ${join(ROOT, 'bench', 'profiles')}`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
