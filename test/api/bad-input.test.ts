// Bad input and bad moments: each answers etcd's error, and the peer keeps serving afterwards.
import assert from 'node:assert/strict';
import { connect, createServer, type Server } from 'node:net';
import { after, before, test } from 'node:test';
import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { ClusterManager } from '../../src/cluster/cluster-manager.ts';
import { eventually, freePortRange, rawClient, sleep, startCluster, type RawClient, type TestCluster } from './support.ts';

type Wire = Record<string, unknown>;
let cluster: TestCluster;
let c: RawClient;
const b = (s: string) => Buffer.from(s);

async function rejects(p: Promise<unknown>, code: number, details: string | RegExp): Promise<void> {
  await assert.rejects(p, (err: ServiceError) => {
    assert.equal(err.code, code, `code ${err.code}: ${err.details}`);
    if (typeof details === 'string') assert.equal(err.details, details);
    else assert.match(err.details, details);
    return true;
  });
}

/** The peer still answers a write and a linearizable read. */
async function stillServing(client = c): Promise<void> {
  await client.kv.Put({ key: b('alive'), value: b('yes') });
  const r = await client.kv.Range({ key: b('alive') });
  assert.equal(((r.kvs as Wire[])[0]!.value as Buffer).toString(), 'yes');
}

before(async () => {
  cluster = await startCluster({ dataDir: true });
  c = rawClient(cluster.endpoints[0]!);
});
after(async () => {
  c?.close();
  await cluster?.stop();
});

test('a malformed request is refused and the peer keeps serving', async () => {
  // Field 1 (key) announced as 100 bytes long with only 3 present: not a decodable PutRequest.
  await assert.rejects(c.rawUnary('/etcdserverpb.KV/Put', Buffer.from([0x0a, 100, 1, 2, 3])), (err: ServiceError) => err.code === status.INTERNAL);
  await assert.rejects(c.rawUnary('/etcdserverpb.KV/NoSuchMethod', Buffer.alloc(0)), (err: ServiceError) => err.code === status.UNIMPLEMENTED);
  await stillServing();
});

test('an oversized value: etcd’s size error, or the gRPC limit above it', async () => {
  await rejects(c.kv.Put({ key: b('big'), value: Buffer.alloc(1.6 * 1024 * 1024) }), status.INVALID_ARGUMENT, 'etcdserver: request is too large');
  await rejects(c.kv.Put({ key: b('big'), value: Buffer.alloc(3 * 1024 * 1024) }), status.RESOURCE_EXHAUSTED, /larger than max/);
  await stillServing();
});

test('an empty key', async () => {
  await rejects(c.kv.Put({ key: b(''), value: b('v') }), status.INVALID_ARGUMENT, 'etcdserver: key is not provided');
  await rejects(c.kv.Range({ key: b('') }), status.INVALID_ARGUMENT, 'etcdserver: key is not provided');
  await rejects(c.kv.DeleteRange({ key: b('') }), status.INVALID_ARGUMENT, 'etcdserver: key is not provided');
  await stillServing();
});

test('a watch on a compacted revision is canceled with the compaction revision', async () => {
  await c.kv.Put({ key: b('wc'), value: b('1') });
  const r = await c.kv.Put({ key: b('wc'), value: b('2') });
  const rev = Number((r.header as Wire).revision);
  await c.kv.Compact({ revision: rev });
  const stream = c.watch();
  const responses: Wire[] = [];
  stream.on('data', (x: Wire) => responses.push(x));
  stream.on('error', () => undefined);
  stream.write({ createRequest: { key: b('wc'), startRevision: rev - 1 } });
  await eventually('the cancel', () => responses.some((x) => x.canceled));
  assert.equal(responses[0]!.created, true);
  assert.equal(responses[1]!.canceled, true);
  assert.equal(Number(responses[1]!.compactRevision), rev);
  // Canceling an id the stream does not have gets no answer (clients fail on unknown ids).
  stream.write({ cancelRequest: { watchId: 77 } });
  // A watch at exactly the compaction revision still works on the same stream.
  stream.write({ createRequest: { key: b('wc'), startRevision: rev } });
  await eventually('the second watch', () => responses.some((x) => ((x.events as unknown[]) ?? []).length > 0));
  assert.ok(responses.every((x) => x.watchId === '0' || x.watchId === '1'), JSON.stringify(responses.map((x) => x.watchId)));
  stream.cancel();
  await stillServing();
});

test('an unknown lease', async () => {
  await rejects(c.kv.Put({ key: b('k'), value: b('v'), lease: '987654321' }), status.NOT_FOUND, 'etcdserver: requested lease not found');
  await rejects(c.lease.LeaseRevoke({ ID: '987654321' }), status.NOT_FOUND, 'etcdserver: requested lease not found');
  const ttl = await c.lease.LeaseTimeToLive({ ID: '987654321' });
  assert.equal(ttl.TTL, '-1');
  const ka = c.keepAlive();
  const answer = new Promise<Wire>((resolve) => ka.once('data', resolve));
  ka.write({ ID: '987654321' });
  assert.equal((await answer).TTL, '0');
  ka.end();
  await stillServing();
});

test('auth: status says disabled, the rest is UNIMPLEMENTED', async () => {
  const r = await etcdAuthStatus();
  assert.equal(r.enabled, false);
});

