// The status bar's words and tone, from the shared status model.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { quorumView, type ClusterStatus, type PeerView } from '../../src/cluster/status.ts';
import { peerDescription, roleText, statusBarText, stoppedText } from '../../src/extension/status-text.ts';

function peer(id: number, over: Partial<PeerView> = {}): PeerView {
  return {
    id, name: `n${id}`, state: 'up', clientPort: 2378 + id, role: 'follower', term: 7, vote: 2, leader: 2, commit: 10, applied: 10,
    firstIndex: 1, memoryFirstIndex: 1, lastIndex: 10, snapshotIndex: 0, electionProgress: 0, isLearner: false, progress: {}, revision: 5, keys: 3, alarms: [], cutOff: false,
    ...over,
  };
}

function status(peers: PeerView[], leader: number): ClusterStatus {
  return {
    clusterId: 'c1', running: true, leader, term: Math.max(...peers.map((p) => p.term)), timing: { heartbeatMs: 100, electionMs: 1000 },
    peers, links: [], quorum: quorumView(peers), events: [], stats: { applied: 10, writeLatencyP50: 1, writeLatencyP99: 2, commitsPerSecond: 0 },
  };
}

test('a healthy cluster: leader, term, all up', () => {
  const s = statusBarText(status([peer(1), peer(2, { role: 'leader' }), peer(3)], 2));
  assert.equal(s.text, 'Raft Lab: n2 leader · term 7 · 3/3 up');
  assert.equal(s.tone, 'normal');
});

test('a raised alarm is a warning, named in the text and explained in the tooltip', () => {
  const s = statusBarText(status([peer(1, { alarms: ['NOSPACE'] }), peer(2, { role: 'leader', alarms: ['NOSPACE'] }), peer(3, { state: 'down', alarms: ['CORRUPT'] })], 2));
  assert.equal(s.text, 'Raft Lab: n2 leader · term 7 · 2/3 up · NOSPACE alarm');
  assert.equal(s.tone, 'warning');
  assert.match(s.tooltip, /alarm NOSPACE raised: writes that grow the store are refused \(Raft Lab: Disarm Alarms; after a real quota overrun free space first: etcdctl compact/);
});

test('one down still has quorum; two down is a warning without a leader', () => {
  const one = statusBarText(status([peer(1, { state: 'down' }), peer(2, { role: 'leader' }), peer(3)], 2));
  assert.equal(one.text, 'Raft Lab: n2 leader · term 7 · 2/3 up');
  assert.equal(one.tone, 'normal');
  const two = statusBarText(status([peer(1, { state: 'down' }), peer(2, { state: 'down' }), peer(3, { role: 'candidate', term: 9 })], 0));
  assert.equal(two.text, 'Raft Lab: no leader · term 9 · 1/3 up');
  assert.equal(two.tone, 'warning');
  assert.match(two.tooltip, /no quorum/);
});

test('an isolated peer does not count as up; stopped with an error is an error', () => {
  const s = statusBarText(status([peer(1, { cutOff: true }), peer(2, { role: 'leader' }), peer(3)], 2));
  assert.match(s.text, /2\/3 up/);
  assert.equal(peerDescription(peer(1, { cutOff: true })), 'follower · term 7 · isolated');
  assert.equal(peerDescription(peer(1, { state: 'down' })), 'term 7 · down');
  assert.equal(stoppedText('port 2379 in use').tone, 'error');
  assert.equal(stoppedText(undefined).text, 'Raft Lab: stopped');
});

test('roles read as words in the tree and the node pick lists alike', () => {
  assert.equal(roleText('preCandidate'), 'pre-candidate');
  assert.equal(roleText('leader'), 'leader');
  assert.equal(roleText('learner'), 'learner');
});
