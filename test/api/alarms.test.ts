// Alarms and the space quota on a real cluster, through real gRPC, etcdctl and /health: a member over its
// --quota-backend-bytes raises NOSPACE, after which every member refuses what would grow the store until space
// is freed and the alarm disarmed, as in etcd; alarms survive a peer's restart.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { ServiceError } from '@grpc/grpc-js';
import { kvPut } from '../../src/cluster/kv-client.ts';
import { renderStatusTable } from '../../src/cluster/status-table.ts';
import { eventually, etcdctl, hasBinary, rawClient, startCluster, type TestCluster } from './support.ts';

const NOSPACE = 'etcdserver: mvcc: database space exceeded';
const QUOTA = 256 * 1024;
const VALUE = Buffer.alloc(16 * 1024, 'x');

async function refusal(p: Promise<unknown>): Promise<{ code: number; details: string }> {
  try {
    await p;
  } catch (err) {
    return { code: (err as ServiceError).code, details: (err as ServiceError).details };
  }
  throw new Error('the call succeeded');
}

/** The alarms an Alarm call answers (etcd 3.4's answer has no header). */
async function alarms(c: ReturnType<typeof rawClient>, request: Record<string, unknown>): Promise<unknown> {
  const res = await c.maintenance.Alarm(request);
  assert.equal(res.header, null);
  return res.alarms;
}

async function health(endpoint: string, query = ''): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`http://${endpoint}/health${query}`);
  return { status: res.status, body: await res.json() };
}

const clusters: TestCluster[] = [];
after(async () => {
  for (const c of clusters) await c.stop();
});

// Outside CI etcdctl may be missing: those tests skip then (hasBinary throws in CI, where .ci/run installs it).
const noEtcdctl = !hasBinary('etcdctl') && 'etcdctl is not installed';

