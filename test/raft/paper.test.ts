// The Raft paper's tricky cases, driven by hand over a tiny in-test network (harness.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RaftNode } from '../../src/raft/raft-node.ts';
import { RaftError, type Message } from '../../src/raft/types.ts';
import { Net, stateWithLog, str, text } from './harness.ts';

const leaderOf = (net: Net): number => {
  const ls = net.leaders();
  assert.equal(ls.length, 1, `expected one leader, got [${ls}]`);
  return ls[0]!;
};

test('Figure 7: a new leader brings followers with missing and extra entries into line', () => {
  // Bootstrap puts the membership at 1..7 (term 1); the figure's logs (indexes 1..12 there) follow at 8..
  const ids = [1, 2, 3, 4, 5, 6, 7];
  const logs: Record<number, number[]> = {
    1: [1, 1, 1, 4, 4, 5, 5, 6, 6, 6], // the leader for term 8
    2: [1, 1, 1, 4, 4, 5, 5, 6, 6], // (a) missing one
    3: [1, 1, 1, 4], // (b) missing many
    4: [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 6], // (c) one extra uncommitted entry
    5: [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7], // (d) two extra entries of term 7
    6: [1, 1, 1, 4, 4, 4, 4], // (e) missing and extra
    7: [1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3], // (f) many extra entries of terms 2 and 3
  };
  const net = new Net(ids, { preVote: false }, (id) => stateWithLog(ids, logs[id]!, 7, 7));
  // (c) and (d) have more up-to-date logs and would refuse; 1 wins with a, b, e, f.
  net.campaign(1);
  assert.equal(leaderOf(net), 1);
  assert.equal(net.get(1).node.status().term, 8);
  net.run(5);
  const want = net.terms(1);
  assert.deepEqual(want.slice(7), [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 8]);
  for (const id of ids) {
    assert.deepEqual(net.terms(id), want, `follower ${id} log`);
    assert.equal(net.get(id).node.status().commit, want.length, `follower ${id} commit`);
  }
  // Entries that only some followers had (c's 6, d's 7s, f's 2s and 3s) were never applied anywhere.
  for (const id of ids) for (const e of net.get(id).applied) assert.ok(e.index <= want.length && net.get(1).log[e.index - 1]!.term === e.term);
});

test('Figure 8: an old-term entry on a majority is not committed by counting replicas, only with an entry of the leader’s term', () => {
  const ids = [1, 2, 3, 4, 5];
  // After (b): S1 (leader of term 2) got 6@2 to S2 only; S5 (term 3) wrote 6@3 and crashed; S3, S4 voted in term 3.
  const states = {
    1: stateWithLog(ids, [2], 3, 5),
    2: stateWithLog(ids, [2], 2, 5),
    3: stateWithLog(ids, [], 3, 5),
    4: stateWithLog(ids, [], 3, 5),
    5: stateWithLog(ids, [3], 3, 5),
  } as const;
  const build = () => new Net(ids, { preVote: false, checkQuorum: false, maxSizePerMsg: 1 }, (id) => states[id as 1 | 2 | 3 | 4 | 5]);

  // (c) S1 is elected for term 4 (S5 is down) and copies 6@2 to S3: now on S1, S2, S3, a majority.
  const net = build();
  net.isolate(5);
  // S1's own entry 7@4 must not reach anyone (appends that would be rejected anyway may pass: they teach S1
  // where the logs match).
  const hasPrev = (m: Message) => m.index <= 5 || net.get(m.to).log[m.index - 1]?.term === m.logTerm;
  const noTerm4 = (m: Message) => !(m.type === 'app' && m.entries.some((e) => e.term === 4) && hasPrev(m));
  net.get(1).node.campaign();
  net.drain(net.get(1));
  net.deliverAll(noTerm4);
  assert.equal(leaderOf(net), 1);
  for (let i = 0; i < 10; i++) {
    net.deliverAll(noTerm4);
    net.drop((m) => !noTerm4(m)); // S1 crashes before its own entry 7@4 reaches anyone
    net.tick([1]);
  }
  for (const id of [1, 2, 3]) assert.equal(net.get(id).log[5]?.term, 2, `S${id} has 6@2`);
  assert.equal(net.get(1).node.status().commit, 5, 'S1 must not commit 6@2 by counting replicas');
  for (const id of ids) assert.ok(!net.get(id).applied.some((e) => e.index === 6), `S${id} applied nothing at 6`);

  // (d) S1 crashes; S5 comes back, wins with S2, S3, S4 (its last term 3 beats 2) and overwrites 6@2.
  net.isolate(1);
  for (const id of [2, 3, 4, 5]) for (const other of [2, 3, 4, 5]) net.cut.delete(`${id}>${other}`);
  net.queue = [];
  net.campaign(5); // term 4: refused, they voted for S1 in term 4
  net.campaign(5); // term 5
  assert.deepEqual(net.leaders().filter((x) => x !== 1), [5]);
  net.run(5, [2, 3, 4, 5]);
  for (const id of [2, 3, 4, 5]) {
    assert.equal(net.get(id).log[5]?.term, 3, `S${id} has 6@3 now`);
    assert.ok(net.get(id).applied.some((e) => e.index === 6 && e.term === 3));
  }

  // (e) Had S1 replicated 7@4 to a majority, 7@4 and with it 6@2 would be committed.
  const net2 = build();
  net2.isolate(5);
  net2.campaign(1);
  net2.run(3, [1, 2, 3, 4]);
  assert.ok(net2.get(1).node.status().commit >= 7);
  assert.ok(net2.get(2).applied.some((e) => e.index === 6 && e.term === 2));
});

