// Request size limit and the error table the gRPC layer maps from.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GRPC_CODE_NUMBERS, KV_ERRORS, KvError } from '../../src/kv/errors.ts';
import { Harness, utf8 } from './harness.ts';

describe('request size limit', () => {
  it('a request above 1.5 MiB is rejected with request is too large; just below is accepted', () => {
    const h = new Harness();
    const big = new Uint8Array(1.5 * 1024 * 1024);
    assert.throws(() => h.sm.prepareProposal({ type: 'put', key: utf8('k'), value: big }), { message: 'etcdserver: request is too large', code: 'INVALID_ARGUMENT' });
    const fits = new Uint8Array(1.5 * 1024 * 1024 - 64);
    assert.doesNotThrow(() => h.apply({ type: 'put', key: utf8('k'), value: fits }));
  });

  it('the limit is configurable', () => {
    const h = new Harness({ maxRequestBytes: 100 });
    assert.doesNotThrow(() => h.put('k', 'x'.repeat(50)));
    assert.throws(() => h.put('k', 'x'.repeat(100)), { message: 'etcdserver: request is too large' });
  });

  it('the txn op limit is configurable', () => {
    const h = new Harness({ maxTxnOps: 2 });
    const op = { requestRange: { key: utf8('a') } };
    assert.doesNotThrow(() => h.apply({ type: 'txn', success: [op, op] }));
    assert.throws(() => h.apply({ type: 'txn', success: [op, op, op] }), { message: 'etcdserver: too many operations in txn request' });
  });
});

describe('errors', () => {
  const table: Array<[keyof typeof KV_ERRORS, string, number]> = [
    ['noLeader', 'etcdserver: no leader', 14],
    ['timeout', 'etcdserver: request timed out', 14],
    ['leaderChanged', 'etcdserver: leader changed', 14],
    ['compacted', 'etcdserver: mvcc: required revision has been compacted', 11],
    ['futureRevision', 'etcdserver: mvcc: required revision is a future revision', 11],
    ['leaseNotFound', 'etcdserver: requested lease not found', 5],
    ['emptyKey', 'etcdserver: key is not provided', 3],
    ['duplicateKey', 'etcdserver: duplicate key given in txn request', 3],
    ['tooManyOps', 'etcdserver: too many operations in txn request', 3],
    ['requestTooLarge', 'etcdserver: request is too large', 3],
    ['badLeaderTransferee', 'etcdserver: bad leader transferee', 9],
  ];
  for (const [kind, message, code] of table) {
    it(`${kind}: "${message}" -> gRPC ${code}`, () => {
      const error = new KvError(kind);
      assert.equal(error.message, message);
      assert.equal(error.grpcCode, code);
      assert.equal(GRPC_CODE_NUMBERS[error.code], code);
      assert.ok(error instanceof Error);
    });
  }
});
