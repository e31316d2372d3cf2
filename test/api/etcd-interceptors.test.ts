// What etcd does around every call, before or beside its service: the gRPC health service, the refusal of calls
// that require a leader on a member without one, the lease clock starting at the grant, and the refusal of a
// watch whose range is empty. Checked against a running Raft Lab; the differential test compares the last two
// with a real etcd.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { etcdPackageDefinition } from '../../src/api/etcd/proto.ts';
import { eventually, rawClient, sleep, startCluster, type RawClient, type TestCluster } from './support.ts';

type Wire = Record<string, unknown>;
let cluster: TestCluster;
let c: RawClient;
const b = (s: string) => Buffer.from(s);

before(async () => {
  cluster = await startCluster();
  c = rawClient(cluster.endpoints[0]!);
});
after(async () => {
  c.close();
  await cluster.stop();
});

/** A grpc-js client of grpc.health.v1.Health, from the same proto text the server uses. */
function healthClient(endpoint: string) {
  const pkg = grpc.loadPackageDefinition(etcdPackageDefinition()) as unknown as { grpc: { health: { v1: Record<string, grpc.ServiceClientConstructor> } } };
  return new pkg.grpc.health.v1.Health!(endpoint, grpc.credentials.createInsecure()) as unknown as grpc.Client & Record<string, Function>;
}

test('gRPC health: the server is SERVING, an unknown service is NOT_FOUND, Watch sends the status', async () => {
  const client = healthClient(cluster.endpoints[1]!);
  try {
    const check = (service: string) =>
      new Promise<Wire>((resolve, reject) => client.Check!.call(client, { service }, (err: grpc.ServiceError | null, r: Wire) => (err ? reject(err) : resolve(r))));
    assert.deepEqual(await check(''), { status: 'SERVING' });
    await assert.rejects(check('etcdserverpb.KV'), (err: grpc.ServiceError) => err.code === grpc.status.NOT_FOUND && err.details === 'unknown service');
    const watch = client.Watch!.call(client, { service: '' }) as grpc.ClientReadableStream<Wire>;
    const first = await new Promise<Wire>((resolve, reject) => (watch.once('data', resolve), watch.once('error', reject)));
    assert.deepEqual(first, { status: 'SERVING' });
    watch.on('error', () => undefined);
    watch.cancel();
  } finally {
    client.close();
  }
});

