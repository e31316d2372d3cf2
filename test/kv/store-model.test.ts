// Random interleavings of puts, deletes, compactions, ranges, snapshots and restores, checked against a
// plain reference model of etcd's MVCC rules (every key's full history in a Map, ranges by brute force).
// A twin state machine applies the same requests as decoded objects whose bytes the caller scribbles over
// afterwards: it must end in the same state, so the store copies what it does not own.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SeededRng } from '../../src/raft/rand.ts';
import { prefixRangeEnd } from '../../src/kv/bytes.ts';
import { KvError } from '../../src/kv/errors.ts';
import { KvStateMachine } from '../../src/kv/kv-state-machine.ts';
import type { DeleteRangeResponse, KvRequest, PutResponse, RangeResponse } from '../../src/kv/types.ts';

function random(seed: number): (n: number) => number {
  const rng = new SeededRng(seed);
  return (n) => rng.int(n);
}

const ALPHABET = [0x00, 0x01, 0x2f, 0x61, 0x62, 0x7f, 0x80, 0xff];

/** The model's own byte <-> string mapping (one code unit per byte), independent of the store's. */
function str(bytes: Uint8Array): string {
  let out = '';
  for (const byte of bytes) out += String.fromCharCode(byte);
  return out;
}

interface ModelRecord {
  rev: number;
  /** undefined: a tombstone. */
  value: Uint8Array | undefined;
  create: number;
  version: number;
}

interface ModelKv {
  key: string;
  value: Uint8Array;
  create: number;
  mod: number;
  version: number;
}

class Model {
  rev = 1;
  compacted = -1;
  readonly history = new Map<string, ModelRecord[]>();

  at(key: string, revision: number): ModelRecord | undefined {
    let found: ModelRecord | undefined;
    for (const record of this.history.get(key) ?? []) if (record.rev <= revision) found = record;
    return found;
  }

  live(key: string, revision: number): ModelKv | undefined {
    const record = this.at(key, revision);
    if (record === undefined || record.value === undefined) return undefined;
    return { key, value: record.value, create: record.create, mod: record.rev, version: record.version };
  }

  /** Live keys in bounds at the revision, in key order. end: undefined = one key, '' = no upper bound. */
  select(start: string, end: string | undefined, revision: number): ModelKv[] {
    const keys = [...this.history.keys()].filter((key) => (end === undefined ? key === start : key >= start && (end === '' || key < end)));
    return keys
      .sort()
      .map((key) => this.live(key, revision))
      .filter((kv): kv is ModelKv => kv !== undefined);
  }

  put(key: string, value: Uint8Array): ModelKv | undefined {
    const prev = this.live(key, this.rev);
    this.rev++;
    const records = this.history.get(key) ?? [];
    records.push({ rev: this.rev, value, create: prev ? prev.create : this.rev, version: prev ? prev.version + 1 : 1 });
    this.history.set(key, records);
    return prev;
  }

  delete(start: string, end: string | undefined): ModelKv[] {
    const victims = this.select(start, end, this.rev);
    if (victims.length === 0) return victims;
    this.rev++;
    for (const kv of victims) this.history.get(kv.key)!.push({ rev: this.rev, value: undefined, create: 0, version: 0 });
    return victims;
  }

  /** Keys the store still indexes after its compactions (see MvccStore.compact). */
  indexedKeys(): number {
    let count = 0;
    for (const [key, records] of this.history) {
      const c = this.compacted;
      const visible = this.at(key, c);
      const survives = records.some((r) => r.rev > c) || (visible !== undefined && visible.value !== undefined);
      if (survives) count++;
    }
    return count;
  }
}

function kvOf(kv: { key: Uint8Array; value: Uint8Array; createRevision: number; modRevision: number; version: number }): ModelKv {
  return { key: str(kv.key), value: kv.value, create: kv.createRevision, mod: kv.modRevision, version: kv.version };
}

function errorKind(run: () => unknown): string | undefined {
  try {
    run();
    return undefined;
  } catch (error) {
    if (error instanceof KvError) return error.kind;
    throw error;
  }
}

function scribble(request: KvRequest): void {
  if ('key' in request && request.key instanceof Uint8Array) request.key.fill(0xee);
  if (request.type === 'put' && request.value !== undefined) request.value.fill(0xee);
}

