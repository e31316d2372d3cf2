// The real etcdctl (v3 API) against a running Raft Lab cluster, asserting on what it prints.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { etcdctl, etcdctlBackground, eventually, hasBinary, sleep, startCluster, type TestCluster } from './support.ts';

const skip = hasBinary('etcdctl') ? false : 'etcdctl is not installed (Debian: apt-get install etcd-client)';
if (skip) console.log(`# skipping etcdctl tests: ${skip}`);

let cluster: TestCluster;
let all: string[];
const ctl = (args: string[], input?: string) => etcdctl(all, args, input === undefined ? {} : { input });

async function ok(args: string[], input?: string): Promise<string> {
  const r = await ctl(args, input);
  assert.equal(r.code, 0, `etcdctl ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

interface StatusJson {
  Endpoint: string;
  Status: { header: { member_id: number | string; revision: number }; leader: number | string; raftIndex: number; raftTerm: number; version: string; dbSize: number };
}

/** `endpoint status -w json` prints uint64 ids as JSON numbers, which lose precision in JS: read them as text. */
async function statuses(): Promise<StatusJson[]> {
  const out = await ok(['endpoint', 'status', '-w', 'json']);
  return JSON.parse(out.replace(/"(member_id|leader|cluster_id)":(\d+)/g, '"$1":"$2"')) as StatusJson[];
}

before(async () => {
  if (skip) return;
  // etcd's own timing: etcdctl does not retry writes that meet `no leader`, so leadership must be steady.
  cluster = await startCluster({ timing: 'etcd' });
  all = cluster.endpoints;
});
after(async () => {
  await cluster?.stop();
});

test('put and get: --prefix, --keys-only, --rev, -w json', { skip }, async () => {
  assert.equal(await ok(['put', 'foo', 'bar']), 'OK\n');
  const first = JSON.parse(await ok(['get', 'foo', '-w', 'json']));
  const rev = Number(first.header.revision);
  assert.equal(Buffer.from(first.kvs[0].value, 'base64').toString(), 'bar');
  assert.equal(first.count, 1);
  assert.equal(await ok(['put', 'foo', 'baz']), 'OK\n');
  assert.equal(await ok(['put', 'fox', 'quick']), 'OK\n');
  assert.equal(await ok(['get', 'foo']), 'foo\nbaz\n');
  assert.equal(await ok(['get', 'fo', '--prefix']), 'foo\nbaz\nfox\nquick\n');
  assert.equal(await ok(['get', 'fo', '--prefix', '--keys-only']), 'foo\n\nfox\n\n');
  assert.equal(await ok(['get', 'foo', `--rev=${rev}`]), 'foo\nbar\n');
  assert.equal(await ok(['get', 'foo', '--consistency=s']), 'foo\nbaz\n');
  assert.equal(await ok(['get', 'missing']), '');
  // Every endpoint serves reads and writes (followers forward to the leader through Raft).
  for (const endpoint of all) {
    assert.equal((await etcdctl([endpoint], ['put', `via-${endpoint}`, 'x'])).stdout, 'OK\n');
    assert.equal((await etcdctl([endpoint], ['get', `via-${endpoint}`, '--print-value-only'])).stdout, 'x\n');
  }
});

test('del: a count, --prefix and --prev-kv', { skip }, async () => {
  await ok(['put', 'd/1', 'one']);
  await ok(['put', 'd/2', 'two']);
  await ok(['put', 'd/3', 'three']);
  assert.equal(await ok(['del', 'd/1', '--prev-kv']), '1\nd/1\none\n');
  assert.equal(await ok(['del', 'd/', '--prefix']), '2\n');
  assert.equal(await ok(['del', 'd/', '--prefix']), '0\n');
});

test('txn: interactive input on stdin, both branches', { skip }, async () => {
  await ok(['put', 'tx', '1']);
  const input = 'value("tx") = "1"\n\nput tx 2\nget tx\n\nput tx failed\n\n';
  const success = await ok(['txn', '-i'], input);
  assert.match(success, /SUCCESS\n\nOK\n\ntx\n2\n$/);
  const failure = await ok(['txn', '-i'], input);
  assert.match(failure, /FAILURE\n\nOK\n$/);
  assert.equal(await ok(['get', 'tx', '--print-value-only']), 'failed\n');
});

test('txn that only reads: answered without a log entry, and linearizable through any member', { skip }, async () => {
  await ok(['put', 'ro', 'first']);
  const indexes = async () => (await statuses()).map((s) => s.Status.raftIndex);
  await eventually('equal raft indexes', async () => new Set(await indexes()).size === 1);
  const before = await indexes();
  const input = 'value("ro") = "first"\n\nget ro\n\nget missing\n\n';
  // Through each member in turn (a follower answers after a ReadIndex round with its leader).
  for (const endpoint of all) {
    const r = await etcdctl([endpoint], ['txn', '-i'], { input });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /\nSUCCESS\n\nro\nfirst\n$/);
  }
  assert.deepEqual(await indexes(), before, 'no entry was appended for the read-only txns');
  // A write through one member, then a read-only txn through another, sees it.
  await etcdctl([all[0]!], ['put', 'ro', 'second']);
  const after = await etcdctl([all[2]!], ['txn', '-i'], { input: 'value("ro") = "second"\n\nget ro\n\n\n' });
  assert.match(after.stdout, /\nSUCCESS\n\nro\nsecond\n$/);
});

test('watch: --prefix live, --rev from history with --prev-kv', { skip }, async () => {
  const before = JSON.parse(await ok(['get', 'w', '-w', 'json']));
  const start = Number(before.header.revision) + 1;
  const live = etcdctlBackground(all, ['watch', 'w/', '--prefix']);
  await sleep(700); // let the watch be created before writing
  await ok(['put', 'w/a', '1']);
  await ok(['put', 'w/b', '2']);
  await ok(['del', 'w/a']);
  await eventually('the live watch to print three events', () => live.output().split('\n').filter((l) => l === 'PUT' || l === 'DELETE').length === 3);
  const out = (await live.stop()).stdout;
  assert.equal(out, 'PUT\nw/a\n1\nPUT\nw/b\n2\nDELETE\nw/a\n\n');
  const history = etcdctlBackground(all, ['watch', 'w/a', `--rev=${start}`, '--prev-kv']);
  await eventually('the history watch to print', () => history.output().includes('DELETE'));
  const past = (await history.stop()).stdout;
  // With --prev-kv etcdctl prints an event's previous kv (none for the first PUT) before its kv.
  assert.equal(past, 'PUT\nw/a\n1\nDELETE\nw/a\n1\nw/a\n\n');
});

test('lease: grant, keep-alive --once, timetolive --keys, list, revoke', { skip }, async () => {
  const granted = await ok(['lease', 'grant', '30']);
  const id = /lease ([0-9a-f]+) granted with TTL\(30s\)/.exec(granted)?.[1];
  assert.ok(id, granted);
  await ok(['put', 'leased', 'v', `--lease=${id}`]);
  assert.match(await ok(['lease', 'keep-alive', '--once', id]), new RegExp(`lease ${id} keepalived with TTL\\(30\\)`));
  assert.match(await ok(['lease', 'timetolive', id, '--keys']), new RegExp(`lease ${id} granted with TTL\\(30s\\), remaining\\((29|30)s\\), attached keys\\(\\[leased\\]\\)`));
  assert.match(await ok(['lease', 'list']), new RegExp(`found \\d+ leases\\n(.*\\n)*${id}\\n`));
  assert.equal(await ok(['lease', 'revoke', id]), `lease ${id} revoked\n`);
  assert.equal(await ok(['get', 'leased']), '');
  assert.equal(await ok(['lease', 'timetolive', id]), `lease ${id} already expired\n`);
  const again = await ctl(['lease', 'revoke', id]);
  assert.notEqual(again.code, 0);
  assert.match(again.stderr, /etcdserver: requested lease not found/);
  // Keep-alive and time-to-live are answered by the leader's lessor even when asked of a follower.
  const follower = cluster.manager.endpoints()[cluster.manager.status().peers.findIndex((p) => p.role === 'follower')]!;
  const id2 = /lease ([0-9a-f]+) granted/.exec(await ok(['lease', 'grant', '20']))![1]!;
  assert.match((await etcdctl([follower], ['lease', 'keep-alive', '--once', id2])).stdout, /keepalived with TTL\(20\)/);
  assert.match((await etcdctl([follower], ['lease', 'timetolive', id2])).stdout, /remaining\((19|20)s\)/);
});

test('member list and endpoint status / health on every endpoint', { skip }, async () => {
  const members = (await ok(['member', 'list'])).trim().split('\n');
  assert.equal(members.length, 3);
  for (let i = 0; i < 3; i++) {
    assert.match(members[i]!, new RegExp(`^[0-9a-f]+, started, n${i + 1}, http://n${i + 1}\\.raftlab\\.invalid:2380, ${all[i]}, false$`));
  }
  await ok(['put', 'status-probe', 'x']);
  await eventually('equal raft indexes', async () => new Set((await statuses()).map((s) => s.Status.raftIndex)).size === 1);
  const st = await statuses();
  assert.equal(st.length, 3);
  assert.equal(st.filter((s) => s.Status.leader === s.Status.header.member_id).length, 1, 'exactly one endpoint is the leader');
  assert.equal(new Set(st.map((s) => s.Status.leader)).size, 1, 'all agree on the leader');
  assert.ok(st.every((s) => s.Status.version === '3.5.0-raftlab'));
  // The size is the store's (its records; kv-state-machine.ts: dbSize): equal on every member, and it holds at
  // least the probe's record (key, value and 64 bytes).
  assert.equal(new Set(st.map((s) => s.Status.dbSize)).size, 1, `db sizes ${st.map((s) => s.Status.dbSize)}`);
  assert.ok(st[0]!.Status.dbSize >= 'status-probe'.length + 1 + 64, `db size ${st[0]!.Status.dbSize}`);
  const ids = members.map((m) => m.split(',')[0]);
  assert.deepEqual(st.map((s) => BigInt(s.Status.header.member_id).toString(16)), ids);
  const table = await ok(['endpoint', 'status', '-w', 'table']);
  assert.equal((table.match(/\| +true +\| +false +\|/g) ?? []).length, 1, table);
  // --cluster dials the member list's client URLs (etcdctl 3.4 sends a URL with a scheme as the :authority).
  const cluster = await ok(['endpoint', 'status', '--cluster', '-w', 'json']);
  assert.deepEqual((JSON.parse(cluster) as StatusJson[]).map((s) => s.Endpoint).sort(), [...all].sort());
  const clusterHealth = await ctl(['endpoint', 'health', '--cluster']);
  assert.equal((clusterHealth.stdout + clusterHealth.stderr).match(/is healthy/g)?.length, 3, clusterHealth.stderr);
  const health = await ctl(['endpoint', 'health']);
  assert.equal(health.code, 0, health.stderr);
  assert.equal((health.stdout + health.stderr).match(/is healthy: successfully committed proposal/g)?.length, 3);
});

