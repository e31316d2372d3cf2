// Alarms in the replicated state: raised and cleared through the log, refusing what etcd's appliers refuse while
// raised, and carried by snapshots (a state without alarms keeps its old snapshot bytes).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeRequest } from '../../src/kv/codec.ts';
import { KvStateMachine } from '../../src/kv/kv-state-machine.ts';
import type { AlarmAction, AlarmType } from '../../src/kv/types.ts';
import { Harness, utf8 } from './harness.ts';

const BIG_MEMBER = 2n ** 64n - 5n; // above 2^63: member ids are uint64
const alarm = (h: Harness, action: AlarmAction, memberID: bigint, type: AlarmType) => h.apply({ type: 'alarm', action, memberID, alarm: type });
const list = (h: Harness, type: AlarmType = 'NONE') => alarm(h, 'GET', 0n, type).alarms;

describe('alarms', () => {
  it('are raised and cleared as etcd answers: the alarm changed, nothing for NONE or one not raised', () => {
    const h = new Harness();
    assert.deepEqual(list(h), []);
    assert.deepEqual(alarm(h, 'ACTIVATE', 7n, 'NOSPACE').alarms, [{ memberID: 7n, alarm: 'NOSPACE' }]);
    assert.deepEqual(alarm(h, 'ACTIVATE', 7n, 'NOSPACE').alarms, [{ memberID: 7n, alarm: 'NOSPACE' }], 'raised again: still answered');
    assert.deepEqual(alarm(h, 'ACTIVATE', 3n, 'NONE').alarms, []);
    alarm(h, 'ACTIVATE', BIG_MEMBER, 'NOSPACE');
    alarm(h, 'ACTIVATE', 2n, 'CORRUPT');
    assert.deepEqual(list(h), [
      { memberID: 7n, alarm: 'NOSPACE' },
      { memberID: BIG_MEMBER, alarm: 'NOSPACE' },
      { memberID: 2n, alarm: 'CORRUPT' },
    ]);
    assert.deepEqual(list(h, 'CORRUPT'), [{ memberID: 2n, alarm: 'CORRUPT' }]);
    assert.deepEqual(alarm(h, 'DEACTIVATE', 9n, 'NOSPACE').alarms, [], 'not raised');
    assert.deepEqual(alarm(h, 'DEACTIVATE', 2n, 'CORRUPT').alarms, [{ memberID: 2n, alarm: 'CORRUPT' }]);
    assert.deepEqual(list(h, 'CORRUPT'), []);
  });

  it('NOSPACE refuses what grows the store and lets through what frees it', () => {
    const h = new Harness();
    h.put('a', '1');
    h.apply({ type: 'leaseGrant', TTL: 60, ID: 5n });
    alarm(h, 'ACTIVATE', 1n, 'NOSPACE');
    h.rejects({ type: 'put', key: utf8('b'), value: utf8('2') }, 'noSpace');
    h.rejects({ type: 'txn', success: [{ requestDeleteRange: { key: utf8('a') } }], failure: [{ requestPut: { key: utf8('b'), value: utf8('2') } }] }, 'noSpace');
    h.rejects({ type: 'leaseGrant', TTL: 60, ID: 6n }, 'noSpace');
    // Reads, deletes, txns without puts, compactions and revokes still run.
    assert.equal(h.kv('a')?.value.length, 1);
    h.apply({ type: 'txn', compare: [], success: [{ requestRange: { key: utf8('a') } }] });
    h.apply({ type: 'compaction', revision: 2 });
    h.apply({ type: 'leaseRevoke', ID: 5n });
    h.del('a');
    assert.equal(h.kv('a'), undefined);
    alarm(h, 'DEACTIVATE', 1n, 'NOSPACE');
    h.put('b', '2');
    assert.equal(h.kv('b')?.version, 1);
  });

  it('CORRUPT refuses every write but a lease expiry', () => {
    const h = new Harness();
    h.put('a', '1');
    h.apply({ type: 'leaseGrant', TTL: 60, ID: 5n });
    h.apply({ type: 'leaseGrant', TTL: 60, ID: 6n });
    alarm(h, 'ACTIVATE', 1n, 'CORRUPT');
    h.rejects({ type: 'deleteRange', key: utf8('a') }, 'corrupt');
    h.rejects({ type: 'put', key: utf8('a'), value: utf8('2') }, 'corrupt');
    h.rejects({ type: 'compaction', revision: 1 }, 'corrupt');
    h.rejects({ type: 'leaseRevoke', ID: 5n }, 'corrupt');
    h.apply({ type: 'leaseExpire', ID: 6n });
    assert.equal(h.sm.leases.has(6n), false);
    assert.equal(h.kv('a')?.value.length, 1, 'reads still answer');
  });

  it('an alarm request survives the log encoding with a member id above 2^63', () => {
    const sm = new KvStateMachine();
    const decoded = decodeRequest(sm.prepareProposal({ type: 'alarm', action: 'ACTIVATE', memberID: BIG_MEMBER, alarm: 'CORRUPT' }));
    assert.deepEqual(decoded, { type: 'alarm', action: 'ACTIVATE', memberID: BIG_MEMBER, alarm: 'CORRUPT' });
  });

  it('are carried by snapshots, whole and sliced, and count in the state hash', () => {
    const h = new Harness();
    h.put('a', '1');
    const withoutAlarms = h.sm.snapshot();
    assert.equal(withoutAlarms[4], 1, 'a state without alarms is still a version 1 snapshot');
    const hashBefore = h.sm.hash();
    alarm(h, 'ACTIVATE', BIG_MEMBER, 'NOSPACE');
    assert.notEqual(h.sm.hash(), hashBefore);
    const encoder = h.sm.startSnapshot();
    while (!encoder.step(1));
    const whole = h.sm.snapshot();
    assert.deepEqual(encoder.result(), whole);
    assert.equal(whole[4], 2);

    const restored = new KvStateMachine();
    restored.restore(whole);
    assert.deepEqual(restored.alarms.list(), [{ memberID: BIG_MEMBER, alarm: 'NOSPACE' }]);
    assert.equal(restored.hash(), h.sm.hash());
    const older = new KvStateMachine();
    older.restore(withoutAlarms);
    assert.deepEqual(older.alarms.list(), []);
  });

  it('a snapshot taken while an alarm changes holds the alarms of its start', () => {
    const h = new Harness();
    for (let i = 0; i < 10; i++) h.put(`k${i}`, 'v');
    alarm(h, 'ACTIVATE', 1n, 'NOSPACE');
    const expected = h.sm.snapshot();
    const encoder = h.sm.startSnapshot();
    encoder.step(2);
    alarm(h, 'DEACTIVATE', 1n, 'NOSPACE');
    while (!encoder.step(2));
    assert.deepEqual(encoder.result(), expected);
  });
});
