// raftlab: URIs carry any key's exact bytes (and a past revision) while their path stays readable.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { keyToUriParts, uriPartsToKey } from '../../src/keys/key-uri.ts';
import { text } from './support.ts';

test('text keys: readable path, exact bytes in the query, revision optional', () => {
  const parts = keyToUriParts('local', text('/app/config.json'));
  assert.equal(parts.path, '/app/config.json');
  assert.deepEqual(uriPartsToKey(parts), { key: text('/app/config.json') });
  const old = keyToUriParts('local', text('/app/x'), 42);
  assert.deepEqual(uriPartsToKey(old), { key: text('/app/x'), revision: 42 });
});

test('binary and odd keys round-trip through the query', () => {
  for (const key of [new Uint8Array([0, 255, 47, 10]), text('a?b#c%d'), text('////'), text('ключ')]) {
    const parts = keyToUriParts('etcd', key);
    assert.doesNotMatch(parts.path, /[\0\n]/);
    assert.deepEqual([...uriPartsToKey(parts).key], [...key]);
  }
});

test('a URI without a key is refused', () => {
  assert.throws(() => uriPartsToKey({ path: '/', query: '' }), /not a Raft Lab key URI/);
  assert.throws(() => uriPartsToKey({ path: '/x', query: 'k=zz' }), /not a Raft Lab key URI/);
});
