// Compaction: which revisions stay readable and the exact errors etcd gives.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Harness, keysOf, text, utf8 } from './harness.ts';

const COMPACTED = 'etcdserver: mvcc: required revision has been compacted';
const FUTURE = 'etcdserver: mvcc: required revision is a future revision';

/** a=1 (2), b=1 (3), a=2 (4), delete b (5), c=1 (6). */
function fixture(): Harness {
  const h = new Harness();
  h.put('a', '1');
  h.put('b', '1');
  h.put('a', '2');
  h.del('b');
  h.put('c', '1');
  return h;
}

interface Case {
  name: string;
  run(h: Harness): void;
}

const cases: Case[] = [
  {
    name: 'compacting above the current revision fails with future revision',
    run(h) {
      h.rejects({ type: 'compaction', revision: 7 }, 'futureRevision');
    },
  },
  {
    name: 'compacting at the last compacted revision fails with compacted',
    run(h) {
      h.apply({ type: 'compaction', revision: 4 });
      h.rejects({ type: 'compaction', revision: 4 }, 'compacted');
    },
  },
  {
    name: 'compacting below the last compacted revision fails with compacted',
    run(h) {
      h.apply({ type: 'compaction', revision: 4 });
      h.rejects({ type: 'compaction', revision: 3 }, 'compacted');
    },
  },
  {
    name: 'compaction answers with the current revision and keeps it',
    run(h) {
      assert.equal(h.apply({ type: 'compaction', revision: 4 }).header.revision, 6);
      assert.equal(h.sm.revision, 6);
      assert.equal(h.sm.compactRevision, 4);
    },
  },
  {
    name: 'a read below the compacted revision fails; at it and above works',
    run(h) {
      h.apply({ type: 'compaction', revision: 4 });
      assert.throws(() => h.get('a', { revision: 3 }), { message: COMPACTED });
      assert.equal(text(h.get('a', { revision: 4 }).kvs[0]?.value), '2');
      assert.equal(text(h.get('a', { revision: 6 }).kvs[0]?.value), '2');
    },
  },
  {
    name: 'reads at and after the compaction revision are unchanged by it',
    run(h) {
      const before = [4, 5, 6].map((revision) => keysOf(h.get('\0', { rangeEnd: new Uint8Array([0]), revision }).kvs));
      h.apply({ type: 'compaction', revision: 4 });
      const after = [4, 5, 6].map((revision) => keysOf(h.get('\0', { rangeEnd: new Uint8Array([0]), revision }).kvs));
      assert.deepEqual(after, before);
      assert.deepEqual(before, [['a', 'b'], ['a'], ['a', 'c']]);
    },
  },
  {
    name: 'history before the compaction revision is dropped, deleted keys leave the index',
    run(h) {
      const keysBefore = h.sm.store.indexedKeyCount;
      h.apply({ type: 'compaction', revision: 6 });
      assert.equal(keysBefore, 3);
      assert.equal(h.sm.store.indexedKeyCount, 2, 'b was deleted before the compaction revision');
      assert.equal(h.sm.store.history('a')!.records.length, 1, 'only the value visible at 6 remains');
    },
  },
  {
    name: 'a txn range at a compacted revision fails the whole txn',
    run(h) {
      h.apply({ type: 'compaction', revision: 4 });
      h.rejects(
        { type: 'txn', success: [{ requestPut: { key: utf8('z'), value: utf8('1') } }, { requestRange: { key: utf8('a'), revision: 3 } }] },
        'compacted',
      );
      assert.equal(h.kv('z'), undefined);
    },
  },
  {
    name: 'a txn range at a future revision fails the whole txn',
    run(h) {
      h.rejects({ type: 'txn', success: [{ requestRange: { key: utf8('a'), revision: 7 } }] }, 'futureRevision');
    },
  },
  {
    name: 'compaction errors carry the OUT_OF_RANGE code',
    run(h) {
      assert.throws(() => h.get('a', { revision: 99 }), (error: unknown) => (error as { code?: string }).code === 'OUT_OF_RANGE' && (error as Error).message === FUTURE);
    },
  },
];

describe('compaction', () => {
  for (const c of cases) it(c.name, () => c.run(fixture()));
});
