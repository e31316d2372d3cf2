// Range semantics, table-driven. The fixture and the expected answers of the sort/limit/filter cases were
// checked against etcd 3.4.23 (same writes, revisions shifted by the fixture's start).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { prefixRangeEnd } from '../../src/kv/bytes.ts';
import type { RangeRequest } from '../../src/kv/types.ts';
import { Harness, keysOf, text, utf8 } from './harness.ts';

/** s/a=3 (rev 2), s/b=2 (3), s/c=1 (4), s/a=4 (5), s/b=5 (6), x1 (7), x2 (8). */
function fixture(): Harness {
  const h = new Harness();
  h.put('s/a', '3');
  h.put('s/b', '2');
  h.put('s/c', '1');
  h.put('s/a', '4');
  h.put('s/b', '5');
  h.put('x1', 'v');
  h.put('x2', 'v');
  return h;
}

interface RangeCase {
  name: string;
  request: Omit<RangeRequest, 'key' | 'rangeEnd'> & { key?: string; rangeEnd?: string | Uint8Array };
  keys: string[];
  count: number;
  more?: boolean;
  values?: string[];
}

const S: Pick<RangeCase['request'], 'key' | 'rangeEnd'> = { key: 's/', rangeEnd: 's0' };

const cases: RangeCase[] = [
  { name: 'single key (empty range_end)', request: { key: 's/b' }, keys: ['s/b'], count: 1 },
  { name: 'single missing key', request: { key: 's/zz' }, keys: [], count: 0 },
  { name: 'range [key, range_end)', request: { key: 's/a', rangeEnd: 's/c' }, keys: ['s/a', 's/b'], count: 2 },
  { name: 'prefix: range_end = prefix with last byte + 1', request: { key: 's/', rangeEnd: prefixRangeEnd(utf8('s/')) }, keys: ['s/a', 's/b', 's/c'], count: 3 },
  { name: "from key: range_end '\\0' is every key >= key", request: { key: 's/b', rangeEnd: new Uint8Array([0]) }, keys: ['s/b', 's/c', 'x1', 'x2'], count: 4 },
  { name: "all keys: key '\\0', range_end '\\0'", request: { key: '\0', rangeEnd: new Uint8Array([0]) }, keys: ['s/a', 's/b', 's/c', 'x1', 'x2'], count: 5 },
  { name: 'range_end below key is empty', request: { key: 's/b', rangeEnd: 's/a' }, keys: [], count: 0 },
  { name: 'limit cuts and sets more; count is the total', request: { ...S, limit: 1 }, keys: ['s/a'], count: 3, more: true },
  { name: 'limit equal to the total does not set more', request: { ...S, limit: 3 }, keys: ['s/a', 's/b', 's/c'], count: 3, more: false },
  { name: 'negative limit means no limit', request: { ...S, limit: -1 }, keys: ['s/a', 's/b', 's/c'], count: 3 },
  { name: 'sort target KEY, order NONE: key order', request: { ...S, sortTarget: 'KEY', sortOrder: 'NONE' }, keys: ['s/a', 's/b', 's/c'], count: 3 },
  { name: 'sort target KEY, order DESCEND', request: { ...S, sortTarget: 'KEY', sortOrder: 'DESCEND' }, keys: ['s/c', 's/b', 's/a'], count: 3 },
  { name: 'sort target VERSION, order NONE sorts ascending', request: { ...S, sortTarget: 'VERSION' }, keys: ['s/c', 's/a', 's/b'], count: 3 },
  { name: 'sort target VERSION, order NONE, limit 1: etcd fetches limit+1 by key first', request: { ...S, sortTarget: 'VERSION', limit: 1 }, keys: ['s/a'], count: 3, more: true },
  { name: 'sort target VERSION ASCEND, limit 1: sorts everything', request: { ...S, sortTarget: 'VERSION', sortOrder: 'ASCEND', limit: 1 }, keys: ['s/c'], count: 3, more: true },
  { name: 'sort target MOD DESCEND, limit 1', request: { ...S, sortTarget: 'MOD', sortOrder: 'DESCEND', limit: 1 }, keys: ['s/b'], count: 3, more: true },
  { name: 'sort target CREATE DESCEND', request: { ...S, sortTarget: 'CREATE', sortOrder: 'DESCEND' }, keys: ['s/c', 's/b', 's/a'], count: 3 },
  { name: 'sort target VALUE with keys_only: sorted by value, values dropped', request: { ...S, sortTarget: 'VALUE', keysOnly: true }, keys: ['s/c', 's/a', 's/b'], count: 3, values: ['', '', ''] },
  { name: 'sort target VALUE DESCEND', request: { ...S, sortTarget: 'VALUE', sortOrder: 'DESCEND' }, keys: ['s/b', 's/a', 's/c'], count: 3, values: ['5', '4', '1'] },
  { name: 'min_mod_revision filters; count stays the total', request: { ...S, minModRevision: 5 }, keys: ['s/a', 's/b'], count: 3 },
  { name: 'min_mod_revision with limit', request: { ...S, minModRevision: 5, limit: 1 }, keys: ['s/a'], count: 3, more: true },
  { name: 'max_mod_revision filters', request: { ...S, maxModRevision: 4 }, keys: ['s/c'], count: 3 },
  { name: 'min_create_revision filters', request: { ...S, minCreateRevision: 3 }, keys: ['s/b', 's/c'], count: 3 },
  { name: 'max_create_revision filters', request: { ...S, maxCreateRevision: 3 }, keys: ['s/a', 's/b'], count: 3 },
  { name: 'count_only returns the count and no kvs', request: { ...S, countOnly: true, limit: 1 }, keys: [], count: 3, more: false },
  { name: 'keys_only drops values', request: { ...S, keysOnly: true, limit: 2 }, keys: ['s/a', 's/b'], count: 3, more: true, values: ['', ''] },
  { name: 'read at a past revision sees the old value', request: { key: 's/a', revision: 4 }, keys: ['s/a'], count: 1, values: ['3'] },
  { name: 'read at a past revision before the key existed', request: { key: 'x2', revision: 7 }, keys: [], count: 0 },
  { name: 'past revision over a range', request: { ...S, revision: 3 }, keys: ['s/a', 's/b'], count: 2, values: ['3', '2'] },
  { name: 'revision <= 0 reads the latest', request: { key: 's/a', revision: -5 }, keys: ['s/a'], count: 1, values: ['4'] },
];

