// Each checker is fed a small good history (it must stay quiet) and a known-bad one (it must complain), so
// that a green simulation run means something.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CheckerSet,
  ElectionSafety,
  LeaderAppendOnly,
  LeaderCompleteness,
  LinearizableReads,
  Liveness,
  LogMatching,
  StateMachineSafety,
  type Checker,
  type EntryFp,
  type LogView,
  type Observation,
} from './checkers.ts';

/** A log given as the terms of entries snapshotIndex+1.. (and the snapshot's term). */
function log(terms: number[], snapshotIndex = 0, snapshotTerm = 0): LogView {
  return {
    lastIndex: snapshotIndex + terms.length,
    snapshotIndex,
    termAt: (i) => (i === snapshotIndex ? snapshotTerm : i > snapshotIndex && i <= snapshotIndex + terms.length ? terms[i - snapshotIndex - 1] : undefined),
  };
}

const e = (index: number, term: number, fp = `n:x${index}`): EntryFp => ({ index, term, fp });

function run(c: Checker, obs: Observation[]): string[] {
  const out: string[] = [];
  for (const o of obs) {
    const v = c.observe(o);
    if (v !== undefined) out.push(v);
  }
  return out;
}

const leader = (node: number, term: number, l: LogView, tick = 0): Observation => ({ kind: 'role', tick, node, term, role: 'leader', log: l });
const follower = (node: number, term: number, tick = 0): Observation => ({ kind: 'role', tick, node, term, role: 'follower', log: log([]) });
const persist = (node: number, prevLastIndex: number, prevTerm: number | undefined, entries: EntryFp[], snapshot?: { index: number; term: number }): Observation => ({
  kind: 'persist',
  tick: 0,
  node,
  prevLastIndex,
  prevTerm,
  entries,
  ...(snapshot ? { snapshot } : {}),
});
const apply = (node: number, entry: EntryFp, state = `s${entry.index}:${entry.fp}`): Observation => ({ kind: 'apply', tick: 0, node, entry, state });

test('election safety: one leader per term passes, two leaders in a term fail', () => {
  assert.deepEqual(run(new ElectionSafety(), [leader(1, 2, log([])), follower(1, 3), leader(2, 3, log([])), leader(2, 3, log([]))]), []);
  const bad = run(new ElectionSafety(), [leader(1, 2, log([])), leader(2, 2, log([]))]);
  assert.equal(bad.length, 1);
  assert.match(bad[0]!, /two leaders in term 2: 1 and 2/);
});

test('leader append-only: appending passes; overwriting, truncating or installing a snapshot fails', () => {
  const good = [
    leader(1, 2, log([1, 1])),
    persist(1, 2, 1, [e(3, 2)]),
    { kind: 'leaderLog', tick: 0, node: 1, term: 2, log: log([1, 1, 2]) } as Observation,
    persist(1, 3, 2, [e(4, 2), e(5, 2)]),
    { kind: 'leaderLog', tick: 0, node: 1, term: 2, log: log([2, 2], 3, 2) } as Observation, // compacted: fine
    follower(1, 3),
    persist(1, 5, 2, [e(5, 3)]), // a follower may be overwritten
  ];
  assert.deepEqual(run(new LeaderAppendOnly(), good), []);
  assert.match(run(new LeaderAppendOnly(), [leader(1, 2, log([1, 1])), persist(1, 2, 1, [e(2, 2)])])[0]!, /wrote entry 2 over its own log/);
  assert.match(run(new LeaderAppendOnly(), [leader(1, 2, log([1, 1])), persist(1, 2, 1, [], { index: 5, term: 2 })])[0]!, /installed a snapshot/);
  const shrink = [leader(1, 2, log([1, 1, 2])), { kind: 'leaderLog', tick: 0, node: 1, term: 2, log: log([1, 1]) } as Observation];
  assert.match(run(new LeaderAppendOnly(), shrink)[0]!, /log shrank from 3 to 2/);
  const rewrite = [leader(1, 2, log([1, 1, 2])), { kind: 'leaderLog', tick: 0, node: 1, term: 2, log: log([1, 1, 1]) } as Observation];
  assert.match(run(new LeaderAppendOnly(), rewrite)[0]!, /changed entry 3 from term 2 to 1/);
  // After a crash the peer is no longer leader: its restarted follower self may be overwritten.
  assert.deepEqual(run(new LeaderAppendOnly(), [leader(1, 2, log([1, 1])), { kind: 'down', tick: 0, node: 1 }, persist(1, 2, 1, [e(2, 3)])]), []);
});

test('log matching: same (index, term) with same content and history passes; differences fail', () => {
  const good = [
    persist(1, 0, 0, [e(1, 1), e(2, 1), e(3, 2)]),
    persist(2, 0, 0, [e(1, 1), e(2, 1)]),
    persist(2, 2, 1, [e(3, 2)]),
    persist(3, 0, 0, [e(1, 1), e(2, 1), e(3, 3, 'n:other')]), // a different term may hold different content
  ];
  assert.deepEqual(run(new LogMatching(), good), []);
  const content = [persist(1, 0, 0, [e(1, 1), e(2, 1, 'n:a')]), persist(2, 0, 0, [e(1, 1), e(2, 1, 'n:b')])];
  assert.match(run(new LogMatching(), content)[0]!, /entry 2@1 differs/);
  // Entry 3@3 on both, but peer 2's entry 2 has another term: the logs do not match before it.
  const history = [persist(1, 0, 0, [e(1, 1), e(2, 2), e(3, 3)]), persist(2, 0, 0, [e(1, 1), e(2, 1), e(3, 3)])];
  assert.match(run(new LogMatching(), history)[0]!, /entry 3@3 follows term 2 on peer 1 but term 1 on peer 2/);
  assert.match(run(new LogMatching(), [persist(1, 2, undefined, [e(5, 1)])])[0]!, /gap/);
  assert.match(run(new LogMatching(), [persist(1, 0, 0, [e(1, 1), e(3, 1)])])[0]!, /non-contiguous/);
  assert.match(run(new LogMatching(), [persist(1, 0, 0, [e(1, 2), e(2, 1)])])[0]!, /after one of term 2/);
});

