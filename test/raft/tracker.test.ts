// The progress tracker's majority questions, on their own: learners never count, a voter's first answer is the
// one that counts, and CheckQuorum counts the leader itself.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ProgressTracker } from '../../src/raft/tracker.ts';

test('a quorum is a majority of the voters; learners and strangers do not count', () => {
  const t = new ProgressTracker(4);
  t.setConf({ voters: [1, 2, 3, 4, 5], learners: [6] }, 10);
  assert.equal(t.isQuorum([1, 2]), false);
  assert.equal(t.isQuorum([1, 2, 6, 9]), false);
  assert.equal(t.isQuorum([1, 2, 3]), true);
  assert.deepEqual(t.confState(), { voters: [1, 2, 3, 4, 5], learners: [6] });
  assert.equal(t.progress.get(6)?.isLearner, true);
  assert.equal(t.progress.get(6)?.next, 10);
});

test('the committed index is what the third-highest of five voters has; a learner far ahead does not move it', () => {
  const t = new ProgressTracker(4);
  t.setConf({ voters: [1, 2, 3, 4, 5], learners: [6] }, 1);
  const match: Record<number, number> = { 1: 9, 2: 7, 3: 5, 4: 3, 5: 1, 6: 100 };
  for (const [id, pr] of t.progress) pr.match = match[id]!;
  assert.equal(t.committed(), 5);
  assert.equal(t.mostUpToDateVoter(), 1);
});

test('an election is won by a majority of grants, lost once a majority cannot grant, and only first answers count', () => {
  const t = new ProgressTracker(4);
  t.setConf({ voters: [1, 2, 3], learners: [] }, 1);
  assert.equal(t.recordVote(1, true), 'pending');
  assert.equal(t.recordVote(2, false), 'pending');
  assert.equal(t.recordVote(2, true), 'pending'); // a changed answer from 2 is ignored
  assert.equal(t.recordVote(3, false), 'lost');
  t.resetVotes();
  assert.equal(t.recordVote(1, true), 'pending');
  assert.equal(t.recordVote(3, true), 'won');
});

test('CheckQuorum counts the leader itself and the voters heard from; membership changes keep known progress', () => {
  const t = new ProgressTracker(4);
  t.setConf({ voters: [1, 2, 3], learners: [] }, 5);
  for (const [id, pr] of t.progress) pr.recentActive = id === 1;
  assert.equal(t.quorumActive(1), false);
  t.progress.get(3)!.recentActive = true;
  assert.equal(t.quorumActive(1), true);
  t.progress.get(2)!.match = 4;
  t.setConf({ voters: [1, 2], learners: [3, 4] }, 8);
  assert.equal(t.progress.get(2)!.match, 4);
  assert.equal(t.progress.get(3)!.isLearner, true);
  assert.equal(t.progress.get(4)!.next, 8);
  assert.equal(t.lowestNext(1), 5);
  t.setConf({ voters: [1], learners: [] }, 8);
  assert.deepEqual([...t.progress.keys()], [1]);
  assert.equal(t.lowestNext(1), Infinity);
  t.resetProgress(9, 1, 7);
  assert.equal(t.progress.get(1)!.match, 7);
  assert.equal(t.progress.get(1)!.next, 9);
});
