// Cross-check against a brute-force search (every order, no memoisation, no pruning, no partitioning) on many
// tiny random histories, half of them corrupted: the prunings must never change the answer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkKvHistory, createKvModel, type KvOperation, type KvOutput } from '../support/linearizability/index.ts';
import { generateKvHistory, prng } from '../support/linearizability/generate.ts';

const model = createKvModel({ revisions: false });

function bruteForce(history: KvOperation[]): boolean {
  const done = new Array<boolean>(history.length).fill(false);
  const known = history.filter((op) => op.return !== Infinity).length;
  const go = (state: ReturnType<typeof model.init>, count: number): boolean => {
    if (count === known) return true;
    for (let i = 0; i < history.length; i++) {
      if (done[i]) continue;
      const op = history[i]!;
      // Not allowed next if some other pending operation returned before this one was called.
      if (history.some((o, j) => !done[j] && j !== i && o.return < op.call)) continue;
      const r = model.step(state, op.input, op.return === Infinity ? undefined : op.output);
      if (!r.ok) continue;
      done[i] = true;
      const ok = go(r.state, count + (op.return === Infinity ? 0 : 1));
      done[i] = false;
      if (ok) return true;
    }
    return false;
  };
  return go(model.init(), 0);
}

function corrupt(op: KvOperation, rnd: () => number): KvOperation {
  const out = op.output;
  if (!out) return op;
  let output: KvOutput;
  const v = rnd() < 0.3 ? null : `v${Math.floor(rnd() * 8)}`;
  switch (out.type) {
    case 'get':
      output = { type: 'get', value: v };
      break;
    case 'cas':
      output = { type: 'cas', succeeded: !out.succeeded };
      break;
    case 'delete':
      output = { type: 'delete', deleted: 1 - out.deleted };
      break;
    case 'range':
      output = { type: 'range', kvs: v === null ? [] : [['k00', v]] };
      break;
    case 'put':
      return op;
  }
  return { ...op, output };
}

test('checker agrees with brute force on 3,000 tiny histories', () => {
  let violations = 0;
  for (let seed = 1; seed <= 3000; seed++) {
    const rnd = prng(seed * 7919);
    let h = generateKvHistory({
      seed,
      operations: 3 + (seed % 7),
      clients: 2 + (seed % 3),
      keys: 1 + (seed % 2),
      unknownRate: 0.25,
      rangeRate: 0.15,
      maxLatency: 4,
    });
    if (rnd() < 0.5) {
      const i = Math.floor(rnd() * h.length);
      h = h.map((op, j) => (j === i ? corrupt(op, rnd) : op));
    }
    const expected = bruteForce(h);
    if (!expected) violations++;
    assert.equal(checkKvHistory(h, { revisions: false }).ok, expected, `seed ${seed}: ${JSON.stringify(h)}`);
  }
  assert.ok(violations > 300, `only ${violations} non-linearizable cases generated`);
});