describe('store against a reference model', () => {
  for (let seed = 1; seed <= 4; seed++) {
    it(`random workload, seed ${seed}`, () => {
      const rand = random(seed);
      const randomKey = (): Uint8Array => Uint8Array.from({ length: 1 + rand(5) }, () => ALPHABET[rand(ALPHABET.length)]!);
      const model = new Model();
      let sm = new KvStateMachine();
      const twin = new KvStateMachine();
      let index = 0;
      let mostKeys = 0;
      /** Applies through the log path on `sm` and as a decoded object on the twin; both must agree. */
      const apply = (request: KvRequest): unknown => {
        index++;
        let response: unknown;
        const kind = errorKind(() => (response = sm.apply(sm.prepareProposal(request), index)));
        const copy = structuredClone(request);
        assert.equal(errorKind(() => twin.applyRequest(copy, index)), kind);
        scribble(copy);
        if (kind !== undefined) throw new KvError(kind as never);
        return response;
      };

      for (let step = 0; step < 4000; step++) {
        const op = rand(100);
        if (op < 60) {
          const key = randomKey();
          const value = Uint8Array.from({ length: rand(3) === 0 ? 0 : 1 + rand(80) }, () => rand(256));
          const response = apply({ type: 'put', key, value, prevKv: rand(2) === 0 }) as PutResponse;
          const prev = model.put(str(key), value.slice());
          assert.equal(response.header.revision, model.rev);
          if (response.prevKv !== undefined) assert.deepEqual(kvOf(response.prevKv), prev);
          mostKeys = Math.max(mostKeys, sm.store.indexedKeyCount);
        } else if (op < 68) {
          const key = randomKey();
          // Single keys while the store grows (so the index gets big), then also prefixes and wide ranges.
          const form = step < 2000 ? 0 : [0, 0, 0, 0, 0, 0, 0, 2, 2, 1][rand(10)]!;
          const rangeEnd = form === 0 ? undefined : form === 1 ? randomKey() : prefixRangeEnd(key);
          const end = rangeEnd === undefined ? undefined : rangeEnd.length === 1 && rangeEnd[0] === 0 ? '' : str(rangeEnd);
          const response = apply({ type: 'deleteRange', key, ...(rangeEnd ? { rangeEnd } : {}), prevKv: true }) as DeleteRangeResponse;
          const victims = model.delete(str(key), end);
          assert.equal(response.deleted, victims.length);
          assert.deepEqual(response.prevKvs.map(kvOf), victims);
          assert.equal(response.header.revision, model.rev);
        } else if (op < 70) {
          const revision = model.rev - rand(60);
          const kind = errorKind(() => apply({ type: 'compaction', revision }));
          const expected = revision <= model.compacted ? 'compacted' : revision > model.rev ? 'futureRevision' : undefined;
          assert.equal(kind, expected);
          if (expected === undefined) model.compacted = revision;
          assert.equal(sm.store.indexedKeyCount, model.indexedKeys());
        } else if (op < 72) {
          // Continue on a peer restored from this one's snapshot.
          const restored = new KvStateMachine();
          const snapshot = sm.snapshot();
          restored.restore(snapshot);
          assert.deepEqual(restored.snapshot(), snapshot);
          assert.equal(restored.hash(), sm.hash());
          sm = restored;
        } else {
          const key = rand(10) === 0 ? new Uint8Array([0]) : randomKey();
          const form = rand(4);
          const rangeEnd = form === 0 ? undefined : form === 1 ? randomKey() : form === 2 ? new Uint8Array([0]) : prefixRangeEnd(key);
          const end = rangeEnd === undefined ? undefined : rangeEnd.length === 1 && rangeEnd[0] === 0 ? '' : str(rangeEnd);
          const revision = rand(3) === 0 ? model.rev - rand(80) : 0;
          const limit = rand(3) === 0 ? 1 + rand(5) : 0;
          const request = { key, ...(rangeEnd ? { rangeEnd } : {}), revision, limit, keysOnly: rand(4) === 0, countOnly: rand(8) === 0 };
          const read = revision > 0 ? revision : model.rev;
          const expectedError = read < model.compacted ? 'compacted' : undefined;
          let response: RangeResponse | undefined;
          assert.equal(errorKind(() => (response = sm.range(request))), expectedError);
          if (response === undefined) continue;
          const all = model.select(str(key), end, read);
          const kvs = request.countOnly ? [] : limit > 0 ? all.slice(0, limit) : all;
          assert.equal(response.count, all.length);
          assert.equal(response.more, !request.countOnly && limit > 0 && all.length > limit);
          assert.equal(response.header.revision, model.rev);
          assert.deepEqual(
            response.kvs.map(kvOf),
            kvs.map((kv) => (request.keysOnly ? { ...kv, value: new Uint8Array(0) } : kv)),
          );
        }
        if (step % 250 === 0) assert.equal(twin.hash(), sm.hash());
      }
      assert.equal(twin.hash(), sm.hash());
      assert.deepEqual(twin.snapshot(), sm.snapshot());
      assert.ok(mostKeys > 600, `the index held at most ${mostKeys} keys: too few to split its chunks`);
    });
  }
});
