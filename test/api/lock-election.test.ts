// etcd's Lock and Election services on a real Raft Lab cluster, over real gRPC and the JSON gateway; and the same
// calls against a real etcd 3.4, compared answer by answer (skipped without `etcd` outside CI).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { etcdPackageDefinition } from '../../src/api/etcd/proto.ts';
import { eventually, hasBinary, rawClient, sleep, startCluster, startRealEtcd, type RawClient, type TestCluster } from './support.ts';

type Wire = Record<string, unknown>;
type Client = grpc.Client & Record<string, Function>;

interface Clients {
  raw: RawClient;
  lock: Client;
  election: Client;
  close(): void;
}

function clients(endpoint: string): Clients {
  const pkg = grpc.loadPackageDefinition(etcdPackageDefinition()) as unknown as Record<string, Record<string, grpc.ServiceClientConstructor>>;
  const lock = new pkg.v3lockpb!.Lock!(endpoint, grpc.credentials.createInsecure()) as unknown as Client;
  const election = new pkg.v3electionpb!.Election!(endpoint, grpc.credentials.createInsecure()) as unknown as Client;
  const raw = rawClient(endpoint);
  return { raw, lock, election, close: () => (raw.close(), lock.close(), election.close()) };
}

function call(client: Client, method: string, request: Wire, deadlineMs = 15_000): Promise<Wire> {
  return new Promise((resolve, reject) => {
    client[method]!.call(client, request, new grpc.Metadata(), { deadline: Date.now() + deadlineMs }, (err: grpc.ServiceError | null, res: Wire) => (err ? reject(err) : resolve(res)));
  });
}

/** Settles to the error's code and details, for comparing failures. */
async function failure(p: Promise<unknown>): Promise<{ code: number; details: string }> {
  try {
    await p;
  } catch (err) {
    const e = err as grpc.ServiceError;
    return { code: e.code, details: e.details };
  }
  throw new Error('the call succeeded');
}

const text = (b: unknown) => Buffer.from(b as Buffer).toString();
const hex = (lease: unknown) => BigInt(lease as string).toString(16);

async function grant(c: Clients, ttl = 30): Promise<string> {
  return (await c.raw.lease.LeaseGrant({ TTL: ttl })).ID as string;
}

let cluster: TestCluster;
let c: Clients;

before(async () => {
  cluster = await startCluster();
  c = clients(cluster.endpoints[1]!); // a follower or the leader: either must serve these
});

after(async () => {
  c?.close();
  await cluster?.stop();
});

test('Lock answers key <name>/<lease hex>, created with the lease in the header revision; Unlock deletes it', async () => {
  const lease = await grant(c);
  const r = await call(c.lock, 'Lock', { name: Buffer.from('lk1'), lease });
  assert.equal(text(r.key), `lk1/${hex(lease)}`);
  const header = r.header as Wire;
  assert.ok(BigInt(header.clusterId as string) > 0n && BigInt(header.memberId as string) > 0n);
  const got = await c.raw.kv.Range({ key: r.key });
  const kv = (got.kvs as Wire[])[0]!;
  assert.equal(kv.lease, lease);
  assert.equal(Number(kv.createRevision), Number(header.revision), 'the header is the txn that created the key');
  // Locking again with the same lease is the same acquisition.
  const again = await call(c.lock, 'Lock', { name: Buffer.from('lk1'), lease });
  assert.equal(text(again.key), text(r.key));
  const u = await call(c.lock, 'Unlock', { key: r.key });
  assert.ok(Number((u.header as Wire).revision) > Number(header.revision));
  assert.equal(((await c.raw.kv.Range({ key: r.key })).kvs as Wire[]).length, 0);
});

