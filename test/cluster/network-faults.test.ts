// The simulated network between real peers: partitions, one-way cuts, drops and delays do what they say.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeRequest } from '../../src/kv/codec.ts';
import { kvPut } from '../../src/cluster/kv-client.ts';
import { converged, getRetrying, putRetrying, sleep, startCluster, waitFor } from './helpers.ts';

const bytes = (s: string) => new TextEncoder().encode(s);

test('a partitioned minority cannot commit or serve linearizable reads; the majority can; heal converges', async () => {
  const { manager, stop } = await startCluster();
  try {
    const old = await manager.waitForLeader();
    await putRetrying(manager, 'k', 'before');
    manager.isolate(old);
    // Settle both right away (they fail while we wait for the majority), then check how they ended.
    const outcome = (p: Promise<unknown>) => p.then((v) => ({ ok: true as const, v }), (e: Error) => ({ ok: false as const, e }));
    const minorityWrite = outcome(manager.call(old, { op: 'propose', command: encodeRequest({ type: 'put', key: bytes('k'), value: bytes('minority') }) }));
    const minorityRead = outcome(manager.call(old, { op: 'read', command: encodeRequest({ type: 'range', key: bytes('k') }), linearizable: true }));
    const next = await manager.waitForLeader(5000, old);
    assert.notEqual(next, old);
    await putRetrying(manager, 'k', 'majority');
    const write = await minorityWrite;
    const read = await minorityRead;
    assert.ok(!write.ok && /no leader|timed out|leader changed/.test(write.e.message), `the minority write failed (${write.ok || write.e.message})`);
    assert.ok(!read.ok && /no leader|timed out|leader changed/.test(read.e.message), `the minority read failed (${read.ok || read.e.message})`);
    manager.heal();
    await waitFor(() => converged(manager) && manager.status().peers.filter((p) => p.role === 'leader').length === 1, 'convergence after heal');
    assert.equal((await getRetrying(manager, 'k')), 'majority');
    const views = manager.status().peers;
    assert.ok(views.every((p) => p.revision === views[0]!.revision), 'every peer has the same revision');
  } finally {
    await stop();
  }
});

test('100% drop from the leader to one follower: its pre-votes do not disturb the leader (PreVote)', async () => {
  const { manager, stop } = await startCluster();
  try {
    const lead = await manager.waitForLeader();
    const term = manager.status().term;
    const victim = manager.status().peers.find((p) => p.id !== lead)!;
    manager.drop(lead, victim.id, 100);
    const since = Date.now();
    await waitFor(
      () => manager.status().events.some((e) => e.type === 'electionStarted' && e.peer === victim.id && e.at >= since),
      'the cut-off follower to start a pre-vote',
    );
    await sleep(1000); // several more election timeouts (300 ms each)
    const status = manager.status();
    assert.equal(status.leader, lead, 'the leader keeps its role');
    assert.equal(status.peers.find((p) => p.id === lead)!.term, term, 'the leader keeps its term');
    assert.equal(status.peers.find((p) => p.id === victim.id)!.term, term, 'pre-votes do not raise the term');
    const link = status.links.find((l) => l.from === lead && l.to === victim.id)!;
    assert.ok(link.dropped > 0 && link.dropPercent === 100);
    await putRetrying(manager, 'still', 'works');
    manager.heal();
    await waitFor(() => converged(manager), 'convergence after heal');
  } finally {
    await stop();
  }
});

test('a one-way cut from the leader is like a drop; a delay slows commits down', async () => {
  const { manager, stop } = await startCluster();
  try {
    const lead = await manager.waitForLeader();
    const followers = manager.status().peers.filter((p) => p.id !== lead);
    manager.cutLink(lead, followers[0]!.id, true);
    assert.equal(manager.status().links.find((l) => l.from === lead && l.to === followers[0]!.id)?.cut, true);
    assert.notEqual(manager.status().links.find((l) => l.from === followers[0]!.id && l.to === lead)?.cut, true);
    await putRetrying(manager, 'a', '1'); // the other follower still makes a quorum
    manager.heal();
    // Much less than the 300 ms election timeout, so the followers keep the leader.
    for (const f of followers) manager.delay(lead, f.id, 40);
    await sleep(100);
    const started = Date.now();
    await kvPut(manager, 'b', '2');
    assert.ok(Date.now() - started >= 40, `a commit needs a follower's answer, which is 40 ms late (took ${Date.now() - started} ms)`);
    manager.heal();
    await waitFor(() => converged(manager), 'convergence');
  } finally {
    await stop();
  }
});
