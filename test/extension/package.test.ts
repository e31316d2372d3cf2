// The .vsix holds the bundles, the dashboard, media and LevelDB's native binding (with what it requires at
// run time) — no sources, tests or dev dependencies — and LevelDB opens from the unpacked extension alone.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { buildVsix } from '../e2e/code-server.ts';

let dir = '';
let entries: string[] = [];

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'raftlab-vsix-test-'));
  const vsix = buildVsix(join(dir, 'raftlab.vsix'));
  const py = 'import sys, zipfile\nz = zipfile.ZipFile(sys.argv[1])\nprint("\\n".join(z.namelist()))\nz.extractall(sys.argv[2])';
  const r = spawnSync('python3', ['-c', py, vsix, join(dir, 'x')], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  entries = r.stdout.trim().split('\n');
});
after(() => rmSync(dir, { recursive: true, force: true }));

test('the bundles, the dashboard, the protos and media are in; sources, tests and maps are not', () => {
  for (const f of ['extension/package.json', 'extension/readme.md', 'extension/dist/extension.js', 'extension/dist/extension-runtime.js', 'extension/dist/worker.js', 'extension/dist/etcd3-proto/rpc.proto', 'extension/dist/dashboard/index.html', 'extension/dist/dashboard/dashboard.js', 'extension/media/raftlab.svg']) {
    assert.ok(entries.includes(f), `${f} is missing`);
  }
  const unwanted = entries.filter((e) => /\.(ts|map)$/.test(e) || /^extension\/(src|test|scripts|webview|bench|docs)\//.test(e) || /dist\/cli\.js$/.test(e));
  assert.deepEqual(unwanted, []);
});

test('node_modules holds only classic-level and the packages it requires at run time, with prebuilds for linux, darwin and win32', () => {
  const packages = new Set(entries.filter((e) => e.startsWith('extension/node_modules/')).map((e) => e.split('/')[2]));
  assert.deepEqual([...packages].sort(), ['abstract-level', 'classic-level', 'level-supports', 'level-transcoder', 'maybe-combine-errors', 'module-error', 'node-gyp-build']);
  const prebuilds = entries.filter((e) => e.includes('/prebuilds/')).map((e) => e.split('/prebuilds/')[1]!.split('/')[0]);
  assert.deepEqual([...new Set(prebuilds)].sort(), ['darwin-x64+arm64', 'linux-arm64', 'linux-x64', 'win32-x64']);
  assert.ok(!entries.some((e) => e.includes('classic-level/deps/') || e.endsWith('.cc') || e.endsWith('.gyp')));
});

test('LevelDB opens from the unpacked extension alone', () => {
  const ext = join(dir, 'x', 'extension');
  const script = `
    const { ClassicLevel } = require(${JSON.stringify(join(ext, 'node_modules', 'classic-level'))});
    (async () => {
      const db = new ClassicLevel(${JSON.stringify(join(dir, 'db'))});
      await db.put('k', 'v');
      console.log(await db.get('k'));
      await db.close();
    })().catch((e) => { console.error(e); process.exit(1); });`;
  // Run from the temp folder so nothing resolves from the repository's node_modules.
  const r = spawnSync(process.execPath, ['-e', script], { cwd: dir, encoding: 'utf8', env: { ...process.env, NODE_PATH: '' } });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), 'v');
});