describe('range', () => {
  for (const c of cases) {
    it(c.name, () => {
      const h = fixture();
      const { key = '', rangeEnd, ...rest } = c.request;
      const response = h.sm.range({
        key: utf8(key),
        ...(rangeEnd === undefined ? {} : { rangeEnd: typeof rangeEnd === 'string' ? utf8(rangeEnd) : rangeEnd }),
        ...rest,
      });
      assert.deepEqual(keysOf(response.kvs), c.keys);
      assert.equal(response.count, c.count);
      assert.equal(response.more, c.more ?? false);
      if (c.values) assert.deepEqual(response.kvs.map((kv) => text(kv.value)), c.values);
      assert.equal(response.header.revision, 8, 'the header carries the current revision, even for past reads');
    });
  }

  it('a read above the current revision fails with future revision', () => {
    const h = fixture();
    assert.throws(() => h.get('s/a', { revision: 9 }), { message: 'etcdserver: mvcc: required revision is a future revision' });
  });

  it('a deleted key is visible at revisions before its deletion only', () => {
    const h = fixture();
    h.del('s/c');
    assert.equal(h.get('s/c').count, 0);
    assert.equal(h.get('s/c', { revision: 8 }).count, 1);
    assert.equal(h.get('s/', { rangeEnd: utf8('s0') }).count, 2);
  });

  it('binary keys compare as unsigned bytes (0x80 and 0xff after 0x7f)', () => {
    const h = new Harness();
    const keys = [[0x01, 0xff], [0x01, 0x7f], [0x01, 0x80], [0x01], [0x01, 0x00], [0x02]].map((k) => new Uint8Array(k));
    for (const key of keys) h.apply({ type: 'put', key, value: key });
    const response = h.sm.range({ key: new Uint8Array([0x01]), rangeEnd: new Uint8Array([0x02]) });
    assert.deepEqual(response.kvs.map((kv) => [...kv.key]), [[0x01], [0x01, 0x00], [0x01, 0x7f], [0x01, 0x80], [0x01, 0xff]]);
  });

  it('prefix of 0xff bytes ranges to the end of the key space', () => {
    const h = new Harness();
    h.apply({ type: 'put', key: new Uint8Array([0xff, 0xff, 0x01]), value: utf8('v') });
    assert.deepEqual([...prefixRangeEnd(new Uint8Array([0xff, 0xff]))], [0]);
    assert.deepEqual([...prefixRangeEnd(new Uint8Array([0x61, 0xff]))], [0x62]);
    assert.equal(h.sm.range({ key: new Uint8Array([0xff, 0xff]), rangeEnd: prefixRangeEnd(new Uint8Array([0xff, 0xff])) }).count, 1);
  });

  it('a range with bounds visits only the keys inside them', () => {
    const h = new Harness();
    for (let i = 0; i < 200; i++) h.put(`k${String(i).padStart(3, '0')}`, 'v');
    let visited = 0;
    h.sm.store.scan({ start: 'k100', end: 'k105' }, h.sm.revision, () => visited++);
    assert.equal(visited, 5);
  });
});
