// Snapshot and restore: a restored store is equivalent in every way a client or a peer can observe.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { KvStateMachine } from '../../src/kv/kv-state-machine.ts';
import type { KvRequest } from '../../src/kv/types.ts';
import { Harness, utf8 } from './harness.ts';

/** A history that touches every kind of state: versions, deletes, leases, binary keys, compaction. */
function busy(): Harness {
  const h = new Harness();
  h.apply({ type: 'leaseGrant', TTL: 30, ID: 11n });
  h.apply({ type: 'leaseGrant', TTL: 1, memberTag: 3 });
  for (let i = 0; i < 40; i++) {
    const key = `k${i % 9}`;
    if (i % 6 === 5) h.del(key);
    else h.put(key, `v${i}`, i % 4 === 0 ? { lease: 11n } : {});
  }
  h.apply({ type: 'put', key: new Uint8Array([0, 0xff, 1]), value: new Uint8Array([0xff]) });
  h.apply({ type: 'compaction', revision: 20 });
  h.apply({ type: 'txn', success: [{ requestPut: { key: utf8('t1'), value: utf8('x') } }, { requestDeleteRange: { key: utf8('k1') } }] });
  return h;
}

const probes: KvRequest[] = [
  { type: 'range', key: new Uint8Array([0]), rangeEnd: new Uint8Array([0]) },
  { type: 'range', key: utf8('k'), rangeEnd: utf8('l'), revision: 20 },
  { type: 'range', key: utf8('k'), rangeEnd: utf8('l'), revision: 25, sortTarget: 'MOD', sortOrder: 'DESCEND' },
  { type: 'put', key: utf8('k3'), value: utf8('after'), prevKv: true },
  { type: 'leaseRevoke', ID: 11n },
  { type: 'txn', compare: [{ key: utf8('k2'), target: 'VERSION', result: 'GREATER', version: 1 }], success: [{ requestPut: { key: utf8('k4'), value: utf8('y') } }] },
  { type: 'compaction', revision: 19 },
  { type: 'leaseGrant', TTL: 5, memberTag: 3 },
];

function outcome(sm: KvStateMachine, request: KvRequest, index: number): unknown {
  try {
    return sm.applyRequest(request, index);
  } catch (error) {
    return { error: (error as Error).message };
  }
}

describe('snapshot and restore', () => {
  it('a restored store has the same hash, revision, compaction point, leases and applied index', () => {
    const original = busy();
    const restored = new KvStateMachine();
    restored.restore(original.sm.snapshot());
    assert.equal(restored.hash(), original.sm.hash());
    assert.equal(restored.revision, original.sm.revision);
    assert.equal(restored.compactRevision, 20);
    assert.equal(restored.appliedIndex, original.sm.appliedIndex);
    assert.deepEqual(restored.leaseLeases(), original.sm.leaseLeases());
    assert.deepEqual(restored.leases.keysOf(11n), original.sm.leases.keysOf(11n));
    assert.deepEqual(restored.snapshot(), original.sm.snapshot(), 'byte-for-byte the same snapshot');
  });

  it('a restored store answers every later request exactly as the original', () => {
    const original = busy();
    const restored = new KvStateMachine();
    restored.restore(original.sm.snapshot());
    let index = original.sm.appliedIndex;
    for (const request of probes) {
      index++;
      assert.deepEqual(outcome(restored, request, index), outcome(original.sm, request, index), request.type);
      assert.equal(restored.hash(), original.sm.hash());
    }
  });

  it('a restored store replays the same watch history', () => {
    const original = busy();
    const restored = new KvStateMachine();
    restored.restore(original.sm.snapshot());
    const collect = (sm: KvStateMachine) => {
      const out: unknown[] = [];
      sm.watches.create({ key: new Uint8Array([0]), rangeEnd: new Uint8Array([0]), startRevision: 20, prevKv: true }, (b) => out.push(b.events));
      return out;
    };
    assert.deepEqual(collect(restored), collect(original.sm));
  });

  it('the hash tells different states apart', () => {
    const a = busy();
    const b = busy();
    assert.equal(a.sm.hash(), b.sm.hash());
    b.put('k1', 'diverged');
    assert.notEqual(a.sm.hash(), b.sm.hash());
    a.put('k1', 'other');
    assert.notEqual(a.sm.hash(), b.sm.hash(), 'same revision, different value');
  });

  it('peers applying the same entries agree on the hash and on every response', () => {
    const peers = [new Harness(), new Harness(), new Harness()];
    const requests: KvRequest[] = [
      { type: 'leaseGrant', TTL: 10, memberTag: 9 },
      { type: 'put', key: utf8('a'), value: utf8('1') },
      { type: 'txn', compare: [{ key: utf8('a'), target: 'VALUE', result: 'EQUAL', value: utf8('1') }], success: [{ requestPut: { key: utf8('b'), value: utf8('2') } }] },
      { type: 'put', key: utf8('c'), lease: 404n },
      { type: 'deleteRange', key: utf8('a'), rangeEnd: utf8('z') },
    ];
    for (const request of requests) {
      const answers = peers.map((p) => {
        try {
          return p.apply(request);
        } catch (error) {
          return (error as Error).message;
        }
      });
      assert.deepEqual(answers[1], answers[0]);
      assert.deepEqual(answers[2], answers[0]);
    }
    assert.equal(new Set(peers.map((p) => p.sm.hash())).size, 1);
  });

  it('rejects bytes that are not a snapshot', () => {
    assert.throws(() => new KvStateMachine().restore(utf8('nonsense')), /not a Raft Lab KV snapshot/);
  });

  it('an entry at or below the applied index is refused', () => {
    const h = busy();
    assert.throws(() => h.sm.applyRequest({ type: 'put', key: utf8('x') }, h.sm.appliedIndex), /not above the applied index/);
  });
});