describe('the space quota', { skip: noEtcdctl }, () => {
  it("raises NOSPACE; every member refuses puts until space is freed as in etcd (compact, defrag, disarm)", async () => {
    const cluster = await startCluster({ quotaBackendBytes: QUOTA });
    clusters.push(cluster);
    const [first, , third] = cluster.endpoints as [string, string, string];
    const all = cluster.endpoints;
    const c = rawClient(first);
    const other = rawClient(third);
    try {
      const memberID = ((await c.maintenance.Status({})).header as { memberId: string }).memberId;
      let refused: { code: number; details: string } | undefined;
      let written = 0;
      for (; written < 200 && !refused; written++) {
        refused = await c.kv.Put({ key: Buffer.from(`fill/${written}`), value: VALUE }).then(() => undefined, (err: ServiceError) => ({ code: err.code, details: err.details }));
      }
      assert.deepEqual(refused, { code: 8, details: NOSPACE }); // RESOURCE_EXHAUSTED
      // 16 KiB values in a 256 KiB quota: the 16th put would pass it (each record counts 64 bytes beside its key
      // and value, as etcd's database keeps metadata too).
      assert.equal(written, 16);
      const sizes = (await c.maintenance.Status({})) as { dbSize: string; dbSizeInUse: string };
      assert.ok(Number(sizes.dbSize) < QUOTA && Number(sizes.dbSize) + VALUE.length >= QUOTA, JSON.stringify(sizes));

      // The alarm is the cluster's: another member refuses small puts too (they fit in its quota, but the raised
      // alarm refuses them when applied), as do lease grants and etcdctl's puts.
      assert.deepEqual(await refusal(other.kv.Put({ key: Buffer.from('k'), value: Buffer.from('v') })), { code: 8, details: NOSPACE });
      assert.deepEqual(await refusal(other.lease.LeaseGrant({ TTL: 60 })), { code: 8, details: NOSPACE });
      const put = await etcdctl([third], ['put', 'k', 'v']);
      assert.notEqual(put.code, 0);
      assert.match(put.stderr, /database space exceeded/);
      const raised = [`memberID:${memberID} alarm:NOSPACE `];
      assert.deepEqual((await etcdctl([third], ['alarm', 'list'])).stdout.split('\n').filter(Boolean), raised);
      const status = JSON.parse((await etcdctl([first], ['endpoint', 'status', '-w', 'json'])).stdout) as { Status: { errors: string[] } }[];
      assert.deepEqual(status[0]!.Status.errors, raised);
      assert.deepEqual(await health(third), { status: 503, body: { health: 'false', reason: 'ALARM NOSPACE' } });
      assert.deepEqual(await health(third, '?exclude=NOSPACE'), { status: 200, body: { health: 'true', reason: '' } });
      // The dashboard's peer cards and `raftlab up`'s table show it too (from the peers' status reports).
      await eventually('every peer reports the alarm', () => cluster.manager.status().peers.every((p) => p.alarms.join() === 'NOSPACE'));
      assert.match(renderStatusTable(cluster.manager.status()).split('\n')[1]!, /\bNOSPACE$/);

      // Disarming alone does not help: the store is as full, so the next put that does not fit raises the alarm
      // again.
      assert.deepEqual((await etcdctl([third], ['alarm', 'disarm'])).stdout.split('\n').filter(Boolean), raised);
      assert.equal((await etcdctl([third], ['alarm', 'list'])).stdout, '');
      assert.deepEqual(await refusal(c.kv.Put({ key: Buffer.from('k2'), value: VALUE })), { code: 8, details: NOSPACE });
      assert.equal((await etcdctl([first], ['alarm', 'list'])).stdout, `memberID:${memberID} alarm:NOSPACE \n`);

      // etcd's way out: delete, compact the history away, defragment every member, disarm. (Deletes and reads
      // run under the alarm; a delete alone frees nothing, since the history keeps the old values.)
      assert.equal((await etcdctl([third], ['del', '--prefix', 'fill/'])).stdout, '15\n');
      const revision = ((await c.kv.Range({ key: Buffer.from('fill/0') })).header as { revision: string }).revision;
      assert.equal((await etcdctl([third], ['compact', revision])).stdout, `compacted revision ${revision}\n`);
      const inUse = (await c.maintenance.Status({})) as { dbSize: string; dbSizeInUse: string };
      assert.ok(Number(inUse.dbSizeInUse) < 1000 && Number(inUse.dbSize) >= Number(sizes.dbSize), JSON.stringify(inUse));
      const defrag = await etcdctl(all, ['defrag']);
      assert.equal(defrag.code, 0, defrag.stderr);
      for (const endpoint of all) assert.match(defrag.stdout, new RegExp(`Finished defragmenting etcd member\\[${endpoint}\\]`));
      const after = (await c.maintenance.Status({})) as { dbSize: string; dbSizeInUse: string };
      assert.equal(after.dbSize, after.dbSizeInUse);
      assert.equal((await etcdctl([third], ['alarm', 'disarm'])).stdout, `memberID:${memberID} alarm:NOSPACE \n`);
      assert.equal((await etcdctl([third], ['put', 'k', 'v'])).stdout, 'OK\n');
      assert.equal((await etcdctl([first], ['put', 'k2', 'v'])).stdout, 'OK\n');
      assert.equal((await etcdctl([first], ['alarm', 'list'])).stdout, '');
      assert.deepEqual(await health(third), { status: 200, body: { health: 'true', reason: '' } });
      await eventually('no peer reports an alarm', () => cluster.manager.status().peers.every((p) => p.alarms.length === 0));
      assert.doesNotMatch(renderStatusTable(cluster.manager.status()), /ALARMS/);
    } finally {
      c.close();
      other.close();
    }
  });
});

