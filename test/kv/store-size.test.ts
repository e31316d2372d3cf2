// The store's size as etcd reports its database's: in use (drops at a compaction) and the most it has been since
// the last defragment (what etcd's file would have grown to). The space quota and `etcdctl endpoint status` read it.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { KvStateMachine } from '../../src/kv/kv-state-machine.ts';
import { Harness } from './harness.ts';

const RECORD = 64; // mvcc-store.ts: RECORD_OVERHEAD_BYTES
const LEASE = 64; // kv-state-machine.ts: LEASE_RECORD_BYTES

it('counts every surviving record: key, value and its overhead; a compaction frees, a defragment lowers the peak', () => {
  const h = new Harness();
  const store = h.sm.store;
  const sm = h.sm;
  assert.equal(store.byteSize, 0);
  h.put('a', '123');
  assert.equal(store.byteSize, 1 + 3 + RECORD);
  h.put('a', '45');
  h.put('bb', '');
  assert.equal(store.byteSize, 1 + 3 + RECORD + (1 + 2 + RECORD) + (2 + RECORD));
  h.del('a'); // a tombstone is a record too
  const full = 1 + 3 + RECORD + (1 + 2 + RECORD) + (2 + RECORD) + (1 + RECORD);
  assert.equal(store.byteSize, full);
  assert.equal(sm.dbSize, full);
  assert.equal(sm.dbSizeInUse, full);
  h.apply({ type: 'compaction', revision: h.sm.revision });
  assert.equal(store.byteSize, 2 + RECORD, "only bb's record survives");
  assert.equal(sm.dbSize, full, 'the peak stays until a defragment');
  sm.defragment();
  assert.equal(sm.dbSize, 2 + RECORD);
  h.put('c', 'xyz');
  assert.equal(sm.dbSize, 2 + RECORD + 1 + 3 + RECORD);
  // A lease counts too, until it is revoked.
  h.apply({ type: 'leaseGrant', TTL: 60, ID: 9n });
  assert.equal(sm.dbSizeInUse, 2 + RECORD + 1 + 3 + RECORD + LEASE);
  h.apply({ type: 'leaseRevoke', ID: 9n });
  assert.equal(sm.dbSizeInUse, 2 + RECORD + 1 + 3 + RECORD);
  assert.equal(sm.dbSize, 2 + RECORD + 1 + 3 + RECORD + LEASE);
});

it('a restored store has the size of the one it was taken from', () => {
  const h = new Harness();
  for (let i = 0; i < 50; i++) h.put(`key/${i % 7}`, 'v'.repeat(i));
  h.apply({ type: 'leaseGrant', TTL: 60, ID: 3n });
  h.apply({ type: 'compaction', revision: 20 });
  const restored = new KvStateMachine();
  restored.restore(h.sm.snapshot());
  assert.equal(restored.store.byteSize, h.sm.store.byteSize);
  assert.equal(restored.dbSize, h.sm.dbSizeInUse);
  assert.equal(restored.dbSizeInUse, h.sm.dbSizeInUse);
});
