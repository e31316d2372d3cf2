// A value file belongs to the connection it was opened from: the local cluster's files are refused while an
// external etcd is connected (or nothing runs), and one external etcd's files by another.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LOCAL_AUTHORITY, connectionAuthority, wrongConnection } from '../../src/keys/connection-authority.ts';

const local = connectionAuthority({ local: true });
const etcdA = connectionAuthority({ endpoints: ['127.0.0.1:2379', 'http://127.0.0.1:22379'] });
const etcdB = connectionAuthority({ endpoints: ['10.0.0.5:2379'] });

test('each connection has its own authority; the same endpoints in any order or form give the same one', () => {
  assert.equal(local, LOCAL_AUTHORITY);
  assert.match(etcdA, /^etcd-[0-9a-f]{12}$/);
  assert.equal(connectionAuthority({ endpoints: ['http://127.0.0.1:22379', '127.0.0.1:2379'] }), etcdA);
  assert.notEqual(etcdA, etcdB);
});

test('a file is usable only through the connection it was opened from', () => {
  assert.equal(wrongConnection(local, local), undefined);
  assert.equal(wrongConnection(etcdA, etcdA), undefined);
  assert.equal(wrongConnection(local, undefined), 'this file belongs to the local cluster, which is not running');
  assert.match(wrongConnection(local, etcdA)!, /^this file belongs to the local cluster, which is not running/);
  assert.match(wrongConnection(etcdA, etcdB)!, /belongs to an external etcd this window is not connected to/);
  assert.match(wrongConnection(etcdA, local)!, /belongs to an external etcd, and this window runs the local cluster now/);
});
