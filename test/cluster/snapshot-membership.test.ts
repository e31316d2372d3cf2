// Snapshots for far-behind peers, and membership changes while writes go on.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeRequest } from '../../src/kv/codec.ts';
import type { RangeResponse } from '../../src/kv/types.ts';
import { kvPut } from '../../src/cluster/kv-client.ts';
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { freePortRange } from '../api/support.ts';
import { converged, getRetrying, peer, putRetrying, startCluster, waitFor } from './helpers.ts';

test('a peer behind by more than the snapshot interval catches up from a snapshot', async () => {
  const { manager, stop } = await startCluster({ snapshotCount: 50, catchUpEntries: 10 });
  try {
    const lead = await manager.waitForLeader();
    const lagger = manager.status().peers.find((p) => p.id !== lead)!;
    await manager.kill(lagger.name);
    const lastBefore = peer(manager, lagger.name).lastIndex;
    for (let i = 0; i < 150; i++) await putRetrying(manager, `s/${i}`, String(i));
    const leader = manager.status().peers.find((p) => p.id === manager.leaderId())!;
    assert.ok(leader.firstIndex > lastBefore + 1, `the leader compacted past the lagger (first ${leader.firstIndex}, lagger last ${lastBefore})`);
    await manager.restart(lagger.name);
    await waitFor(() => converged(manager) && peer(manager, lagger.name).state === 'up', 'the lagger to catch up');
    assert.ok(peer(manager, lagger.name).snapshotIndex > 0, 'the lagger installed a snapshot');
    const local = (await manager.call(lagger.id, {
      op: 'read',
      command: encodeRequest({ type: 'range', key: new TextEncoder().encode('s/149') }),
      linearizable: false,
    })) as RangeResponse;
    assert.equal(new TextDecoder().decode(local.kvs[0]!.value), '149');
  } finally {
    await stop();
  }
});

test('adding and removing peers while writes continue loses nothing', async () => {
  const { manager, stop } = await startCluster();
  try {
    await manager.waitForLeader();
    const acked: string[] = [];
    let writing = true;
    const writer = (async () => {
      for (let i = 0; writing; i++) {
        try {
          await kvPut(manager, `m/${i}`, String(i));
          acked.push(`m/${i}`);
        } catch {
          // a write may fail during a leader change; only acknowledged ones must survive
        }
      }
    })();
    const added = await manager.addPeer();
    assert.equal(added, 4);
    await waitFor(() => peer(manager, 'n4').role === 'follower' && !peer(manager, 'n4').isLearner, 'n4 to become a voter');
    await manager.removePeer('n1');
    writing = false;
    await writer;
    assert.ok(acked.length > 10, `writes went on (${acked.length} acknowledged)`);
    const names = manager.status().peers.map((p) => p.name);
    assert.deepEqual(names, ['n2', 'n3', 'n4']);
    await manager.waitForLeader();
    await waitFor(() => converged(manager), 'convergence');
    for (const key of acked) assert.notEqual((await getRetrying(manager, key)), null, `${key} survived`);
    assert.equal(manager.status().quorum.members, 3);
  } finally {
    await stop();
  }
});

test('a peer added while its client port is taken gets the next id and port; the failed start leaves nothing', async () => {
  const base = await freePortRange(5);
  const { manager, dir, stop } = await startCluster({ clientPortBase: base });
  const busy: Server = createServer();
  await new Promise<void>((r) => busy.listen(base + 3, '127.0.0.1', () => r()));
  try {
    await manager.waitForLeader();
    const added = await manager.addPeer();
    assert.equal(added, 5, 'n4 (port taken) was skipped');
    assert.deepEqual(manager.endpoints(), [0, 1, 2, 4].map((i) => `127.0.0.1:${base + i}`));
    assert.deepEqual(manager.status().peers.map((p) => p.name), ['n1', 'n2', 'n3', 'n5']);
    assert.ok(!existsSync(join(dir, 'n4')), 'the folder of the peer that could not start is gone');
    const record = JSON.parse(readFileSync(join(dir, 'cluster.json'), 'utf8')) as { members: { name: string }[] };
    assert.deepEqual(record.members.map((m) => m.name), ['n1', 'n2', 'n3', 'n5']);
    await waitFor(() => peer(manager, 'n5').role === 'follower' && !peer(manager, 'n5').isLearner, 'n5 to become a voter');
  } finally {
    busy.close();
    await stop();
  }
});
