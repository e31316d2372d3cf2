// The KV workload's own checks on hand-made cases: watch streams (missing, extra, duplicated, reordered or
// split events, filters, prev_kv), serializable reads and lease expiry timing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KeyValue, KvEvent } from '../../src/kv/types.ts';
import { checkLeaseExpiry, checkSerializableRead, checkWatchSegment, type WatchSegment } from './kv-checks.ts';
import { stringToBytes } from './fingerprint.ts';

function kv(key: string, value: string, mod: number, create = mod, version = 1): KeyValue {
  return { key: stringToBytes(key), value: stringToBytes(value), createRevision: create, modRevision: mod, version, lease: 0n };
}
const put = (key: string, value: string, mod: number, prev?: KeyValue): KvEvent => ({ type: 'PUT', kv: kv(key, value, mod), ...(prev ? { prevKv: prev } : {}) });
const del = (key: string, mod: number): KvEvent => ({ type: 'DELETE', kv: { ...kv(key, '', mod, 0, 0) } });

/** The committed history: rev 2 puts a/0, rev 3 puts b/0, rev 4 puts a/0 again, rev 5 deletes a/0 and b/0. */
const history = new Map<number, KvEvent[]>([
  [2, [put('a/0', 'x', 2)]],
  [3, [put('b/0', 'y', 3)]],
  [4, [put('a/0', 'z', 4, kv('a/0', 'x', 2))]],
  [5, [del('a/0', 5), del('b/0', 5)]],
]);
const committedAt = (rev: number) => history.get(rev) ?? [];

function segment(over: Partial<WatchSegment>, batches: KvEvent[][]): WatchSegment {
  return {
    id: 1,
    peer: 1,
    scope: { kind: 'all' },
    prevKv: false,
    noPut: false,
    noDelete: false,
    start: 1,
    openedTick: 0,
    batches: [{ revision: 1, created: true, events: [] }, ...batches.map((events) => ({ revision: 9, events }))],
    end: { revision: 5, tick: 10, why: 'end of run', committedCompaction: -1 },
    ...over,
  };
}

test('a watch that saw exactly the committed events passes', () => {
  const all = [2, 3, 4, 5].map(committedAt);
  assert.equal(checkWatchSegment(segment({}, all), committedAt), undefined);
  // Prefix, from a later revision, up to where its peer was.
  const a = segment({ scope: { kind: 'prefix', prefix: 'a/' }, start: 3, end: { revision: 4, tick: 5, why: 'peer down', committedCompaction: -1 } }, [[committedAt(4)[0]!]]);
  assert.equal(checkWatchSegment(a, committedAt), undefined);
  // NODELETE on one key; progress notifications (empty batches) are fine.
  const k = segment({ scope: { kind: 'key', key: 'b/0' }, noDelete: true }, [[], [committedAt(3)[0]!], []]);
  assert.equal(checkWatchSegment(k, committedAt), undefined);
});

test('a watch that missed, repeated, reordered or split events fails', () => {
  const [r2, r3, r4, r5] = [2, 3, 4, 5].map(committedAt) as [KvEvent[], KvEvent[], KvEvent[], KvEvent[]];
  assert.match(checkWatchSegment(segment({}, [r2, r4, r5]), committedAt)!, /at revision 3 it got \[\]/);
  assert.match(checkWatchSegment(segment({}, [r2, r3, r3, r4, r5]), committedAt)!, /revision 3 delivered after revision 3/);
  assert.match(checkWatchSegment(segment({}, [r2, r4, r3, r5]), committedAt)!, /revision 3 delivered after revision 4/);
  assert.match(checkWatchSegment(segment({}, [r2, r3, r4, [r5[0]!], [r5[1]!]]), committedAt)!, /revision 5 delivered after revision 5/);
  assert.match(checkWatchSegment(segment({}, [r2, [...r3, ...r4], r5]), committedAt)!, /mixes revisions 3 and 4/);
  // Events beyond what the peer had applied when the watch ended.
  assert.match(checkWatchSegment(segment({ end: { revision: 4, tick: 1, why: 'canceled', committedCompaction: -1 } }, [r2, r3, r4, r5]), committedAt)!, /peer was only at revision 4/);
  // An event the watch does not select (wrong key, or filtered out).
  assert.match(checkWatchSegment(segment({ scope: { kind: 'prefix', prefix: 'a/' } }, [r2, r3, r4, [r5[0]!]]), committedAt)!, /at revision 3/);
  assert.match(checkWatchSegment(segment({ noPut: true }, [r2, r3, r4, r5]), committedAt)!, /at revision 2/);
  // A changed value, or a prev_kv missing when asked for.
  assert.match(checkWatchSegment(segment({}, [r2, r3, [put('a/0', 'zz', 4)], r5]), committedAt)!, /at revision 4/);
  assert.match(checkWatchSegment(segment({ prevKv: true }, [r2, r3, [put('a/0', 'z', 4)], r5]), committedAt)!, /at revision 4/);
  // Without prev_kv only where revision - 1 was already compacted on the serving peer.
  const noPrev = segment({ prevKv: true }, [r2, r3, [put('a/0', 'z', 4)], r5]);
  noPrev.batches[3]!.storeCompacted = 4;
  assert.equal(checkWatchSegment(noPrev, committedAt), undefined);
  noPrev.batches[3]!.storeCompacted = 3;
  assert.match(checkWatchSegment(noPrev, committedAt)!, /at revision 4/);
  // No created batch first; canceled by the store.
  const noCreated = segment({}, [r2, r3, r4, r5]);
  noCreated.batches.shift();
  assert.match(checkWatchSegment(noCreated, committedAt)!, /first batch is not the created one/);
  const canceled = segment({}, [r2]);
  canceled.batches.push({ revision: 2, canceled: true, events: [] });
  assert.match(checkWatchSegment(canceled, committedAt)!, /canceled by the store without a compact revision/);
});

