// The incremental snapshot encoder: started at one point, stepped a few keys at a time while the state keeps
// changing (puts, deletes, leases, compactions), it gives exactly the bytes `snapshot()` gave at the start.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeSnapshot } from '../../src/kv/snapshot.ts';
import { Harness, utf8 } from './harness.ts';

function seeded(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 32;
  };
}

/** A store with many keys, several versions each, tombstones, leases and a compaction. */
function populated(): Harness {
  const h = new Harness();
  h.apply({ type: 'leaseGrant', TTL: 30, ID: 7n });
  h.apply({ type: 'leaseGrant', TTL: 60, ID: 8n });
  for (let i = 0; i < 300; i++) h.put(`key/${String(i % 120).padStart(3, '0')}`, `v${i}`, i % 7 === 0 ? { lease: 7n } : {});
  for (let i = 0; i < 120; i += 11) h.del(`key/${String(i).padStart(3, '0')}`);
  h.apply({ type: 'compaction', revision: 100 });
  for (let i = 0; i < 60; i++) h.put(`key/${String(i * 2).padStart(3, '0')}`, `w${i}`, i % 5 === 0 ? { lease: 8n } : {});
  return h;
}

/** One random change of the kind that may happen while an encoding runs. */
function mutate(h: Harness, random: () => number, step: number): void {
  const key = `key/${String(Math.floor(random() * 140)).padStart(3, '0')}`;
  const r = random();
  if (r < 0.45) h.put(key, `m${step}`, random() < 0.2 && h.sm.leases.has(7n) ? { lease: 7n } : {});
  else if (r < 0.6) h.del(key);
  else if (r < 0.65) h.del('key/0', 'key/1'); // a range delete
  else if (r < 0.72) h.apply({ type: 'leaseGrant', TTL: 10 + step, ID: BigInt(100 + step) });
  else if (r < 0.78) {
    try {
      h.apply({ type: 'leaseRevoke', ID: random() < 0.5 ? 7n : 8n });
    } catch {
      /* already revoked */
    }
  } else if (r < 0.85) {
    const target = h.sm.compactRevision + 1 + Math.floor(random() * (h.sm.revision - h.sm.compactRevision));
    if (target > h.sm.compactRevision && target <= h.sm.revision) h.apply({ type: 'compaction', revision: target });
  } else h.put(`new/${step}`, 'n'); // a key created after the start
}

describe('SnapshotEncoder', () => {
  it('with nothing in between, gives the bytes of snapshot()', () => {
    const h = populated();
    const expected = h.sm.snapshot();
    const encoder = h.sm.startSnapshot();
    while (!encoder.step(7));
    assert.deepEqual(encoder.result(), expected);
  });

  it('an empty store', () => {
    const h = new Harness();
    const encoder = h.sm.startSnapshot();
    assert.equal(encoder.step(10), true);
    assert.deepEqual(encoder.result(), h.sm.snapshot());
  });

  for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
    it(`gives the bytes of snapshot() at its start while puts, deletes, leases and compactions are applied (seed ${seed})`, () => {
      const random = seeded(seed);
      const h = populated();
      const expected = h.sm.snapshot();
      const hashAtStart = h.sm.hash();
      const encoder = h.sm.startSnapshot();
      let step = 0;
      let slices = 0;
      while (!encoder.step(1 + Math.floor(random() * 9))) {
        slices++;
        if (slices === 3 && h.sm.leases.has(7n)) h.apply({ type: 'leaseRevoke', ID: 7n }); // deletes its keys
        if (slices === 5) h.apply({ type: 'compaction', revision: h.sm.revision - 1 });
        const changes = Math.floor(random() * 4);
        for (let i = 0; i < changes; i++) mutate(h, random, step++);
      }
      assert.ok(slices > 10);
      const bytes = encoder.result();
      assert.deepEqual(bytes, expected);
      const restored = decodeSnapshot(bytes, 1);
      assert.notEqual(h.sm.hash(), hashAtStart);
      assert.equal(restored.appliedIndex, decodeSnapshot(expected, 1).appliedIndex);
    });
  }

  it('a compaction between slices that removes whole keys still encodes them', () => {
    const h = new Harness();
    for (let i = 0; i < 50; i++) h.put(`a${i}`, 'x');
    for (let i = 0; i < 50; i += 2) h.del(`a${i}`);
    const expected = h.sm.snapshot();
    const encoder = h.sm.startSnapshot();
    assert.equal(encoder.step(3), false);
    h.apply({ type: 'compaction', revision: h.sm.revision }); // drops every deleted key
    h.put('a0', 'again'); // a new history for a key the encoder still holds the old one of
    h.apply({ type: 'compaction', revision: h.sm.revision });
    while (!encoder.step(5));
    assert.deepEqual(encoder.result(), expected);
  });

  it('reads during an encoding see the compaction as usual', () => {
    const h = populated();
    const encoder = h.sm.startSnapshot();
    encoder.step(5);
    h.apply({ type: 'compaction', revision: h.sm.revision - 3 });
    const other = populated();
    other.apply({ type: 'compaction', revision: other.sm.revision - 3 });
    assert.equal(h.sm.hash(), other.sm.hash());
    assert.deepEqual(h.sm.range({ key: utf8('key/'), rangeEnd: utf8('key0'), countOnly: true }), other.sm.range({ key: utf8('key/'), rangeEnd: utf8('key0'), countOnly: true }));
    encoder.cancel();
    assert.throws(() => encoder.step(1));
  });
});
