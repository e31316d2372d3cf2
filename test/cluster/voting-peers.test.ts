// Who votes, as the views show it: the leader's configuration decides, since a member's own report lags behind
// a membership change (a member that just joined has not said it is a learner yet).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { quorumView, votingPeers, type PeerView } from '../../src/cluster/status.ts';
import type { ProgressStatus } from '../../src/raft/types.ts';

function peer(id: number, over: Partial<PeerView> = {}): PeerView {
  return {
    id, name: `n${id}`, state: 'up', clientPort: 2378 + id, role: 'follower', term: 2, vote: 1, leader: 1, commit: 9, applied: 9,
    firstIndex: 1, memoryFirstIndex: 1, lastIndex: 9, snapshotIndex: 0, electionProgress: 0, isLearner: false, progress: {}, revision: 1, keys: 0, alarms: [], cutOff: false,
    ...over,
  };
}
const progress = (isLearner: boolean): ProgressStatus => ({ match: 9, next: 10, state: 'replicate', recentActive: true, inflight: 0, isLearner, pendingSnapshot: 0 });
const names = (peers: PeerView[]) => peers.map((p) => p.name);

test("a member that just joined as a learner is not a voter, though its own report does not say so yet", () => {
  const leader = peer(1, { role: 'leader', progress: { 1: progress(false), 2: progress(false), 3: progress(false), 4: progress(true) } });
  const peers = [leader, peer(2), peer(3), peer(4)];
  assert.deepEqual(names(votingPeers(peers)), ['n1', 'n2', 'n3']);
  assert.equal(quorumView(peers).members, 3);
});

test('a promoted learner votes as soon as the leader says so; without a leader the members’ own reports decide', () => {
  const leader = peer(1, { role: 'leader', progress: { 1: progress(false), 2: progress(false), 3: progress(false), 4: progress(false) } });
  assert.deepEqual(names(votingPeers([leader, peer(2), peer(3), peer(4, { isLearner: true })])), ['n1', 'n2', 'n3', 'n4']);
  const leaderless = [peer(1, { state: 'down' }), peer(2, { role: 'candidate' }), peer(3), peer(4, { isLearner: true }), peer(5, { state: 'removed' })];
  assert.deepEqual(names(votingPeers(leaderless)), ['n1', 'n2', 'n3']);
});
