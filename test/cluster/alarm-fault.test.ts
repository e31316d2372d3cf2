// etcd's alarms as a fault, through what the dashboard and the VS Code commands call (dashboard-host.ts's
// performAction and kv-client.ts's kvAlarm): raise, list and disarm by type, and a made-up action refused — a
// webview can send anything, and it must never be taken for a disarm.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { kvAlarm, kvPut } from '../../src/cluster/kv-client.ts';
import { performAction, type DashboardAction } from '../../src/extension/dashboard-host.ts';
import { startCluster } from './helpers.ts';

test('alarm faults: raised as the leader, listed and disarmed by type; a bad action or type is refused and changes nothing', async () => {
  const { manager, stop } = await startCluster({ nodes: 3 });
  try {
    const leaderId = await manager.waitForLeader(10_000);
    const leader = manager.status().peers.find((p) => p.id === leaderId)!.name;
    const [nospace] = (await performAction(manager, { kind: 'alarm', action: 'raise' })) as Awaited<ReturnType<typeof kvAlarm>>;
    assert.equal(nospace!.member, leader);
    assert.equal(nospace!.alarm, 'NOSPACE');
    await kvAlarm(manager, 'raise', 'CORRUPT');
    await assert.rejects(kvPut(manager, 'k', 'v'), { message: 'etcdserver: corrupt cluster' });
    assert.deepEqual((await kvAlarm(manager, 'list')).map((a) => a.alarm), ['NOSPACE', 'CORRUPT']);
    assert.deepEqual((await kvAlarm(manager, 'list', 'CORRUPT')).map((a) => a.alarm), ['CORRUPT']);

    await assert.rejects(performAction(manager, { kind: 'alarm', action: 'bogus' } as unknown as DashboardAction), { code: 'INVALID_ARGUMENT' });
    await assert.rejects(kvAlarm(manager, 'disarm', 'FULL' as 'NOSPACE'), { code: 'INVALID_ARGUMENT' });
    assert.equal((await kvAlarm(manager, 'list')).length, 2, 'nothing was disarmed by the bad requests');

    // Disarming one type leaves the other; NOSPACE alone still refuses a put.
    assert.deepEqual((await kvAlarm(manager, 'disarm', 'CORRUPT')).map((a) => a.alarm), ['CORRUPT']);
    await assert.rejects(kvPut(manager, 'k', 'v'), { message: 'etcdserver: mvcc: database space exceeded' });
    assert.deepEqual(((await performAction(manager, { kind: 'alarm', action: 'disarm' })) as unknown[]).length, 1);
    assert.ok((await kvPut(manager, 'k', 'v')).revision > 1);
    assert.deepEqual(await kvAlarm(manager, 'list'), []);
  } finally {
    await stop();
  }
});