test('leader completeness: a leader with every committed entry passes; one missing one fails', () => {
  const history = [apply(1, e(1, 1)), apply(1, e(2, 1)), apply(1, e(3, 2))];
  assert.deepEqual(run(new LeaderCompleteness(), [...history, leader(2, 3, log([1, 1, 2]))]), []);
  // Covered by a snapshot at 3 (term 2): fine.
  assert.deepEqual(run(new LeaderCompleteness(), [...history, leader(2, 3, log([3], 3, 2))]), []);
  const missing = run(new LeaderCompleteness(), [...history, leader(2, 3, log([1, 1]))]);
  assert.match(missing[0]!, /new leader 2 of term 3 lacks committed entry 3@2/);
  const wrongTerm = run(new LeaderCompleteness(), [...history, leader(2, 3, log([1, 1, 1, 3]))]);
  assert.match(wrongTerm[0]!, /lacks committed entry 3@2 \(its log has term 1 there/);
});

test('state machine safety: same entries everywhere pass; different entries, gaps or a bad snapshot fail', () => {
  const s = () => new StateMachineSafety();
  const restore = (node: number, index: number, state: string): Observation => ({ kind: 'restore', tick: 0, node, index, state });
  assert.deepEqual(
    run(s(), [restore(1, 0, '0'), restore(2, 0, '0'), apply(1, e(1, 1)), apply(1, e(2, 1)), apply(2, e(1, 1)), restore(2, 1, 's1:n:x1'), apply(2, e(2, 1))]),
    [],
  );
  assert.match(run(s(), [apply(1, e(1, 1, 'n:a')), apply(2, e(1, 1, 'n:b'))])[0]!, /peer 2 applied 1@1 "n:b" but peer 1 applied 1@1 "n:a"/);
  assert.match(run(s(), [apply(1, e(1, 1)), apply(2, e(1, 2))])[0]!, /applied 1@2/);
  assert.match(run(s(), [apply(1, e(1, 1)), apply(1, e(3, 1))])[0]!, /applied entry 3 right after 1/);
  // Across a restart: the state restored from a snapshot must equal what others had at that index.
  assert.match(run(s(), [apply(1, e(1, 1)), restore(2, 1, 'bogus')])[0]!, /restored state bogus at 1/);
  // And after a restart the peer applies from its snapshot on, compared with what others applied.
  assert.match(run(s(), [apply(1, e(1, 1)), apply(1, e(2, 1)), restore(2, 1, 's1:n:x1'), apply(2, e(2, 1, 'n:zz'))])[0]!, /peer 2 applied 2@1/);
});

test('linearizable reads: a read covering earlier writes passes; a stale read fails', () => {
  const issued = (ctx: string): Observation => ({ kind: 'readIssued', tick: 0, node: 1, ctx });
  const answered = (ctx: string, index: number): Observation => ({ kind: 'readAnswered', tick: 0, node: 1, ctx, index });
  assert.deepEqual(run(new LinearizableReads(), [apply(1, e(1, 1)), issued('r1'), apply(2, e(2, 1)), answered('r1', 1)]), []);
  assert.match(run(new LinearizableReads(), [apply(1, e(1, 1)), apply(1, e(2, 1)), issued('r1'), answered('r1', 1)])[0]!, /stale read/);
  assert.match(run(new LinearizableReads(), [answered('r9', 3)])[0]!, /never issued/);
});

test('liveness: a probe committed within the bound passes; a stalled healed cluster fails', () => {
  const tick = (t: number): Observation => ({ kind: 'tick', tick: t });
  const good = [{ kind: 'healed', tick: 10 } as Observation, tick(50), { kind: 'probeCommitted', tick: 60 } as Observation, tick(500)];
  assert.deepEqual(run(new Liveness(100), good), []);
  // Not healed: no clock.
  assert.deepEqual(run(new Liveness(100), [tick(1000)]), []);
  const stall = run(new Liveness(100), [{ kind: 'healed', tick: 10 } as Observation, tick(110), tick(111)]);
  assert.equal(stall.length, 1);
  assert.match(stall[0]!, /no proposal committed within 100 ticks after the cluster healed at tick 10/);
  // Chaos resuming stops the clock.
  assert.deepEqual(run(new Liveness(100), [{ kind: 'healed', tick: 10 } as Observation, { kind: 'unhealed', tick: 20 } as Observation, tick(500)]), []);
});

test('the checker set reports which checker failed', () => {
  const set = new CheckerSet(100);
  assert.equal(set.observe(leader(1, 2, log([]))), undefined);
  const v = set.observe(leader(2, 2, log([])));
  assert.equal(v?.checker, 'election safety');
  assert.equal(set.violations.length, 1);
});
