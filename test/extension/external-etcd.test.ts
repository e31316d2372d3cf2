// Connect to etcd… against a real etcd (Debian's etcd 3.4): the same tree model and value files work, the
// Cluster view's member list names the leader, bad endpoints fail with a clear message.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { hasBinary, startRealEtcd, type RealEtcd } from '../api/support.ts';
import { parseEndpoints } from '../../src/keys/endpoints.ts';
import { KeyTreeModel } from '../../src/keys/key-tree.ts';
import { ConflictError, ValueFiles } from '../../src/keys/value-files.ts';
import { ExternalConnection } from '../../src/extension/runtime.ts';
import { str, text } from './support.ts';

const skip = hasBinary('etcd') ? false : 'etcd is not installed (apt-get install etcd-server)';
let etcd: RealEtcd;
let conn: ExternalConnection;

before(async () => {
  if (skip) return;
  etcd = await startRealEtcd(3);
  conn = await ExternalConnection.connect({ endpoints: etcd.endpoints });
});
after(async () => {
  await conn?.stop();
  await etcd?.stop();
});

test('endpoints as users type them', () => {
  assert.deepEqual(parseEndpoints('127.0.0.1:2379, localhost:2380 https://e.example:443'), ['http://127.0.0.1:2379', 'http://localhost:2380', 'https://e.example:443']);
  assert.throws(() => parseEndpoints(''), /at least one endpoint/);
  assert.throws(() => parseEndpoints('127.0.0.1'), /is not an endpoint/);
  assert.throws(() => parseEndpoints('host:99999'), /is not an endpoint/);
});

test('status lists the members and names the leader', { skip }, async () => {
  const st = await conn.status();
  assert.equal(st.members.length, 3);
  assert.equal(st.members.filter((m) => m.isLeader).length, 1);
  assert.ok(st.raftTerm >= 1);
  assert.match(st.version, /^3\./);
});

test('keys tree and value files work the same against real etcd', { skip }, async () => {
  const s = conn.source;
  await s.put(text('/ext/a'), text('1'));
  await s.put(text('/ext/sub/b'), text('2'));
  const model = new KeyTreeModel(s, { separator: '/', pageSize: 10 });
  const top = await model.children();
  const ext = top.find((n) => n.kind === 'folder' && n.label === '/ext');
  assert.ok(ext);
  const inside = await model.children(ext as never);
  assert.deepEqual(inside.map((n) => n.kind === 'more' ? '…' : n.label), ['a', 'sub']);
  const files = new ValueFiles(s);
  const kv = await files.read(text('/ext/a'));
  assert.equal(str(kv.value), '1');
  await s.put(text('/ext/a'), text('theirs'));
  await assert.rejects(files.write(text('/ext/a'), text('mine')), ConflictError);
  await files.overwrite(text('/ext/a'), text('mine'));
  const h = await files.history(text('/ext/a'));
  assert.deepEqual(h.entries.map((e) => str(e.kv.value)), ['mine', 'theirs', '1']);
});

test('an endpoint where nothing listens fails clearly, and quickly', { skip }, async () => {
  const started = Date.now();
  await assert.rejects(ExternalConnection.connect({ endpoints: ['127.0.0.1:1'], dialTimeoutMs: 1000 }));
  assert.ok(Date.now() - started < 15_000);
});
