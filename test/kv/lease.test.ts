// Leases: the replicated table (grant, revoke, attach), the leader's Lessor (deadlines, keep-alive,
// expiry proposed through the log) and etcd's answers for unknown leases.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { KvError } from '../../src/kv/errors.ts';
import { Lessor } from '../../src/kv/lessor.ts';
import { LeaseTable } from '../../src/kv/lease.ts';
import type { KvEvent } from '../../src/kv/types.ts';
import { Harness, keysOf, text, utf8 } from './harness.ts';

interface GrantCase {
  name: string;
  ttl: number;
  minTtl?: number;
  expectTtl?: number;
  error?: string;
}

const grantCases: GrantCase[] = [
  { name: 'TTL 1 is raised to the 2 s minimum (etcd: `lease grant 1` gives TTL 2)', ttl: 1, expectTtl: 2 },
  { name: 'TTL 0 is raised to the minimum', ttl: 0, expectTtl: 2 },
  { name: 'a negative TTL is raised to the minimum', ttl: -5, expectTtl: 2 },
  { name: 'a TTL above the minimum is kept', ttl: 30, expectTtl: 30 },
  { name: 'the minimum is configurable', ttl: 3, minTtl: 5, expectTtl: 5 },
  { name: 'a TTL above 9e9 s is rejected', ttl: 9_000_000_001, error: 'etcdserver: too large lease TTL' },
];

describe('lease grant', () => {
  for (const c of grantCases) {
    it(c.name, () => {
      const h = new Harness(c.minTtl === undefined ? {} : { minLeaseTtlSeconds: c.minTtl });
      if (c.error) {
        assert.throws(() => h.apply({ type: 'leaseGrant', TTL: c.ttl, ID: 1n }), { message: c.error });
        return;
      }
      const response = h.apply({ type: 'leaseGrant', TTL: c.ttl, ID: 1n });
      assert.equal(response.TTL, c.expectTtl);
      assert.equal(h.sm.leases.ttlOf(1n), c.expectTtl);
    });
  }

  it('a given id is used; granting it again fails with lease already exists', () => {
    const h = new Harness();
    assert.equal(h.apply({ type: 'leaseGrant', TTL: 10, ID: 77n }).ID, 77n);
    assert.throws(() => h.apply({ type: 'leaseGrant', TTL: 10, ID: 77n }), { message: 'etcdserver: lease already exists', code: 'FAILED_PRECONDITION' });
  });

  it('ID 0: the server mints a positive id from the member tag (high bits) and the entry index', () => {
    const a = new Harness();
    const b = new Harness();
    const fromA = a.apply({ type: 'leaseGrant', TTL: 10, memberTag: 1 }).ID;
    const fromB = b.apply({ type: 'leaseGrant', TTL: 10, memberTag: 2 }).ID;
    assert.ok(fromA > 0n && fromB > 0n);
    assert.equal(fromA >> 48n, 1n);
    assert.equal(fromB >> 48n, 2n);
    assert.equal(fromA & 0xffffffffffffn, 1n, 'entry index 1 in the low bits');
    // The same entry gives the same id on every peer.
    const replica = new Harness();
    assert.equal(replica.apply({ type: 'leaseGrant', TTL: 10, memberTag: 1 }).ID, fromA);
  });

  it('a member tag with the top bit set still mints a positive int64', () => {
    const table = new LeaseTable(2);
    const id = table.mintId(0xffff, 5);
    assert.ok(id > 0n && id < 1n << 63n);
  });

  it('a minted id that is taken moves to the next free one', () => {
    const table = new LeaseTable(2);
    table.grant(table.mintId(3, 10), 10);
    const next = table.mintId(3, 10);
    assert.equal(next, (3n << 48n) + 11n);
  });
});

