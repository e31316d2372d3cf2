// Txn: compares, branches, nesting and etcd's request checks (several answers verified on etcd 3.4.23).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Compare, CompareResult, CompareTarget, KvRequest, RequestOp, TxnRequest } from '../../src/kv/types.ts';
import { isReadOnlyTxn, isSerializableTxn } from '../../src/kv/txn.ts';
import { Harness, keysOf, text, utf8 } from './harness.ts';

const put = (key: string, value = 'v'): RequestOp => ({ requestPut: { key: utf8(key), value: utf8(value) } });
const del = (key: string, rangeEnd?: string): RequestOp => ({ requestDeleteRange: { key: utf8(key), ...(rangeEnd ? { rangeEnd: utf8(rangeEnd) } : {}) } });
const get = (key: string): RequestOp => ({ requestRange: { key: utf8(key) } });
const txn = (request: TxnRequest): RequestOp => ({ requestTxn: request });
const cmp = (key: string, target: CompareTarget, result: CompareResult, operand: Partial<Compare> = {}): Compare => ({ key: utf8(key), target, result, ...operand });

/** k: version 2, create 2, mod 4, value "b", lease 7. r1, r2 with version 1. */
function fixture(): Harness {
  const h = new Harness();
  h.apply({ type: 'leaseGrant', TTL: 60, ID: 7n });
  h.put('k', 'a');
  h.put('r1', 'x');
  h.put('k', 'b', { lease: 7n });
  h.put('r2', 'y');
  return h;
}

interface CompareCase {
  compare: Compare;
  expected: boolean;
}

const compareCases: Array<[string, CompareCase]> = [
  ['missing key: VERSION = 0', { compare: cmp('nope', 'VERSION', 'EQUAL', { version: 0 }), expected: true }],
  ['missing key: CREATE = 0', { compare: cmp('nope', 'CREATE', 'EQUAL', { createRevision: 0 }), expected: true }],
  ['missing key: MOD < 1', { compare: cmp('nope', 'MOD', 'LESS', { modRevision: 1 }), expected: true }],
  ['missing key: LEASE = 0', { compare: cmp('nope', 'LEASE', 'EQUAL', { lease: 0n }), expected: true }],
  ['missing key: VALUE = "" is false', { compare: cmp('nope', 'VALUE', 'EQUAL', { value: new Uint8Array(0) }), expected: false }],
  ['missing key: VALUE != "x" is false too', { compare: cmp('nope', 'VALUE', 'NOT_EQUAL', { value: utf8('x') }), expected: false }],
  ['VERSION = 2', { compare: cmp('k', 'VERSION', 'EQUAL', { version: 2 }), expected: true }],
  ['VERSION > 2 is false', { compare: cmp('k', 'VERSION', 'GREATER', { version: 2 }), expected: false }],
  ['VERSION < 3', { compare: cmp('k', 'VERSION', 'LESS', { version: 3 }), expected: true }],
  ['VERSION != 2 is false', { compare: cmp('k', 'VERSION', 'NOT_EQUAL', { version: 2 }), expected: false }],
  ['CREATE = 2', { compare: cmp('k', 'CREATE', 'EQUAL', { createRevision: 2 }), expected: true }],
  ['MOD > 3', { compare: cmp('k', 'MOD', 'GREATER', { modRevision: 3 }), expected: true }],
  ['MOD = 4', { compare: cmp('k', 'MOD', 'EQUAL', { modRevision: 4 }), expected: true }],
  ['VALUE = "b"', { compare: cmp('k', 'VALUE', 'EQUAL', { value: utf8('b') }), expected: true }],
  ['VALUE > "a"', { compare: cmp('k', 'VALUE', 'GREATER', { value: utf8('a') }), expected: true }],
  ['VALUE < "ba" (byte order)', { compare: cmp('k', 'VALUE', 'LESS', { value: utf8('ba') }), expected: true }],
  ['LEASE = 7', { compare: cmp('k', 'LEASE', 'EQUAL', { lease: 7n }), expected: true }],
  ['LEASE != 7 is false', { compare: cmp('k', 'LEASE', 'NOT_EQUAL', { lease: 7n }), expected: false }],
  ['a range compare holds when every key satisfies it', { compare: cmp('r', 'VERSION', 'EQUAL', { version: 1, rangeEnd: utf8('s') }), expected: true }],
  ['a range compare fails when one key does not', { compare: cmp('j', 'VERSION', 'EQUAL', { version: 1, rangeEnd: utf8('s') }), expected: false }],
  ['a from-key compare (range_end \\0) covers every later key', { compare: cmp('r', 'CREATE', 'GREATER', { createRevision: 2, rangeEnd: new Uint8Array([0]) }), expected: true }],
  ['an empty range compares as a missing key', { compare: cmp('zz', 'VERSION', 'EQUAL', { version: 0, rangeEnd: utf8('zzz') }), expected: true }],
];

