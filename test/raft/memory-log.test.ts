// Applied entries leaving memory (Config.maxAppliedEntriesInMemory): their terms stay known, and a leader reads
// them back from disk (Ready.loadEntries) for a follower that is behind instead of sending it a snapshot.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RaftLog } from '../../src/raft/raft-log.ts';
import type { Entry } from '../../src/raft/types.ts';
import { Net, text } from './harness.ts';

const entry = (index: number, term: number): Entry => ({ index, term, type: 'normal', data: text(`e${index}`) });

/** A log of `terms` (entry i + 1 has terms[i]), all committed, applied and on disk. */
function fullLog(terms: number[]): RaftLog {
  const log = new RaftLog(undefined, terms.map((t, i) => entry(i + 1, t)), terms.length, terms.length);
  log.applying = terms.length;
  return log;
}

test('entries trimmed from memory keep their terms, and slicing them needs a read-back', () => {
  const terms = [1, 1, 2, 2, 2, 3, 5, 5, 6, 6];
  const log = fullLog(terms);
  log.trimTo(7);
  assert.equal(log.memoryFirstIndex(), 8);
  assert.equal(log.firstIndex(), 1, 'the log itself still starts at 1');
  for (let i = 1; i <= 10; i++) assert.equal(log.term(i), terms[i - 1], `term of ${i}`);
  assert.equal(log.term(0), 0);
  assert.equal(log.term(11), undefined);
  assert.throws(() => log.slice(5, 9), /on disk only/);
  assert.deepEqual(log.slice(8, 11).map((e) => e.index), [8, 9, 10]);
  assert.equal(log.sliceToSend(3, 11, Infinity), undefined);
  // Read back 2..6 (one with the wrong term: the read stops there), then send from what came back.
  log.setLoaded(2, [entry(2, 1), entry(3, 2), entry(4, 2), entry(5, 9), entry(6, 3)]);
  assert.deepEqual(log.sliceToSend(3, 11, Infinity)!.map((e) => e.index), [3, 4]);
  assert.equal(log.sliceToSend(5, 11, Infinity), undefined);
  // Never past what is applied or on disk.
  log.stabled = 9;
  log.trimTo(10);
  assert.equal(log.memoryFirstIndex(), 10);
});

test('a compaction inside the disk-only part keeps the later terms right', () => {
  const terms = [1, 1, 2, 2, 2, 3, 5, 5, 6, 6];
  const log = fullLog(terms);
  log.trimTo(8);
  log.setLoaded(3, [entry(3, 2), entry(4, 2), entry(5, 2), entry(6, 3)]);
  log.compact({ meta: { index: 4, term: 2, confState: { voters: [1], learners: [] } }, data: new Uint8Array() }, 4);
  assert.equal(log.firstIndex(), 5);
  assert.equal(log.term(3), undefined);
  for (let i = 4; i <= 10; i++) assert.equal(log.term(i), terms[i - 1], `term of ${i}`);
  assert.deepEqual(log.sliceToSend(5, 11, Infinity)!.map((e) => e.index), [5, 6], 'what was read back after the compaction point stays');
  // A compaction past the disk-only part drops the rest of the runs.
  log.compact({ meta: { index: 9, term: 6, confState: { voters: [1], learners: [] } }, data: new Uint8Array() }, 9);
  assert.equal(log.memoryFirstIndex(), 10);
  assert.equal(log.term(9), 6);
  assert.equal(log.term(10), 6);
  assert.equal(log.sliceToSend(9, 11, Infinity), undefined);
});

test('a leader keeps few applied entries in memory and catches a lagging follower up from disk, not from a snapshot', () => {
  const net = new Net([1, 2, 3], { maxAppliedEntriesInMemory: 4, maxSizePerMsg: 64 });
  net.campaign(1);
  assert.deepEqual(net.leaders(), [1]);
  net.isolate(3);
  for (let i = 0; i < 60; i++) {
    net.propose(1, `v${i}`);
    net.deliverAll();
  }
  const leader = net.get(1).node;
  const st = leader.status();
  assert.equal(st.firstIndex, 1, 'nothing was compacted');
  assert.ok(leader.entries(1, st.lastIndex + 1).length <= 4 + 1, `in memory: ${leader.entries(1, st.lastIndex + 1).length} entries`);
  assert.equal(leader.entries(1, st.lastIndex + 1)[0]!.index > 50, true);
  net.heal();
  net.run(30);
  assert.ok(net.loadsAsked.some((l) => l.id === 1), 'the leader read entries back from disk');
  assert.equal(net.sent.filter((m) => m.type === 'snap').length, 0, 'no snapshot was sent');
  assert.deepEqual(net.appliedData(3), net.appliedData(1));
  assert.equal(net.appliedData(3).length, 60);
  assert.deepEqual(net.terms(3), net.terms(1));
});

