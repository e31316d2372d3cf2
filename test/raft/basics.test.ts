// Basic behaviour of the Raft core over a perfect in-memory network: election, replication, reads,
// transfer, membership, compaction. The seeded simulator (test/sim/) covers faults.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RaftNode, SeededRng, type Config, type Message, type NodeId, type PersistedState } from '../../src/raft/index.ts';

interface Peer {
  node: RaftNode;
  disk: PersistedState;
  applied: Uint8Array[];
  reads: number[];
}

function config(id: NodeId, seed: number): Config {
  return { id, electionTick: 10, heartbeatTick: 1, preVote: true, checkQuorum: true, maxInflightMsgs: 8, maxSizePerMsg: 4096, rng: new SeededRng(seed * 100 + id) };
}

class Net {
  peers = new Map<NodeId, Peer>();
  queue: Message[] = [];
  down = new Set<NodeId>();

  constructor(ids: NodeId[], seed = 1) {
    for (const id of ids) {
      const disk = RaftNode.bootstrap(ids);
      this.peers.set(id, { node: new RaftNode(config(id, seed), disk), disk, applied: [], reads: [] });
    }
  }

  add(id: NodeId): void {
    const disk = RaftNode.joining();
    this.peers.set(id, { node: new RaftNode(config(id, 9), disk), disk, applied: [], reads: [] });
  }

  /** Handles every Ready and delivers every message until nothing moves. */
  settle(maxRounds = 1000): void {
    for (let round = 0; round < maxRounds; round++) {
      let moved = false;
      for (const [id, p] of this.peers) {
        if (this.down.has(id)) continue;
        while (p.node.hasReady()) {
          moved = true;
          const rd = p.node.ready();
          if (rd.snapshot) p.disk = { ...p.disk, snapshot: rd.snapshot, entries: [] };
          if (rd.entries.length) {
            const first = rd.entries[0]!.index;
            p.disk.entries = [...p.disk.entries.filter((e) => e.index < first), ...rd.entries];
          }
          if (rd.hardState) p.disk.hardState = rd.hardState;
          this.queue.push(...rd.messages);
          for (const e of rd.committedEntries) if (e.type === 'normal' && e.data.length) p.applied.push(e.data);
          for (const r of rd.readStates) p.reads.push(r.index);
          p.node.advance(rd);
        }
      }
      const q = this.queue;
      this.queue = [];
      for (const m of q) {
        if (this.down.has(m.to) || this.down.has(m.from)) continue;
        moved = true;
        this.peers.get(m.to)?.node.step(m);
      }
      if (!moved) return;
    }
    throw new Error('network did not settle');
  }

  tick(n = 1): void {
    for (let i = 0; i < n; i++) {
      for (const [id, p] of this.peers) if (!this.down.has(id)) p.node.tick();
      this.settle();
    }
  }

  leader(): Peer | undefined {
    const leaders = [...this.peers].filter(([id, p]) => !this.down.has(id) && p.node.status().role === 'leader');
    return leaders.length === 1 ? leaders[0]![1] : undefined;
  }
}

const bytes = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array) => new TextDecoder().decode(b);

test('three peers elect one leader and replicate a proposal to all', () => {
  const net = new Net([1, 2, 3]);
  net.tick(30);
  const leader = net.leader();
  assert.ok(leader, 'a leader is elected');
  leader.node.propose(bytes('x=1'));
  net.settle();
  for (const p of net.peers.values()) assert.deepEqual(p.applied.map(text), ['x=1']);
  const st = leader.node.status();
  assert.equal(st.commit, st.lastIndex);
  assert.equal(Object.keys(st.progress).length, 3);
});

test('a single peer commits on its own', () => {
  const net = new Net([1]);
  net.tick(25);
  assert.equal(net.leader()?.node.id, 1);
  net.leader()!.node.propose(bytes('solo'));
  net.settle();
  assert.deepEqual(net.peers.get(1)!.applied.map(text), ['solo']);
});

test('a proposal on a follower is forwarded to the leader', () => {
  const net = new Net([1, 2, 3]);
  net.tick(30);
  const follower = [...net.peers.values()].find((p) => p.node.status().role === 'follower')!;
  follower.node.propose(bytes('via-follower'));
  net.settle();
  for (const p of net.peers.values()) assert.deepEqual(p.applied.map(text), ['via-follower']);
});

test('readIndex on the leader and on a follower answers at the commit index', () => {
  const net = new Net([1, 2, 3]);
  net.tick(30);
  const leader = net.leader()!;
  leader.node.propose(bytes('a'));
  net.settle();
  leader.node.readIndex(bytes('r1'));
  net.settle();
  assert.deepEqual(leader.reads, [leader.node.status().commit]);
  const follower = [...net.peers.values()].find((p) => p !== leader)!;
  follower.node.readIndex(bytes('r2'));
  net.settle();
  assert.deepEqual(follower.reads, [leader.node.status().commit]);
});

test('the leader of a cut-off minority cannot commit and steps down (CheckQuorum)', () => {
  const net = new Net([1, 2, 3]);
  net.tick(30);
  const leader = net.leader()!;
  const others = [...net.peers.keys()].filter((id) => id !== leader.node.id);
  for (const id of others) net.down.add(id);
  leader.node.propose(bytes('lost'));
  net.tick(25);
  assert.notEqual(leader.node.status().role, 'leader');
  assert.deepEqual(leader.applied, []);
});

