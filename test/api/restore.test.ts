// `etcdctl snapshot save` from one cluster, `raftlab up --restore` into a new one: the same keys, history,
// revision and leases, kept across a restart of the new cluster; a bad file or a used folder is refused clearly.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { etcdctl, freePortRange, hasBinary, startCluster, type TestCluster } from './support.ts';

const skip = hasBinary('etcdctl') ? false : 'etcdctl is not installed (Debian: apt-get install etcd-client)';
const CLI = resolve('dist/cli.js');

let source: TestCluster;
let dir: string;

before(async () => {
  if (skip) return;
  dir = await mkdtemp(join(tmpdir(), 'raftlab-restore-'));
  source = await startCluster();
});
after(async () => {
  await source?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

interface Up {
  endpoints: string[];
  stop(): Promise<void>;
}

/** Runs `raftlab up` with the arguments; resolves once it prints its endpoints (rejects with its output if it exits). */
async function up(args: string[]): Promise<Up> {
  const port = await freePortRange(3);
  const child: ChildProcess = spawn(process.execPath, [CLI, 'up', '--timing', 'fast', '--port', String(port), '--control-port', '0', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const endpoints = await new Promise<string[]>((res, rej) => {
    const timer = setTimeout(() => rej(new Error(`raftlab up printed no endpoints in time:\n${out}`)), 20_000);
    child.stdout!.on('data', () => {
      const m = /ETCDCTL_ENDPOINTS=(\S+)/.exec(out);
      if (m) (clearTimeout(timer), res(m[1]!.split(',')));
    });
    child.once('exit', (code) => (clearTimeout(timer), rej(new Error(`raftlab up exited with ${code}:\n${out}`))));
  });
  return {
    endpoints,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

async function ok(endpoints: string[], args: string[]): Promise<string> {
  const r = await etcdctl(endpoints, args);
  assert.equal(r.code, 0, `etcdctl ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

const revisionOf = async (endpoints: string[]) => Number(JSON.parse(await ok(endpoints, ['get', 'x', '-w', 'json'])).header.revision);

test('a saved store restores into a new cluster, and stays across its restart', { skip, timeout: 90_000 }, async () => {
  const from = source.endpoints;
  await ok(from, ['put', 'app/config', 'v1']);
  await ok(from, ['put', 'app/config', 'v2']);
  await ok(from, ['put', 'app/bin', 'ünïcødé']);
  const lease = /lease ([0-9a-f]+) granted/.exec(await ok(from, ['lease', 'grant', '600']))![1]!;
  await ok(from, ['put', 'app/session', 'alive', `--lease=${lease}`]);
  const file = join(dir, 'backup.db');
  await ok([from[0]!], ['snapshot', 'save', file]);
  const revision = await revisionOf(from);

  const folder = join(dir, 'restored');
  let restored = await up(['--restore', file, '--data-dir', folder]);
  try {
    const to = restored.endpoints;
    assert.equal(await ok(to, ['get', 'app/config', '--print-value-only']), 'v2\n');
    assert.equal(await ok(to, ['get', 'app/bin', '--print-value-only']), 'ünïcødé\n');
    assert.equal(await ok(to, ['get', 'app/config', '--print-value-only', `--rev=${revision - 3}`]), 'v1\n', 'history came along');
    assert.equal(await revisionOf(to), revision, 'the revision is the saved one');
    assert.match(await ok(to, ['lease', 'timetolive', lease, '--keys']), /granted with TTL\(600s\), remaining\(\d+s\), attached keys\(\[app\/session\]\)/);
    await ok(to, ['put', 'app/after', 'new']);
    assert.equal(await revisionOf(to), revision + 1);
  } finally {
    await restored.stop();
  }
  // Started again from its folder (no --restore): everything is still there, and nothing is restored twice.
  restored = await up(['--data-dir', folder]);
  try {
    assert.equal(await ok(restored.endpoints, ['get', 'app/after', '--print-value-only']), 'new\n');
    assert.equal(await revisionOf(restored.endpoints), revision + 1);
  } finally {
    await restored.stop();
  }
  // The folder keeps the restored store, named by cluster.json, for founders whose storage is gone: with two of
  // three folders deleted, those two start from it (not from an empty log that could outvote it).
  const record = JSON.parse(await readFile(join(folder, 'cluster.json'), 'utf8')) as { restored?: { index: number; file: string } };
  assert.ok(record.restored, 'cluster.json names the restored store');
  const kept = await readFile(join(folder, record.restored.file));
  assert.ok(kept.length > 0 && kept.subarray(0, 4).toString('latin1') === 'RLKV');
  await rm(join(folder, 'n2'), { recursive: true, force: true });
  await rm(join(folder, 'n3'), { recursive: true, force: true });
  restored = await up(['--data-dir', folder]);
  try {
    assert.equal(await ok(restored.endpoints, ['get', 'app/config', '--print-value-only']), 'v2\n');
    assert.equal(await ok([restored.endpoints[1]!], ['get', 'app/bin', '--print-value-only', '--consistency=s']), 'ünïcødé\n');
  } finally {
    await restored.stop();
  }
});

test('--restore refuses a used folder, a damaged file and a file that is not a snapshot, saying which', { skip, timeout: 60_000 }, async () => {
  const file = join(dir, 'backup2.db');
  await ok([source.endpoints[0]!], ['snapshot', 'save', file]);
  const used = join(dir, 'used');
  const first = await up(['--data-dir', used]);
  await first.stop();
  const port = await freePortRange(3);
  const run = (args: string[]) => spawnSync(process.execPath, [CLI, 'up', '--port', String(port), '--control-port', '0', ...args], { encoding: 'utf8', timeout: 20_000 });

  const intoUsed = run(['--restore', file, '--data-dir', used]);
  assert.notEqual(intoUsed.status, 0);
  assert.match(intoUsed.stderr, /already holds one/);

  const bytes = await readFile(file);
  bytes[100] = bytes[100]! ^ 0xff;
  const damaged = join(dir, 'damaged.db');
  await writeFile(damaged, bytes);
  const fromDamaged = run(['--restore', damaged, '--data-dir', join(dir, 'd1')]);
  assert.notEqual(fromDamaged.status, 0);
  assert.match(fromDamaged.stderr, /is corrupt: its SHA-256 does not match/);

  const text = join(dir, 'notes.txt');
  await writeFile(text, 'just some text\n');
  const fromText = run(['--restore', text, '--data-dir', join(dir, 'd2')]);
  assert.notEqual(fromText.status, 0);
  assert.match(fromText.stderr, /is not a snapshot saved from Raft Lab/);

  const missing = run(['--restore', join(dir, 'nope.db'), '--data-dir', join(dir, 'd3')]);
  assert.match(missing.stderr, /cannot read .*nope\.db/);
});