describe('txn compares', () => {
  for (const [name, c] of compareCases) {
    it(name, () => {
      const h = fixture();
      const response = h.apply({ type: 'txn', compare: [c.compare], success: [get('k')], failure: [] });
      assert.equal(response.succeeded, c.expected);
      assert.equal(response.responses.length, c.expected ? 1 : 0, 'only the chosen branch runs');
    });
  }
});

interface RejectCase {
  name: string;
  request: TxnRequest;
  error?: 'duplicateKey' | 'tooManyOps' | 'keyNotFound' | 'emptyKey';
}

const many = (n: number, make: (i: number) => RequestOp = (i) => get(`g${i}`)) => Array.from({ length: n }, (_, i) => make(i));

const checkCases: RejectCase[] = [
  { name: 'the same key put twice in a branch', request: { success: [put('a'), put('a')] }, error: 'duplicateKey' },
  { name: 'put and delete of the same key in a branch', request: { success: [put('a'), del('a')] }, error: 'duplicateKey' },
  { name: 'delete then put of the same key', request: { success: [del('a'), put('a')] }, error: 'duplicateKey' },
  { name: 'a put inside a deleted range', request: { success: [del('a', 'c'), put('b')] }, error: 'duplicateKey' },
  { name: 'a put inside a from-key delete', request: { success: [del('a', '\0'), put('b')] }, error: 'duplicateKey' },
  { name: 'get and put of the same key are allowed', request: { success: [get('a'), put('a')] } },
  { name: 'two deletes of the same key are allowed', request: { success: [del('a'), del('a')] } },
  { name: 'put k in success and put k in failure are allowed (etcd 3.4.23)', request: { success: [put('a')], failure: [put('a')] } },
  { name: "a put and a nested txn's success put of the same key", request: { success: [put('a'), txn({ success: [put('a')] })] }, error: 'duplicateKey' },
  { name: "a put and a nested txn's failure put: the rule spans both nested branches", request: { success: [put('a'), txn({ failure: [put('a')] })] }, error: 'duplicateKey' },
  { name: "a nested txn's delete covering the parent's put", request: { success: [put('a'), txn({ failure: [del('a')] })] }, error: 'duplicateKey' },
  { name: 'the same key in both branches of one nested txn is allowed', request: { success: [txn({ success: [put('a')], failure: [put('a')] })] } },
  { name: 'a put and a delete in the two branches of one nested txn are allowed', request: { success: [txn({ success: [put('a')], failure: [del('a')] })] } },
  { name: 'the same key in two sibling nested txns', request: { success: [txn({ success: [put('a')] }), txn({ failure: [put('a')] })] }, error: 'duplicateKey' },
  { name: '128 ops in a branch are allowed', request: { success: many(128) } },
  { name: 'more than 128 ops in a branch', request: { success: many(129) }, error: 'tooManyOps' },
  { name: 'more than 128 compares', request: { compare: Array.from({ length: 129 }, () => cmp('a', 'VERSION', 'EQUAL', { version: 0 })) }, error: 'tooManyOps' },
  { name: "a nested txn's allowance shrinks by its parent's size (99 + 1 leaves 28)", request: { success: [...many(99), txn({ success: many(28) })] } },
  { name: 'a nested txn above its allowance', request: { success: [...many(99), txn({ success: many(29) })] }, error: 'tooManyOps' },
  { name: 'an empty key in a compare', request: { compare: [cmp('', 'VERSION', 'EQUAL')] }, error: 'emptyKey' },
  { name: 'an empty RequestOp', request: { success: [{} as RequestOp] }, error: 'keyNotFound' },
];

