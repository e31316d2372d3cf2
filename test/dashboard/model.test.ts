// The dashboard's data plumbing without a browser: term runs from a log, the view's log arithmetic (term at an
// index, divergence from the leader), link rates and faults, number fields, and the bridge's snapshot /
// coalescing / action protocol.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { termRuns } from '../../src/node/term-runs.ts';
import { DashboardBridge, type DashboardHost } from '../../src/extension/dashboard-host.ts';
import type { ClusterEvent, ClusterStatus, PeerView } from '../../src/cluster/status.ts';
import { divergentRanges, hasNetworkFaults, linkRates, termAt } from '../../webview/model.ts';
import type { HostMessage } from '../../webview/protocol.ts';
import { readWholeNumber } from '../../webview/fields.ts';

function logOf(terms: number[], first = 1): (i: number) => number | undefined {
  return (i) => terms[i - first];
}

test('term runs: one run per term, found by binary search, newest kept when bounded', () => {
  const terms = [...Array(50_000).fill(1), ...Array(30_000).fill(2), ...Array(20_000).fill(5)];
  let lookups = 0;
  const term = (i: number) => {
    lookups++;
    return terms[i - 1];
  };
  assert.deepEqual(termRuns(term, 1, 100_000), [[1, 1], [50_001, 2], [80_001, 5]]);
  assert.ok(lookups < 200, `a 100,000-entry log costs ${lookups} lookups`);
  assert.deepEqual(termRuns(logOf([3, 3, 4], 11), 11, 13), [[11, 3], [13, 4]]);
  assert.deepEqual(termRuns(logOf([]), 1, 0), [], 'an empty log has no runs');
  const many = Array.from({ length: 300 }, (_, i) => i + 1);
  const bounded = termRuns(logOf(many), 1, 300, 128);
  assert.equal(bounded.length, 128);
  assert.deepEqual(bounded[bounded.length - 1], [300, 300]);
  assert.deepEqual(bounded[0], [173, 173]);
});

function peer(over: Partial<PeerView>): PeerView {
  return {
    id: 1, name: 'n1', state: 'up', clientPort: 0, role: 'follower', term: 1, vote: 0, leader: 0, commit: 0, applied: 0,
    firstIndex: 1, memoryFirstIndex: 1, lastIndex: 0, snapshotIndex: 0, electionProgress: 0, isLearner: false, progress: {}, revision: 0, keys: 0, alarms: [],
    cutOff: false, logTerms: [], ...over,
  };
}

test('log strip arithmetic: term at an index and entries that differ from the leader', () => {
  const leader = peer({ id: 2, name: 'n2', role: 'leader', term: 3, lastIndex: 12, logTerms: [[1, 1], [6, 3]] });
  // An old leader of term 2 that appended 6..9 while cut off: they conflict with the new leader's term 3.
  const old = peer({ id: 1, term: 2, lastIndex: 9, logTerms: [[1, 1], [6, 2]] });
  assert.equal(termAt(old.logTerms!, old.lastIndex, 5), 1);
  assert.equal(termAt(old.logTerms!, old.lastIndex, 6), 2);
  assert.equal(termAt(old.logTerms!, old.lastIndex, 10), undefined);
  assert.deepEqual(divergentRanges(old, leader, 1, 100), [[6, 9]]);
  assert.deepEqual(divergentRanges(old, leader, 7, 8), [[7, 8]], 'clipped to the window');
  // Past the leader's end with an older term: will be truncated, so divergent too.
  const longer = peer({ id: 3, term: 2, lastIndex: 15, logTerms: [[1, 1], [6, 3], [13, 2]] });
  assert.deepEqual(divergentRanges(longer, leader, 1, 100), [[13, 15]]);
  const same = peer({ id: 3, term: 3, lastIndex: 10, logTerms: [[1, 1], [6, 3]] });
  assert.deepEqual(divergentRanges(same, leader, 1, 100), []);
});

function status(over: Partial<ClusterStatus> = {}): ClusterStatus {
  return {
    clusterId: 'c1', running: true, leader: 1, term: 1, timing: { heartbeatMs: 10, electionMs: 100 }, peers: [], links: [],
    quorum: { members: 0, quorum: 1, tolerated: 0, failed: 0, hasQuorum: false }, events: [],
    stats: { applied: 0, writeLatencyP50: 0, writeLatencyP99: 0, commitsPerSecond: 0 }, ...over,
  };
}

