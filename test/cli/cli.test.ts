// The `raftlab` command as people type it: flags in any order, `--` before values that start with dashes, help,
// and typos refused with a clear message rather than ignored. The end-to-end part runs the built CLI against a
// real `raftlab up`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs, UsageError, wantsHelp } from '../../src/cli/args.ts';
import { raftlabUp, sleep } from '../dashboard/support.ts';

const CLI = resolve('dist/cli.js');
const SPEC = { values: ['port', 'data-dir'], switches: ['memory'] };

test('flags: values, switches, = form, and -- ending the flags', () => {
  const args = parseArgs(['--port', '2379', 'a', '--memory', '--data-dir=/x', '--', '--not-a-flag', 'b'], SPEC, 'up');
  assert.deepEqual(args.positional, ['a', '--not-a-flag', 'b']);
  assert.deepEqual([...args.flags], [['port', '2379'], ['memory', true], ['data-dir', '/x']]);
});

test('flags: a typo, a value given to a switch, a missing value and a repeat are usage errors', () => {
  const refuses = (argv: string[], message: RegExp) =>
    assert.throws(() => parseArgs(argv, SPEC, 'up'), (err: Error) => err instanceof UsageError && message.test(err.message));
  refuses(['--prot', '1'], /raftlab up has no flag --prot \(it takes --port, --data-dir, --memory\)/);
  refuses(['--memory=yes'], /--memory takes no value/);
  refuses(['--port'], /--port needs a value/);
  refuses(['--port', '1', '--port=2'], /--port is given twice/);
  assert.equal(wantsHelp(['--port', '1', '-h']), true);
  assert.equal(wantsHelp(['--', '--help']), false, 'after -- it is a value');
});

