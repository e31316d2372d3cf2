// Membership changes asked for at the same time (a double-click on "Add peer", two scripts, two `etcdctl member
// add`s) run one after the other: each new member is recorded, started and in the configuration, none is a ghost.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { kvGet, kvPut } from '../../src/cluster/kv-client.ts';
import { startCluster, waitFor } from './helpers.ts';

test('two adds at once both join, recorded and in the configuration; then two removes at once both leave', { timeout: 120_000 }, async () => {
  const { manager, dir, stop } = await startCluster({ nodes: 3 });
  try {
    await manager.waitForLeader(10_000);
    const [a, b] = await Promise.all([manager.addPeer({ learner: true }), manager.addPeer({ learner: true })]);
    assert.notEqual(a, b);
    const recorded = JSON.parse(await readFile(join(dir, 'cluster.json'), 'utf8')) as { members: { id: number }[] };
    assert.deepEqual(recorded.members.map((m) => m.id).sort(), [1, 2, 3, a, b].sort());
    // Both are in the leader's configuration (it tracks their progress) and both are running.
    const leaderView = await waitFor(() => manager.status().peers.find((p) => p.id === manager.leaderId() && a in p.progress && b in p.progress), 'the leader tracking both new members');
    assert.ok(leaderView);
    for (const id of [a, b]) assert.equal(manager.status().peers.find((p) => p.id === id)?.state, 'up');
    await kvPut(manager, 'k', 'v');
    await waitFor(() => manager.status().peers.every((p) => p.revision >= 2), 'every member, the learners too, applying the put');

    await Promise.all([manager.removePeer(a), manager.removePeer(b)]);
    const after = JSON.parse(await readFile(join(dir, 'cluster.json'), 'utf8')) as { members: { id: number }[] };
    assert.deepEqual(after.members.map((m) => m.id).sort(), [1, 2, 3]);
    assert.deepEqual(manager.status().peers.map((p) => p.id).sort(), [1, 2, 3]);
    assert.equal((await kvGet(manager, 'k')).value, 'v');
  } finally {
    await stop();
  }
});