test('a watch canceled for compaction is checked up to its last event, and only if it really was behind', () => {
  const [r2, r3] = [2, 3].map(committedAt) as [KvEvent[], KvEvent[]];
  const compacted = (c: number, committed: number, batches: KvEvent[][], start = 1) => {
    const seg = segment({ start, end: { revision: 5, tick: 10, why: 'compacted', committedCompaction: committed } }, batches);
    seg.batches.push({ revision: 5, canceled: true, compactRevision: c, events: [] });
    return checkWatchSegment(seg, committedAt);
  };
  assert.equal(compacted(4, 4, []), undefined); // canceled at creation: from 1, compacted at 4
  assert.equal(compacted(5, 5, [r2, r3]), undefined); // saw 2 and 3, was at 4, compacted at 5
  assert.match(compacted(5, 5, [r3])!, /at revision 2 it got \[\]/); // still must have seen everything before its last event
  assert.match(compacted(4, 3, [])!, /highest compaction committed is 3/);
  assert.match(compacted(4, 4, [r2, r3])!, /only needed revisions from 4 on/);
  assert.match(compacted(3, 4, [], 3)!, /only needed revisions from 3 on/);
});

test('serializable reads must match a committed state at their revision', () => {
  assert.equal(checkSerializableRead([kv('a/0', 'x', 2)], 3, 5, [kv('a/0', 'x', 2)]), undefined);
  assert.equal(checkSerializableRead([], 1, 5, []), undefined);
  assert.match(checkSerializableRead([kv('a/0', 'y', 2)], 3, 5, [kv('a/0', 'x', 2)])!, /committed state at revision 3/);
  assert.match(checkSerializableRead([], 3, 5, [kv('a/0', 'x', 2)])!, /committed state/);
  assert.match(checkSerializableRead([], 6, 5, [])!, /beyond the last committed revision 5/);
});

test('a lease may not expire before its TTL has run from the grant request', () => {
  assert.equal(checkLeaseExpiry(7n, 100, 2, 120, 100), undefined);
  assert.equal(checkLeaseExpiry(7n, 100, 2, 500, 100), undefined);
  assert.match(checkLeaseExpiry(7n, 100, 2, 119, 100)!, /lease 7 \(TTL 2 s, granted by a request at tick 100\) expired at tick 119, before tick 120/);
});

test('deletes at a compaction revision may be missing from a replay (etcd compacts them away); nothing else may', () => {
  const [r2, r3, r4] = [2, 3, 4].map(committedAt) as [KvEvent[], KvEvent[], KvEvent[]];
  const end = { revision: 5, tick: 10, why: 'end of run' as const, committedCompaction: 5 };
  // Revision 5 (two deletes) compacted to: a replay of it may have both or neither.
  assert.equal(checkWatchSegment(segment({ end: { ...end, compactions: [5] } }, [r2, r3, r4]), committedAt), undefined);
  assert.equal(checkWatchSegment(segment({ end: { ...end, compactions: [5] } }, [r2, r3, r4, committedAt(5)]), committedAt), undefined);
  // Without a compaction at 5 the deletes are owed; and a compaction elsewhere excuses nothing at 5.
  assert.match(checkWatchSegment(segment({ end }, [r2, r3, r4]), committedAt)!, /at revision 5 it got \[\]/);
  assert.match(checkWatchSegment(segment({ end: { ...end, compactions: [4] } }, [r2, r3, r4]), committedAt)!, /at revision 5 it got \[\]/);
  // Puts at a compaction revision stay owed.
  assert.match(checkWatchSegment(segment({ end: { ...end, compactions: [4] } }, [r2, r3, committedAt(5)]), committedAt)!, /at revision 4 it got \[\]/);
});