test('a stale leader’s proposals never commit', () => {
  const net = new Net([1, 2, 3, 4, 5], { checkQuorum: false });
  net.campaign(1);
  assert.equal(leaderOf(net), 1);
  net.propose(1, 'before');
  net.run(3);
  net.isolate(1);
  // Cut off (and without CheckQuorum) 1 still believes it leads and accepts proposals.
  for (let i = 0; i < 3; i++) net.propose(1, `stale${i}`);
  net.run(60, [2, 3, 4, 5]);
  const newLeader = net.leaders().filter((x) => x !== 1);
  assert.equal(newLeader.length, 1);
  net.propose(newLeader[0]!, 'after');
  net.run(5, [2, 3, 4, 5]);
  net.heal();
  net.run(30);
  assert.equal(leaderOf(net), newLeader[0]);
  for (const id of [1, 2, 3, 4, 5]) {
    const data = net.appliedData(id);
    assert.ok(data.includes('before') && data.includes('after'), `peer ${id} applied ${data}`);
    assert.ok(!data.some((d) => d.startsWith('stale')), `peer ${id} applied a stale leader's entry: ${data}`);
  }
});

test('split votes resolve', () => {
  const net = new Net([1, 2, 3, 4], { preVote: false });
  // 1 and 2 campaign at once; 3 hears 1 first and 4 hears 2 first: 2 votes each, no majority of 4.
  for (const id of [1, 2]) {
    net.get(id).node.campaign();
    net.drain(net.get(id));
  }
  const first = (m: Message) => (m.to === 3 && m.from === 1) || (m.to === 4 && m.from === 2) || (m.to !== 3 && m.to !== 4);
  net.deliverAll(first);
  net.deliverAll();
  assert.deepEqual(net.leaders(), []);
  assert.equal(net.get(1).node.status().term, 2);
  assert.equal(net.get(2).node.status().term, 2);
  // Randomised timeouts break the tie.
  net.run(100);
  leaderOf(net);
  assert.ok(net.get(leaderOf(net)).node.status().term > 2);
});

test('a partitioned peer rejoining does not disrupt the leader under PreVote (and does without it)', () => {
  for (const preVote of [true, false]) {
    const net = new Net([1, 2, 3], { preVote });
    net.campaign(1);
    net.run(3);
    const term = net.get(1).node.status().term;
    net.isolate(3);
    net.run(200);
    const t3 = net.get(3).node.status().term;
    net.heal();
    net.run(50);
    if (preVote) {
      assert.equal(t3, term, 'a pre-candidate does not raise its term');
      assert.equal(leaderOf(net), 1);
      assert.equal(net.get(1).node.status().term, term, 'the leader was not disturbed');
    } else {
      assert.ok(t3 > term + 5, `without PreVote the term runs away (${t3})`);
      assert.ok(net.get(leaderOf(net)).node.status().term >= t3, 'and the rejoining peer forces a new election');
    }
  }
});

test('a rejoining peer with a huge term and a stale log cannot take over under PreVote', () => {
  const ids = [1, 2, 3];
  const net = new Net(ids);
  net.campaign(1);
  for (let i = 0; i < 5; i++) net.propose(1, `x${i}`);
  net.run(5);
  // Peer 3 comes back from a long partition with term 100 (say, from before PreVote) and an old log.
  net.peers.delete(3);
  net.add(3, stateWithLog(ids, [], 100, 3));
  net.run(100);
  const l = leaderOf(net);
  assert.notEqual(l, 3, 'the stale peer must not win');
  net.propose(l, 'later');
  net.run(10);
  for (const id of ids) assert.ok(net.appliedData(id).includes('later'));
});