describe('txn request checks', () => {
  for (const c of checkCases) {
    it(c.name, () => {
      const h = new Harness();
      const request: KvRequest = { type: 'txn', ...c.request };
      if (c.error) {
        assert.throws(() => h.sm.prepareProposal(request), (error: unknown) => (error as { kind?: string }).kind === c.error);
        h.rejects(request, c.error); // apply checks again
      } else {
        assert.doesNotThrow(() => h.apply(request));
      }
    });
  }

  it('duplicate and too-many errors carry etcd messages and INVALID_ARGUMENT', () => {
    const h = new Harness();
    assert.throws(() => h.apply({ type: 'txn', success: [put('a'), put('a')] }), { message: 'etcdserver: duplicate key given in txn request', code: 'INVALID_ARGUMENT' });
    assert.throws(() => h.apply({ type: 'txn', success: many(129) }), { message: 'etcdserver: too many operations in txn request', code: 'INVALID_ARGUMENT' });
  });
});

describe('txn execution', () => {
  it('runs the success branch when every compare holds, the failure branch otherwise', () => {
    const h = fixture();
    const ok = h.apply({ type: 'txn', compare: [cmp('k', 'VALUE', 'EQUAL', { value: utf8('b') })], success: [put('s', 'yes')], failure: [put('f', 'no')] });
    assert.equal(ok.succeeded, true);
    const ko = h.apply({ type: 'txn', compare: [cmp('k', 'VALUE', 'EQUAL', { value: utf8('zzz') })], success: [put('s', 'again')], failure: [put('f', 'no')] });
    assert.equal(ko.succeeded, false);
    assert.equal(text(h.kv('s')?.value), 'yes');
    assert.equal(text(h.kv('f')?.value), 'no');
  });

  it('reads inside a txn see its earlier writes, and op headers carry etcd revisions', () => {
    const h = fixture(); // revision 5
    const response = h.apply({ type: 'txn', success: [get('n'), put('n', '1'), get('n'), del('nothing')] });
    assert.equal(response.header.revision, 6);
    const [before, putResponse, after, deleteResponse] = response.responses;
    assert.ok(before && 'responseRange' in before && putResponse && 'responsePut' in putResponse);
    assert.ok(after && 'responseRange' in after && deleteResponse && 'responseDeleteRange' in deleteResponse);
    assert.equal(before.responseRange.count, 0);
    assert.equal(before.responseRange.header.revision, 5);
    assert.equal(putResponse.responsePut.header.revision, 6);
    assert.equal(after.responseRange.count, 1);
    assert.equal(after.responseRange.header.revision, 6);
    assert.equal(deleteResponse.responseDeleteRange.header.revision, 6);
  });

  it('nested txns: compares see the state before the txn; the nested header is empty', () => {
    const h = fixture();
    const response = h.apply({
      type: 'txn',
      success: [
        put('fresh', '1'),
        // 'fresh' does not exist before the txn, so this compare holds even though the put above ran first.
        txn({ compare: [cmp('fresh', 'VERSION', 'EQUAL', { version: 0 })], success: [put('inner', 'then')], failure: [put('inner', 'else')] }),
      ],
    });
    const nested = response.responses[1];
    assert.ok(nested && 'responseTxn' in nested);
    assert.equal(nested.responseTxn.succeeded, true);
    assert.equal(nested.responseTxn.header.revision, 0);
    assert.equal(text(h.kv('inner')?.value), 'then');
    assert.equal(h.kv('inner')!.modRevision, h.kv('fresh')!.modRevision, 'one revision for the whole txn');
  });

  it('an unknown lease in the chosen branch fails the txn before any write', () => {
    const h = fixture();
    h.rejects({ type: 'txn', success: [put('first'), { requestPut: { key: utf8('x'), lease: 999n } }] }, 'leaseNotFound');
    assert.equal(h.kv('first'), undefined);
  });

  it('an unknown lease in the branch not taken is ignored', () => {
    const h = fixture();
    const response = h.apply({ type: 'txn', compare: [cmp('k', 'VERSION', 'EQUAL', { version: 99 })], success: [{ requestPut: { key: utf8('x'), lease: 999n } }], failure: [put('f')] });
    assert.equal(response.succeeded, false);
    assert.deepEqual(keysOf(h.get('f').kvs), ['f']);
  });

  it('delete range inside a txn returns prev_kvs and deletes in the same revision', () => {
    const h = fixture();
    const response = h.apply({ type: 'txn', success: [{ requestDeleteRange: { key: utf8('r'), rangeEnd: utf8('s'), prevKv: true } }, put('other')] });
    const op = response.responses[0];
    assert.ok(op && 'responseDeleteRange' in op);
    assert.equal(op.responseDeleteRange.deleted, 2);
    assert.deepEqual(keysOf(op.responseDeleteRange.prevKvs), ['r1', 'r2']);
    assert.equal(h.get('r', { rangeEnd: utf8('s') }).count, 0);
    assert.equal(h.sm.revision, 6);
  });
});

