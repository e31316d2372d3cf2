// The KV workload as part of `npm test`: a thousand seeds of real KvStateMachines on every simulated peer,
// clients with a random request mix, watches and leases, under every fault mix; every seed's linearizable
// history, watch streams, serializable reads, lease expiries and per-index store hashes are checked. Also:
// a KV seed replays identically, planted bugs are caught by the right check, and the CLI switch works.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import type { KvInjectedBug } from './cluster.ts';
import type { MixName } from './faults.ts';
import { runSeeds } from './pool.ts';
import { optionsForSeed, runSeed } from './run-seed.ts';
import { faultLine, kvLine } from './summary.ts';

/** How many KV seeds `npm test` runs (ticks per seed: KV_DEFAULT_TICKS in run-seed.ts). */
const SEEDS = 1000;

test(`${SEEDS} seeded KV simulations: linearizable, watches exact, stores identical`, { timeout: 15 * 60_000 }, async () => {
  const t = await runSeeds(1, SEEDS, { workload: 'kv' });
  console.log(faultLine(t));
  console.log(kvLine(t));
  console.log(`${t.seeds} seeds, ${t.violations} violations`);
  assert.equal(t.seeds, SEEDS);
  for (const n of ['1', '3', '5', '7']) assert.ok((t.byNodes[n] ?? 0) > SEEDS / 20, `cluster size ${n}`);
  for (const k of ['crashes', 'partitions', 'confChangesApplied', 'snapshotsSent', 'kv.serializableReads', 'kv.watches', 'kv.watchEvents', 'kv.watchRestores', 'kv.watchesCompacted', 'kv.compactions', 'kv.leaseGrants', 'kv.leaseExpiries', 'kv.unknown'])
    assert.ok((t.counts[k] ?? 0) > 0, `no ${k} at all`);
  const ops = t.kvOps!.slice().sort((a, b) => a - b);
  assert.ok(ops[Math.floor(ops.length / 2)]! >= 50, 'histories of a useful size');
  const reports = t.failures.slice(0, 3).map((f) => f.report);
  const others = t.failures.slice(3).map((f) => `seed ${f.seed}: ${f.checker}: ${f.message.split('\n')[0]}`);
  assert.equal(t.violations, 0, `${t.violations} seeds failed:\n\n${reports.join('\n\n')}\n${others.join('\n')}`);
});

test('a KV seed replays identically', () => {
  for (const seed of [11, 1234]) {
    const strip = (r: ReturnType<typeof runSeed>) => ({ ...r, options: undefined, kv: { ...r.kv, checkMs: 0 } });
    const a = runSeed(optionsForSeed(seed, { workload: 'kv' }));
    const b = runSeed(optionsForSeed(seed, { workload: 'kv' }));
    assert.deepEqual(strip(b), strip(a));
    assert.ok(a.kv!.ops > 0);
  }
});

// Each planted bug must be caught by the check that guards against it, within a few seeds.
const planted: [KvInjectedBug, string, { nodes?: number; mix?: MixName }][] = [
  ['kvSkipApply', 'state machine safety', { nodes: 3 }],
  ['kvReadNoBarrier', 'linearizability', {}],
  ['kvDropWatchEvent', 'watch', {}],
  ['kvEarlyExpiry', 'lease expiry', {}],
];
for (const [bug, checker, over] of planted) {
  test(`a planted KV bug (${bug}) is caught by ${checker}`, () => {
    const seen: Record<string, number> = {};
    for (let seed = 1; seed <= 100; seed++) {
      const r = runSeed(optionsForSeed(seed, { ...over, workload: 'kv', inject: bug, ticks: 400 }));
      if (!r.violation) continue;
      seen[r.violation.checker] = (seen[r.violation.checker] ?? 0) + 1;
      if (r.violation.checker === checker) {
        assert.ok(r.trace.length > 0, 'a failing seed comes with its trace');
        if (checker === 'linearizability') assert.match(r.violation.message, /not linearizable[\s\S]*client operations on/);
        return;
      }
    }
    assert.fail(`${bug} was never caught by ${checker} (caught by: ${JSON.stringify(seen)})`);
  });
}

test('the CLI runs the KV workload with the same last line, and replays a failing KV seed', () => {
  const cli = join(__dirname, 'cli.ts');
  const run = (args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', cli, ...args], { encoding: 'utf8' });
  const ok = run(['--workload', 'kv', '--seeds', '3', '--ticks', '200']);
  assert.equal(ok.status, 0, ok.stdout + ok.stderr);
  const lines = ok.stdout.trimEnd().split('\n');
  assert.equal(lines.at(-1), '3 seeds, 0 violations');
  assert.match(lines.at(-3)!, /^kv: 3 histories, ops per history median \d+ .* linearizability check median \d+ ms/);
  const bad = run(['--workload', 'kv', '--seed', '4', '--inject', 'kvReadNoBarrier']);
  assert.equal(bad.status, 1);
  assert.match(bad.stdout, /seed 4 FAILED at tick \d+: linearizability: not linearizable/);
  assert.match(bad.stdout, /replay: {2}npm run sim -- --seed 4 --workload kv --inject kvReadNoBarrier --verbose/);
  assert.equal(bad.stdout.trimEnd().split('\n').at(-1), '1 seeds, 1 violations');
});
