// PeerStorage's log on disk: one segment record per Ready, suffix rewrites, snapshot installs, compaction that
// keeps a segment straddling the compaction point, folders of the older one-record-per-entry layout, and
// corruption — each checked again after reopening the folder.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Level } from 'level';
import { PeerStorage, StorageError } from '../../src/storage/peer-storage.ts';
import { ENTRY_PREFIX, SEGMENT_PREFIX, decodeSegment, encodeEntry, encodeHardState, encodeSegment, encodeSnapshot, entryKey, segmentKey } from '../../src/storage/codec.ts';
import type { Entry, HardState, PersistedState, Ready, Snapshot } from '../../src/raft/types.ts';

const ID = { clusterId: 'c1', peerId: 1, name: 'n1' };

const entry = (index: number, term = 1): Entry => ({ term, index, type: 'normal', data: new TextEncoder().encode(`v${index}@${term}`) });
const run = (from: number, to: number, term = 1) => Array.from({ length: to - from + 1 }, (_, i) => entry(from + i, term));
const ready = (entries: Entry[], hardState: HardState = { term: 1, vote: 1, commit: 0 }, snapshot?: Snapshot): Ready => ({
  entries,
  hardState,
  snapshot,
  committedEntries: [],
  messages: [],
  readStates: [],
});
const snap = (index: number, term = 1): Snapshot => ({ meta: { index, term, confState: { voters: [1], learners: [] } }, data: new TextEncoder().encode(`state@${index}`) });

/** "index@term" of each loaded entry, to compare logs at a glance. */
const ids = (st: PersistedState | undefined) => (st?.entries ?? []).map((e) => `${e.index}@${e.term}`);
const idsOf = (entries: Entry[]) => entries.map((e) => `${e.index}@${e.term}`);

async function withFolder(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'raftlab-storage-'));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function reopen(storage: PeerStorage): Promise<[PeerStorage, PersistedState | undefined]> {
  await storage.close();
  const again = await PeerStorage.open(storage.location, ID);
  return [again, await again.load()];
}

/** The log keys on disk, as "e<index>" (one entry, the older layout) and "l<first>" (a segment). */
async function logKeys(dir: string): Promise<string[]> {
  const db = new Level<Uint8Array, Uint8Array>(dir, { keyEncoding: 'view', valueEncoding: 'view' });
  try {
    const out: string[] = [];
    for await (const key of db.keys()) {
      if (key[0] !== ENTRY_PREFIX && key[0] !== SEGMENT_PREFIX) continue;
      out.push(`${String.fromCharCode(key[0]!)}${new DataView(key.buffer, key.byteOffset).getBigUint64(1)}`);
    }
    return out;
  } finally {
    await db.close();
  }
}

async function formatOf(dir: string): Promise<number> {
  const db = new Level<string, string>(dir);
  try {
    return JSON.parse((await db.get('m'))!).format;
  } finally {
    await db.close();
  }
}

async function rawBatch(dir: string, ops: { type: 'put' | 'del'; key: Uint8Array; value?: Uint8Array }[]): Promise<void> {
  const db = new Level<Uint8Array, Uint8Array>(dir, { keyEncoding: 'view', valueEncoding: 'view' });
  try {
    await db.batch(ops as never);
  } finally {
    await db.close();
  }
}

test("a Ready's entries are written as one record, with the hard state, in one batch", async () => {
  await withFolder(async (dir) => {
    const s = await PeerStorage.open(dir, ID);
    assert.equal(await s.load(), undefined);
    const batches: number[] = [];
    // Counts the operations of every write (storage writes through chained batches).
    type Chained = { length: number; write: (o: unknown) => Promise<void> };
    const db = (s as unknown as { db: { batch: () => Chained } }).db;
    const batch = db.batch.bind(db);
    db.batch = () => {
      const b = batch();
      const write = b.write.bind(b);
      b.write = (o) => (batches.push(b.length), write(o));
      return b;
    };
    await s.save(ready(run(1, 8)));
    await s.save(ready(run(9, 9)));
    await s.save(ready([], { term: 1, vote: 1, commit: 5 })); // a commit change alone is not written
    await s.save(ready(run(10, 17), { term: 1, vote: 1, commit: 9 }));
    assert.deepEqual(batches, [2, 2, 2]);
    let [t, st] = await reopen(s);
    assert.deepEqual(ids(st), idsOf(run(1, 17)));
    assert.deepEqual(st!.hardState, { term: 1, vote: 1, commit: 9 });
    assert.equal(st!.applied, 0);
    assert.deepEqual([...st!.entries[16]!.data], [...entry(17).data]);
    await t.close();
    assert.deepEqual(await logKeys(dir), ['l1', 'l9', 'l10']);
  });
});