describe('read-only txns (answered as reads, not log entries)', () => {
  const readOnly: Array<[string, TxnRequest]> = [
    ['compares hold: success branch of gets', { compare: [cmp('k', 'VALUE', 'EQUAL', { value: utf8('b') })], success: [get('k'), get('r1')], failure: [get('r2')] }],
    ['a compare fails: failure branch', { compare: [cmp('k', 'VERSION', 'GREATER', { version: 5 })], success: [get('k')], failure: [get('r2'), get('nope')] }],
    ['nested read-only txns', { success: [txn({ compare: [cmp('r1', 'MOD', 'LESS', { modRevision: 4 })], success: [get('r1')] }), get('k')] }],
    ['a range at an older revision', { success: [{ requestRange: { key: utf8('k'), revision: 3 } }] }],
    ['no ops at all', { compare: [cmp('k', 'LEASE', 'EQUAL', { lease: 7n })] }],
  ];
  for (const [name, request] of readOnly) {
    it(`${name}: the same answer as through the log, and nothing written`, () => {
      const h = fixture();
      const read = h.sm.readTxn(request);
      const revision = h.sm.revision;
      const logged = h.apply({ type: 'txn', ...request });
      assert.deepEqual(read, logged);
      assert.equal(h.sm.revision, revision, 'a read-only txn through the log writes nothing either');
    });
  }

  it('a txn with a put or delete in any branch (nested too) is not read-only', () => {
    assert.equal(isReadOnlyTxn({ success: [get('k')], failure: [put('k')] }), false);
    assert.equal(isReadOnlyTxn({ success: [txn({ failure: [del('k')] })] }), false);
    assert.equal(isReadOnlyTxn({ success: [txn({ success: [get('k')] })] }), true);
    assert.equal(isSerializableTxn({ success: [{ requestRange: { key: utf8('k'), serializable: true } }] }), true);
    assert.equal(isSerializableTxn({ success: [get('k')] }), false);
    assert.equal(isSerializableTxn({ compare: [cmp('k', 'VERSION', 'EQUAL', { version: 1 })] }), false, 'compares alone wait for ReadIndex');
    assert.throws(() => fixture().sm.readTxn({ success: [put('k')] }), /a txn that writes is not a read/);
  });

  it('a read-only txn at a future or compacted revision fails as it would through the log', () => {
    const h = fixture();
    assert.throws(() => h.sm.readTxn({ success: [{ requestRange: { key: utf8('k'), revision: 99 } }] }), (e: unknown) => e instanceof Error && /future revision/.test(e.message));
    h.apply({ type: 'compaction', revision: 4 });
    assert.throws(() => h.sm.readTxn({ success: [{ requestRange: { key: utf8('k'), revision: 2 } }] }), (e: unknown) => e instanceof Error && /compacted/.test(e.message));
  });
});
