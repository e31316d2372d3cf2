// The store's size as etcd reports its database's: in use (drops at a compaction) and the most it has been since
// the last defragment (what etcd's file would have grown to). The space quota and `etcdctl endpoint status` read it.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { KvStateMachine } from '../../src/kv/kv-state-machine.ts';
import { Harness } from './harness.ts';

const RECORD = 64; // mvcc-store.ts: RECORD_OVERHEAD_BYTES

it('counts every surviving record: key, value and its overhead; a compaction frees, a defragment lowers the peak', () => {
  const h = new Harness();
  const store = h.sm.store;
  assert.equal(store.byteSize, 0);
  h.put('a', '123');
  assert.equal(store.byteSize, 1 + 3 + RECORD);
  h.put('a', '45');
  h.put('bb', '');
  assert.equal(store.byteSize, 1 + 3 + RECORD + (1 + 2 + RECORD) + (2 + RECORD));
  h.del('a'); // a tombstone is a record too
  const full = 1 + 3 + RECORD + (1 + 2 + RECORD) + (2 + RECORD) + (1 + RECORD);
  assert.equal(store.byteSize, full);
  assert.equal(store.peakBytes, full);
  h.apply({ type: 'compaction', revision: h.sm.revision });
  assert.equal(store.byteSize, 2 + RECORD, "only bb's record survives");
  assert.equal(store.peakBytes, full, 'the peak stays until a defragment');
  store.resetPeakBytes();
  assert.equal(store.peakBytes, 2 + RECORD);
  h.put('c', 'xyz');
  assert.equal(store.peakBytes, 2 + RECORD + 1 + 3 + RECORD);
});

it('a restored store has the size of the one it was taken from', () => {
  const h = new Harness();
  for (let i = 0; i < 50; i++) h.put(`key/${i % 7}`, 'v'.repeat(i));
  h.apply({ type: 'compaction', revision: 20 });
  const restored = new KvStateMachine();
  restored.restore(h.sm.snapshot());
  assert.equal(restored.store.byteSize, h.sm.store.byteSize);
  assert.equal(restored.store.peakBytes, h.sm.store.byteSize);
});