test('a suffix rewritten from the middle of a segment replaces the rest of the log, also after restarts', async () => {
  await withFolder(async (dir) => {
    let s = await PeerStorage.open(dir, ID);
    await s.load();
    await s.save(ready(run(1, 8)));
    await s.save(ready(run(9, 16)));
    await s.save(ready(run(17, 20)));
    // From the middle of the second segment: the third goes, the second keeps 9..11.
    await s.save(ready(run(12, 13, 2), { term: 2, vote: 2, commit: 0 }));
    let st: PersistedState | undefined;
    [s, st] = await reopen(s);
    assert.deepEqual(ids(st), [...idsOf(run(1, 11)), '12@2', '13@2']);
    assert.equal(st!.hardState.term, 2);
    await s.save(ready(run(14, 15, 2), { term: 2, vote: 2, commit: 0 }));
    [s, st] = await reopen(s);
    assert.deepEqual(ids(st), [...idsOf(run(1, 11)), ...idsOf(run(12, 15, 2))]);
    // A shorter rewrite from the middle of the first segment: the superseded entries 5..15 must not come back.
    await s.save(ready(run(5, 6, 3), { term: 3, vote: 3, commit: 0 }));
    [s, st] = await reopen(s);
    assert.deepEqual(ids(st), [...idsOf(run(1, 4)), '5@3', '6@3']);
    // A rewrite at a segment's own first index replaces that segment.
    await s.save(ready(run(5, 5, 4), { term: 4, vote: 4, commit: 0 }));
    [s, st] = await reopen(s);
    assert.deepEqual(ids(st), [...idsOf(run(1, 4)), '5@4']);
    await s.save(ready(run(6, 7, 4), { term: 4, vote: 4, commit: 0 }));
    [s, st] = await reopen(s);
    assert.deepEqual(ids(st), [...idsOf(run(1, 4)), ...idsOf(run(5, 7, 4))]);
    await s.close();
    assert.deepEqual(await logKeys(dir), ['l1', 'l5', 'l6'], 'records from a rewrite point on are deleted');
  });
});

test('an installed snapshot drops the whole log; entries after it follow', async () => {
  await withFolder(async (dir) => {
    let s = await PeerStorage.open(dir, ID);
    await s.load();
    await s.save(ready(run(1, 8)));
    await s.save(ready(run(9, 16)));
    await s.save(ready([], { term: 2, vote: 0, commit: 30 }, snap(30, 2)));
    let st: PersistedState | undefined;
    [s, st] = await reopen(s);
    assert.deepEqual(ids(st), []);
    assert.equal(st!.snapshot!.meta.index, 30);
    assert.equal(st!.applied, 30);
    assert.equal(st!.hardState.commit, 30);
    await s.close();
    assert.deepEqual(await logKeys(dir), []);
    s = await PeerStorage.open(dir, ID);
    await s.load();
    await s.save(ready(run(31, 34, 2), { term: 2, vote: 0, commit: 30 }));
    // A snapshot behind the log's end, with entries in the same Ready.
    await s.save(ready(run(33, 35, 3), { term: 3, vote: 0, commit: 32 }, snap(32, 2)));
    [s, st] = await reopen(s);
    assert.deepEqual(ids(st), idsOf(run(33, 35, 3)));
    assert.equal(st!.snapshot!.meta.index, 32);
    assert.equal(new TextDecoder().decode(st!.snapshot!.data), 'state@32');
    await s.close();
    assert.deepEqual(await logKeys(dir), ['l33']);
  });
});