test('move-leader hands leadership to the chosen member', { skip }, async () => {
  const st = await statuses();
  const leader = st.find((s) => s.Status.leader === s.Status.header.member_id)!;
  const target = st.find((s) => s !== leader)!;
  const targetHex = BigInt(target.Status.header.member_id).toString(16);
  const out = await ok(['move-leader', targetHex]);
  assert.match(out, new RegExp(`Leadership transferred from [0-9a-f]+ to ${targetHex}`));
  await eventually('every member to see the new leader', async () => (await statuses()).every((s) => s.Status.leader === target.Status.header.member_id));
  // Asked of a follower only, etcdctl finds no leader among the endpoints it was given.
  const notLeader = await etcdctl([leader.Endpoint], ['move-leader', targetHex]);
  assert.notEqual(notLeader.code, 0);
});

test('compaction, then reads and watches below it fail as in etcd', { skip }, async () => {
  await ok(['put', 'c', '1']);
  const rev = Number(JSON.parse(await ok(['put', 'c', '2', '-w', 'json'])).header.revision);
  assert.equal(await ok(['compaction', String(rev)]), `compacted revision ${rev}\n`);
  const old = await ctl(['get', 'c', `--rev=${rev - 1}`]);
  assert.notEqual(old.code, 0);
  assert.match(old.stderr, /etcdserver: mvcc: required revision has been compacted/);
  assert.equal(await ok(['get', 'c', `--rev=${rev}`, '--print-value-only']), '2\n');
  const again = await ctl(['compaction', String(rev)]);
  assert.match(again.stderr, /required revision has been compacted/);
  const watch = await etcdctl(all, ['watch', 'c', `--rev=${rev - 1}`], { timeoutMs: 10_000 });
  assert.match(watch.stdout + watch.stderr, /required revision has been compacted/);
});

