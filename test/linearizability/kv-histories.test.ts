// Known linearizable and known non-linearizable KV histories, checked with the etcd-like model.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  checkKvHistory,
  checkRevisionOrder,
  partitionKv,
  type KvInput,
  type KvOperation,
  type KvOutput,
} from '../support/linearizability/index.ts';

// Shorthands: op(client, call, return, input, output); `ret = Infinity` for an unknown outcome.
function op(clientId: number, call: number, ret: number, input: KvInput, output?: KvOutput): KvOperation {
  return output === undefined ? { clientId, call, return: ret, input } : { clientId, call, return: ret, input, output };
}
const put = (key: string, value: string): KvInput => ({ type: 'put', key, value });
const get = (key: string): KvInput => ({ type: 'get', key });
const del = (key: string): KvInput => ({ type: 'delete', key });
const cas = (key: string, expected: string | null, value: string): KvInput => ({ type: 'cas', key, expected, value });
const range = (prefix: string): KvInput => ({ type: 'range', prefix });
const putOk = (revision?: number): KvOutput => (revision === undefined ? { type: 'put' } : { type: 'put', revision });
const val = (value: string | null, revision?: number): KvOutput =>
  revision === undefined ? { type: 'get', value } : { type: 'get', value, revision };
const deleted = (n: number): KvOutput => ({ type: 'delete', deleted: n });
const casOut = (succeeded: boolean): KvOutput => ({ type: 'cas', succeeded });
const kvs = (...pairs: [string, string][]): KvOutput => ({ type: 'range', kvs: pairs });

function assertLinearizable(history: KvOperation[]): void {
  const r = checkKvHistory(history);
  assert.equal(r.ok, true, r.explanation);
}
function assertViolation(history: KvOperation[]): string {
  const r = checkKvHistory(history);
  assert.equal(r.ok, false, 'expected a violation');
  assert.ok(r.explanation.startsWith('not linearizable'), r.explanation);
  return r.explanation;
}

test('empty history is linearizable', () => assertLinearizable([]));

test('sequential history of every kind of operation', () => {
  assertLinearizable([
    op(1, 0, 1, get('a'), val(null)),
    op(1, 2, 3, put('a', '1'), putOk(2)),
    op(2, 4, 5, get('a'), val('1', 2)),
    op(1, 6, 7, cas('a', '1', '2'), casOut(true)),
    op(2, 8, 9, cas('a', '1', '3'), casOut(false)),
    op(1, 10, 11, cas('b', null, 'x'), casOut(true)),
    op(2, 12, 13, range('a'), kvs(['a', '2'])),
    op(2, 14, 15, range(''), kvs(['b', 'x'], ['a', '2'])),
    op(1, 16, 17, del('a'), deleted(1)),
    op(1, 18, 19, del('a'), deleted(0)),
    op(2, 20, 21, get('a'), val(null)),
    op(2, 22, 23, range(''), kvs(['b', 'x'])),
  ]);
});

test('concurrent overlapping writes: reads may observe either order', () => {
  for (const [first, second] of [
    ['1', '2'],
    ['2', '1'],
  ] as const) {
    assertLinearizable([
      op(1, 0, 10, put('x', '1'), putOk()),
      op(2, 1, 11, put('x', '2'), putOk()),
      op(3, 2, 5, get('x'), val(first)), // during both writes
      op(3, 12, 13, get('x'), val(second)),
      op(3, 14, 15, get('x'), val(second)),
    ]);
  }
});

test('a read concurrent with a write may see the old or the new value', () => {
  assertLinearizable([
    op(1, 0, 1, put('x', 'old'), putOk()),
    op(1, 2, 10, put('x', 'new'), putOk()),
    op(2, 3, 4, get('x'), val('new')),
    op(3, 5, 6, get('x'), val('new')),
  ]);
  assertLinearizable([
    op(1, 0, 1, put('x', 'old'), putOk()),
    op(1, 2, 10, put('x', 'new'), putOk()),
    op(2, 3, 4, get('x'), val('old')),
    op(3, 5, 6, get('x'), val('new')),
  ]);
});