describe('lease attachment and revoke', () => {
  it('put with an unknown lease fails with requested lease not found and writes nothing', () => {
    const h = new Harness();
    h.rejects({ type: 'put', key: utf8('a'), value: utf8('v'), lease: 12345n }, 'leaseNotFound');
    assert.throws(() => h.put('a', 'v', { lease: 12345n }), { message: 'etcdserver: requested lease not found', code: 'NOT_FOUND' });
    assert.equal(h.sm.revision, 1);
  });

  it('revoke deletes every attached key in one revision, each with a DELETE event', () => {
    const h = new Harness();
    h.apply({ type: 'leaseGrant', TTL: 10, ID: 5n });
    h.put('b', '1', { lease: 5n });
    h.put('a', '1', { lease: 5n });
    h.put('free', '1');
    const events: KvEvent[][] = [];
    h.sm.watches.create({ key: utf8('\0'), rangeEnd: new Uint8Array([0]) }, (batch) => {
      if (batch.events.length) events.push(batch.events);
    });
    const response = h.apply({ type: 'leaseRevoke', ID: 5n });
    assert.equal(response.header.revision, 5);
    assert.deepEqual(keysOf(h.get('\0', { rangeEnd: new Uint8Array([0]) }).kvs), ['free']);
    assert.equal(events.length, 1, 'one revision, one batch');
    assert.deepEqual(events[0]!.map((e) => [e.type, text(e.kv.key), e.kv.modRevision]), [['DELETE', 'a', 5], ['DELETE', 'b', 5]]);
    assert.equal(h.sm.leases.has(5n), false);
  });

  it('revoking a lease with no keys does not make a revision', () => {
    const h = new Harness();
    h.apply({ type: 'leaseGrant', TTL: 10, ID: 5n });
    h.apply({ type: 'leaseRevoke', ID: 5n });
    assert.equal(h.sm.revision, 1);
  });

  it('revoking an unknown lease fails with requested lease not found', () => {
    const h = new Harness();
    h.rejects({ type: 'leaseRevoke', ID: 99n }, 'leaseNotFound');
  });

  it('a put without the lease detaches the key; a put with another lease moves it', () => {
    const h = new Harness();
    h.apply({ type: 'leaseGrant', TTL: 10, ID: 1n });
    h.apply({ type: 'leaseGrant', TTL: 10, ID: 2n });
    h.put('plain', '1', { lease: 1n });
    h.put('moved', '1', { lease: 1n });
    h.put('plain', '2');
    h.put('moved', '2', { lease: 2n });
    h.apply({ type: 'leaseRevoke', ID: 1n });
    assert.equal(text(h.kv('plain')?.value), '2');
    assert.equal(h.kv('moved')?.lease, 2n);
    assert.deepEqual(h.sm.leases.keysOf(2n), ['moved']);
  });

  it('a deleted key is detached', () => {
    const h = new Harness();
    h.apply({ type: 'leaseGrant', TTL: 10, ID: 1n });
    h.put('a', '1', { lease: 1n });
    h.del('a');
    assert.deepEqual(h.sm.leases.keysOf(1n), []);
  });

  it('leases lists every lease in id order', () => {
    const h = new Harness();
    for (const ID of [30n, -3n, 4111120269763709480n]) h.apply({ type: 'leaseGrant', TTL: 10, ID });
    assert.deepEqual(h.sm.leaseLeases().leases.map((l) => l.ID), [-3n, 30n, 4111120269763709480n]);
  });
});