test('a new leader reads back entries it trimmed as a follower', () => {
  const net = new Net([1, 2, 3], { maxAppliedEntriesInMemory: 2 });
  net.campaign(1);
  net.isolate(3);
  for (let i = 0; i < 30; i++) {
    net.propose(1, `a${i}`);
    net.deliverAll();
  }
  net.run(3); // peer 2 learns the last commit index and applies (and trims) everything
  net.get(1).node.transferLeader(2);
  net.drain(net.get(1));
  net.deliverAll();
  assert.deepEqual(net.leaders(), [2]);
  net.propose(2, 'after');
  net.deliverAll();
  net.heal();
  net.run(30);
  assert.ok(net.loadsAsked.some((l) => l.id === 2), 'the new leader read entries back');
  assert.deepEqual(net.appliedData(3), [...Array.from({ length: 30 }, (_, i) => `a${i}`), 'after']);
});

test('read-back ranges: one per follower point, at most eight, dropped once every follower is past them', () => {
  const log = fullLog(Array.from({ length: 100 }, () => 1));
  log.trimTo(90);
  log.setLoaded(10, [entry(10, 1), entry(11, 1), entry(12, 1)]);
  log.setLoaded(50, [entry(50, 1), entry(51, 1)]);
  assert.deepEqual(log.sliceToSend(11, 101, Infinity)!.map((e) => e.index), [11, 12], 'the first range is still there');
  assert.deepEqual(log.sliceToSend(50, 101, Infinity)!.map((e) => e.index), [50, 51]);
  assert.equal(log.loadEnd(12), 50, 'a read from 12 would stop where the next range starts');
  assert.equal(log.loadEnd(50), 91, 'or where memory starts');
  assert.equal(log.loadedCount(), 5);
  for (let i = 0; i < 8; i++) log.setLoaded(60 + i * 2, [entry(60 + i * 2, 1)]);
  assert.equal(log.sliceToSend(11, 101, Infinity), undefined, 'the oldest ranges went');
  assert.equal(log.sliceToSend(50, 101, Infinity), undefined);
  assert.equal(log.loadedCount(), 8, 'eight ranges at most');
  log.dropLoadedBelow(65);
  assert.deepEqual(log.sliceToSend(66, 101, Infinity)!.map((e) => e.index), [66]);
  assert.equal(log.sliceToSend(64, 101, Infinity), undefined);
  log.dropLoadedBelow(Infinity);
  assert.equal(log.loadedCount(), 0);
});

test('two followers behind at different points catch up reading each entry back once, and nothing stays', () => {
  // Loads and messages each take one round, so the two followers' reads interleave.
  const pad = 'x'.repeat(1000);
  const net = new Net([1, 2, 3, 4, 5], { maxAppliedEntriesInMemory: 8, maxSizePerMsg: 4096, maxInflightMsgs: 4, electionTick: 50 });
  net.campaign(1);
  const propose = (n: number) => {
    for (let i = 0; i < n; i++) {
      net.propose(1, pad + i);
      net.deliverAll();
    }
  };
  // More than one read's worth (4 MiB) each, so that each follower needs several.
  net.isolate(4);
  propose(5000);
  net.isolate(5);
  propose(5000);
  net.heal();
  const leader = net.get(1).node;
  const last = leader.status().lastIndex;
  // Follower 5 lacks the last 5,000 entries, follower 4 those and 5,000 more: 10,000 to read back.
  const lacked = last - Math.min(leader.status().progress[4]!.match, leader.status().progress[5]!.match);
  let readBack = 0;
  let rounds = 0;
  for (let pending: typeof net.loads = []; rounds < 5000; rounds++) {
    for (const p of net.peers.values()) {
      p.node.tick();
      net.drain(p);
    }
    const due = pending;
    pending = net.loads;
    net.loads = [];
    for (const load of due) readBack += net.finishLoad(load).length;
    const now = net.queue;
    net.queue = [];
    for (const m of now) {
      net.get(m.to).node.step(m);
      net.drain(net.get(m.to));
    }
    const pr = leader.status().progress;
    if (pr[4]!.match === last && pr[5]!.match === last) break;
  }
  assert.ok(rounds < 5000, 'both caught up');
  assert.ok(readBack <= lacked * 1.1, `read back ${readBack} entries for ${lacked} lacking`);
  assert.ok(net.loadsAsked.every((l) => l.maxBytes === 4 * 1024 * 1024), 'each read is bounded by bytes');
  net.run(3);
  assert.equal(leader.status().loadedEntries, 0, 'read-back entries are let go once every follower is past them');
  assert.deepEqual(net.appliedData(4), net.appliedData(1));
  assert.deepEqual(net.appliedData(5), net.appliedData(1));
});