test('compaction deletes only records wholly at or below the compaction point', async () => {
  await withFolder(async (dir) => {
    let s = await PeerStorage.open(dir, ID);
    await s.load();
    await s.save(ready(run(1, 8)));
    await s.save(ready(run(9, 16)));
    await s.save(ready(run(17, 24)));
    await s.saveSnapshot(snap(14), 10); // 9..16 straddles 10: it stays
    let st: PersistedState | undefined;
    [s, st] = await reopen(s);
    assert.deepEqual(ids(st), idsOf(run(15, 24)));
    assert.equal(st!.applied, 14);
    await s.close();
    assert.deepEqual(await logKeys(dir), ['l9', 'l17']);
    s = await PeerStorage.open(dir, ID);
    await s.load();
    await s.saveSnapshot(snap(20), 16); // exactly the straddler's end
    await s.save(ready(run(25, 26)));
    [s, st] = await reopen(s);
    assert.deepEqual(ids(st), idsOf(run(21, 26)));
    await s.saveSnapshot(snap(26), 26);
    [s, st] = await reopen(s);
    assert.deepEqual(ids(st), []);
    assert.equal(st!.applied, 26);
    await s.close();
    assert.deepEqual(await logKeys(dir), []);
  });
});

test('compaction after a rewrite neither keeps nor resurrects superseded entries', async () => {
  await withFolder(async (dir) => {
    let s = await PeerStorage.open(dir, ID);
    await s.load();
    await s.save(ready(run(1, 8)));
    await s.save(ready(run(5, 6, 2), { term: 2, vote: 2, commit: 0 })); // segment 1 now counts 1..4
    await s.saveSnapshot(snap(4), 4); // segment 1 goes although it holds bytes of 5..8
    let st: PersistedState | undefined;
    [s, st] = await reopen(s);
    assert.deepEqual(ids(st), ['5@2', '6@2']);
    await s.close();
    assert.deepEqual(await logKeys(dir), ['l5']);

    // A snapshot past the rewrite, while the segment holding superseded 5..8 stays: they must not reappear.
    s = await PeerStorage.open(dir, ID);
    await s.load();
    await s.save(ready(run(7, 7, 2), { term: 2, vote: 2, commit: 0 }));
    await s.save(ready(run(8, 12, 2), { term: 2, vote: 2, commit: 0 }));
    await s.save(ready(run(10, 10, 3), { term: 3, vote: 3, commit: 0 })); // 8..12 now counts 8..9
    await s.saveSnapshot(snap(9, 2), 6);
    [s, st] = await reopen(s);
    assert.deepEqual(ids(st), ['10@3']);
    assert.equal(st!.applied, 9);
    await s.close();
    assert.deepEqual(await logKeys(dir), ['l7', 'l8', 'l10']);
  });
});

test('a folder of the older layout (one record per entry) loads, and keeps working with segments', async () => {
  await withFolder(async (dir) => {
    // What format 1 wrote: identity, hard state, a snapshot at 3 and entries 2..12 (2 and 3 are leftovers of an
    // interrupted compaction, with entry 1 already gone).
    const identity = new TextEncoder().encode(JSON.stringify({ format: 1, ...ID }));
    await rawBatch(dir, [
      { type: 'put', key: new TextEncoder().encode('m'), value: identity },
      { type: 'put', key: new TextEncoder().encode('h'), value: encodeHardState({ term: 1, vote: 1, commit: 10 }) },
      { type: 'put', key: new TextEncoder().encode('s'), value: encodeSnapshot(snap(3)) },
      ...run(2, 12).map((e) => ({ type: 'put' as const, key: entryKey(e.index), value: encodeEntry(e) })),
    ]);
    let s = await PeerStorage.open(dir, ID);
    let st = await s.load();
    assert.deepEqual(ids(st), idsOf(run(4, 12)));
    assert.deepEqual(st!.hardState, { term: 1, vote: 1, commit: 10 });
    await s.saveSnapshot(snap(3), 3);
    [s, st] = await reopen(s);
    assert.deepEqual(ids(st), idsOf(run(4, 12)));
    await s.close();
    assert.equal(await formatOf(dir), 3, 'a snapshot in its own file marks the folder for versions that read such files');
    s = await PeerStorage.open(dir, ID);
    await s.load();
    // New entries go to segments; a rewrite inside the old records deletes those after it.
    await s.save(ready(run(13, 16)));
    await s.save(ready(run(11, 11, 2), { term: 2, vote: 2, commit: 10 }));
    [s, st] = await reopen(s);
    assert.deepEqual(ids(st), [...idsOf(run(4, 10)), '11@2']);
    await s.save(ready(run(12, 14, 2), { term: 2, vote: 2, commit: 10 }));
    await s.saveSnapshot(snap(8), 7);
    [s, st] = await reopen(s);
    assert.deepEqual(ids(st), [...idsOf(run(9, 10)), ...idsOf(run(11, 14, 2))]);
    await s.close();
    assert.deepEqual(await logKeys(dir), ['e8', 'e9', 'e10', 'l11', 'l12']);
    assert.equal(await formatOf(dir), 3, 'a folder with segments is refused by a version that reads only format 1');
  });
});