test('CheckQuorum: an isolated leader steps down within two election timeouts', () => {
  const net = new Net([1, 2, 3]);
  net.campaign(1);
  net.run(3);
  net.isolate(1);
  net.run(20, [1]);
  assert.equal(net.get(1).node.status().role, 'follower');
  // While a leader is live, followers ignore vote requests (leader lease).
  const net2 = new Net([1, 2, 3]);
  net2.campaign(1);
  net2.run(3);
  const term = net2.get(1).node.status().term;
  net2.get(3).node.step({ type: 'vote', from: 3, to: 2, term: term + 1, logTerm: 99, index: 99, entries: [], commit: 0, reject: false, rejectHint: 0 });
  assert.equal(net2.get(2).node.status().term, term);
});

test('leader transfer: proposals are refused during it, then the target leads', () => {
  const net = new Net([1, 2, 3]);
  net.campaign(1);
  net.propose(1, 'a');
  net.run(3);
  net.get(1).node.transferLeader(2);
  assert.throws(() => net.get(1).node.propose(text('b')), (e: unknown) => e instanceof RaftError && e.code === 'transferInProgress');
  net.drain(net.get(1));
  net.deliverAll();
  assert.equal(leaderOf(net), 2);
  net.propose(2, 'c');
  net.run(3);
  for (const id of [1, 2, 3]) assert.deepEqual(net.appliedData(id), ['a', 'c']);
});

test('a learner is added, catches up without voting, and is promoted', () => {
  const net = new Net([1, 2, 3]);
  net.campaign(1);
  for (let i = 0; i < 5; i++) net.propose(1, `x${i}`);
  net.run(3);
  net.get(1).node.proposeConfChange({ type: 'addLearner', nodeId: 4 });
  net.drain(net.get(1));
  net.add(4, RaftNode.joining());
  net.run(5);
  const st4 = net.get(4).node.status();
  assert.equal(st4.isLearner, true);
  assert.deepEqual(net.get(1).node.status().confState, { voters: [1, 2, 3], learners: [4] });
  assert.deepEqual(net.appliedData(4), ['x0', 'x1', 'x2', 'x3', 'x4']);
  // A learner never campaigns.
  net.isolate(4);
  net.run(50, [4]);
  assert.equal(net.get(4).node.status().role, 'follower');
  net.heal();
  net.get(1).node.proposeConfChange({ type: 'addNode', nodeId: 4 });
  net.drain(net.get(1));
  net.run(5);
  for (const id of [1, 2, 3, 4]) assert.deepEqual(net.get(id).node.status().confState, { voters: [1, 2, 3, 4], learners: [] });
  // Now 4 counts: with 1 and 2 gone, 3 and 4 are not a majority of 4, with 2 back they are.
  net.propose(1, 'y');
  net.run(3);
  assert.ok(net.appliedData(4).includes('y'));
});

test('a peer that fell behind a compaction catches up from a snapshot', () => {
  const net = new Net([1, 2, 3]);
  net.campaign(1);
  net.run(3);
  net.isolate(3);
  for (let i = 0; i < 20; i++) net.propose(1, `x${i}`);
  net.run(5, [1, 2]);
  const leader = net.get(1);
  const snap = leader.node.createSnapshot(text('state-at-' + leader.node.status().applied), 0);
  assert.ok(snap.meta.index > net.get(3).node.status().lastIndex);
  net.heal();
  net.run(10);
  assert.ok(net.sent.some((m) => m.type === 'snap' && m.to === 3), 'a MsgSnap went to 3');
  const p3 = net.get(3);
  assert.equal(p3.snapshot?.meta.index, snap.meta.index);
  assert.equal(str(p3.snapshot!.data), str(snap.data));
  net.propose(1, 'after');
  net.run(3);
  assert.ok(net.appliedData(3).includes('after'));
  assert.equal(p3.node.status().commit, leader.node.status().commit);
});

test('removing the leader of a two-voter cluster leaves the other able to lead (FINDINGS.md #1)', () => {
  const net = new Net([1, 2]);
  net.campaign(1);
  net.run(3);
  const k = net.get(1).node.status().lastIndex + 1;
  net.get(1).node.proposeConfChange({ type: 'removeNode', nodeId: 1 });
  net.drain(net.get(1));
  net.deliverAll((m) => m.to === 2); // 2 stores k; its acknowledgement waits in the queue
  net.propose(1, 'x'); // 1 appends k+1 ...
  net.drop((m) => m.to === 2); // ... which never reaches 2
  net.deliverAll((m) => m.to === 1); // 1 commits k, applies its own removal and steps down
  assert.equal(net.get(1).node.status().commit, k);
  assert.deepEqual(net.get(1).node.status().confState.voters, [2]);
  net.drop((m) => m.to === 2 && m.type === 'app'); // the append that carried commit = k is lost
  // From here on the network is perfect and both peers stay up: 2 must end up leading {2}.
  net.run(300);
  const st2 = net.get(2).node.status();
  assert.deepEqual(net.leaders(), [2], `no leader: peer 2 still counts voters [${st2.confState.voters}] (commit ${st2.commit} < ${k}); peer 1, removed, refuses its votes and never campaigns`);
});