test('leadership transfer moves the leader to the chosen peer', () => {
  const net = new Net([1, 2, 3]);
  net.tick(30);
  const leader = net.leader()!;
  const target = [...net.peers.keys()].find((id) => id !== leader.node.id)!;
  leader.node.transferLeader(target);
  net.settle();
  net.tick(2);
  assert.equal(net.leader()?.node.id, target);
});

test('a learner is added, catches up, is promoted, and a voter is removed', () => {
  const net = new Net([1, 2, 3]);
  net.tick(30);
  let leader = net.leader()!;
  leader.node.propose(bytes('before'));
  net.settle();
  net.add(4);
  leader.node.proposeConfChange({ type: 'addLearner', nodeId: 4 });
  net.tick(3);
  assert.deepEqual(net.peers.get(4)!.applied.map(text), ['before']);
  assert.deepEqual(leader.node.status().confState.learners, [4]);
  leader.node.proposeConfChange({ type: 'addNode', nodeId: 4 });
  net.tick(3);
  assert.deepEqual(leader.node.status().confState.voters, [1, 2, 3, 4]);
  const victim = [1, 2, 3].find((id) => id !== leader.node.id)!;
  leader.node.proposeConfChange({ type: 'removeNode', nodeId: victim });
  net.tick(3);
  leader = net.leader()!;
  assert.equal(leader.node.status().confState.voters.length, 3);
  assert.ok(!leader.node.status().confState.voters.includes(victim));
});

/** Three peers with a leader; one follower is down while the leader commits 20 entries. */
function withLaggingFollower() {
  const net = new Net([1, 2, 3]);
  net.tick(30);
  const leader = net.leader()!;
  const lagger = [...net.peers.keys()].find((id) => id !== leader.node.id)!;
  net.down.add(lagger);
  for (let i = 0; i < 20; i++) leader.node.propose(bytes(`v${i}`));
  net.settle();
  return { net, leader, lagger };
}

test('a peer far behind catches up from a snapshot', () => {
  const { net, leader, lagger } = withLaggingFollower();
  leader.node.createSnapshot(bytes('state-at-20'), 2);
  assert.ok(leader.node.status().firstIndex > 10);
  net.down.delete(lagger);
  net.tick(5);
  const p = net.peers.get(lagger)!;
  assert.equal(p.node.status().applied, leader.node.status().applied);
  assert.equal(p.disk.snapshot?.meta.index, leader.node.status().snapshotIndex);
});

test('a snapshot taken at an earlier index keeps the membership of that index and catches a peer up', () => {
  const { net, leader, lagger } = withLaggingFollower();
  // The state machine starts encoding here...
  const at = leader.node.appliedIndex();
  const confAt = leader.node.confState();
  const termAt = leader.node.term(at);
  // ...and keeps applying meanwhile, including a membership change.
  net.add(4);
  leader.node.proposeConfChange({ type: 'addLearner', nodeId: 4 });
  net.tick(3);
  for (let i = 20; i < 30; i++) leader.node.propose(bytes(`v${i}`));
  net.settle();
  assert.deepEqual(leader.node.confState().learners, [4]);
  assert.ok(leader.node.appliedIndex() > at + 10);
  assert.throws(() => leader.node.createSnapshotAt(leader.node.appliedIndex() + 1, confAt, bytes('future')));
  const snap = leader.node.createSnapshotAt(at, confAt, bytes(`state-at-${at}`), 0)!;
  assert.deepEqual(snap.meta, { index: at, term: termAt, confState: { voters: [1, 2, 3], learners: [] } });
  const st = leader.node.status();
  assert.equal(st.snapshotIndex, at);
  assert.equal(st.firstIndex, at + 1);
  assert.deepEqual(st.confState.learners, [4], 'the live membership is unchanged');
  // Not again at or below the recorded snapshot.
  assert.equal(leader.node.createSnapshotAt(at, confAt, bytes('again')), undefined);
  assert.equal(leader.node.createSnapshotAt(at - 1, confAt, bytes('older')), undefined);
  assert.equal(leader.node.status().snapshotIndex, at);
  // The lagging peer installs it, then applies the entries after it (the membership change among them).
  net.down.delete(lagger);
  net.tick(5);
  const p = net.peers.get(lagger)!;
  assert.equal(p.disk.snapshot?.meta.index, at);
  assert.deepEqual(p.disk.snapshot?.meta.confState, { voters: [1, 2, 3], learners: [] });
  assert.equal(p.node.status().applied, leader.node.status().applied);
  assert.deepEqual(p.node.status().confState.learners, [4]);
  assert.deepEqual(p.applied.map(text).slice(-10), Array.from({ length: 10 }, (_, i) => `v${20 + i}`));
  // A snapshot the peer had started before the leader's arrived is refused.
  assert.equal(p.node.createSnapshotAt(at - 5, confAt, bytes('stale')), undefined);
});

test('createSnapshotAt at the applied index is createSnapshot', () => {
  const net = new Net([1, 2, 3]);
  net.tick(30);
  const leader = net.leader()!;
  for (let i = 0; i < 10; i++) leader.node.propose(bytes(`v${i}`));
  net.settle();
  const at = leader.node.appliedIndex();
  const snap = leader.node.createSnapshotAt(at, leader.node.confState(), bytes('s'), 3)!;
  assert.equal(snap.meta.index, at);
  assert.equal(leader.node.status().firstIndex, at - 2);
});
