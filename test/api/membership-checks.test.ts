// Membership changes and learners with etcdctl, checked as etcd checks them: removing a live member while another
// is down (it would lose quorum) and adding a member while one is down are refused with "unhealthy cluster"; a
// member may remove itself and hear so; a learner answers only serializable reads and Status; a client given
// credentials works when auth is off; a member without a leader says so in endpoint status.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { etcdctl, eventually, hasBinary, startCluster, type TestCluster } from './support.ts';

const skip = hasBinary('etcdctl') ? false : 'etcdctl is not installed (Debian: apt-get install etcd-client)';

let cluster: TestCluster;
before(async () => {
  if (!skip) cluster = await startCluster({ timing: 'etcd' });
});
after(async () => cluster?.stop());

interface Member {
  id: string;
  name: string;
  endpoint: string;
  learner: boolean;
}

/** `member list` rows: id, status, name, peer URLs, client URLs, is learner. */
async function members(endpoints = cluster.endpoints): Promise<Member[]> {
  const r = await etcdctl(endpoints, ['member', 'list']);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.trim().split('\n').map((line) => {
    const [id, , name, , endpoint, learner] = line.split(', ');
    return { id: id!, name: name!, endpoint: endpoint!, learner: learner === 'true' };
  });
}

const voters = () => cluster.manager.status().peers.filter((p) => p.state === 'up' && !p.isLearner).map((p) => `127.0.0.1:${p.clientPort}`);

test('a client given a user and password works against a cluster without auth, as with etcd', { skip }, async () => {
  const put = await etcdctl(cluster.endpoints, ['--user', 'root:secret', 'put', 'auth-off', 'yes']);
  assert.equal(put.code, 0, put.stderr);
  const got = await etcdctl(cluster.endpoints, ['--user', 'root:secret', 'get', 'auth-off', '--print-value-only']);
  assert.equal(got.stdout.trim(), 'yes');
});

test('a learner answers serializable reads and Status only, with etcd’s error for the rest', { skip, timeout: 60_000 }, async () => {
  const added = await etcdctl(cluster.endpoints, ['member', 'add', 'l', '--learner', '--peer-urls=http://127.0.0.1:1']);
  assert.equal(added.code, 0, added.stderr);
  let learner: Member | undefined;
  await eventually('the learner listed with its client URL', async () => {
    learner = (await members()).find((m) => m.learner && m.endpoint);
    return learner !== undefined;
  });
  const at = [learner!.endpoint];
  const short = ['--command-timeout=2s'];
  for (const args of [['put', 'to-learner', 'x'], ['get', 'auth-off'], ['lease', 'grant', '10'], ['member', 'list']]) {
    const r = await etcdctl(at, [...short, ...args]);
    assert.notEqual(r.code, 0, `${args.join(' ')} on a learner: ${r.stdout}`);
    assert.match(r.stderr, /etcdserver: rpc not supported for learner/, args.join(' '));
  }
  await eventually('a serializable read on the learner to see the data', async () => {
    const r = await etcdctl(at, ['get', 'auth-off', '--consistency=s', '--print-value-only']);
    return r.code === 0 && r.stdout.trim() === 'yes';
  });
  const status = await etcdctl(at, ['endpoint', 'status', '-w', 'json']);
  assert.equal(status.code, 0, status.stderr);
  assert.match(status.stdout, /"isLearner":true/);
  const health = await etcdctl(at, [...short, 'endpoint', 'health']);
  assert.match(health.stdout + health.stderr, /is unhealthy/);
  const removed = await etcdctl(voters(), ['member', 'remove', learner!.id]);
  assert.equal(removed.code, 0, removed.stderr);
});

test('a member removing itself hears that it was removed', { skip, timeout: 90_000 }, async () => {
  const added = await etcdctl(cluster.endpoints, ['member', 'add', 'm', '--peer-urls=http://127.0.0.1:1']);
  assert.equal(added.code, 0, added.stderr);
  let fresh: Member | undefined;
  await eventually('the new voter listed with its client URL', async () => {
    fresh = (await members()).find((m) => !m.learner && m.endpoint && !['n1', 'n2', 'n3'].includes(m.name));
    return fresh !== undefined;
  }, 30_000);
  const removed = await etcdctl([fresh!.endpoint], ['member', 'remove', fresh!.id]);
  assert.equal(removed.code, 0, removed.stderr);
  assert.match(removed.stdout, new RegExp(`Member +${fresh!.id} removed from cluster`));
  await eventually('three members again', async () => (await members(voters())).length === 3);
});

test('with a member down: removing a live one or adding one is refused; removing the dead one is not', { skip, timeout: 60_000 }, async () => {
  const list = await members();
  const leader = cluster.manager.status().peers.find((p) => p.role === 'leader')!;
  const [down, live] = list.filter((m) => m.name !== leader.name);
  await cluster.manager.kill(down!.name);
  const survivors = voters();

  const removeLive = await etcdctl(survivors, ['member', 'remove', live!.id]);
  assert.equal(removeLive.code, 1);
  assert.match(removeLive.stderr, /etcdserver: unhealthy cluster/);
  for (const learner of [[], ['--learner']]) {
    const add = await etcdctl(survivors, ['member', 'add', 'v', '--peer-urls=http://127.0.0.1:1', ...learner]);
    assert.equal(add.code, 1, `member add ${learner.join(' ')}: ${add.stdout}`);
    assert.match(add.stderr, /etcdserver: unhealthy cluster/);
  }
  assert.deepEqual((await members(survivors)).map((m) => m.name).sort(), list.map((m) => m.name).sort(), 'nothing was added or removed');
  const put = await etcdctl(survivors, ['put', 'still-writable', 'yes']);
  assert.equal(put.code, 0, `the cluster keeps its quorum: ${put.stderr}`);

  const removeDown = await etcdctl(survivors, ['member', 'remove', down!.id]);
  assert.equal(removeDown.code, 0, removeDown.stderr);
  assert.equal((await members(survivors)).length, 2);

  // Now a two-member cluster: one more down and the survivor has no leader, which endpoint status reports.
  await cluster.manager.kill(live!.name === leader.name ? down!.name : live!.name);
  const alone = [`127.0.0.1:${leader.clientPort}`];
  await eventually('the survivor to report no leader', async () => {
    const r = await etcdctl(alone, ['endpoint', 'status', '-w', 'json']);
    return /"errors":\["etcdserver: no leader"\]/.test(r.stdout);
  }, 15_000);
});