test('an older-layout folder whose log ends in a rewrite at an old record is read the same', async () => {
  await withFolder(async (dir) => {
    const identity = new TextEncoder().encode(JSON.stringify({ format: 1, ...ID }));
    await rawBatch(dir, [
      { type: 'put', key: new TextEncoder().encode('m'), value: identity },
      { type: 'put', key: new TextEncoder().encode('h'), value: encodeHardState({ term: 1, vote: 1, commit: 0 }) },
      ...run(1, 5).map((e) => ({ type: 'put' as const, key: entryKey(e.index), value: encodeEntry(e) })),
    ]);
    let s = await PeerStorage.open(dir, ID);
    await s.load();
    await s.save(ready(run(3, 3, 2), { term: 2, vote: 2, commit: 0 }));
    let st: PersistedState | undefined;
    [s, st] = await reopen(s);
    assert.deepEqual(ids(st), ['1@1', '2@1', '3@2']);
    await s.save(ready([], { term: 2, vote: 2, commit: 0 }, snap(5, 2)));
    [s, st] = await reopen(s);
    assert.deepEqual(ids(st), []);
    await s.close();
    assert.deepEqual(await logKeys(dir), []);
  });
});

test('a missing or malformed log record is reported as corruption', async () => {
  const cases: [string, (dir: string) => Promise<void>, RegExp][] = [
    ['a segment in the middle', (dir) => rawBatch(dir, [{ type: 'del', key: segmentKey(9) }]), /log entry 9 is missing/],
    ['the first segment', (dir) => rawBatch(dir, [{ type: 'del', key: segmentKey(1) }]), /log entry 1 is missing/],
    ['a truncated segment', (dir) => rawBatch(dir, [{ type: 'put', key: segmentKey(9), value: encodeSegment(run(9, 16)).subarray(0, 40) }]), /segment at index 9 is malformed/],
    ['a segment under the wrong key', (dir) => rawBatch(dir, [{ type: 'put', key: segmentKey(9), value: encodeSegment(run(10, 16)) }]), /segment at index 9 is malformed/],
    ['a segment past a gap', (dir) => rawBatch(dir, [{ type: 'put', key: segmentKey(30), value: encodeSegment(run(30, 31)) }]), /log entry 25 is missing/],
    ['an older-layout record under the wrong key', (dir) => rawBatch(dir, [{ type: 'put', key: entryKey(30), value: encodeEntry(entry(31)) }]), /log record at index 30 holds entry 31/],
  ];
  for (const [what, damage, message] of cases) {
    await withFolder(async (dir) => {
      const s = await PeerStorage.open(dir, ID);
      await s.load();
      await s.save(ready(run(1, 8)));
      await s.save(ready(run(9, 16)));
      await s.save(ready(run(17, 24)));
      await s.close();
      await damage(dir);
      const again = await PeerStorage.open(dir, ID);
      try {
        await assert.rejects(again.load(), (err: Error) => {
          assert.ok(err instanceof StorageError, what);
          assert.equal(err.code, 'corrupt', what);
          assert.match(err.message, message, what);
          return true;
        });
      } finally {
        await again.close();
      }
    });
  }
  // An older-layout folder with an entry gone in the middle.
  await withFolder(async (dir) => {
    const identity = new TextEncoder().encode(JSON.stringify({ format: 1, ...ID }));
    await rawBatch(dir, [
      { type: 'put', key: new TextEncoder().encode('m'), value: identity },
      { type: 'put', key: new TextEncoder().encode('h'), value: encodeHardState({ term: 1, vote: 1, commit: 0 }) },
      ...[1, 2, 4, 5].map((i) => ({ type: 'put' as const, key: entryKey(i), value: encodeEntry(entry(i)) })),
    ]);
    const s = await PeerStorage.open(dir, ID);
    await assert.rejects(s.load(), /log entry 3 is missing/);
    await s.close();
  });
});

