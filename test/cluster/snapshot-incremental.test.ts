// Snapshots taken while writes go on (the state machine encodes them a slice at a time and the snapshot is
// recorded at the index where the encoding started): peers restart from them and lagging peers catch up.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeRequest } from '../../src/kv/codec.ts';
import type { RangeResponse } from '../../src/kv/types.ts';
import type { ClusterManager } from '../../src/cluster/cluster-manager.ts';
import { kvPut } from '../../src/cluster/kv-client.ts';
import { converged, peer, startCluster, waitFor } from './helpers.ts';

const utf8 = (s: string) => new TextEncoder().encode(s);

/** `count` puts, `parallel` at a time, each retried until acknowledged; every 7th key is deleted later. */
async function writeLoad(manager: ClusterManager, prefix: string, count: number, parallel = 24): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      for (let attempt = 0; ; attempt++) {
        try {
          await kvPut(manager, `${prefix}/${String(i).padStart(5, '0')}`, `value-${i}-${'x'.repeat(i % 50)}`);
          break;
        } catch (err) {
          if (attempt > 200) throw err;
          await new Promise((r) => setTimeout(r, 20));
        }
      }
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
}

/** Everything a peer holds, read locally (not through the leader). */
async function localState(manager: ClusterManager, id: number): Promise<unknown> {
  const response = (await manager.call(id, {
    op: 'read',
    command: encodeRequest({ type: 'range', key: new Uint8Array([0]), rangeEnd: new Uint8Array([0]) }),
    linearizable: false,
  })) as RangeResponse;
  return {
    revision: response.header.revision,
    count: response.count,
    kvs: response.kvs.map((kv) => [new TextDecoder().decode(kv.key), new TextDecoder().decode(kv.value), kv.createRevision, kv.modRevision, kv.version]),
  };
}

test('snapshots taken under writes: a restarted peer and a lagging peer recover the same state', async () => {
  const { manager, stop } = await startCluster({ snapshotCount: 200, catchUpEntries: 20 });
  try {
    const lead = await manager.waitForLeader();
    const [a, b] = manager.status().peers.filter((p) => p.id !== lead);
    // Writes while every peer snapshots several times.
    await writeLoad(manager, 'w', 1200);
    await waitFor(() => converged(manager), 'convergence');
    for (const p of manager.status().peers) assert.ok(p.snapshotIndex >= 800, `${p.name} took snapshots (at ${p.snapshotIndex})`);
    // A follower restarts from its own snapshot and log while writes go on.
    await manager.kill(a!.name);
    const lastBefore = peer(manager, a!.name).lastIndex;
    await writeLoad(manager, 'x', 600);
    await manager.restart(a!.name);
    // Another one restarts while the first catches up (from a snapshot: the leader compacted past it).
    const leader = manager.status().peers.find((p) => p.id === manager.leaderId())!;
    assert.ok(leader.firstIndex > lastBefore + 1, `the leader compacted past the lagger (first ${leader.firstIndex}, lagger last ${lastBefore})`);
    const load = writeLoad(manager, 'y', 400);
    await manager.kill(b!.name);
    await manager.restart(b!.name);
    await load;
    await waitFor(() => converged(manager) && manager.status().peers.every((p) => p.state === 'up'), 'every peer to catch up', 30_000);
    assert.ok(peer(manager, a!.name).snapshotIndex > lastBefore, 'the lagger installed or took a newer snapshot');
    const states = await Promise.all(manager.status().peers.map((p) => localState(manager, p.id)));
    const expected = states[0] as { count: number };
    assert.equal(expected.count, 1200 + 600 + 400);
    for (const state of states.slice(1)) assert.deepEqual(state, expected);
    const one = (await manager.call(a!.id, { op: 'read', command: encodeRequest({ type: 'range', key: utf8('x/00599') }), linearizable: true })) as RangeResponse;
    assert.equal(new TextDecoder().decode(one.kvs[0]!.value), `value-599-${'x'.repeat(599 % 50)}`);
  } finally {
    await stop();
  }
});
