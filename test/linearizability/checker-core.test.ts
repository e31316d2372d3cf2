// The generic checker with small hand-written models: a register and a counter.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkOperations, HistoryRecorder, type Model, type Operation } from '../support/linearizability/index.ts';

type RegIn = { write: number } | { read: true };
type RegOut = number | null; // a read's value; null for a write's acknowledgement

const register: Model<number, RegIn, RegOut> = {
  init: () => 0,
  step: (state, input, output) =>
    'write' in input ? { ok: true, state: input.write } : { ok: output === undefined || output === state, state },
  equal: (a, b) => a === b,
  hash: (s) => s | 0,
  isRead: (input) => 'read' in input,
};

const w = (clientId: number, call: number, ret: number, v: number): Operation<RegIn, RegOut> => ({
  clientId,
  call,
  return: ret,
  input: { write: v },
  output: null,
});
const r = (clientId: number, call: number, ret: number, v: number): Operation<RegIn, RegOut> => ({
  clientId,
  call,
  return: ret,
  input: { read: true },
  output: v,
});

test('register: linearizable and not', () => {
  assert.equal(checkOperations(register, [w(1, 0, 5, 1), r(2, 1, 2, 1), r(2, 3, 4, 0)]).ok, false);
  assert.equal(checkOperations(register, [w(1, 0, 5, 1), r(2, 1, 2, 0), r(2, 3, 4, 1)]).ok, true);
  // Touching intervals (one returns at the time the other is called) count as overlapping.
  assert.equal(checkOperations(register, [w(1, 0, 5, 1), r(2, 5, 6, 0)]).ok, true);
  assert.equal(checkOperations(register, [w(1, 0, 5, 1), r(2, 6, 7, 0)]).ok, false);
});

test('register without the isRead hint gives the same answers', () => {
  const plain: Model<number, RegIn, RegOut> = { ...register };
  delete plain.isRead;
  const histories = [
    [w(1, 0, 5, 1), r(2, 1, 2, 1), r(2, 3, 4, 0)],
    [w(1, 0, 5, 1), r(2, 1, 2, 0), r(2, 3, 4, 1)],
    [w(1, 0, 10, 1), w(2, 0, 10, 2), r(3, 1, 2, 2), r(3, 3, 4, 1), r(3, 11, 12, 1)],
    [w(1, 0, 10, 1), w(2, 0, 10, 2), r(3, 1, 2, 2), r(3, 3, 4, 1), r(3, 11, 12, 2)],
  ];
  for (const h of histories) assert.equal(checkOperations(plain, h).ok, checkOperations(register, h).ok);
});

test('the failure names the longest prefix, the blocking operation and the candidates', () => {
  const res = checkOperations(register, [w(1, 0, 1, 7), w(1, 2, 3, 8), r(2, 4, 5, 7)]);
  assert.equal(res.ok, false);
  const f = res.failure!;
  assert.deepEqual(
    f.prefix.map((op) => op.input),
    [{ write: 7 }, { write: 8 }],
  );
  assert.equal(f.stateAfterPrefix, 8);
  assert.deepEqual(f.blocking.input, { read: true });
  assert.deepEqual(
    f.candidates.map((c) => c.accepted),
    [false],
  );
  assert.match(res.explanation, /#2 client 2 \[4, 5\]/);
});

test('invalid operations are rejected', () => {
  assert.throws(() => checkOperations(register, [w(1, 5, 4, 1)]), /before its call/);
  assert.throws(() => checkOperations(register, [{ clientId: 1, call: 0, return: 1, input: { read: true } }]), /no output/);
  assert.throws(() => checkOperations(register, [w(1, Infinity, Infinity, 1)]), /not finite/);
});

// A counter of distinct powers of two: every subset of additions is a different state, so memoisation cannot
// help and an impossible read forces the search through all of them.
const adder: Model<number, number | 'read', number | null> = {
  init: () => 0,
  step: (s, input, output) =>
    input === 'read' ? { ok: output === undefined || output === s, state: s } : { ok: true, state: s + input },
  equal: (a, b) => a === b,
  hash: (s) => s | 0,
};

test('a time limit gives ok: "unknown"', () => {
  const h: Operation<number | 'read', number | null>[] = [];
  for (let i = 0; i < 26; i++) h.push({ clientId: i, call: 0, return: 10, input: 2 ** i, output: null });
  h.push({ clientId: 99, call: 0, return: 10, input: 'read', output: -1 });
  const res = checkOperations(adder, h, { timeoutMs: 100 });
  assert.equal(res.ok, 'unknown');
  assert.match(res.explanation, /timed out/);
});

test('HistoryRecorder: logical clock, unknown and pending outcomes, failed requests left out', () => {
  const rec = new HistoryRecorder<RegIn, RegOut>();
  const a = rec.invoke(1, { write: 1 });
  const b = rec.invoke(2, { read: true });
  rec.ok(a, null);
  rec.ok(b, 1);
  const c = rec.invoke(1, { write: 2 });
  rec.unknown(c);
  const d = rec.invoke(2, { write: 3 });
  rec.failed(d);
  rec.invoke(3, { write: 4 }); // still pending
  const ops = rec.operations();
  assert.equal(ops.length, 4);
  assert.deepEqual(
    ops.map((o) => [o.call, o.return]),
    [
      [1, 3],
      [2, 4],
      [5, Infinity],
      [7, Infinity],
    ],
  );
  assert.throws(() => rec.ok(a, null), /already completed/);
  assert.equal(checkOperations(register, ops).ok, true);
});
