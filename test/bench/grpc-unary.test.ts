// The benchmark client's hand-encoded messages decode, with etcd's own proto, to the requests it means to send.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encodeCas, encodePut, encodeRange, txnSucceeded } from '../../bench/grpc-unary.ts';
import { etcdServiceDefinitions } from '../../src/api/etcd/proto.ts';

const kv = etcdServiceDefinitions().KV!;
const decode = (method: string, bytes: Buffer) => kv[method]!.requestDeserialize(bytes) as Record<string, any>;
const big = Buffer.alloc(300, 7); // a length past one varint byte

test('Put and Range requests', () => {
  const put = decode('Put', encodePut(Buffer.from('bench/k'), big));
  assert.deepEqual([put.key.toString(), put.value.length, put.value[299], put.lease], ['bench/k', 300, 7, '0']);
  assert.equal(decode('Range', encodeRange(Buffer.from('r'), true)).serializable, true);
  const lin = decode('Range', encodeRange(Buffer.from('r'), false));
  assert.deepEqual([lin.key.toString(), lin.serializable, lin.rangeEnd.length], ['r', false, 0]);
});

test('the compare-and-swap Txn', () => {
  const txn = decode('Txn', encodeCas(Buffer.from('c'), Buffer.from('1'), big));
  assert.equal(txn.compare.length, 1);
  assert.deepEqual([txn.compare[0].key.toString(), txn.compare[0].target, txn.compare[0].result, txn.compare[0].value.toString()], ['c', 'VALUE', 'EQUAL', '1']);
  assert.deepEqual([txn.success[0].requestPut.key.toString(), txn.success[0].requestPut.value.length], ['c', 300]);
  assert.equal(txn.failure[0].requestRange.key.toString(), 'c');
});

test('TxnResponse.succeeded is read past a header and responses of any size', () => {
  const header = { clusterId: '14841639068965178418', memberId: '10276657743932975437', revision: '123456789', raftTerm: '7' };
  const responses = [{ responseRange: { kvs: [{ key: Buffer.from('c'), value: big }] } }];
  for (const succeeded of [true, false]) {
    const bytes = kv.Txn!.responseSerialize({ header, succeeded, responses }) as Buffer;
    assert.equal(txnSucceeded(bytes), succeeded);
  }
});