test('unknown-outcome write that took effect (even long after its call)', () => {
  assertLinearizable([
    op(1, 0, 1, put('x', 'a'), putOk()),
    op(2, 2, Infinity, put('x', 'b')),
    op(3, 10, 11, get('x'), val('a')),
    op(3, 20, 21, get('x'), val('b')),
    op(3, 30, 31, get('x'), val('b')),
  ]);
});

test('unknown-outcome write that never took effect', () => {
  assertLinearizable([
    op(1, 0, 1, put('x', 'a'), putOk()),
    op(2, 2, Infinity, put('x', 'b')),
    op(2, 3, Infinity, del('x')),
    op(2, 4, Infinity, cas('x', 'a', 'c')),
    op(3, 10, 11, get('x'), val('a')),
    op(3, 20, 21, get('x'), val('a')),
  ]);
});

test('an unknown-outcome write cannot be undone once observed', () => {
  assertViolation([
    op(1, 0, 1, put('x', 'a'), putOk()),
    op(2, 2, Infinity, put('x', 'b')),
    op(3, 10, 11, get('x'), val('b')),
    op(3, 20, 21, get('x'), val('a')),
  ]);
});

test('an unknown-outcome write cannot take effect before it was invoked', () => {
  assertViolation([op(3, 0, 1, get('x'), val('b')), op(2, 2, Infinity, put('x', 'b'))]);
});

