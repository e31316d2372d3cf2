// The ordered key index (chunked sorted list) against a plain sorted array, and the key-string mapping.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SeededRng } from '../../src/raft/rand.ts';
import { compareBytes, fromKeyString, toKeyString } from '../../src/kv/bytes.ts';
import { KeyIndex } from '../../src/kv/key-index.ts';

/** The project's seeded generator, so failures replay. */
function random(seed: number): (n: number) => number {
  const rng = new SeededRng(seed);
  return (n) => rng.int(n);
}

/** Bytes chosen so that keys share prefixes and sit at both ends of the byte range. */
const ALPHABET = [0x00, 0x01, 0x2f, 0x61, 0x7f, 0x80, 0xfe, 0xff];

function randomKey(rand: (n: number) => number): string {
  const length = 1 + rand(5);
  let key = '';
  for (let i = 0; i < length; i++) key += String.fromCharCode(ALPHABET[rand(ALPHABET.length)]!);
  return key;
}

interface Item {
  key: string;
}

function scanned(index: KeyIndex<Item>, start: string, end: string): string[] {
  const out: string[] = [];
  index.scan(start, end, (item) => out.push(item.key));
  return out;
}

function expected(sorted: readonly string[], start: string, end: string): string[] {
  return sorted.filter((key) => key >= start && (end === '' || key < end));
}

function checkAll(index: KeyIndex<Item>, reference: Set<string>, rand: (n: number) => number): void {
  const sorted = [...reference].sort();
  assert.equal(index.size, sorted.length);
  assert.deepEqual([...index].map((item) => item.key), sorted);
  for (let q = 0; q < 20; q++) {
    const start = rand(8) === 0 ? '' : randomKey(rand);
    const end = rand(4) === 0 ? '' : randomKey(rand);
    assert.deepEqual(scanned(index, start, end), expected(sorted, start, end), `scan [${JSON.stringify(start)}, ${JSON.stringify(end)})`);
  }
}

describe('key index', () => {
  it('keeps random inserts and removals in key order, with range scans matching a sorted array', () => {
    for (let seed = 1; seed <= 6; seed++) {
      const rand = random(seed);
      const index = new KeyIndex<Item>();
      const reference = new Set<string>();
      for (let step = 0; step < 40; step++) {
        // Inserts in bursts large enough to split chunks (512 items) several times over the run.
        const inserts = rand(400);
        for (let i = 0; i < inserts; i++) {
          const key = randomKey(rand);
          if (reference.has(key)) continue;
          reference.add(key);
          index.insert({ key });
        }
        if (rand(5) === 0) {
          const dropped = new Set([...reference].filter(() => rand(3) === 0));
          index.retain((item) => !dropped.has(item.key));
          for (const key of dropped) reference.delete(key);
        }
        checkAll(index, reference, rand);
      }
    }
  });

  it('handles ascending, descending and alternating insert orders', () => {
    const keys = Array.from({ length: 3000 }, (_, i) => `k/${String(i).padStart(5, '0')}`);
    const orders = [keys, [...keys].reverse(), keys.map((_, i) => keys[i % 2 === 0 ? i / 2 : keys.length - 1 - (i - 1) / 2]!)];
    for (const order of orders) {
      const index = new KeyIndex<Item>();
      for (const key of order) index.insert({ key });
      assert.deepEqual([...index].map((item) => item.key), keys);
      assert.deepEqual(scanned(index, 'k/01000', 'k/01003'), ['k/01000', 'k/01001', 'k/01002']);
      assert.deepEqual(scanned(index, 'k/02998', ''), ['k/02998', 'k/02999']);
      assert.deepEqual(scanned(index, 'k/03', ''), []);
      assert.deepEqual(scanned(index, 'k/01000', 'k/01000'), []);
      assert.deepEqual(scanned(index, 'k/01001', 'k/01000'), []);
    }
  });

  it('empties and refills', () => {
    const index = new KeyIndex<Item>();
    assert.deepEqual(scanned(index, '', ''), []);
    for (let i = 0; i < 1500; i++) index.insert({ key: `a${i}` });
    index.retain(() => false);
    assert.equal(index.size, 0);
    assert.deepEqual(scanned(index, '', ''), []);
    index.insert({ key: 'b' });
    index.insert({ key: 'a' });
    assert.deepEqual(scanned(index, '', ''), ['a', 'b']);
  });
});

describe('key strings', () => {
  it('map each byte to one code unit of the same value, for short and long keys', () => {
    const lengths = [0, 1, 2, 31, 256, 8191, 8192, 8193, 20_000];
    for (const length of lengths) {
      const bytes = Uint8Array.from({ length }, (_, i) => (i * 131 + 7) & 0xff);
      const key = toKeyString(bytes);
      assert.equal(key.length, length);
      for (let i = 0; i < length; i++) assert.equal(key.charCodeAt(i), bytes[i]);
      assert.deepEqual(fromKeyString(key), bytes);
      assert.equal(toKeyString(bytes.subarray(1)), key.slice(1), 'a view converts its own bytes only');
    }
  });

  it('compare as the bytes do', () => {
    const rand = random(99);
    for (let i = 0; i < 2000; i++) {
      const a = Uint8Array.from({ length: rand(4) }, () => ALPHABET[rand(ALPHABET.length)]!);
      const b = Uint8Array.from({ length: rand(4) }, () => ALPHABET[rand(ALPHABET.length)]!);
      const ka = toKeyString(a);
      const kb = toKeyString(b);
      assert.equal(Math.sign(compareBytes(a, b)), ka < kb ? -1 : ka > kb ? 1 : 0);
    }
  });
});
