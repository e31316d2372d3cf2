// The watch hub: history replay then live events, one batch per revision, in order, once.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { WatchBatch } from '../../src/kv/watch-hub.ts';
import { Harness, text, utf8 } from './harness.ts';

/** Compact view of event batches: "rev: TYPE key=value ..." */
function render(batches: WatchBatch[]): string[] {
  return batches
    .filter((b) => b.events.length > 0)
    .map((b) => `${b.events[0]!.kv.modRevision}: ` + b.events.map((e) => `${e.type} ${text(e.kv.key)}${e.type === 'PUT' ? '=' + text(e.kv.value) : ''}`).join(', '));
}

function fixture(): Harness {
  const h = new Harness();
  h.put('a', '1'); // 2
  h.put('b', '1'); // 3
  h.put('a', '2'); // 4
  h.del('b'); // 5
  return h;
}

describe('watch hub', () => {
  it('the created batch comes first, then history from the start revision, then live events', () => {
    const h = fixture();
    const w = h.watch({ key: 'a', end: 'c', startRevision: 3 });
    assert.deepEqual(w.batches[0], { watchId: w.id, revision: 5, events: [], created: true });
    h.put('a', '3');
    assert.deepEqual(render(w.batches), ['3: PUT b=1', '4: PUT a=2', '5: DELETE b', '6: PUT a=3']);
  });

  it('start revision 0 means the next revision: no history', () => {
    const h = fixture();
    const w = h.watch({ key: 'a' });
    h.put('a', '9');
    assert.deepEqual(render(w.batches), ['6: PUT a=9']);
  });

  it("a revision's events arrive together, in write order, in one batch", () => {
    const h = fixture();
    const w = h.watch({ key: '\0', end: '\0' });
    h.apply({
      type: 'txn',
      success: [
        { requestPut: { key: utf8('z'), value: utf8('1') } },
        { requestPut: { key: utf8('m'), value: utf8('1') } },
        { requestDeleteRange: { key: utf8('a') } },
      ],
    });
    assert.deepEqual(render(w.batches), ['6: PUT z=1, PUT m=1, DELETE a']);
    const replay = h.watch({ key: '\0', end: '\0', startRevision: 6 });
    assert.deepEqual(render(replay.batches), ['6: PUT z=1, PUT m=1, DELETE a'], 'replay keeps the same grouping and order');
  });

  it('selects a single key, a range, a prefix or every key from a key on', () => {
    const h = new Harness();
    const single = h.watch({ key: 'k/1' });
    const range = h.watch({ key: 'k/1', end: 'k/3' });
    const prefix = h.watch({ key: 'k/', end: 'k0' });
    const fromKey = h.watch({ key: 'k/2', end: '\0' });
    for (const key of ['k/1', 'k/2', 'k/3', 'k', 'z']) h.put(key, 'v');
    const keys = (batches: WatchBatch[]) => batches.flatMap((b) => b.events.map((e) => text(e.kv.key)));
    assert.deepEqual(keys(single.batches), ['k/1']);
    assert.deepEqual(keys(range.batches), ['k/1', 'k/2']);
    assert.deepEqual(keys(prefix.batches), ['k/1', 'k/2', 'k/3']);
    assert.deepEqual(keys(fromKey.batches), ['k/2', 'k/3', 'z']);
  });

  it('prev_kv carries the value at mod_revision - 1, live and replayed; without it there is none', () => {
    const h = fixture();
    const withPrev = h.watch({ key: 'a', startRevision: 2, prevKv: true });
    const without = h.watch({ key: 'a', startRevision: 2 });
    h.put('a', '3');
    const prevs = withPrev.batches.flatMap((b) => b.events.map((e) => text(e.prevKv?.value)));
    assert.deepEqual(prevs, [undefined, '1', '2']);
    assert.ok(without.batches.every((b) => b.events.every((e) => e.prevKv === undefined)));
  });

  it('a DELETE event holds only the key and mod_revision (prev_kv has the deleted value)', () => {
    const h = fixture();
    const w = h.watch({ key: 'b', startRevision: 5, prevKv: true });
    const event = w.batches[1]!.events[0]!;
    assert.equal(event.type, 'DELETE');
    assert.deepEqual({ ...event.kv, key: text(event.kv.key), value: event.kv.value.length }, { key: 'b', createRevision: 0, modRevision: 5, version: 0, value: 0, lease: 0n });
    assert.equal(text(event.prevKv?.value), '1');
  });

  it('NOPUT and NODELETE filters', () => {
    const h = fixture();
    const noPut = h.watch({ key: 'a', end: 'c', startRevision: 2, filters: ['NOPUT'] });
    const noDelete = h.watch({ key: 'a', end: 'c', startRevision: 2, filters: ['NODELETE'] });
    assert.deepEqual(render(noPut.batches), ['5: DELETE b']);
    assert.deepEqual(render(noDelete.batches), ['2: PUT a=1', '3: PUT b=1', '4: PUT a=2']);
  });

  it('a watch from below the compaction point is created, then canceled with compact_revision', () => {
    const h = fixture();
    h.apply({ type: 'compaction', revision: 4 });
    const w = h.watch({ key: 'a', startRevision: 3 });
    assert.equal(w.batches.length, 2);
    assert.equal(w.batches[0]!.created, true);
    assert.equal(w.batches[1]!.canceled, true);
    assert.equal(w.batches[1]!.compactRevision, 4);
    assert.equal(w.batches[1]!.cancelReason, 'etcdserver: mvcc: required revision has been compacted');
    assert.equal(h.sm.watches.has(w.id), false);
    h.put('a', 'after');
    assert.equal(w.batches.length, 2, 'nothing after the cancel');
  });

  it('a watch from exactly the compaction revision replays a put there; a delete there is compacted away, as in etcd', () => {
    const h = fixture();
    h.apply({ type: 'compaction', revision: 5 });
    const w = h.watch({ key: 'a', end: 'c', startRevision: 5 });
    assert.deepEqual(render(w.batches), [], 'etcd drops a tombstone at the compaction revision with its key');
    assert.ok(!w.batches.some((b) => b.canceled));
    h.put('a', '3'); // 6
    h.apply({ type: 'compaction', revision: 6 });
    const atPut = h.watch({ key: 'a', startRevision: 6 });
    assert.deepEqual(render(atPut.batches), ['6: PUT a=3']);
  });

  it('a watch from a future revision waits for it', () => {
    const h = fixture();
    const w = h.watch({ key: 'a', startRevision: 7 });
    h.put('a', 'six');
    h.put('a', 'seven');
    assert.deepEqual(render(w.batches), ['7: PUT a=seven']);
  });

  it('progress sends an empty batch with the current revision', () => {
    const h = fixture();
    const w = h.watch({ key: 'zzz' });
    h.put('other', '1');
    assert.equal(h.sm.watches.progress(w.id), true);
    assert.deepEqual(w.batches.at(-1), { watchId: w.id, revision: 6, events: [] });
    assert.equal(h.sm.watches.progress(12345), false, 'no response for a watch that does not exist');
  });

  it('cancel sends a canceled batch and stops events; unknown ids are refused', () => {
    const h = fixture();
    const w = h.watch({ key: 'a' });
    assert.equal(h.sm.watches.cancel(w.id), true);
    assert.equal(w.batches.at(-1)!.canceled, true);
    h.put('a', 'x');
    assert.equal(w.batches.length, 2);
    assert.equal(h.sm.watches.cancel(w.id), false);
  });

  it('a sink may cancel another watch while events are delivered', () => {
    const h = new Harness();
    const second: WatchBatch[] = [];
    let secondId = -1;
    h.sm.watches.create({ key: utf8('a') }, (batch) => {
      if (batch.events.length > 0) h.sm.watches.cancel(secondId);
    });
    secondId = h.sm.watches.create({ key: utf8('a') }, (batch) => second.push(batch));
    h.put('a', '1');
    assert.deepEqual(second.map((b) => (b.created ? 'created' : b.canceled ? 'canceled' : 'events')), ['created', 'canceled']);
  });

  it('events are never duplicated or dropped across many revisions', () => {
    const h = new Harness();
    const live = h.watch({ key: 'k', end: 'l' });
    for (let i = 0; i < 50; i++) {
      if (i % 7 === 3) h.del(`k${i % 5}`);
      else h.put(`k${i % 5}`, String(i));
    }
    const revisions = live.batches.filter((b) => b.events.length).map((b) => b.events[0]!.kv.modRevision);
    const replay = h.watch({ key: 'k', end: 'l', startRevision: 1 });
    const replayed = replay.batches.filter((b) => b.events.length).map((b) => b.events[0]!.kv.modRevision);
    assert.deepEqual(replayed, revisions);
    assert.deepEqual(revisions, [...new Set(revisions)].sort((x, y) => x - y));
    assert.equal(revisions.at(-1), h.sm.revision);
  });

  it('after a snapshot restore, live watches catch up on the revisions they missed', () => {
    const leader = fixture();
    const follower = new Harness();
    follower.sm.restore(leader.sm.snapshot());
    const w = follower.watch({ key: 'a' });
    leader.put('a', 'missed');
    leader.put('a', 'also missed');
    follower.sm.restore(leader.sm.snapshot());
    assert.deepEqual(render(w.batches), ['6: PUT a=missed', '7: PUT a=also missed']);
  });

  it('a paused watch gets nothing, promises no progress, and catches up from history on resume, once and in order', () => {
    const h = fixture();
    const w = h.watch({ key: 'a', end: 'c' });
    const hub = h.sm.watches;
    hub.pause(w.id);
    assert.equal(hub.pausedCount, 1);
    h.put('a', '3'); // 6
    h.put('b', '2'); // 7
    assert.deepEqual(render(w.batches), []);
    assert.equal(hub.progress(w.id), false, 'no progress notification while behind');
    const sink = w.batches.length;
    hub.resume(w.id);
    assert.deepEqual(render(w.batches.slice(sink)), ['6: PUT a=3', '7: PUT b=2']);
    assert.equal(hub.pausedCount, 0);
    h.put('a', '4'); // 8
    assert.deepEqual(render(w.batches), ['6: PUT a=3', '7: PUT b=2', '8: PUT a=4']);
  });

  it('a paused watch whose history was compacted meanwhile is canceled on resume with compact_revision, as etcd does', () => {
    const h = fixture();
    const w = h.watch({ key: 'a' });
    h.sm.watches.pause(w.id);
    h.put('a', '3'); // 6
    h.put('a', '4'); // 7
    h.apply({ type: 'compaction', revision: 7 });
    h.sm.watches.resume(w.id);
    const last = w.batches[w.batches.length - 1]!;
    assert.equal(last.canceled, true);
    assert.equal(last.compactRevision, 7);
    assert.equal(h.sm.watches.has(w.id), false);
  });
});
