// The deterministic simulation as part of `npm test`: thousands of seeds over mixed cluster sizes and fault
// mixes, with every safety checker after every step and a liveness check after every heal. Also: replaying a
// seed gives the same run, the seeds really see the faults they should, and planted bugs get caught.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import type { InjectedBug } from './cluster.ts';
import type { MixName } from './faults.ts';
import { runSeeds } from './pool.ts';
import { optionsForSeed, runSeed } from './run-seed.ts';
import { faultLine } from './summary.ts';

/** How many seeds `npm test` runs (ticks per seed: DEFAULT_TICKS in run-seed.ts). */
const SEEDS = 2400;

test(`${SEEDS} seeded simulations: no safety or liveness violation`, { timeout: 15 * 60_000 }, async () => {
  const t = await runSeeds(1, SEEDS, {});
  console.log(faultLine(t));
  console.log(`${t.seeds} seeds, ${t.violations} violations`);
  assert.equal(t.seeds, SEEDS);
  // The mix really is mixed: every size, every fault kind.
  for (const n of ['1', '3', '5', '7']) assert.ok((t.byNodes[n] ?? 0) > SEEDS / 20, `cluster size ${n}`);
  for (const k of ['partitions', 'crashes', 'restarts', 'confChanges', 'confChangesApplied', 'retired', 'transfers', 'lost', 'duplicated', 'cut', 'snapshotsSent', 'readsAnswered'])
    assert.ok((t.counts[k] ?? 0) > 0, `no ${k} at all`);
  const reports = t.failures.slice(0, 3).map((f) => f.report);
  const others = t.failures.slice(3).map((f) => `seed ${f.seed}: ${f.checker}: ${f.message.split('\n')[0]}`);
  assert.equal(t.violations, 0, `${t.violations} seeds failed:\n\n${reports.join('\n\n')}\n${others.join('\n')}`);
});

test('a seed replays identically', () => {
  for (const seed of [7, 1234]) {
    const a = runSeed(optionsForSeed(seed));
    const b = runSeed(optionsForSeed(seed));
    assert.deepEqual({ ...b, options: undefined }, { ...a, options: undefined });
    assert.ok(a.net.sent > 0);
  }
});

// Each planted bug must be caught by the checker that guards against it, within a few seeds.
const planted: [InjectedBug, string, { nodes?: number; mix?: MixName }][] = [
  ['corruptAppend', 'log matching', { nodes: 3 }],
  ['forgetVote', 'election safety', { nodes: 3, mix: 'crashes' }],
  ['loseTail', 'leader completeness', { nodes: 3, mix: 'crashes' }],
  ['staleRead', 'linearizable reads', {}],
  ['deafAfterHeal', 'liveness', {}],
];
for (const [bug, checker, over] of planted) {
  test(`a planted bug (${bug}) is caught by ${checker}`, () => {
    const seen: Record<string, number> = {};
    for (let seed = 1; seed <= 400; seed++) {
      const r = runSeed(optionsForSeed(seed, { ...over, inject: bug, ticks: 600 }));
      if (!r.violation) continue;
      seen[r.violation.checker] = (seen[r.violation.checker] ?? 0) + 1;
      assert.ok(r.trace.length > 0 && r.trace.length <= 200, 'a failing seed comes with its (last 200 events of) trace');
      if (r.violation.checker === checker) return;
    }
    assert.fail(`${bug} was never caught by ${checker} (caught by: ${JSON.stringify(seen)})`);
  });
}

test('the CLI replays one seed, prints options, trace and fault summary, and ends with the verdict', () => {
  const cli = join(__dirname, 'cli.ts');
  const run = (args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', cli, ...args], { encoding: 'utf8' });
  const ok = run(['--seed', '3', '--ticks', '200']);
  assert.equal(ok.status, 0, ok.stderr);
  const okLines = ok.stdout.trimEnd().split('\n');
  assert.equal(okLines.at(-1), '1 seeds, 0 violations');
  assert.match(okLines.at(-3)!, /^faults: /);
  const bad = run(['--seed', '3', '--ticks', '300', '--inject', 'staleRead']);
  assert.equal(bad.status, 1);
  const out = bad.stdout;
  assert.match(out, /seed 3 FAILED at tick \d+: linearizable reads: /);
  assert.match(out, /options: nodes=\d+ ticks=300 mix=/);
  assert.match(out, /replay: {2}npm run sim -- --seed 3 --ticks 300 --inject staleRead --verbose/);
  const events = (out.match(/^ {4}t= /gm) ?? []).length;
  assert.ok(events >= 10 && events <= 200, `the trace (${events} events)`);
  assert.equal(out.trimEnd().split('\n').at(-1), '1 seeds, 1 violations');
  const many = run(['--seeds', '4', '--nodes', '5', '--ticks', '150']);
  assert.equal(many.status, 0, many.stdout);
  assert.equal(many.stdout.trimEnd().split('\n').at(-1), '4 seeds, 0 violations');
});
