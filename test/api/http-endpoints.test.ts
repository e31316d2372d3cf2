// etcd's plain-HTTP endpoints on the client port, beside gRPC: /health, /version, /metrics, and what a port
// shared by two protocols must survive (a client that hangs up in the middle of the HTTP/2 preface).
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, test } from 'node:test';
import { eventually, rawClient, startCluster, type TestCluster } from './support.ts';

let cluster: TestCluster;
const url = (i: number, path: string) => `http://${cluster.endpoints[i]}${path}`;

before(async () => {
  cluster = await startCluster();
});
after(async () => {
  await cluster?.stop();
});

test('/health is 200 with a leader on every member, /version names the server', async () => {
  for (let i = 0; i < 3; i++) {
    const health = await fetch(url(i, '/health'));
    assert.equal(health.status, 200);
    assert.deepEqual(await health.json(), { health: 'true', reason: '' });
    const version = await fetch(url(i, '/version'));
    assert.deepEqual(await version.json(), { etcdserver: '3.5.0-raftlab', etcdcluster: '3.5.0' });
  }
  assert.equal((await fetch(url(0, '/v2/keys'))).status, 404);
  assert.equal((await fetch(url(0, '/health'), { method: 'POST' })).status, 405);
});

test('/health turns 503 on a member cut off from the others, and back to 200 when healed', async () => {
  const lead = await cluster.manager.waitForLeader();
  const peers = cluster.manager.status().peers;
  const index = peers.findIndex((p) => p.id !== lead);
  const victim = peers[index]!;
  cluster.manager.isolate(victim.id);
  try {
    await eventually('the isolated member to report itself unhealthy', async () => (await fetch(url(index, '/health'))).status === 503);
    const body = (await (await fetch(url(index, '/health'))).json()) as { health: string; reason: string };
    assert.equal(body.health, 'false');
    assert.match(body.reason, /NO LEADER|QGET ERROR/);
  } finally {
    cluster.manager.heal();
  }
  await eventually('it to be healthy again', async () => (await fetch(url(index, '/health'))).status === 200);
});

test('/metrics speaks the Prometheus text format with etcd names', async () => {
  const client = rawClient(cluster.endpoints[0]!);
  await client.kv.Put({ key: Buffer.from('metrics-probe'), value: Buffer.from('x') });
  client.close();
  const lead = cluster.manager.leaderId();
  let leaders = 0;
  for (let i = 0; i < 3; i++) {
    const res = await fetch(url(i, '/metrics'));
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    const value = (name: string) => Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text)?.[1]);
    assert.equal(value('etcd_server_has_leader'), 1);
    leaders += value('etcd_server_is_leader');
    assert.ok(value('etcd_server_proposals_committed_total') > 0);
    assert.ok(value('process_resident_memory_bytes') > 10 * 2 ** 20);
    // Each peer's own V8 heap: used within total, and less than the whole process holds.
    assert.ok(value('nodejs_heap_size_used_bytes') > 2 ** 20);
    assert.ok(value('nodejs_heap_size_used_bytes') <= value('nodejs_heap_size_total_bytes'));
    assert.ok(value('nodejs_heap_size_total_bytes') < value('process_resident_memory_bytes'));
    assert.ok(value('nodejs_array_buffers_bytes') <= value('nodejs_external_memory_bytes'));
    assert.match(text, /^# TYPE etcd_mvcc_db_total_size_in_bytes gauge$/m);
    assert.equal(value('etcd_server_quota_backend_bytes'), 2 * 1024 ** 3, "etcd's default quota");
    // Every member saw the first leader come; nothing is pending or failed at rest.
    assert.ok(value('etcd_server_leader_changes_seen_total') >= 1);
    assert.equal(value('etcd_server_proposals_pending'), 0);
    assert.equal(value('etcd_server_proposals_failed_total'), 0);
    assert.match(text, /^etcd_server_version\{server_version="3\.5\.0-raftlab"\} 1$/m);
    // The log's synced writes as etcd's WAL fsync histogram: cumulative buckets, +Inf equal to the count.
    assert.match(text, /^# TYPE etcd_disk_wal_fsync_duration_seconds histogram$/m);
    const buckets = [...text.matchAll(/^etcd_disk_wal_fsync_duration_seconds_bucket\{le="([^"]+)"\} (\d+)$/gm)].map((m) => [m[1]!, Number(m[2])] as const);
    assert.deepEqual(buckets.map(([le]) => le).slice(0, 3), ['0.001', '0.002', '0.004']);
    assert.equal(buckets.at(-2)![0], '8.192');
    assert.ok(buckets.every(([, n], j) => j === 0 || n >= buckets[j - 1]![1]), 'buckets are cumulative');
    const count = value('etcd_disk_wal_fsync_duration_seconds_count');
    assert.ok(count > 0, 'the put was written');
    assert.equal(buckets.at(-1)![0], '+Inf');
    assert.equal(buckets.at(-1)![1], count);
    assert.ok(value('etcd_disk_wal_fsync_duration_seconds_sum') > 0);
    if (cluster.manager.status().peers[i]!.id === lead) assert.equal(value('etcd_server_is_leader'), 1);
  }
  assert.equal(leaders, 1, 'exactly one member says it leads');
});

test('a client that hangs up inside the HTTP/2 preface, or sends garbage, leaves the port serving both protocols', async () => {
  for (const bytes of ['PRI * HT', '\x00\x01\x02garbage\r\n\r\n']) {
    await new Promise<void>((resolve) => {
      const socket = connect(Number(cluster.endpoints[0]!.split(':')[1]), '127.0.0.1', () => {
        socket.write(bytes);
        setTimeout(() => (socket.destroy(), resolve()), 50);
      });
      socket.on('error', () => resolve());
    });
  }
  assert.equal((await fetch(url(0, '/health'))).status, 200);
  const client = rawClient(cluster.endpoints[0]!);
  const got = await client.kv.Range({ key: Buffer.from('metrics-probe') });
  client.close();
  assert.equal(Buffer.from((got.kvs as { value: Uint8Array }[])[0]!.value).toString(), 'x');
});