test('stale read: a read returns the old value after a write completed', () => {
  const explanation = assertViolation([
    op(1, 0, 1, put('x', 'a'), putOk()),
    op(1, 2, 3, put('x', 'b'), putOk()),
    op(2, 4, 5, get('x'), val('a')),
  ]);
  assert.match(explanation, /longest linearizable prefix found: 2 operations/);
  assert.match(explanation, /#2 client 2 \[4, 5\] get\("x"\) -> "a"/);
  assert.match(explanation, /state after the prefix: \{"x": "b"\}/);
});

test('lost write: a completed write is never visible, later reads return the older value', () => {
  assertViolation([
    op(1, 0, 1, put('x', 'a'), putOk()),
    op(2, 2, 6, put('x', 'b'), putOk()),
    op(3, 3, 4, get('x'), val('a')), // fine: concurrent with the write
    op(3, 7, 8, get('x'), val('a')),
    op(1, 9, 10, get('x'), val('a')),
  ]);
});

test('reordered writes: two sequential writes observed in reverse order', () => {
  assertViolation([
    op(1, 0, 10, put('x', '1'), putOk()),
    op(1, 11, 20, put('x', '2'), putOk()),
    op(2, 12, 15, get('x'), val('2')),
    op(3, 16, 25, get('x'), val('1')),
  ]);
});

test('a failed CAS that should have succeeded', () => {
  assertViolation([op(1, 0, 1, put('x', 'a'), putOk()), op(2, 2, 3, cas('x', 'a', 'b'), casOut(false))]);
  assertViolation([op(1, 0, 1, cas('fresh', null, 'v'), casOut(false))]);
});

test('a CAS that succeeded although the value did not match', () => {
  assertViolation([
    op(1, 0, 1, put('x', 'a'), putOk()),
    op(2, 2, 3, cas('x', 'z', 'b'), casOut(true)),
  ]);
});

test('delete must report whether the key existed', () => {
  assertViolation([op(1, 0, 1, put('x', 'a'), putOk()), op(1, 2, 3, del('x'), deleted(0))]);
  assertLinearizable([op(1, 0, 4, put('x', 'a'), putOk()), op(2, 1, 3, del('x'), deleted(0))]);
});

test('range: a snapshot that mixes two real-time-ordered writes inconsistently', () => {
  // a := 1 completes before b := 1 starts; a range seeing b's write must see a's.
  assertViolation([
    op(1, 0, 1, put('p/a', '1'), putOk()),
    op(1, 2, 3, put('p/b', '1'), putOk()),
    op(2, 4, 5, range('p/'), kvs(['p/b', '1'])),
  ]);
  // Concurrent writes: the range may see either one alone.
  assertLinearizable([
    op(1, 0, 10, put('p/a', '1'), putOk()),
    op(2, 0, 10, put('p/b', '1'), putOk()),
    op(3, 1, 2, range('p/'), kvs(['p/b', '1'])),
    op(4, 1, 2, range('p/'), kvs()),
  ]);
  // ...but two ranges cannot see them in opposite orders.
  assertViolation([
    op(1, 0, 10, put('p/a', '1'), putOk()),
    op(2, 0, 10, put('p/b', '1'), putOk()),
    op(3, 1, 2, range('p/'), kvs(['p/b', '1'])),
    op(4, 1, 2, range('p/'), kvs(['p/a', '1'])),
  ]);
});

test('range must not list keys outside its prefix or miss keys inside it', () => {
  assertViolation([op(1, 0, 1, put('q', '1'), putOk()), op(2, 2, 3, range('p'), kvs(['q', '1']))]);
  assertViolation([op(1, 0, 1, put('p1', '1'), putOk()), op(2, 2, 3, range('p'), kvs())]);
});

test('revisions: a later write with a smaller revision is a violation (same key, in the model)', () => {
  assertViolation([op(1, 0, 1, put('x', 'a'), putOk(5)), op(2, 2, 3, put('x', 'b'), putOk(4))]);
});

test('revisions: concurrent writes are ordered by their revisions', () => {
  // b got the later revision, so a read after both must see b.
  assertLinearizable([
    op(1, 0, 10, put('x', 'a'), putOk(5)),
    op(2, 0, 10, put('x', 'b'), putOk(6)),
    op(3, 11, 12, get('x'), val('b')),
  ]);
  assertViolation([
    op(1, 0, 10, put('x', 'a'), putOk(5)),
    op(2, 0, 10, put('x', 'b'), putOk(6)),
    op(3, 11, 12, get('x'), val('a')),
  ]);
});

test('revisions across keys: real-time order is checked over the whole history', () => {
  const h = [op(1, 0, 1, put('x', 'a'), putOk(5)), op(2, 2, 3, put('y', 'b'), putOk(5))];
  assert.match(checkRevisionOrder(h) ?? '', /two writes got revision 5/);
  assertViolation(h);
  const backwards = [op(1, 0, 1, put('x', 'a'), putOk(7)), op(2, 2, 3, get('y'), val(null, 6))];
  assert.match(checkRevisionOrder(backwards) ?? '', /revision goes backwards/);
  assertViolation(backwards);
  assert.equal(checkRevisionOrder([op(1, 0, 5, put('x', 'a'), putOk(7)), op(2, 2, 3, get('y'), val(null, 6))]), undefined);
  // With revision checks off, only values matter.
  assert.equal(checkKvHistory(backwards, { revisions: false }).ok, true);
});

test('partitionKv: one group per key; a range joins the keys it covers; unknown reads are dropped', () => {
  const h = [
    op(1, 0, 1, put('a/1', 'x'), putOk()),
    op(1, 2, 3, put('a/2', 'x'), putOk()),
    op(1, 4, 5, put('b/1', 'x'), putOk()),
    op(2, 6, Infinity, get('b/1')),
    op(2, 0, 1, put('c', 'x'), putOk()),
  ];
  assert.equal(partitionKv(h).length, 4);
  const withRange = [...h, op(3, 6, 7, range('a/'), kvs(['a/1', 'x'], ['a/2', 'x']))];
  const groups = partitionKv(withRange);
  assert.equal(groups.length, 3);
  assert.equal(groups.reduce((n, g) => n + g.length, 0), 5); // the unknown get is gone
  assert.equal(checkKvHistory(withRange).ok, true);
  assert.equal(partitionKv([...withRange, op(3, 8, 9, range(''), kvs())]).length, 1);
});
