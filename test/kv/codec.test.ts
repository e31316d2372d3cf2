// The binary request codec: every request type survives a round trip exactly, binary keys included.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeRequest, encodeRequest } from '../../src/kv/codec.ts';
import type { KvRequest } from '../../src/kv/types.ts';
import { utf8 } from './harness.ts';

const binaryKey = new Uint8Array([0x00, 0xff, 0x80, 0x7f, 0x00]);
const allBytes = Uint8Array.from({ length: 256 }, (_, i) => i);

const requests: Array<[string, KvRequest]> = [
  ['range, minimal', { type: 'range', key: utf8('a') }],
  [
    'range, every field',
    {
      type: 'range',
      key: binaryKey,
      rangeEnd: new Uint8Array([0]),
      limit: 10,
      revision: 2 ** 53 - 1,
      sortOrder: 'DESCEND',
      sortTarget: 'VALUE',
      serializable: true,
      keysOnly: false,
      countOnly: true,
      minModRevision: -4,
      maxModRevision: 9,
      minCreateRevision: 1,
      maxCreateRevision: 0,
    },
  ],
  ['put, minimal', { type: 'put', key: binaryKey }],
  ['put, every field', { type: 'put', key: allBytes, value: allBytes, lease: 4111120269763709480n, prevKv: true, ignoreValue: false, ignoreLease: false }],
  ['put, empty value', { type: 'put', key: utf8('k'), value: new Uint8Array(0) }],
  ['txn putting with lease 0 and -1', { type: 'txn', success: [{ requestPut: { key: utf8('a'), lease: 0n } }, { requestPut: { key: utf8('b'), lease: -1n } }] }],
  ['deleteRange', { type: 'deleteRange', key: binaryKey, rangeEnd: utf8('z'), prevKv: true }],
  [
    'txn with every compare target and nested ops',
    {
      type: 'txn',
      compare: [
        { key: binaryKey, target: 'VERSION', result: 'EQUAL', version: 0 },
        { key: utf8('a'), target: 'CREATE', result: 'GREATER', createRevision: 5, rangeEnd: utf8('b') },
        { key: utf8('a'), target: 'MOD', result: 'LESS', modRevision: 7 },
        { key: utf8('a'), target: 'VALUE', result: 'NOT_EQUAL', value: allBytes },
        { key: utf8('a'), target: 'LEASE', result: 'EQUAL', lease: -3n },
      ],
      success: [
        { requestRange: { key: utf8('a'), limit: 1 } },
        { requestPut: { key: binaryKey, value: utf8('v') } },
        { requestDeleteRange: { key: utf8('d') } },
        { requestTxn: { compare: [], success: [{ requestTxn: { failure: [{ requestPut: { key: utf8('deep') } }] } }] } },
      ],
      failure: [],
    },
  ],
  ['txn, empty', { type: 'txn' }],
  ['compaction', { type: 'compaction', revision: 1234567, physical: true }],
  ['leaseGrant with id', { type: 'leaseGrant', TTL: 60, ID: -(2n ** 63n) }],
  ['leaseGrant minted', { type: 'leaseGrant', TTL: 0, memberTag: 0xffff }],
  ['leaseRevoke', { type: 'leaseRevoke', ID: 2n ** 63n - 1n }],
  ['leaseExpire', { type: 'leaseExpire', ID: 42n }],
];

describe('request codec', () => {
  for (const [name, request] of requests) {
    it(`round-trips ${name}`, () => {
      const data = encodeRequest(request);
      assert.ok(data instanceof Uint8Array);
      assert.deepEqual(decodeRequest(data), request);
    });
  }

  it('is compact: a small put is a few bytes, not JSON', () => {
    const data = encodeRequest({ type: 'put', key: utf8('key'), value: utf8('value') });
    assert.ok(data.length <= 14, `got ${data.length} bytes`);
  });

  it('encodes equal requests to equal bytes', () => {
    const a = encodeRequest({ type: 'put', key: utf8('k'), value: utf8('v'), lease: 5n });
    const b = encodeRequest({ lease: 5n, value: utf8('v'), key: utf8('k'), type: 'put' });
    assert.deepEqual(a, b);
  });

  it('returns independent bytes for each request (the encoder reuses its buffer, never its result)', () => {
    const first = encodeRequest({ type: 'put', key: utf8('first'), value: utf8('one') });
    const copy = first.slice();
    const big = encodeRequest({ type: 'put', key: utf8('big'), value: new Uint8Array(100_000).fill(7) });
    assert.throws(() => encodeRequest({ type: 'put', key: 'text' as unknown as Uint8Array }), /wrong type/);
    const second = encodeRequest({ type: 'put', key: utf8('second'), value: utf8('two') });
    assert.deepEqual(first, copy);
    assert.equal(first.buffer.byteLength, first.length, 'no shared buffer behind the result');
    assert.equal(big.length > 100_000, true);
    assert.deepEqual(decodeRequest(big), { type: 'put', key: utf8('big'), value: new Uint8Array(100_000).fill(7) });
    assert.deepEqual(decodeRequest(second), { type: 'put', key: utf8('second'), value: utf8('two') });
  });

  it('rejects truncated data, an unknown version or type, and trailing bytes', () => {
    const data = encodeRequest({ type: 'put', key: utf8('key'), value: utf8('value') });
    assert.throws(() => decodeRequest(data.subarray(0, data.length - 1)), /unexpected end/);
    assert.throws(() => decodeRequest(Uint8Array.of(9, ...data.subarray(1))), /format version/);
    assert.throws(() => decodeRequest(Uint8Array.of(data[0]!, 200, ...data.subarray(2))), /request type/);
    assert.throws(() => decodeRequest(Uint8Array.of(...data, 0)), /trailing/);
  });

  it('refuses values it cannot represent exactly', () => {
    assert.throws(() => encodeRequest({ type: 'range', key: utf8('a'), limit: 2 ** 53 }), /safe integer/);
    assert.throws(() => encodeRequest({ type: 'leaseRevoke', ID: 2n ** 63n }), /int64/);
    assert.throws(() => encodeRequest({ type: 'put', key: 'text' as unknown as Uint8Array }), /wrong type/);
  });
});