test('a second Lock on the same name waits until the first is unlocked', async () => {
  const [a, b] = [await grant(c), await grant(c)];
  const first = await call(c.lock, 'Lock', { name: Buffer.from('lk2'), lease: a });
  let second: Wire | undefined;
  const waiting = call(c.lock, 'Lock', { name: Buffer.from('lk2'), lease: b }).then((r) => (second = r));
  await sleep(700);
  assert.equal(second, undefined, 'not answered while the first holds the lock');
  // The waiter's key exists already: it queues by create revision.
  await eventually('the waiter key', async () => ((await c.raw.kv.Range({ key: Buffer.from(`lk2/${hex(b)}`) })).kvs as Wire[]).length === 1);
  const unlocked = await call(c.lock, 'Unlock', { key: first.key });
  await waiting;
  assert.equal(text(second!.key), `lk2/${hex(b)}`);
  assert.ok(Number((second!.header as Wire).revision) >= Number((unlocked.header as Wire).revision));
  await call(c.lock, 'Unlock', { key: second!.key });
});

test('a lock whose lease is revoked is released to the next waiter', async () => {
  const [a, b] = [await grant(c), await grant(c)];
  await call(c.lock, 'Lock', { name: Buffer.from('lk3'), lease: a });
  let done = false;
  const waiting = call(c.lock, 'Lock', { name: Buffer.from('lk3'), lease: b }).then((r) => ((done = true), r));
  await sleep(400);
  assert.equal(done, false);
  await c.raw.lease.LeaseRevoke({ ID: a });
  const r = await waiting;
  assert.equal(text(r.key), `lk3/${hex(b)}`);
  await c.raw.lease.LeaseRevoke({ ID: b });
});

test('a waiting Lock whose gateway client hangs up gives its place up (its key is deleted, its watch removed)', async () => {
  const [a, b] = [await grant(c), await grant(c)];
  const held = await call(c.lock, 'Lock', { name: Buffer.from('lk4'), lease: a });
  const controller = new AbortController();
  const req = fetch(`http://${cluster.endpoints[1]}/v3/lock/lock`, { method: 'POST', body: JSON.stringify({ name: Buffer.from('lk4').toString('base64'), lease: b }), signal: controller.signal }).catch(() => 'aborted');
  const waiterKey = Buffer.from(`lk4/${hex(b)}`);
  await eventually('the waiter key', async () => ((await c.raw.kv.Range({ key: waiterKey })).kvs as Wire[]).length === 1);
  controller.abort();
  assert.equal(await req, 'aborted');
  await eventually('the waiter key to be deleted', async () => ((await c.raw.kv.Range({ key: waiterKey })).kvs as Wire[]).length === 0);
  await call(c.lock, 'Unlock', { key: held.key });
});

test('a waiting Lock whose gRPC call is cancelled gives its place up', async () => {
  const [a, b] = [await grant(c), await grant(c)];
  const held = await call(c.lock, 'Lock', { name: Buffer.from('lk5'), lease: a });
  const err = await failure(call(c.lock, 'Lock', { name: Buffer.from('lk5'), lease: b }, 800));
  assert.equal(err.code, grpc.status.DEADLINE_EXCEEDED);
  await eventually('the waiter key to be deleted', async () => ((await c.raw.kv.Range({ key: Buffer.from(`lk5/${hex(b)}`) })).kvs as Wire[]).length === 0, 3000);
  await call(c.lock, 'Unlock', { key: held.key });
});