test('a delete at the compaction revision is compacted away: a watch from there does not see it, as in etcd', { skip }, async () => {
  await ok(['put', 'tomb', '1']);
  const rev = Number(JSON.parse(await ok(['del', 'tomb', '-w', 'json'])).header.revision);
  await ok(['compaction', '--physical', String(rev)]);
  const watch = etcdctlBackground(all, ['watch', 'tomb', `--rev=${rev}`]);
  await sleep(1000);
  await ok(['put', 'tomb', 'again']);
  await eventually('the watch to see the new put', () => watch.output().includes('again'));
  const { stdout } = await watch.stop();
  assert.equal(stdout, 'PUT\ntomb\nagain\n', 'no DELETE from the compacted revision');
});

test('defrag answers for every member', { skip }, async () => {
  const out = await ok(['defrag']);
  for (const e of all) assert.ok(out.includes(`Finished defragmenting etcd member[${e}]`), out);
});

test('snapshot save writes the store with etcd’s trailing SHA-256', { skip }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'raftlab-snap-'));
  try {
    const file = join(dir, 'snap.db');
    const r = await etcdctl([all[1]!], ['snapshot', 'save', file]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Snapshot saved at/);
    const bytes = await readFile(file);
    assert.equal(bytes.length % 512, 32);
    const body = bytes.subarray(0, bytes.length - 32);
    assert.deepEqual(bytes.subarray(bytes.length - 32), createHash('sha256').update(body).digest());
    assert.equal(body.subarray(0, 4).toString('latin1'), 'RLKV', 'the KV snapshot format');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('member add --learner stays a learner until member promote, as in etcd', { skip, timeout: 60_000 }, async () => {
  const added = await ok(['member', 'add', 'ignored-name', '--learner', '--peer-urls=http://127.0.0.1:1']);
  const id = /Member +([0-9a-f]+) added to cluster/.exec(added)?.[1];
  assert.ok(id, added);
  const row = async () => (await ok(['member', 'list'])).trim().split('\n').find((l) => l.startsWith(`${id},`));
  // It stays a learner (last column) while the cluster keeps committing: nothing promotes it behind the user's back.
  for (let i = 0; i < 5; i++) await ok(['put', `learner-${i}`, 'x']);
  await new Promise((r) => setTimeout(r, 500));
  assert.match((await row()) ?? '', /, true$/);
  let promoted = '';
  await eventually('the caught-up learner to be promoted', async () => {
    const r = await ctl(['member', 'promote', id]);
    promoted = r.stdout;
    return r.code === 0;
  });
  assert.match(promoted, new RegExp(`Member +${id} promoted in cluster`));
  await eventually('the member list to show it as a voter', async () => /, false$/.test((await row()) ?? ''));
  const again = await ctl(['member', 'promote', id]);
  assert.match(again.stderr, /can only promote a learner member/);
  assert.match(await ok(['member', 'remove', id]), new RegExp(`Member +${id} removed from cluster`));
});

test('member add, then member remove, through the manager', { skip, timeout: 60_000 }, async () => {
  const added = await ok(['member', 'add', 'ignored-name', '--peer-urls=http://127.0.0.1:1']);
  const id = /Member +([0-9a-f]+) added to cluster/.exec(added)?.[1];
  assert.ok(id, added);
  let list = (await ok(['member', 'list'])).trim().split('\n');
  assert.equal(list.length, 4);
  assert.match(list[3]!, new RegExp(`^${id}, started, (n\\d+), http://\\1\\.raftlab\\.invalid:2380, 127\\.0\\.0\\.1:\\d+, false$`));
  const promote = await ctl(['member', 'promote', id]);
  assert.match(promote.stderr, /can only promote a learner member/);
  assert.match(await ok(['member', 'remove', id]), new RegExp(`Member +${id} removed from cluster`));
  list = (await ok(['member', 'list'])).trim().split('\n');
  assert.equal(list.length, 3);
  assert.ok(!list.some((l) => l.startsWith(id)));
});
