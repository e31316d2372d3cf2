// The manager's own tools (ctl put/get/alarm and the dashboard's writes: kv-client.ts) ride out the faults
// the manager injects: they do not send to a leader the network has cut off, and they send again to the next
// leader when a write was refused before it entered the log.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { kvGet, kvPut } from '../../src/cluster/kv-client.ts';
import { startCluster, waitFor } from './helpers.ts';

test('right after the leader is isolated, a put and a linearizable get go to the next leader, not the cut-off one', async () => {
  const { manager, stop } = await startCluster({ nodes: 3 });
  try {
    const old = await manager.waitForLeader(10_000);
    await kvPut(manager, 'before', '1');
    manager.isolate(old);
    // The isolated peer still believes it leads (until CheckQuorum deposes it), but it is not where requests go.
    assert.equal(manager.leaderId(), old);
    assert.notEqual(manager.workingLeaderId(), old);
    const put = await kvPut(manager, 'during', '2');
    const got = await kvGet(manager, 'during');
    assert.equal(got.value, '2');
    assert.ok(got.revision >= put.revision);
    const now = manager.workingLeaderId();
    assert.ok(now !== 0 && now !== old, `a new leader answered (${now}), not the isolated ${old}`);
    // The isolated peer never saw the write: it was not the one that took it.
    const isolated = manager.status().peers.find((p) => p.id === old)!;
    assert.ok(isolated.revision < put.revision, `isolated peer at revision ${isolated.revision}, the put at ${put.revision}`);

    // With every peer cut off there is no working leader, and a put says so instead of waiting on a dead end.
    for (const p of manager.status().peers) manager.isolate(p.id);
    await assert.rejects(kvPut(manager, 'nowhere', '3'), {
      code: 'UNAVAILABLE',
      message: 'no leader was elected in time (3 of 3 voters are up, the largest group of them in touch is 1, and a leader needs 2)',
    });
    manager.heal();
    await waitFor(() => manager.workingLeaderId(), 'a leader after the heal');
    assert.equal((await kvGet(manager, 'nowhere')).value, null, 'the refused put was not applied');
  } finally {
    await stop();
  }
});

test('a put refused while leadership is being handed over is sent again once the leader takes proposals', async () => {
  const { manager, stop } = await startCluster({ nodes: 3 });
  try {
    const lead = await manager.waitForLeader(10_000);
    const [target] = manager.status().peers.filter((p) => p.id !== lead);
    // The target falls behind behind a cut link, so the transfer cannot finish: the leader refuses proposals
    // ("leader changed", etcd's ErrProposalDropped during a transfer) until it gives the transfer up.
    manager.cutLink(lead, target!.id, false);
    await kvPut(manager, 'behind', '1');
    const transfer = manager.transferLeader(target!.id).catch((err: Error) => err);
    const started = Date.now();
    const put = await kvPut(manager, 'after-transfer', '2');
    assert.ok(put.revision > 0);
    // It was refused at first: the answer came only after the leader gave up the transfer (an election timeout).
    assert.ok(Date.now() - started >= manager.timing.heartbeatMs, `answered after ${Date.now() - started} ms`);
    assert.equal((await kvGet(manager, 'after-transfer')).value, '2');
    manager.heal();
    await transfer;
  } finally {
    await stop();
  }
});

test('a leader whose messages are all dropped, or slowed past an election timeout, is not where a put goes', { timeout: 60_000 }, async () => {
  const { manager, stop } = await startCluster({ nodes: 3 });
  try {
    for (const fault of ['drop', 'delay'] as const) {
      const old = await manager.waitForLeader(10_000);
      for (const p of manager.status().peers) {
        if (p.id === old) continue;
        if (fault === 'drop') manager.drop(old, p.id, 100);
        else manager.delay(old, p.id, manager.timing.electionMs * 4);
      }
      assert.notEqual(manager.workingLeaderId(), old, `${fault}: not the leader that cannot be heard`);
      const put = await kvPut(manager, `after-${fault}`, 'v');
      assert.ok(put.revision > 0);
      assert.equal((await kvGet(manager, `after-${fault}`)).value, 'v');
      manager.heal();
    }
  } finally {
    await stop();
  }
});
