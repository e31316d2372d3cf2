// `npm run bench [-- --quick]`: Raft Lab against a real etcd on the same machine, in the same run, with the
// same client. Prints a table, writes bench/results/<date>.json and refreshes the table in docs/performance.md.
import { execSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { etcdVersion, firstPut, startEtcd, startRaftLab, type System } from './systems.ts';
import { prepare, runWorkload, WORKLOADS, type WorkloadResult } from './workloads.ts';

const ROOT = join(__dirname, '..');
const quick = process.argv.includes('--quick');
const CONCURRENCY = quick ? [16, 64] : [1, 16, 64, 256];
const DURATION_MS = quick ? 1000 : 5000;
const FAILOVER_REPS = quick ? 2 : 5;

interface SystemResults {
  version: string;
  startupMs: number;
  failoverMs: number[];
  failoverMedianMs: number;
  rssUnderLoadBytes: number;
  workloads: WorkloadResult[];
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

async function failover(system: System): Promise<number> {
  const killed = await system.killLeader();
  const started = performance.now();
  const others = [0, 1, 2].filter((i) => i !== killed);
  await firstPut(system.client, 30_000, others);
  const ms = performance.now() - started;
  await system.restartMember(killed);
  return ms;
}

async function main(): Promise<void> {
  const cli = join(ROOT, 'dist', 'cli.js');
  if (!existsSync(cli)) throw new Error('dist/cli.js is missing: run `npm run build` first (npm run bench does)');
  const hasEtcd = etcdVersion() !== undefined;
  if (!hasEtcd) console.log('etcd is not installed (apt-get install etcd-server): measuring Raft Lab alone');

  const systems: System[] = [await startRaftLab(cli)];
  if (hasEtcd) systems.push(await startEtcd());
  const results: Record<string, SystemResults> = {};
  try {
    for (const s of systems) {
      await prepare(s.client);
      results[s.name] = { version: s.version, startupMs: Math.round(s.startupMs), failoverMs: [], failoverMedianMs: 0, rssUnderLoadBytes: 0, workloads: [] };
    }
    for (const workload of WORKLOADS) {
      for (const concurrency of CONCURRENCY) {
        for (const s of systems) {
          const r = results[s.name]!;
          const sample = workload === 'put-distinct' && concurrency === 64 ? () => (r.rssUnderLoadBytes = Math.max(r.rssUnderLoadBytes, s.rss())) : undefined;
          const result = await runWorkload(s.client, workload, concurrency, DURATION_MS, { onSample: sample, serverCpuMicros: s.cpuMicros });
          r.workloads.push(result);
          console.log(`${s.name.padEnd(8)} ${workload.padEnd(17)} c=${String(concurrency).padEnd(3)} ${String(result.opsPerSec).padStart(6)} ops/s  p50 ${result.p50} ms  p99 ${result.p99} ms  errors ${result.errors}  CPU ${result.serverCpuMicrosPerOp} µs/op (client ${result.clientCpuMicrosPerOp})`);
        }
      }
    }
    for (let rep = 0; rep < FAILOVER_REPS; rep++) {
      for (const s of systems) {
        const ms = await failover(s);
        results[s.name]!.failoverMs.push(Math.round(ms));
        console.log(`${s.name.padEnd(8)} failover ${Math.round(ms)} ms`);
      }
    }
    for (const s of systems) results[s.name]!.failoverMedianMs = median(results[s.name]!.failoverMs);
  } finally {
    for (const s of systems) await s.stop().catch(() => undefined);
  }

  const fast = await measureFastFailover(cli);
  const report = {
    date: new Date().toISOString(),
    quick,
    machine: { cpus: cpus().length, cpu: cpus()[0]?.model ?? 'unknown', memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version },
    settings: { durationMs: DURATION_MS, concurrency: CONCURRENCY, valueBytes: 256, timing: 'etcd (100 ms heartbeat, 1000 ms election)', durability: 'synced writes before acknowledgement on both' },
    results,
    raftlabFastFailoverMedianMs: fast,
  };
  const table = renderTable(report);
  console.log(`\n${table}`);
  const file = join(ROOT, 'bench', 'results', `${report.date.slice(0, 10)}${quick ? '-quick' : ''}.json`);
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
  updateDocs(table);
  console.log(`\nresults written to ${file} and docs/performance.md`);
}

/** Failover with the `fast` preset (10 ms heartbeat, 100 ms election), for the < 300 ms target. */
async function measureFastFailover(cli: string): Promise<number> {
  const system = await startRaftLab(cli, 'fast');
  try {
    const times: number[] = [];
    for (let rep = 0; rep < FAILOVER_REPS; rep++) times.push(await failover(system));
    console.log(`raftlab  failover (fast timing) ${times.map((t) => Math.round(t)).join(', ')} ms`);
    return Math.round(median(times));
  } finally {
    await system.stop();
  }
}

function renderTable(report: { results: Record<string, SystemResults>; raftlabFastFailoverMedianMs: number }): string {
  const rl = report.results.raftlab!;
  const et = report.results.etcd;
  const ratio = (a: number, b: number | undefined, higherIsBetter = true) =>
    b === undefined || b === 0 ? 'n/a' : `${(higherIsBetter ? a / b : b / a).toFixed(2)}x`;
  const rows: string[] = [
    '| measure | Raft Lab | etcd | Raft Lab / etcd |',
    '| --- | ---: | ---: | ---: |',
  ];
  for (const w of rl.workloads) {
    const e = et?.workloads.find((x) => x.workload === w.workload && x.concurrency === w.concurrency);
    rows.push(
      `| ${w.workload} c=${w.concurrency} ops/s (p50 / p99 ms) | ${w.opsPerSec} (${w.p50} / ${w.p99}) | ${e ? `${e.opsPerSec} (${e.p50} / ${e.p99})` : 'n/a'} | ${ratio(w.opsPerSec, e?.opsPerSec)} |`,
    );
  }
  rows.push(`| startup to first put (ms) | ${rl.startupMs} | ${et?.startupMs ?? 'n/a'} | ${ratio(rl.startupMs, et?.startupMs, false)} faster |`);
  rows.push(`| failover, leader kill to next put (median ms) | ${rl.failoverMedianMs} | ${et?.failoverMedianMs ?? 'n/a'} | ${ratio(rl.failoverMedianMs, et?.failoverMedianMs, false)} faster |`);
  rows.push(`| failover with the fast preset (median ms) | ${report.raftlabFastFailoverMedianMs} | | |`);
  const mb = (b: number) => Math.round(b / 2 ** 20);
  rows.push(`| memory of the 3-peer cluster under load (MB RSS) | ${mb(rl.rssUnderLoadBytes)} | ${et ? mb(et.rssUnderLoadBytes) : 'n/a'} | ${et ? `${(rl.rssUnderLoadBytes / et.rssUnderLoadBytes).toFixed(2)} of etcd's` : 'n/a'} |`);
  return `${rows.join('\n')}\n\n${renderCpuTable(rl, et)}`;
}

/** What each operation cost in CPU: on a machine this small, throughput is the cores divided by these. */
function renderCpuTable(rl: SystemResults, et: SystemResults | undefined): string {
  const rows = [
    'CPU time per operation (µs; the system\'s processes together, then this load generator):',
    '',
    '| workload | Raft Lab | etcd | load generator (with Raft Lab / etcd) |',
    '| --- | ---: | ---: | ---: |',
  ];
  for (const w of rl.workloads) {
    const e = et?.workloads.find((x) => x.workload === w.workload && x.concurrency === w.concurrency);
    rows.push(`| ${w.workload} c=${w.concurrency} | ${w.serverCpuMicrosPerOp} | ${e?.serverCpuMicrosPerOp ?? 'n/a'} | ${w.clientCpuMicrosPerOp} / ${e?.clientCpuMicrosPerOp ?? 'n/a'} |`);
  }
  return rows.join('\n');
}

function updateDocs(table: string): void {
  const file = join(ROOT, 'docs', 'performance.md');
  const begin = '<!-- bench:begin -->';
  const end = '<!-- bench:end -->';
  const machine = `Machine: ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown'}), ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${etcdVersion() ? `etcd ${etcdVersion()}` : 'no etcd'}; ${quick ? 'quick run (1 s per figure)' : '5 s per figure'}; measured ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC; git ${gitHead()}.`;
  const block = `${begin}\n${machine}\n\n${table}\n${end}`;
  const current = existsSync(file) ? readFileSync(file, 'utf8') : `# Performance\n\n${begin}\n${end}\n`;
  const next = current.includes(begin) ? current.replace(new RegExp(`${begin}[\\s\\S]*${end}`), block) : `${current}\n${block}\n`;
  writeFileSync(file, next);
}

function gitHead(): string {
  try {
    return execSync('git rev-parse --short HEAD', { cwd: ROOT, encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}

main().catch((err: Error) => {
  console.error(err.stack ?? err.message);
  process.exitCode = 1;
});
