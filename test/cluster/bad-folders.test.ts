// A corrupt, locked or foreign data folder, and a busy port, each give a clear error and touch nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Level } from 'level';
import { ClusterManager } from '../../src/cluster/cluster-manager.ts';
import { kvPut } from '../../src/cluster/kv-client.ts';
import { removeDir, tempDir } from './helpers.ts';
import { freePortRange } from '../api/support.ts';

async function clusterFolder(): Promise<string> {
  const dir = await tempDir();
  const manager = await ClusterManager.start({ dataDir: dir, timing: 'fast' });
  await manager.waitForLeader();
  await kvPut(manager, 'keep', 'me');
  await manager.stop();
  return dir;
}

test('a corrupt peer folder is named in a clear error and left as it was', async () => {
  const dir = await clusterFolder();
  try {
    const folder = join(dir, 'n2');
    const manifest = readdirSync(folder).find((f) => f.startsWith('MANIFEST'))!;
    writeFileSync(join(folder, manifest), Buffer.alloc(200, 7));
    const before = readdirSync(folder).filter((f) => !f.startsWith('LOG')).sort();
    await assert.rejects(ClusterManager.start({ dataDir: dir, timing: 'fast' }), (err: Error) => {
      assert.match(err.message, new RegExp(`data folder ${folder.replace(/[/\\]/g, '.')} is corrupt`));
      assert.match(err.message, /move it away or delete it/);
      return true;
    });
    assert.deepEqual(readdirSync(folder).filter((f) => !f.startsWith('LOG')).sort(), before, 'no data file was changed');
    assert.deepEqual([...readFileSync(join(folder, manifest))], [...Buffer.alloc(200, 7)]);
  } finally {
    await removeDir(dir);
  }
});

test('a folder locked by another process (or handle) says so', async () => {
  const dir = await clusterFolder();
  const holder = new Level(join(dir, 'n1'));
  await holder.open();
  try {
    await assert.rejects(ClusterManager.start({ dataDir: dir, timing: 'fast' }), /data folder .*n1 is in use by another process/);
  } finally {
    await holder.close();
    await removeDir(dir);
  }
});

test('a folder from another cluster is refused', async () => {
  const dir = await clusterFolder();
  try {
    const record = JSON.parse(readFileSync(join(dir, 'cluster.json'), 'utf8'));
    record.clusterId = 'someothercluster';
    writeFileSync(join(dir, 'cluster.json'), JSON.stringify(record));
    await assert.rejects(ClusterManager.start({ dataDir: dir, timing: 'fast' }), /belongs to peer n\d of cluster [0-9a-f]+, not n\d of cluster someothercluster/);
  } finally {
    await removeDir(dir);
  }
});

test('raftlab up names a client or control port that is in use', async () => {
  // Each run's client ports (three, from --port) are free ones, so only the port held here can be the busy one.
  const port = await freePortRange(3);
  const busy: Server = createServer();
  await new Promise<void>((r) => busy.listen(port, '127.0.0.1', () => r()));
  const otherClientPorts = await freePortRange(3);
  const dir = await tempDir();
  try {
    const cli = join(__dirname, '..', '..', 'dist', 'cli.js');
    const asClient = spawnSync(process.execPath, [cli, 'up', '--port', String(port), '--control-port', '0', '--data-dir', dir], { encoding: 'utf8', timeout: 20_000 });
    assert.notEqual(asClient.status, 0);
    assert.match(asClient.stderr, new RegExp(`client port ${port} \\(n1's\\) on 127.0.0.1 is already in use; stop what uses it or choose another base port with --port`));
    const asControl = spawnSync(process.execPath, [cli, 'up', '--port', String(otherClientPorts), '--control-port', String(port), '--data-dir', dir], { encoding: 'utf8', timeout: 20_000 });
    assert.notEqual(asControl.status, 0);
    assert.match(asControl.stderr, new RegExp(`control port ${port} on 127.0.0.1 is already in use`));
  } finally {
    busy.close();
    await removeDir(dir);
  }
});
