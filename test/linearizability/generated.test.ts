// Randomized self-check and performance: histories generated from a real sequential execution with random
// overlap must check linearizable; changing one read to an impossible value must make them fail.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkKvHistory, type KvOperation } from '../support/linearizability/index.ts';
import { generateKvHistory, prng } from '../support/linearizability/generate.ts';

function corruptOneRead(history: KvOperation[], seed: number): KvOperation[] | undefined {
  const reads = history
    .map((op, i) => [op, i] as const)
    .filter(([op]) => op.return !== Infinity && op.output?.type === 'get');
  if (reads.length === 0) return undefined;
  const [op, i] = reads[Math.floor(prng(seed)() * reads.length)]!;
  const copy = history.slice();
  copy[i] = { ...op, output: { type: 'get', value: 'never-written' } };
  return copy;
}

test('random histories from sequential executions are linearizable; a corrupted read is caught', () => {
  let checked = 0;
  for (let seed = 1; seed <= 60; seed++) {
    const options = {
      seed,
      operations: 50 + (seed % 5) * 60,
      clients: 2 + (seed % 6),
      keys: 1 + (seed % 4),
      unknownRate: seed % 3 === 0 ? 0 : 0.05,
      rangeRate: seed % 2 === 0 ? 0.05 : 0,
      maxLatency: 2 + (seed % 10),
    };
    const h = generateKvHistory(options);
    const res = checkKvHistory(h, { timeoutMs: 20_000 });
    assert.equal(res.ok, true, `seed ${seed}: ${res.explanation}`);
    const bad = corruptOneRead(h, seed);
    if (bad) {
      const r = checkKvHistory(bad, { timeoutMs: 20_000 });
      assert.equal(r.ok, false, `seed ${seed}: corrupted read not detected`);
      assert.match(r.explanation, /never-written/);
    }
    checked++;
  }
  assert.equal(checked, 60);
});

test('random histories without revisions in the outputs check the same way', () => {
  for (let seed = 100; seed < 120; seed++) {
    const h = generateKvHistory({ seed, operations: 200, clients: 5, keys: 3, unknownRate: 0.05, rangeRate: 0.05 });
    const stripped = h.map((op): KvOperation => {
      if (!op.output) return op;
      const { revision: _ignored, ...output } = op.output;
      return { ...op, output };
    });
    assert.equal(checkKvHistory(stripped).ok, true, `seed ${seed}`);
  }
});

function timed(name: string, h: KvOperation[]): void {
  const started = performance.now();
  const res = checkKvHistory(h, { timeoutMs: 120_000 });
  const ms = performance.now() - started;
  assert.equal(res.ok, true, res.explanation);
  console.log(`${name}: ${h.length} operations, ${res.partitions} sub-histories, checked in ${ms.toFixed(0)} ms`);
}

test('performance: 5,000 operations over 20 keys with 10 clients', () => {
  timed('per-key', generateKvHistory({ seed: 1, operations: 5000, clients: 10, keys: 20 }));
  timed('per-key, 5% unknown outcomes', generateKvHistory({ seed: 2, operations: 5000, clients: 10, keys: 20, unknownRate: 0.05 }));
  timed('5% prefix ranges (one group)', generateKvHistory({ seed: 3, operations: 5000, clients: 10, keys: 20, rangeRate: 0.05 }));
  timed(
    '5% ranges, 1% unknown outcomes',
    generateKvHistory({ seed: 4, operations: 5000, clients: 10, keys: 20, rangeRate: 0.05, unknownRate: 0.01 }),
  );
});
