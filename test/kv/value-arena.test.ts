// Stored values live in shared chunks (kv/value-arena.ts): the store keeps copies, packs them, and after a
// compaction moves the survivors out of chunks that became mostly empty. Values a peer posts to the main thread
// are copied out of their chunks first (node/owned-bytes.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MvccStore } from '../../src/kv/mvcc-store.ts';
import { toKeyString } from '../../src/kv/bytes.ts';
import { NO_LEASE } from '../../src/kv/types.ts';
import { ValueArena } from '../../src/kv/value-arena.ts';
import { withOwnedBytes } from '../../src/kv/owned-bytes.ts';

const key = (s: string) => toKeyString(new TextEncoder().encode(s));
const valueOf = (i: number, size = 200) => new Uint8Array(size).fill(i % 251);

function put(store: MvccStore, k: string, value: Uint8Array): void {
  const txn = store.beginWrite();
  txn.put(key(k), value, NO_LEASE);
  txn.end();
}

test('the arena keeps copies, packed into shared chunks; large values get buffers of their own', () => {
  const arena = new ValueArena();
  const source = Buffer.from('hello world');
  const kept = arena.keep(source.subarray(0, 5));
  source[0] = 0x4a;
  assert.equal(new TextDecoder().decode(kept), 'hello', 'a later change of the source does not reach the kept copy');
  const many = Array.from({ length: 1000 }, (_, i) => arena.keep(valueOf(i)));
  assert.equal(new Set(many.map((v) => v.buffer)).size, 1, '1,000 values of 200 bytes share one chunk');
  assert.deepEqual(arena.stats(), { chunks: 1, liveBytes: 5 + 1000 * 200 });
  const big = arena.keep(new Uint8Array(20_000).fill(3));
  assert.equal(big.buffer.byteLength, 20_000);
  assert.equal(arena.stats().chunks, 1);
  assert.equal(arena.keep(new Uint8Array(0)).byteLength, 0);
});

test('a compaction frees the chunks of the values it drops, moving survivors out of mostly empty ones', () => {
  const store = new MvccStore();
  // 6,000 writes of 200 bytes (five chunks): every 60th to one of 100 cold keys written once, so that their
  // values are spread over every chunk, the rest overwriting 50 hot keys.
  const latest = new Map<string, number>();
  for (let i = 0; i < 6000; i++) {
    const k = i % 60 === 0 ? `cold${i / 60}` : `hot${i % 50}`;
    put(store, k, valueOf(i));
    latest.set(k, i);
  }
  assert.equal(store.valueStats().liveBytes, 6000 * 200);
  assert.equal(store.valueStats().chunks, 5);
  store.compact(store.currentRevision);
  // 150 values survive (30,000 bytes): moved out of the chunks the compaction left almost empty.
  assert.deepEqual(store.valueStats(), { chunks: 1, liveBytes: 150 * 200 });
  for (const [k, i] of latest) assert.deepEqual(store.liveAt(key(k), store.currentRevision)!.value, valueOf(i), k);
  // Writes after the compaction, and history from there on, read back.
  put(store, 'cold0', valueOf(7));
  assert.deepEqual(store.liveAt(key('cold0'), store.currentRevision)!.value, valueOf(7));
  assert.deepEqual(store.liveAt(key('cold0'), store.currentRevision - 1)!.value, valueOf(0));
});

test('values posted to the main thread are copied out of their chunks; other data passes unchanged', async () => {
  const chunk = new Uint8Array(1024).fill(9);
  const whole = new Uint8Array(4);
  const answer = { header: { revision: 3 }, kvs: [{ key: whole, value: chunk.subarray(10, 14) }], count: 1, more: false };
  const owned = withOwnedBytes(answer);
  assert.equal(owned.kvs[0]!.value.buffer.byteLength, 4, 'the value has a buffer of its own');
  assert.deepEqual(owned.kvs[0]!.value, new Uint8Array(4).fill(9));
  assert.equal(owned.kvs[0]!.key, whole, 'an array that owns its buffer is not copied');
  assert.equal(owned.header, answer.header, 'objects without views are passed as they are');
  assert.equal(answer.kvs[0]!.value.buffer.byteLength, 1024, 'the original is left alone');
  const plain = { a: [1, 2, { b: 'c' }] };
  assert.equal(withOwnedBytes(plain), plain);
  // What the main thread gets is cloned: a view would bring its whole chunk along.
  const { port1, port2 } = new MessageChannel();
  const received = new Promise<typeof owned>((resolve) => port2.once('message', resolve));
  port1.postMessage(owned);
  const clone = await received;
  port1.close();
  port2.close();
  assert.equal(clone.kvs[0]!.value.buffer.byteLength, 4);
});