test('random appends, rewrites, snapshots, compactions and restarts read back as a simple model of the log', async () => {
  for (let seed = 1; seed <= 4; seed++) {
    await withFolder(async (dir) => {
      let x = seed * 7919;
      const rnd = (n: number) => ((x = (x * 48271) % 2147483647), x % n);
      let log: Entry[] = []; // entries after the snapshot, as load() should return them
      let snapIndex = 0;
      let term = 1;
      let s = await PeerStorage.open(dir, ID);
      await s.load();
      const last = () => log[log.length - 1]?.index ?? snapIndex;
      for (let step = 0; step < 150; step++) {
        const op = rnd(20);
        if (op < 10) {
          const n = 1 + rnd(8);
          const entries = run(last() + 1, last() + n, term);
          await s.save(ready(entries, { term, vote: 1, commit: 0 }));
          log.push(...entries);
        } else if (op < 14 && log.length > 0) {
          term++;
          const from = log[rnd(log.length)]!.index;
          const entries = run(from, from + rnd(5), term);
          await s.save(ready(entries, { term, vote: 1, commit: 0 }));
          log = [...log.filter((e) => e.index < from), ...entries];
        } else if (op < 16 && log.length > 0) {
          const at = log[rnd(log.length)]!.index;
          await s.saveSnapshot(snap(at, term), Math.max(0, at - rnd(12)));
          log = log.filter((e) => e.index > at);
          snapIndex = at;
        } else if (op < 17) {
          term++;
          const at = last() + rnd(6) - 2;
          if (at <= snapIndex) continue;
          const entries = rnd(2) === 0 ? [] : run(at + 1, at + 1 + rnd(4), term);
          await s.save(ready(entries, { term, vote: 1, commit: 0 }, snap(at, term)));
          log = entries;
          snapIndex = at;
        } else {
          const [again, st] = await reopen(s);
          s = again;
          assert.deepEqual(ids(st), idsOf(log), `seed ${seed} step ${step}`);
          assert.equal(st?.applied ?? 0, snapIndex);
        }
        // Reading a range back (as a leader does for a follower that is behind) gives the model's entries.
        if (log.length > 0) {
          const lo = log[rnd(log.length)]!.index;
          const hi = lo + 1 + rnd(20);
          const want = log.filter((e) => e.index >= lo && e.index < hi);
          assert.deepEqual(idsOf(await s.readEntries(lo, hi)), idsOf(want), `seed ${seed} step ${step}: read ${lo}..${hi - 1}`);
        }
      }
      const [again, st] = await reopen(s);
      assert.deepEqual(ids(st), idsOf(log), `seed ${seed} at the end`);
      await again.close();
    });
  }
});

test('in memory the log works the same', async () => {
  const s = await PeerStorage.open(undefined, ID);
  await s.load();
  await s.save(ready(run(1, 8)));
  await s.save(ready(run(6, 7, 2), { term: 2, vote: 1, commit: 0 }));
  await s.saveSnapshot(snap(3), 2);
  assert.deepEqual(ids(await s.load()), ['4@1', '5@1', '6@2', '7@2']);
  assert.deepEqual(idsOf(await s.readEntries(4, 7)), ['4@1', '5@1', '6@2']);
  await s.close();
});

test('reading entries back stops where a compaction deleted them, and reads the older layout too', async () => {
  await withFolder(async (dir) => {
    await rawBatch(dir, [
      { type: 'put', key: new TextEncoder().encode('m'), value: new TextEncoder().encode(JSON.stringify({ format: 1, ...ID })) },
      { type: 'put', key: new TextEncoder().encode('h'), value: encodeHardState({ term: 1, vote: 1, commit: 4 }) },
      ...run(1, 4).map((e) => ({ type: 'put' as const, key: entryKey(e.index), value: encodeEntry(e) })),
    ]);
    const s = await PeerStorage.open(dir, ID);
    await s.load();
    await s.save(ready(run(5, 9)));
    await s.save(ready(run(10, 12, 2), { term: 2, vote: 1, commit: 0 }));
    assert.deepEqual(idsOf(await s.readEntries(3, 11)), ['3@1', '4@1', '5@1', '6@1', '7@1', '8@1', '9@1', '10@2']);
    assert.deepEqual(idsOf(await s.readEntries(12, 20)), ['12@2']);
    assert.deepEqual(idsOf(await s.readEntries(3, 11, 10)), ['3@1', '4@1'], 'at most 10 bytes of data (4 each)');
    assert.deepEqual(idsOf(await s.readEntries(3, 11, 1)), ['3@1'], 'but at least one entry');
    assert.deepEqual(idsOf(await s.readEntries(13, 20)), []);
    // A read that starts before a compaction finishes gets what was there when it reached each record.
    const reading = s.readEntries(1, 13);
    await s.saveSnapshot(snap(9), 9);
    const got = idsOf(await reading);
    assert.ok(got.length <= 12 && got.every((id, i) => id === idsOf([...run(1, 9), ...run(10, 12, 2)])[i]), `contiguous from 1: ${got}`);
    assert.deepEqual(idsOf(await s.readEntries(1, 13)), [], 'the records of 1..9 are gone');
    assert.deepEqual(idsOf(await s.readEntries(10, 13)), ['10@2', '11@2', '12@2']);
    await s.close();
  });
});