test('a waiter whose client leaves during its last read (the owner just unlocked) does not get the lock', async () => {
  // The waiter waits on a follower whose messages to the leader are slowed, so that its final linearizable
  // read outlasts the client's deadline.
  const { manager } = cluster;
  const lead = await manager.waitForLeader();
  const [follower, other] = manager.status().peers.filter((p) => p.id !== lead).map((p) => p.id) as [number, number];
  const onFollower = clients(`127.0.0.1:${manager.clientPort(follower)}`);
  const onOther = clients(`127.0.0.1:${manager.clientPort(other)}`);
  try {
    const [a, b] = [await grant(onOther), await grant(onOther)];
    const held = await call(onOther.lock, 'Lock', { name: Buffer.from('lk6'), lease: a });
    const waiter = failure(call(onFollower.lock, 'Lock', { name: Buffer.from('lk6'), lease: b }, 2000));
    await sleep(500);
    manager.delay(follower, lead, 1500);
    await sleep(500);
    await call(onOther.lock, 'Unlock', { key: held.key });
    assert.equal((await waiter).code, grpc.status.DEADLINE_EXCEEDED);
    manager.heal();
    // The waiter's key goes: nobody holds lk6 for a client that was told it failed.
    await eventually('the waiter key to be deleted', async () => ((await onOther.raw.kv.Range({ key: Buffer.from('lk6/'), rangeEnd: Buffer.from('lk60') })).kvs as Wire[]).length === 0, 8000);
  } finally {
    manager.heal();
    onFollower.close();
    onOther.close();
  }
});

test('Campaign, Leader, Observe, Proclaim, Resign; "election: no leader" and "election: not leader"', async () => {
  const name = Buffer.from('el1');
  assert.deepEqual(await failure(call(c.election, 'Leader', { name })), { code: grpc.status.UNKNOWN, details: 'election: no leader' });

  const seen: string[] = [];
  const observe = c.election.Observe!.call(c.election, { name }) as grpc.ClientReadableStream<Wire>;
  observe.on('data', (r: Wire) => seen.push(text((r.kv as Wire).value)));
  observe.on('error', () => undefined);

  const [a, b] = [await grant(c), await grant(c)];
  const ca = await call(c.election, 'Campaign', { name, lease: a, value: Buffer.from('a1') });
  const la = ca.leader as Wire;
  assert.equal(text(la.name), 'el1');
  assert.equal(text(la.key), `el1/${hex(a)}`);
  assert.equal(la.lease, a);
  assert.equal(Number(la.rev), Number((ca.header as Wire).revision));

  const leader = await call(c.election, 'Leader', { name });
  assert.equal(text((leader.kv as Wire).value), 'a1');
  assert.equal(text((leader.kv as Wire).key), `el1/${hex(a)}`);

  await call(c.election, 'Proclaim', { leader: la, value: Buffer.from('a2') });
  await eventually('observe to see a1, a2', () => seen.join() === 'a1,a2');

  let campaignedB: Wire | undefined;
  const waitingB = call(c.election, 'Campaign', { name, lease: b, value: Buffer.from('b1') }).then((r) => (campaignedB = r));
  await sleep(500);
  assert.equal(campaignedB, undefined, 'B is not leader while A is');
  assert.equal(text(((await call(c.election, 'Leader', { name })).kv as Wire).value), 'a2');

  await call(c.election, 'Resign', { leader: la });
  const cb = await waitingB;
  assert.equal(text((cb.leader as Wire).key), `el1/${hex(b)}`);
  assert.equal(text(((await call(c.election, 'Leader', { name })).kv as Wire).value), 'b1');
  await eventually('observe to see b1', () => seen.join() === 'a1,a2,b1');

  // A's leadership is gone: Proclaim with its key fails; Resign with it changes nothing.
  assert.deepEqual(await failure(call(c.election, 'Proclaim', { leader: la, value: Buffer.from('x') })), { code: grpc.status.UNKNOWN, details: 'election: not leader' });
  await call(c.election, 'Resign', { leader: la });
  assert.equal(text(((await call(c.election, 'Leader', { name })).kv as Wire).value), 'b1');
  // A revision no key can have been created at (int64's largest): not the leader, as etcd answers, not a codec error.
  const huge = { ...(cb.leader as Wire), rev: '9223372036854775807' };
  assert.deepEqual(await failure(call(c.election, 'Proclaim', { leader: huge, value: Buffer.from('x') })), { code: grpc.status.UNKNOWN, details: 'election: not leader' });
  await call(c.election, 'Resign', { leader: huge });
  assert.equal(text(((await call(c.election, 'Leader', { name })).kv as Wire).value), 'b1');
  assert.deepEqual(await failure(call(c.election, 'Proclaim', { value: Buffer.from('x') })), { code: grpc.status.UNKNOWN, details: '"leader" field must be provided' });
  assert.deepEqual(await failure(call(c.election, 'Resign', {})), { code: grpc.status.UNKNOWN, details: '"leader" field must be provided' });

  await c.raw.lease.LeaseRevoke({ ID: b }); // the leader's lease ends: no leader again
  assert.deepEqual(await failure(call(c.election, 'Leader', { name })), { code: grpc.status.UNKNOWN, details: 'election: no leader' });
  observe.cancel();
  assert.deepEqual(seen, ['a1', 'a2', 'b1']);
});