describe('lessor: expiry decided by the leader, carried out through the log', () => {
  function leaderWithLease(ttl = 2) {
    const h = new Harness();
    h.sm.onLeadership(true, 0);
    const { ID } = h.apply({ type: 'leaseGrant', TTL: ttl, ID: 42n });
    h.put('owned', 'v', { lease: ID });
    h.sm.lessor.sync(1000); // the leader notices the grant at t = 1 s
    return { h, ID };
  }

  it('a lease expires at grant time + TTL, not before', () => {
    const { h, ID } = leaderWithLease();
    assert.deepEqual(h.sm.lessor.expired(2999), []);
    assert.deepEqual(h.sm.lessor.expired(3000), [ID]);
  });

  it('the expire request deletes the keys with DELETE events, identically on every peer', () => {
    const leader = leaderWithLease();
    const follower = new Harness();
    follower.apply({ type: 'leaseGrant', TTL: 2, ID: 42n });
    follower.put('owned', 'v', { lease: 42n });
    const deletes: string[] = [];
    follower.sm.watches.create({ key: utf8('owned') }, (batch) => batch.events.forEach((e) => deletes.push(`${e.type}@${e.kv.modRevision}`)));
    const [request] = leader.h.sm.expiredLeaseRequests(3000);
    assert.deepEqual(request, { type: 'leaseExpire', ID: 42n });
    leader.h.apply(request!);
    follower.apply(request!);
    assert.equal(leader.h.kv('owned'), undefined);
    assert.deepEqual(deletes, ['DELETE@3']);
    assert.equal(follower.sm.hash(), leader.h.sm.hash());
  });

  it('an expired lease is not handed out again until the retry interval passed', () => {
    const { h, ID } = leaderWithLease();
    assert.deepEqual(h.sm.lessor.expired(3000), [ID]);
    assert.deepEqual(h.sm.lessor.expired(3500), []);
    assert.deepEqual(h.sm.lessor.expired(6000), [ID]);
  });

  it('keep-alive restarts the TTL and answers the granted TTL', () => {
    const { h, ID } = leaderWithLease();
    assert.equal(h.sm.leaseKeepAlive({ ID }, 2500).TTL, 2);
    assert.deepEqual(h.sm.lessor.expired(4499), []);
    assert.deepEqual(h.sm.lessor.expired(4500), [ID]);
  });

  it('keep-alive of an unknown lease answers TTL 0', () => {
    const { h } = leaderWithLease();
    const response = h.sm.leaseKeepAlive({ ID: 404n }, 1000);
    assert.equal(response.TTL, 0);
    assert.equal(response.ID, 404n);
  });

  it('time-to-live of an unknown lease answers TTL -1', () => {
    const { h } = leaderWithLease();
    assert.equal(h.sm.leaseTimeToLive({ ID: 404n }, 1000).TTL, -1);
  });

  it('time-to-live: remaining whole seconds, granted TTL and attached keys in order', () => {
    const h = new Harness();
    h.sm.onLeadership(true, 0);
    h.apply({ type: 'leaseGrant', TTL: 10, ID: 8n });
    h.put('z', '1', { lease: 8n });
    h.put('m', '1', { lease: 8n });
    h.sm.lessor.sync(0);
    const response = h.sm.leaseTimeToLive({ ID: 8n, keys: true }, 2500);
    assert.equal(response.TTL, 7);
    assert.equal(response.grantedTTL, 10);
    assert.deepEqual(response.keys.map(text), ['m', 'z']);
    assert.deepEqual(h.sm.leaseTimeToLive({ ID: 8n }, 2500).keys, []);
  });

  it('a new leader gives existing leases a fresh TTL', () => {
    const { h, ID } = leaderWithLease();
    h.sm.onLeadership(false);
    assert.deepEqual(h.sm.lessor.expired(10_000), [], 'a follower expires nothing');
    h.sm.onLeadership(true, 10_000);
    assert.deepEqual(h.sm.lessor.expired(11_999), []);
    assert.deepEqual(h.sm.lessor.expired(12_000), [ID]);
  });

  it('a follower cannot renew (keep-alives go to the leader)', () => {
    const h = new Harness();
    h.apply({ type: 'leaseGrant', TTL: 10, ID: 1n });
    assert.throws(() => h.sm.leaseKeepAlive({ ID: 1n }, 0), (error: unknown) => error instanceof KvError && error.kind === 'notLeader');
  });

  it('a revoked lease leaves the deadlines', () => {
    const { h, ID } = leaderWithLease();
    h.apply({ type: 'leaseRevoke', ID });
    assert.deepEqual(h.sm.lessor.expired(100_000), []);
    assert.equal(h.sm.lessor.deadlineOf(ID, 100_000), undefined);
  });

  it('works on its own against any TTL source', () => {
    const table = new LeaseTable(2);
    const lessor = new Lessor(table, { expiryRetryMs: 100 });
    lessor.promote(0);
    table.grant(1n, 5);
    assert.equal(lessor.remainingTtl(1n, 0), 5);
    assert.equal(lessor.remainingTtl(1n, 1001), 3);
    assert.equal(lessor.remainingTtl(2n, 0), -1);
  });
});