async function etcdAuthStatus(): Promise<Wire> {
  const grpc = await import('@grpc/grpc-js');
  const { etcdPackageDefinition } = await import('../../src/api/etcd/proto.ts');
  const pkg = grpc.loadPackageDefinition(etcdPackageDefinition()) as unknown as { etcdserverpb: Record<string, new (a: string, c: unknown) => Record<string, Function> & { close(): void }> };
  const auth = new pkg.etcdserverpb.Auth!(cluster.endpoints[0]!, grpc.credentials.createInsecure());
  try {
    await new Promise<void>((resolve, reject) =>
      auth.UserAdd!({ name: 'u', password: 'p' }, (err: ServiceError | null) => {
        if (err?.code === status.UNIMPLEMENTED && /not supported/.test(err.details)) resolve();
        else reject(err ?? new Error('UserAdd succeeded'));
      }),
    );
    return await new Promise<Wire>((resolve, reject) => auth.AuthStatus!({}, (err: Error | null, res: Wire) => (err ? reject(err) : resolve(res))));
  } finally {
    auth.close();
  }
}

test('without a leader, writes and linearizable reads wait for one as etcd’s do: they time out with etcd’s error, or succeed once a leader is elected', { timeout: 60_000 }, async () => {
  const m = cluster.manager;
  for (const id of [2, 3]) await m.kill(id);
  // The survivor notices after an election timeout (CheckQuorum) that it has no leader.
  await eventually('n1 to lose its leader', async () => {
    const s = await c.maintenance.Status({});
    return s.leader === '0';
  });
  const started = Date.now();
  await Promise.all([
    // etcd's answers: a proposal that never got into Raft fails with its context's error, a read with ErrTimeout.
    rejects(c.kv.Put({ key: b('x'), value: b('y') }), status.UNKNOWN, 'context deadline exceeded'),
    rejects(c.kv.Range({ key: b('x') }), status.UNAVAILABLE, 'etcdserver: request timed out'),
  ]);
  // They waited out etcd's request timeout (5 s + 2 election timeouts) for a leader instead of failing at once.
  assert.ok(Date.now() - started >= 5500, `took ${Date.now() - started} ms`);
  // Serializable reads are still answered locally.
  const local = await c.kv.Range({ key: b('alive'), serializable: true });
  assert.equal((local.kvs as unknown[]).length, 1);
  // A watch that requires a leader is refused, as etcdctl's are.
  const md = new Metadata();
  md.set('hasleader', 'true');
  const stream = c.watch(md);
  const err = await new Promise<ServiceError>((resolve) => {
    stream.on('error', resolve);
    stream.on('data', () => undefined);
    stream.write({ createRequest: { key: b('x') } });
  });
  assert.equal(err.details, 'etcdserver: no leader');
  // A write and a read made while there is no leader wait, and succeed once one is elected.
  const put = c.kv.Put({ key: b('waited'), value: b('for a leader') });
  const read = c.kv.Range({ key: b('alive') });
  await sleep(300);
  for (const id of [2, 3]) await m.restart(id);
  const written = await put;
  assert.ok(Number((written.header as Wire).revision) > 0);
  assert.equal(((await read).kvs as unknown[]).length, 1);
  const back = await c.kv.Range({ key: b('waited') });
  assert.equal(((back.kvs as Wire[])[0]!.value as Buffer).toString(), 'for a leader');
  const never = await c.kv.Range({ key: b('x') });
  assert.equal((never.kvs as unknown[]).length, 0, 'the timed-out put of x was not applied after a leader came back');
  await stillServing();
});

test('a write forwarded to a leader that is then cut off times out as etcd’s: "possibly due to previous leader failure"', { timeout: 60_000 }, async () => {
  const m = cluster.manager;
  const lead = await m.waitForLeader();
  const peers = m.status().peers;
  const follower = peers.findIndex((p) => p.id !== lead);
  const client = rawClient(cluster.endpoints[follower]!);
  try {
    m.isolate(lead);
    // The follower still takes the old leader for the leader: it forwards the write, which the cut drops.
    const started = Date.now();
    await rejects(client.kv.Put({ key: b('lost'), value: b('in transit') }), status.UNAVAILABLE, 'etcdserver: request timed out, possibly due to previous leader failure');
    assert.ok(Date.now() - started >= 5500, `took ${Date.now() - started} ms`);
    assert.notEqual(m.leaderId(), lead, 'the others elected a new leader meanwhile');
    assert.equal(((await client.kv.Range({ key: b('lost') })).kvs as unknown[]).length, 0);
  } finally {
    m.heal();
    client.close();
  }
  await eventually('writes to be served again after heal', () => stillServing(c).then(() => true, () => false), 15_000);
});

test('a killed peer’s port closes and a restarted peer’s port opens again', { timeout: 60_000 }, async () => {
  const m = cluster.manager;
  const port = Number(cluster.endpoints[2]!.split(':')[1]);
  const canConnect = () =>
    new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => (s.destroy(), resolve(true)));
      s.once('error', () => resolve(false));
    });
  assert.equal(await canConnect(), true);
  await m.kill(3);
  await eventually('the port to close', async () => !(await canConnect()));
  await m.restart(3);
  assert.equal(await canConnect(), true);
  const third = rawClient(cluster.endpoints[2]!);
  try {
    await eventually('n3 to serve', () => stillServing(third).then(() => true, () => false), 15_000);
  } finally {
    third.close();
  }
});

test('a client port in use stops the cluster from starting, naming the port', { timeout: 30_000 }, async () => {
  const base = await freePortRange(3);
  const blocker: Server = createServer();
  await new Promise<void>((resolve) => blocker.listen(base + 1, '127.0.0.1', resolve));
  try {
    await assert.rejects(ClusterManager.start({ nodes: 3, memory: true, timing: 'fast', clientPortBase: base }), (err: Error) => {
      assert.match(err.message, new RegExp(`127\\.0\\.0\\.1:${base + 1} is already in use`));
      return true;
    });
  } finally {
    blocker.close();
  }
  await sleep(100);
});