test('link rates come from count deltas between two statuses', () => {
  const link = { from: 1, to: 2, cut: false, dropPercent: 0, delayMs: 0, jitterMs: 0, delivered: 0 };
  const a = status({ links: [{ ...link, sent: 100, dropped: 0, byType: { heartbeat: 90, app: 10, heartbeatResp: 0 } }] });
  const b = status({ links: [{ ...link, sent: 180, dropped: 6, byType: { heartbeat: 140, app: 20, heartbeatResp: 20 } }] });
  const r = linkRates(a, b, 500).get('1>2')!;
  assert.equal(r.perSecond, 160);
  assert.deepEqual(r.sentDelta, { heartbeat: 70, append: 10 });
  assert.deepEqual(r.responseDelta, { heartbeat: 20 }, 'responses are told apart (the animation draws them hollow)');
  assert.equal(r.droppedShare, 0.075);
  assert.equal(linkRates(undefined, b, 500).get('1>2')!.perSecond, 0, 'no rate without a previous status');
});

test('network faults: what Heal network would undo', () => {
  const open = { from: 1, to: 2, cut: false, dropPercent: 0, delayMs: 0, jitterMs: 0, sent: 0, delivered: 0, dropped: 0, byType: {} };
  assert.equal(hasNetworkFaults(status({ links: [open] })), false);
  for (const fault of [{ cut: true }, { dropPercent: 5 }, { delayMs: 100 }, { jitterMs: 10 }]) {
    assert.equal(hasNetworkFaults(status({ links: [open, { ...open, from: 2, to: 1, ...fault }] })), true, JSON.stringify(fault));
  }
});

class FakeHost implements DashboardHost {
  statusListeners: ((s: ClusterStatus) => void)[] = [];
  eventListeners: ((e: ClusterEvent) => void)[] = [];
  current = status();
  status() {
    return this.current;
  }
  on(event: 'status' | 'event', listener: (v: any) => void): () => void {
    const list: unknown[] = event === 'status' ? this.statusListeners : this.eventListeners;
    list.push(listener);
    return () => list.splice(list.indexOf(listener), 1);
  }
  async perform(action: { kind: string }) {
    if (action.kind === 'put') return { revision: 7 };
    throw Object.assign(new Error('no peer named "n9"'), { code: 'NOT_FOUND' });
  }
}

test('bridge: snapshot on ready, status coalesced to ten a second, events, results with ids', async () => {
  const host = new FakeHost();
  const sent: HostMessage[] = [];
  const bridge = new DashboardBridge(host, (m) => sent.push(m), 100);
  host.statusListeners.forEach((l) => l(status({ term: 9 })));
  assert.equal(sent.length, 0, 'nothing before the view is ready');
  bridge.receive({ type: 'ready' });
  assert.deepEqual(sent.map((m) => m.type), ['status']);
  for (let i = 0; i < 50; i++) host.statusListeners.forEach((l) => l(status({ term: 100 + i })));
  await new Promise((r) => setTimeout(r, 250));
  const pushed = sent.filter((m) => m.type === 'status').slice(1);
  assert.ok(pushed.length >= 1 && pushed.length <= 2, `50 updates in a burst became ${pushed.length}`);
  assert.equal((pushed[pushed.length - 1] as { status: ClusterStatus }).status.term, 149, 'the latest wins');
  host.eventListeners.forEach((l) => l({ at: 1, type: 'peerKilled', message: 'n1 was killed' }));
  assert.equal(sent[sent.length - 1]!.type, 'event');
  bridge.receive({ type: 'action', id: 4, action: { kind: 'put', key: 'k', value: 'v' } });
  bridge.receive({ type: 'action', id: 5, action: { kind: 'kill', peer: 'n9' } });
  bridge.receive({ type: 'bogus' });
  bridge.receive({ type: 'action', id: 'x', action: { kind: 'heal' } });
  await new Promise((r) => setTimeout(r, 10));
  const results = sent.filter((m) => m.type === 'result');
  assert.deepEqual(results, [
    { type: 'result', id: 4, ok: true, value: { revision: 7 } },
    { type: 'result', id: 5, ok: false, error: { code: 'NOT_FOUND', message: 'no peer named "n9"' } },
  ]);
  bridge.setVisible(false);
  const before = sent.length;
  host.statusListeners.forEach((l) => l(status({ term: 500 })));
  await new Promise((r) => setTimeout(r, 150));
  assert.equal(sent.length, before, 'a hidden view gets nothing; it asks again with ready when shown');
  bridge.dispose();
  assert.equal(host.statusListeners.length, 0);
});

test('a number field reads as a whole number in range, or says what is wrong (never an empty field as 0)', () => {
  assert.equal(readWholeNumber(' 200 ', 'delay', 0, 60_000), 200);
  assert.equal(readWholeNumber('0', 'delay', 0, 60_000), 0);
  assert.equal(readWholeNumber('', 'delay', 0, 60_000), 'delay: enter a number from 0 to 60000');
  assert.equal(readWholeNumber('2.5', 'drop', 0, 100), 'drop: "2.5" is not a whole number from 0 to 100');
  assert.equal(readWholeNumber('101', 'drop', 0, 100), 'drop: "101" is not a whole number from 0 to 100');
  assert.equal(readWholeNumber('-1', 'drop', 0, 100), 'drop: "-1" is not a whole number from 0 to 100');
});
