// Peers keep only their newest applied log entries in memory (memoryEntries); a follower that fell further
// behind is caught up from entries its leader reads back from LevelDB, not from a snapshot.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeRequest } from '../../src/kv/codec.ts';
import type { RangeResponse } from '../../src/kv/types.ts';
import type { ClusterManager } from '../../src/cluster/cluster-manager.ts';
import { converged, peer, putRetrying, startCluster, waitFor } from './helpers.ts';

const MEMORY_ENTRIES = 20;

async function localValue(manager: ClusterManager, id: number, key: string): Promise<string | undefined> {
  const r = (await manager.call(id, { op: 'read', command: encodeRequest({ type: 'range', key: new TextEncoder().encode(key) }), linearizable: false })) as RangeResponse;
  return r.kvs[0] ? new TextDecoder().decode(r.kvs[0].value) : undefined;
}

test('a restarted follower far behind catches up from entries its leader reads back from disk', async () => {
  const { manager, stop } = await startCluster({ memoryEntries: MEMORY_ENTRIES });
  try {
    const lead = await manager.waitForLeader();
    const lagger = manager.status().peers.find((p) => p.id !== lead)!;
    await manager.kill(lagger.name);
    for (let i = 0; i < 300; i++) await putRetrying(manager, `m/${i}`, String(i));
    const leader = peer(manager, manager.status().peers.find((p) => p.id === manager.leaderId())!.name);
    await waitFor(() => peer(manager, leader.name).memoryFirstIndex > 250, 'the leader to drop old entries from memory');
    const now = peer(manager, leader.name);
    assert.equal(now.firstIndex, 1, 'no snapshot compacted the log');
    assert.ok(now.lastIndex - now.memoryFirstIndex < MEMORY_ENTRIES * 2, `in memory: ${now.memoryFirstIndex}..${now.lastIndex}`);
    await manager.restart(lagger.name);
    await waitFor(() => converged(manager) && peer(manager, lagger.name).state === 'up', 'the lagger to catch up');
    assert.equal(peer(manager, lagger.name).snapshotIndex, 0, 'it caught up without a snapshot');
    assert.equal(await localValue(manager, lagger.id, 'm/0'), '0');
    assert.equal(await localValue(manager, lagger.id, 'm/299'), '299');
  } finally {
    await stop();
  }
});

test('a new leader reads back entries it dropped from memory as a follower', async () => {
  const { manager, stop } = await startCluster({ memoryEntries: MEMORY_ENTRIES });
  try {
    const lead = await manager.waitForLeader();
    const [other, lagger] = manager.status().peers.filter((p) => p.id !== lead);
    await manager.kill(lagger!.name);
    for (let i = 0; i < 200; i++) await putRetrying(manager, `t/${i}`, String(i));
    await waitFor(() => peer(manager, other!.name).memoryFirstIndex > 150, 'the other follower to drop old entries from memory');
    await manager.transferLeader(other!.name);
    await waitFor(() => manager.leaderId() === other!.id, 'the transfer');
    await putRetrying(manager, 't/after', 'x');
    await manager.restart(lagger!.name);
    await waitFor(() => converged(manager) && peer(manager, lagger!.name).state === 'up', 'the lagger to catch up');
    assert.equal(peer(manager, lagger!.name).snapshotIndex, 0);
    assert.equal(await localValue(manager, lagger!.id, 't/0'), '0');
    assert.equal(await localValue(manager, lagger!.id, 't/after'), 'x');
  } finally {
    await stop();
  }
});