function cli(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((res) => {
    execFile(process.execPath, [CLI, ...argv], { timeout: 30_000 }, (err, stdout, stderr) => {
      res({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

test('raftlab up --help prints the usage and starts nothing; a mistyped flag is refused', () => {
  const help = spawnSync(process.execPath, [CLI, 'up', '--help', '--port', '1'], { encoding: 'utf8', timeout: 20_000 });
  assert.equal(help.status, 0);
  assert.match(help.stdout, /usage:\n\s+raftlab up \[--nodes 3\]/);
  assert.doesNotMatch(help.stdout, /ETCDCTL_ENDPOINTS/);
  const typo = spawnSync(process.execPath, [CLI, 'up', '--node', '5'], { encoding: 'utf8', timeout: 20_000 });
  assert.equal(typo.status, 2);
  assert.match(typo.stderr, /raftlab up has no flag --node \(it takes --nodes,/);
  assert.match(typo.stderr, /raftlab help/);
  const stray = spawnSync(process.execPath, [CLI, 'up', '5'], { encoding: 'utf8', timeout: 20_000 });
  assert.equal(stray.status, 2);
  assert.match(stray.stderr, /raftlab up takes only flags, got "5"/);
});

test('raftlab up checks the client ports of the members its folder records, and says --nodes is ignored there', async () => {
  // A folder whose cluster lost n1 and gained n6: its ports are --port + 1, + 2 and + 5, not --port .. + 2.
  const dir = await mkdtemp(join(tmpdir(), 'raftlab-up-ports-'));
  const taken: Server[] = [];
  try {
    const record = { clusterId: 'ab12', nextId: 7, founders: [1, 2, 3], members: [2, 3, 6].map((id) => ({ id, name: `n${id}` })) };
    await writeFile(join(dir, 'cluster.json'), JSON.stringify(record));
    const base = 20_000 + Math.floor(Math.random() * 20_000);
    for (const port of [base, base + 5]) {
      const server = createServer();
      await new Promise<void>((ok) => server.listen(port, '127.0.0.1', ok));
      taken.push(server);
    }
    const up = await cli('up', '--data-dir', dir, '--port', String(base), '--control-port', '0', '--nodes', '5');
    assert.equal(up.code, 2, up.stderr);
    assert.match(up.stdout, /--nodes 5 is ignored: .* holds a cluster of 3 \(n2, n3, n6\)/);
    // n1's old port (base) is not needed; n6's (base + 5) is, and the message names it.
    assert.match(up.stderr, new RegExp(`client port ${base + 5} \\(n6's\\) on 127.0.0.1 is already in use; stop what uses it or choose another base port with --port`));
  } finally {
    for (const s of taken) s.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('raftlab ctl against a running cluster: flags anywhere, learners, values with dashes', { timeout: 120_000 }, async () => {
  const cluster = await raftlabUp(3);
  const control = ['--control', cluster.controlUrl];
  try {
    const status = await cli('ctl', 'status', '--json', ...control);
    assert.equal(status.code, 0, status.stderr);
    assert.equal(JSON.parse(status.stdout).peers.length, 3);

    // --learner before --control used to swallow it as the learner flag's value.
    const added = await cli('ctl', 'add', '--learner', ...control);
    assert.equal(added.code, 0, added.stderr);
    const name = /^added (n\d+) as a learner$/m.exec(added.stdout)?.[1];
    assert.ok(name, added.stdout);
    const peers = JSON.parse((await cli('ctl', ...control, 'status', '--json')).stdout).peers as { name: string; isLearner: boolean }[];
    assert.equal(peers.find((p) => p.name === name)?.isLearner, true);
    let promoted = await cli('ctl', ...control, 'promote', name);
    for (let i = 0; promoted.code !== 0 && /in sync with leader/.test(promoted.stderr) && i < 50; i++) {
      await sleep(200); // the learner is still catching up
      promoted = await cli('ctl', ...control, 'promote', name);
    }
    assert.equal(promoted.code, 0, promoted.stderr);
    // raftlab up prints the endpoints again once the new voter counts; the learner alone did not change them.
    const printed = () => [...cluster.output().matchAll(/^ETCDCTL_ENDPOINTS=(.*)$/gm)].map((m) => m[1]!.split(','));
    for (let i = 0; printed().length < 2 && i < 50; i++) await sleep(100);
    const lists = printed();
    assert.equal(lists.length, 2, cluster.output());
    assert.equal(lists[0]!.length, 3);
    assert.equal(lists[1]!.length, 4);

    const put = await cli('ctl', ...control, 'put', '--', '--flag-like-key', '-v alue');
    assert.equal(put.code, 0, put.stderr);
    const got = await cli('ctl', ...control, 'get', '--', '--flag-like-key');
    assert.equal(got.stdout, '--flag-like-key\n-v alue\n');

    // Decimal numbers only: "0x10" used to become 16%.
    const hex = await cli('ctl', ...control, 'drop', 'n1', 'n2', '0x10');
    assert.equal(hex.code, 2);
    assert.match(hex.stderr, /percent must be a non-negative decimal number, got "0x10"/);

    const misplaced = await cli('ctl', ...control, 'kill', 'n1', '--learner');
    assert.equal(misplaced.code, 2);
    assert.match(misplaced.stderr, /--learner goes with raftlab ctl add, not kill/);
    const extra = await cli('ctl', ...control, 'status', 'now');
    assert.equal(extra.code, 2);
    assert.match(extra.stderr, /usage: raftlab ctl status \[--json\]/);
    const after = JSON.parse((await cli('ctl', ...control, 'status', '--json')).stdout).peers as { name: string }[];
    assert.equal(after.length, 4, 'the misplaced flag killed nothing');
  } finally {
    await cluster.stop();
  }
});

test('raftlab ctl alarm: a full disk as a fault (writes refused with etcd\'s error) until disarmed', { timeout: 120_000 }, async () => {
  const cluster = await raftlabUp(3);
  const control = ['--control', cluster.controlUrl];
  try {
    assert.equal((await cli('ctl', ...control, 'alarm', 'list')).stdout, 'no alarms\n');
    const raised = await cli('ctl', ...control, 'alarm', 'nospace');
    assert.equal(raised.code, 0, raised.stderr);
    // As the leader's (the member id etcd's tools show, with the peer's name).
    const status = JSON.parse((await cli('ctl', ...control, 'status', '--json')).stdout) as { peers: { name: string; id: number }[]; leader: number };
    const leader = status.peers.find((p) => p.id === status.leader)!.name;
    assert.match(raised.stdout, new RegExp(`^raised NOSPACE ${leader} \\(member \\d+\\)\n$`));
    const put = await cli('ctl', ...control, 'put', 'k', 'v');
    assert.equal(put.code, 1);
    assert.match(put.stderr, /etcdserver: mvcc: database space exceeded/);
    assert.match((await cli('ctl', ...control, 'alarm', 'list')).stdout, /^NOSPACE n\d \(member \d+\)\n$/);
    // Every peer reports it in the status (the dashboard's badge, the status bar, the ALARMS column).
    let table = '';
    const rowsWithAlarm = () => table.split('\n').filter((l) => /\bNOSPACE$/.test(l)).length;
    for (let i = 0; i < 50 && rowsWithAlarm() < 3; i++, await sleep(100)) table = (await cli('ctl', ...control, 'status')).stdout;
    assert.match(table.split('\n')[0]!, /ALARMS$/);
    assert.equal(table.split('\n').filter((l) => /\bNOSPACE$/.test(l)).length, 3, table);
    assert.match((await cli('ctl', ...control, 'alarm', 'disarm')).stdout, /^disarmed NOSPACE n\d \(member \d+\)\n$/);
    assert.equal((await cli('ctl', ...control, 'put', 'k', 'v')).stdout, 'OK\n');
    assert.equal((await cli('ctl', ...control, 'alarm', 'disarm')).stdout, 'no alarms to disarm\n');
    const bad = await cli('ctl', ...control, 'alarm', 'full');
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /usage: raftlab ctl alarm <list\|nospace\|corrupt\|disarm>/);
  } finally {
    await cluster.stop();
  }
});