test('the JSON gateway serves /v3/lock/lock, /v3/lock/unlock, /v3/election/leader and /v3/election/observe', async () => {
  const base = `http://${cluster.endpoints[0]}`;
  const post = async (path: string, body: unknown) => {
    const res = await fetch(`${base}${path}`, { method: 'POST', body: JSON.stringify(body) });
    return { status: res.status, body: (await res.json()) as Record<string, any> };
  };
  const lease = await grant(c);
  const locked = await post('/v3/lock/lock', { name: Buffer.from('gw').toString('base64'), lease });
  assert.equal(locked.status, 200);
  assert.equal(Buffer.from(locked.body.key, 'base64').toString(), `gw/${hex(lease)}`);
  assert.match(locked.body.header.revision, /^\d+$/);
  assert.match(locked.body.header.cluster_id, /^\d+$/);
  assert.equal((await post('/v3/lock/unlock', { key: locked.body.key })).status, 200);

  const none = await post('/v3/election/leader', { name: Buffer.from('gwe').toString('base64') });
  assert.deepEqual([none.status, none.body], [500, { error: 'election: no leader', message: 'election: no leader', code: 2 }]);
  await call(c.election, 'Campaign', { name: Buffer.from('gwe'), lease, value: Buffer.from('v') });
  const leader = await post('/v3/election/leader', { name: Buffer.from('gwe').toString('base64') });
  assert.equal(leader.status, 200);
  assert.equal(Buffer.from(leader.body.kv.value, 'base64').toString(), 'v');
  assert.equal(leader.body.kv.lease, lease);

  const controller = new AbortController();
  const res = await fetch(`${base}/v3/election/observe`, { method: 'POST', body: JSON.stringify({ name: Buffer.from('gwe').toString('base64') }), signal: controller.signal });
  const reader = res.body!.getReader();
  const first = JSON.parse(new TextDecoder().decode((await reader.read()).value).split('\n')[0]!);
  assert.equal(Buffer.from(first.result.kv.value, 'base64').toString(), 'v');
  controller.abort();
  await c.raw.lease.LeaseRevoke({ ID: lease });
});

// ---------------------------------------------------------------- against a real etcd 3.4