describe('alarms raised through the API', () => {
  it('refuse writes on every member, survive a restart (log and snapshot) and clear', async () => {
    const cluster = await startCluster({ dataDir: true, snapshotCount: 20 });
    clusters.push(cluster);
    const [first, second] = cluster.endpoints as [string, string, string];
    const c = rawClient(first);
    try {
      const member = '18446744073709551610'; // any uint64, as in etcd
      assert.deepEqual(await alarms(c, { action: 'ACTIVATE', memberID: member, alarm: 'CORRUPT' }), [{ memberID: member, alarm: 'CORRUPT' }]);
      assert.deepEqual(await refusal(c.kv.DeleteRange({ key: Buffer.from('k') })), { code: 15, details: 'etcdserver: corrupt cluster' }); // DATA_LOSS
      assert.deepEqual(await alarms(c, { action: 'DEACTIVATE', memberID: member, alarm: 'CORRUPT' }), [{ memberID: member, alarm: 'CORRUPT' }]);
      assert.deepEqual(await alarms(c, { action: 'ACTIVATE', memberID: member, alarm: 'NOSPACE' }), [{ memberID: member, alarm: 'NOSPACE' }]);
      // Enough entries for each peer to take a snapshot, which must carry the alarm.
      for (let i = 0; i < 30; i++) await c.kv.DeleteRange({ key: Buffer.from(`none/${i}`) });
      await cluster.manager.kill('n2');
      await cluster.manager.restart('n2');
      const restarted = rawClient(second);
      try {
        await eventually('n2 answers again', () => restarted.maintenance.Status({}).then(() => true, () => false));
        assert.deepEqual(await alarms(restarted, { action: 'GET', memberID: '0', alarm: 'NONE' }), [{ memberID: member, alarm: 'NOSPACE' }]);
        await eventually('n2 has applied the alarm', async () => ((await restarted.maintenance.Status({})).errors as string[]).length === 1);
        assert.deepEqual((await restarted.maintenance.Status({})).errors, [`memberID:${member} alarm:NOSPACE `]);
        assert.deepEqual(await refusal(restarted.kv.Put({ key: Buffer.from('k'), value: Buffer.from('v') })), { code: 8, details: NOSPACE });
        assert.deepEqual(await alarms(restarted, { action: 'DEACTIVATE', memberID: member, alarm: 'NOSPACE' }), [{ memberID: member, alarm: 'NOSPACE' }]);
        assert.equal(((await restarted.kv.Put({ key: Buffer.from('k'), value: Buffer.from('v') })).header as { revision: string }).revision !== undefined, true);
        assert.deepEqual(await alarms(restarted, { action: 'GET', memberID: '0', alarm: 'NONE' }), []);
      } finally {
        restarted.close();
      }
    } finally {
      c.close();
    }
  });
});

describe('the space quota covers every write path', () => {
  const post = async (endpoint: string, path: string, body: unknown) => {
    const res = await fetch(`http://${endpoint}${path}`, { method: 'POST', body: JSON.stringify(body) });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  it('Lock (as etcd, through its in-process client: UNKNOWN with the message) and the manager writes', async () => {
    const cluster = await startCluster({ quotaBackendBytes: 4000 });
    clusters.push(cluster);
    const [first, second] = cluster.endpoints as [string, string, string];
    let answer = { status: 200, body: {} as Record<string, unknown> };
    let locks = 0;
    for (; locks < 50 && answer.status === 200; locks++) {
      answer = await post(first, '/v3/lock/lock', { name: Buffer.from(`lock/${'x'.repeat(400)}/${locks}`).toString('base64') });
    }
    assert.deepEqual(answer, { status: 500, body: { error: NOSPACE, message: NOSPACE, code: 2 } });
    assert.ok(locks > 3 && locks < 12, `${locks} locks`);
    const c = rawClient(second);
    try {
      assert.equal(((await alarms(c, { action: 'GET', memberID: '0', alarm: 'NONE' })) as unknown[]).length, 1);
      // The manager's own writes (raftlab ctl put, the Keys view) are refused as clients' are.
      await assert.rejects(kvPut(cluster.manager, 'k', 'v'), { message: NOSPACE });
      // A bad member id through the gateway is a 400, as on etcd's gateway, not a wrapped number.
      const bad = await post(second, '/v3/maintenance/alarm', { action: 'DEACTIVATE', memberID: '99999999999999999999999', alarm: 'NOSPACE' });
      assert.equal(bad.status, 400);
      assert.equal(((await alarms(c, { action: 'GET', memberID: '0', alarm: 'NONE' })) as unknown[]).length, 1);
    } finally {
      c.close();
    }
  });

  it('a write over the quota gets NOSPACE even when the alarm cannot be raised (no quorum)', async () => {
    const cluster = await startCluster({ quotaBackendBytes: 2000 });
    clusters.push(cluster);
    const [first] = cluster.endpoints as [string, string, string];
    const c = rawClient(first);
    try {
      await cluster.manager.kill('n2');
      await cluster.manager.kill('n3');
      assert.deepEqual(await refusal(c.kv.Put({ key: Buffer.from('k'), value: Buffer.alloc(3000) })), { code: 8, details: NOSPACE });
    } finally {
      c.close();
    }
  });
});
