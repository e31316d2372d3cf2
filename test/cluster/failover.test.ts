// A real 3-peer cluster: election, leader kill and failover, restart and catch-up.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeRequest } from '../../src/kv/codec.ts';
import { kvGet } from '../../src/cluster/kv-client.ts';
import { converged, getRetrying, peer, putRetrying, sleep, startCluster, waitFor } from './helpers.ts';

test('a leader is elected; killing it elects another; writes go on; the old leader catches up', async () => {
  const { manager, stop } = await startCluster();
  try {
    const first = await manager.waitForLeader();
    await putRetrying(manager, 'before', '1');
    await manager.kill(first);
    assert.equal(manager.status().peers.find((p) => p.id === first)!.state, 'down');
    const second = await manager.waitForLeader(5000, first);
    assert.notEqual(second, first);
    for (let i = 0; i < 20; i++) await putRetrying(manager, `after/${i}`, String(i));
    await manager.restart(first);
    await waitFor(() => converged(manager) && manager.status().peers.every((p) => p.state === 'up'), 'the restarted peer to catch up');
    const restarted = manager.status().peers.find((p) => p.id === first)!;
    assert.equal(restarted.role, 'follower');
    assert.equal(restarted.revision, peer(manager, manager.status().peers.find((p) => p.id === second)!.name).revision);
    assert.equal((await getRetrying(manager, 'before')), '1');
    assert.equal((await getRetrying(manager, 'after/19')), '19');
  } finally {
    await stop();
  }
});

test('a cluster restarted from its folders keeps every write', async () => {
  const { manager, dir, stop } = await startCluster();
  try {
    await manager.waitForLeader();
    for (let i = 0; i < 30; i++) await putRetrying(manager, `k${i}`, `v${i}`);
    await manager.stop();
    const { ClusterManager } = await import('../../src/cluster/cluster-manager.ts');
    const again = await ClusterManager.start({ dataDir: dir, timing: 'fast' });
    try {
      assert.equal(again.clusterId, manager.clusterId);
      await again.waitForLeader();
      for (let i = 0; i < 30; i++) assert.equal((await getRetrying(again, `k${i}`)), `v${i}`);
    } finally {
      await again.stop();
    }
  } finally {
    await stop();
  }
});

test('pause freezes a peer and resume brings it back', async () => {
  const { manager, stop } = await startCluster();
  try {
    const lead = await manager.waitForLeader();
    const follower = manager.status().peers.find((p) => p.id !== lead)!;
    manager.pause(follower.name);
    await sleep(200); // let the last status from before the pause arrive
    const frozenAt = peer(manager, follower.name).applied;
    for (let i = 0; i < 10; i++) await putRetrying(manager, `p${i}`, 'x');
    await sleep(200);
    assert.equal(peer(manager, follower.name).state, 'paused');
    assert.equal(peer(manager, follower.name).applied, frozenAt, 'a paused peer applies nothing');
    manager.resume(follower.name);
    await waitFor(() => converged(manager), 'the resumed peer to catch up');
  } finally {
    await stop();
  }
});

test('a write sent through a follower just as the leader dies is carried to the next leader, applied once', async () => {
  // A long election timeout, so that the follower surely still believes in the dead leader when the write comes.
  const { manager, stop } = await startCluster({ timing: { heartbeatMs: 50, electionMs: 1500 }, requestTimeoutMs: 20_000 });
  try {
    const lead = await manager.waitForLeader();
    await putRetrying(manager, 'warm', 'up');
    const follower = manager.status().peers.find((p) => p.id !== lead)!;
    await manager.kill(lead);
    // The follower still believes in the dead leader (its election timer has 1.5-3 s to run), so it forwards
    // the proposal there; the network hands it back and the follower sends it to the next leader.
    const started = Date.now();
    const command = encodeRequest({ type: 'put', key: new TextEncoder().encode('carried'), value: new TextEncoder().encode('over') });
    await manager.call(follower.id, { op: 'propose', command });
    const waited = Date.now() - started;
    assert.ok(waited < 10_000, `answered in ${waited} ms, long before the 20 s request timeout`);
    const read = await kvGet(manager, 'carried');
    assert.equal(read.value, 'over');
    assert.equal(read.version, 1, 'applied exactly once');
  } finally {
    await stop();
  }
});

test('a cluster that starts together elects its first leader without waiting out an election timeout', async () => {
  // With 10 s election timeouts the timers alone would take 1-10 s; the manager has a peer campaign at once.
  const { manager, stop } = await startCluster({ timing: { heartbeatMs: 1000, electionMs: 10_000 } });
  try {
    const lead = await manager.waitForLeader(2500);
    assert.ok(lead > 0);
    await putRetrying(manager, 'first', 'write');
    assert.equal(await getRetrying(manager, 'first'), 'write');
  } finally {
    await stop();
  }
});
