// Revision numbering and key versions, one case per rule of etcd's MVCC model.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Harness, utf8 } from './harness.ts';

interface Case {
  name: string;
  run(h: Harness): void;
}

const cases: Case[] = [
  {
    name: 'the store revision starts at 1 and the first write makes revision 2',
    run(h) {
      assert.equal(h.sm.revision, 1);
      assert.equal(h.get('a').header.revision, 1);
      assert.equal(h.put('a', '1').header.revision, 2);
      assert.equal(h.sm.revision, 2);
    },
  },
  {
    name: 'create: create_revision = mod_revision = the new revision, version 1',
    run(h) {
      h.put('x', '0');
      h.put('a', '1');
      assert.deepEqual(pick(h.kv('a')), { createRevision: 3, modRevision: 3, version: 1 });
    },
  },
  {
    name: 'update: create_revision kept, mod_revision is the new revision, version + 1',
    run(h) {
      h.put('a', '1');
      h.put('b', '1');
      h.put('a', '2');
      assert.deepEqual(pick(h.kv('a')), { createRevision: 2, modRevision: 4, version: 2 });
    },
  },
  {
    name: 'a put of the same value still makes a revision',
    run(h) {
      h.put('a', '1');
      assert.equal(h.put('a', '1').header.revision, 3);
      assert.equal(h.kv('a')!.version, 2);
    },
  },
  {
    name: 'delete ends the generation: re-creating starts at version 1 with a new create_revision',
    run(h) {
      h.put('a', '1');
      h.put('a', '2');
      assert.equal(h.del('a').deleted, 1);
      assert.equal(h.kv('a'), undefined);
      h.put('a', '3');
      assert.deepEqual(pick(h.kv('a')), { createRevision: 5, modRevision: 5, version: 1 });
    },
  },
  {
    name: 'deleting a missing key leaves the revision unchanged',
    run(h) {
      h.put('a', '1');
      const response = h.del('zzz');
      assert.equal(response.deleted, 0);
      assert.equal(response.header.revision, 2);
      assert.equal(h.sm.revision, 2);
    },
  },
  {
    name: 'a txn with several puts uses one revision',
    run(h) {
      const response = h.apply({
        type: 'txn',
        success: [
          { requestPut: { key: utf8('a'), value: utf8('1') } },
          { requestPut: { key: utf8('b'), value: utf8('1') } },
          { requestDeleteRange: { key: utf8('nothing') } },
        ],
      });
      assert.equal(response.header.revision, 2);
      assert.equal(h.kv('a')!.modRevision, 2);
      assert.equal(h.kv('b')!.modRevision, 2);
    },
  },
  {
    name: 'a txn whose compare fails with no writes leaves the revision unchanged',
    run(h) {
      h.put('a', '1');
      const response = h.apply({
        type: 'txn',
        compare: [{ key: utf8('a'), target: 'VALUE', result: 'EQUAL', value: utf8('other') }],
        success: [{ requestPut: { key: utf8('a'), value: utf8('2') } }],
      });
      assert.equal(response.succeeded, false);
      assert.equal(response.header.revision, 2);
      assert.equal(h.sm.revision, 2);
    },
  },
  {
    name: 'a txn that only reads leaves the revision unchanged',
    run(h) {
      h.put('a', '1');
      h.apply({ type: 'txn', success: [{ requestRange: { key: utf8('a') } }] });
      assert.equal(h.sm.revision, 2);
    },
  },
  {
    name: 'lease grant and compaction do not make revisions',
    run(h) {
      h.put('a', '1');
      h.apply({ type: 'leaseGrant', TTL: 10, ID: 5n });
      h.apply({ type: 'compaction', revision: 2 });
      assert.equal(h.sm.revision, 2);
    },
  },
  {
    name: 'delete range deletes every live key in one revision and reports how many',
    run(h) {
      h.put('k1', '1');
      h.put('k2', '1');
      h.put('k3', '1');
      h.del('k2');
      const response = h.del('k', 'l', true);
      assert.equal(response.deleted, 2);
      assert.deepEqual(response.prevKvs.map((kv) => kv.modRevision), [2, 4]);
      assert.equal(response.header.revision, 6);
    },
  },
  {
    name: 'put with prev_kv returns the previous value, none on creation',
    run(h) {
      assert.equal(h.put('a', '1', { prevKv: true }).prevKv, undefined);
      const response = h.put('a', '2', { prevKv: true });
      assert.deepEqual(response.prevKv && { value: [...response.prevKv.value], version: response.prevKv.version }, { value: [0x31], version: 1 });
    },
  },
  {
    name: 'ignore_value keeps the value, ignore_lease keeps the lease',
    run(h) {
      h.apply({ type: 'leaseGrant', TTL: 10, ID: 9n });
      h.put('a', 'keep', { lease: 9n });
      h.apply({ type: 'put', key: utf8('a'), ignoreValue: true, ignoreLease: true });
      const kv = h.kv('a')!;
      assert.equal(new TextDecoder().decode(kv.value), 'keep');
      assert.equal(kv.lease, 9n);
      assert.equal(kv.version, 2);
    },
  },
  {
    name: 'ignore_value on a missing key fails with key not found',
    run(h) {
      h.rejects({ type: 'put', key: utf8('missing'), ignoreValue: true }, 'keyNotFound');
    },
  },
  {
    name: 'ignore_value with a value, ignore_lease with a lease are rejected',
    run(h) {
      h.put('a', '1');
      assert.throws(() => h.apply({ type: 'put', key: utf8('a'), value: utf8('v'), ignoreValue: true }), /etcdserver: value is provided/);
      assert.throws(() => h.apply({ type: 'put', key: utf8('a'), lease: 1n, ignoreLease: true }), /etcdserver: lease is provided/);
    },
  },
  {
    name: 'an empty key is rejected',
    run(h) {
      assert.throws(() => h.apply({ type: 'put', key: new Uint8Array(0), value: utf8('v') }), /etcdserver: key is not provided/);
      assert.throws(() => h.get(''), /etcdserver: key is not provided/);
    },
  },
];

describe('revisions and versions', () => {
  for (const c of cases) it(c.name, () => c.run(new Harness()));
});

function pick(kv: { createRevision: number; modRevision: number; version: number } | undefined) {
  assert.ok(kv, 'key should exist');
  return { createRevision: kv.createRevision, modRevision: kv.modRevision, version: kv.version };
}