/** One script of calls; the answers with revisions made relative and lease ids replaced, for comparing. */
async function script(k: Clients): Promise<unknown[]> {
  const out: unknown[] = [];
  const base = Number(((await k.raw.kv.Put({ key: Buffer.from('base'), value: Buffer.from('') })).header as Wire).revision);
  const rel = (h: unknown) => Number((h as Wire).revision) - base;
  const [a, b] = [await grant(k), await grant(k)];
  const leases = new Map([[hex(a), 'A'], [hex(b), 'B'], [a, 'A'], [b, 'B']]);
  const norm = (s: string) => s.replace(/[0-9a-f]{8,}$/, (x) => leases.get(x) ?? 'NEW');

  const l1 = await call(k.lock, 'Lock', { name: Buffer.from('d/lk'), lease: a });
  out.push(['lock', norm(text(l1.key)), rel(l1.header)]);
  const l1again = await call(k.lock, 'Lock', { name: Buffer.from('d/lk'), lease: a });
  out.push(['lock again', norm(text(l1again.key)), rel(l1again.header)]);
  const waiting = call(k.lock, 'Lock', { name: Buffer.from('d/lk'), lease: b });
  await sleep(300);
  const u1 = await call(k.lock, 'Unlock', { key: l1.key });
  out.push(['unlock', rel(u1.header)]);
  const l2 = await waiting;
  out.push(['lock after wait', norm(text(l2.key)), rel(l2.header)]);
  out.push(['unlock missing', rel((await call(k.lock, 'Unlock', { key: Buffer.from('d/none') })).header)]);
  const l0 = await call(k.lock, 'Lock', { name: Buffer.from(''), lease: '0' });
  const l0lease = ((await k.raw.kv.Range({ key: l0.key })).kvs as Wire[])[0]!.lease as string;
  const ttl = await k.raw.lease.LeaseTimeToLive({ ID: l0lease });
  out.push(['lock without lease: a new lease of 60 s', text(l0.key) === `/${hex(l0lease)}`, ttl.grantedTTL]);
  out.push(['lock with unknown lease', await failure(call(k.lock, 'Lock', { name: Buffer.from('d/x'), lease: '12345' }))]);

  const name = Buffer.from('d/el');
  out.push(['leader none', await failure(call(k.election, 'Leader', { name }))]);
  const ca = await call(k.election, 'Campaign', { name, lease: a, value: Buffer.from('one') });
  const la = ca.leader as Wire;
  out.push(['campaign', rel(ca.header), norm(text(la.key)), Number(la.rev) - base, leases.get(la.lease as string), text(la.name)]);
  const again = await call(k.election, 'Campaign', { name, lease: a, value: Buffer.from('two') });
  out.push(['campaign again, new value', rel(again.header), Number((again.leader as Wire).rev) - base]);
  const ld = await call(k.election, 'Leader', { name });
  const kv = ld.kv as Wire;
  out.push(['leader', rel(ld.header), norm(text(kv.key)), text(kv.value), Number(kv.createRevision) - base, Number(kv.modRevision) - base, kv.version, leases.get(kv.lease as string)]);
  out.push(['proclaim', rel((await call(k.election, 'Proclaim', { leader: la, value: Buffer.from('three') })).header)]);
  out.push(['proclaim stale rev', await failure(call(k.election, 'Proclaim', { leader: { ...la, rev: Number(la.rev) + 100 }, value: Buffer.from('x') }))]);
  out.push(['proclaim no leader field', await failure(call(k.election, 'Proclaim', { value: Buffer.from('x') }))]);
  out.push(['resign stale rev', rel((await call(k.election, 'Resign', { leader: { ...la, rev: Number(la.rev) + 100 } })).header)]);
  out.push(['resign', rel((await call(k.election, 'Resign', { leader: la })).header)]);
  out.push(['resign again', rel((await call(k.election, 'Resign', { leader: la })).header)]);
  out.push(['leader after resign', await failure(call(k.election, 'Leader', { name }))]);
  out.push(['resign no leader field', await failure(call(k.election, 'Resign', {}))]);
  return out;
}

// Skipped only outside CI when etcd is not installed: in CI (.ci/run installs etcd-server) hasBinary throws instead.
test('the same calls answer as real etcd 3.4 does: keys, header revisions, lease handling, errors and codes', { skip: !hasBinary('etcd') && 'etcd is not installed' }, async () => {
  const etcd = await startRealEtcd(1);
  const lab = await startCluster();
  const [e, r] = [clients(etcd.endpoints[0]!), clients(lab.endpoints[0]!)];
  try {
    const theirs = await script(e);
    const mine = await script(r);
    assert.deepEqual(mine, theirs);
  } finally {
    e.close();
    r.close();
    await Promise.all([etcd.stop(), lab.stop()]);
  }
});