test('a segment reads back exactly what was written, of every entry type and size', () => {
  const entries: Entry[] = [
    { term: 3, index: 41, type: 'confChange', data: new Uint8Array([1, 2, 3]) },
    { term: 3, index: 42, type: 'normal', data: new Uint8Array(0) },
    { term: 4, index: 43, type: 'normal', data: new Uint8Array(70_000).fill(9) },
  ];
  assert.deepEqual(decodeSegment(41, encodeSegment(entries)), entries);
  assert.throws(() => encodeSegment([entry(1), entry(3)]), /not consecutive at index 3/);
});

test('a snapshot lives in its own file, named by the record; the previous file and leftovers of a crash go', async () => {
  await withFolder(async (dir) => {
    let s = await PeerStorage.open(dir, ID);
    await s.load();
    await s.save(ready(run(1, 10)));
    const big = { ...snap(5), data: new Uint8Array(300_000).fill(7) };
    await s.saveSnapshot(big, 4);
    const snapshotFiles = async () => (await readdir(dir)).filter((n) => n.startsWith('snapshot-')).sort();
    assert.deepEqual(await snapshotFiles(), ['snapshot-0000000000000005-1.snap']);
    await writeFile(join(dir, 'snapshot-0000000000000009-1.snap.tmp'), 'half written');
    let st: PersistedState | undefined;
    [s, st] = await reopen(s);
    assert.deepEqual(st!.snapshot!.meta, big.meta);
    assert.deepEqual(st!.snapshot!.data, big.data);
    assert.deepEqual(ids(st), idsOf(run(6, 10)));
    assert.deepEqual(await snapshotFiles(), ['snapshot-0000000000000005-1.snap'], 'the half-written file is gone');
    await s.saveSnapshot(snap(8), 7);
    assert.deepEqual(await snapshotFiles(), ['snapshot-0000000000000008-1.snap']);
    // A leader's snapshot replaces the log and the file.
    await s.save(ready([], { term: 2, vote: 2, commit: 20 }, snap(20, 2)));
    [s, st] = await reopen(s);
    assert.deepEqual(await snapshotFiles(), ['snapshot-0000000000000014-2.snap']);
    assert.equal(new TextDecoder().decode(st!.snapshot!.data), 'state@20');
    await s.close();
  });
});

test('a snapshot file that is missing or cut short is reported as corruption, and nothing is deleted', async () => {
  await withFolder(async (dir) => {
    const s = await PeerStorage.open(dir, ID);
    await s.load();
    await s.save(ready(run(1, 10)));
    await s.saveSnapshot(snap(5), 4);
    await s.close();
    const file = join(dir, 'snapshot-0000000000000005-1.snap');
    await writeFile(file, 'sta');
    const again = await PeerStorage.open(dir, ID);
    await assert.rejects(again.load(), (err: unknown) => err instanceof StorageError && err.code === 'corrupt' && /snapshot file snapshot-0000000000000005-1\.snap is 3 bytes, not 7/.test(err.message));
    await again.close();
    await rm(file);
    const third = await PeerStorage.open(dir, ID);
    await assert.rejects(third.load(), /snapshot file snapshot-0000000000000005-1\.snap is missing/);
    await third.close();
    assert.ok((await logKeys(dir)).length > 0, 'the log is still there');
  });
});