test('a unary call that requires a leader is refused on a member that has none; without the header it is answered', async () => {
  const { manager } = cluster;
  const lead = await manager.waitForLeader();
  const follower = manager.status().peers.find((p) => p.id !== lead)!;
  const endpoint = `127.0.0.1:${follower.clientPort}`;
  const f = rawClient(endpoint);
  const requireLeader = new grpc.Metadata();
  requireLeader.set('hasleader', 'true');
  try {
    await c.kv.Put({ key: b('stale'), value: b('before') });
    await eventually('the follower has the write', async () => ((await f.kv.Range({ key: b('stale'), serializable: true })).kvs as Wire[]).length === 1);
    // With a leader, the header changes nothing.
    assert.equal(((await f.kv.Range({ key: b('stale'), serializable: true }, requireLeader)).kvs as Wire[]).length, 1);
    manager.isolate(follower.id);
    await eventually('the isolated follower to lose its leader', async () => String((await f.maintenance.Status({})).leader) === '0', 10_000);
    await assert.rejects(f.kv.Range({ key: b('stale'), serializable: true }, requireLeader), (err: grpc.ServiceError) => {
      assert.equal(err.code, grpc.status.UNAVAILABLE);
      assert.equal(err.details, 'etcdserver: no leader');
      return true;
    });
    await assert.rejects(f.maintenance.Status({}, requireLeader), /etcdserver: no leader/);
    // Streams too, as etcd's stream interceptor refuses them: a snapshot stream that asks for a leader.
    const pkg = grpc.loadPackageDefinition(etcdPackageDefinition()) as unknown as { etcdserverpb: Record<string, grpc.ServiceClientConstructor> };
    const maintenance = new pkg.etcdserverpb.Maintenance!(endpoint, grpc.credentials.createInsecure()) as unknown as grpc.Client & Record<string, Function>;
    try {
      const snapshot = maintenance.Snapshot!.call(maintenance, {}, requireLeader) as grpc.ClientReadableStream<Wire>;
      const err = await new Promise<grpc.ServiceError | undefined>((resolve) => (snapshot.on('error', resolve), snapshot.on('end', () => resolve(undefined)), snapshot.on('data', () => undefined)));
      assert.ok(err, 'the snapshot was refused, not streamed');
      assert.equal(err.code, grpc.status.UNAVAILABLE);
      assert.equal(err.details, 'etcdserver: no leader');
    } finally {
      maintenance.close();
    }
    // Through the JSON gateway the header is `Grpc-Metadata-Hasleader`, as etcd's gateway passes metadata on.
    const viaGateway = await fetch(`http://${endpoint}/v3/kv/range`, { method: 'POST', headers: { 'Grpc-Metadata-Hasleader': 'true' }, body: JSON.stringify({ key: b('stale').toString('base64'), serializable: true }) });
    assert.equal(viaGateway.status, 503);
    assert.equal(((await viaGateway.json()) as { message: string }).message, 'etcdserver: no leader');
    const plain = await fetch(`http://${endpoint}/v3/kv/range`, { method: 'POST', body: JSON.stringify({ key: b('stale').toString('base64'), serializable: true }) });
    assert.equal(plain.status, 200);
    // Without the header the member answers from what it has (serializable), as etcd's does.
    const stale = await f.kv.Range({ key: b('stale'), serializable: true });
    assert.equal(((stale.kvs as Wire[])[0]!.value as Buffer).toString(), 'before');
    manager.heal();
    await eventually('the follower to find the leader again', async () => String((await f.maintenance.Status({})).leader) !== '0', 10_000);
    assert.equal(((await f.kv.Range({ key: b('stale'), serializable: true }, requireLeader)).kvs as Wire[]).length, 1);
  } finally {
    manager.heal();
    f.close();
  }
});

test('a lease’s clock starts when it is granted: 5 ms later it has 29 whole seconds left of 30, not 30', async () => {
  const { manager } = cluster;
  const lead = await manager.waitForLeader();
  const leader = rawClient(`127.0.0.1:${manager.status().peers.find((p) => p.id === lead)!.clientPort}`);
  try {
    const { ID } = await leader.lease.LeaseGrant({ TTL: 30 });
    // Without the clock starting at the grant it started at the lessor's next check, up to a heartbeat later,
    // and the lease still had 30 s left here.
    await sleep(5);
    const ttl = await leader.lease.LeaseTimeToLive({ ID });
    assert.equal(Number(ttl.grantedTTL), 30);
    assert.equal(Number(ttl.TTL), 29, 'etcd truncates the time left: 29.99 s is 29');
    await leader.lease.LeaseRevoke({ ID });
  } finally {
    leader.close();
  }
});

test('a watch whose range end is not above its key is refused at once, under the invalid id, and takes no id', async () => {
  const stream = c.watch();
  const responses: Wire[] = [];
  stream.on('data', (r: Wire) => responses.push(r));
  stream.on('error', () => undefined);
  try {
    stream.write({ createRequest: { key: b('wb'), rangeEnd: b('wa') } });
    stream.write({ createRequest: { key: b('wa'), rangeEnd: b('wa') } });
    stream.write({ createRequest: { key: b('wa'), rangeEnd: b('wb') } });
    await eventually('three answers', () => responses.length >= 3);
    for (const refused of responses.slice(0, 2)) {
      assert.equal(String(refused.watchId), '-1');
      assert.equal(refused.created, true);
      assert.equal(refused.canceled, true);
      assert.equal(refused.cancelReason, 'mvcc: watcher range is empty');
    }
    assert.equal(String(responses[2]!.watchId), '0', 'the first watch that was created gets the first id');
    assert.equal(responses[2]!.canceled, false);
  } finally {
    stream.cancel();
  }
});
