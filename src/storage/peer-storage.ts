// One peer's durable state in its own LevelDB folder: identity, hard state, log entries and the latest
// snapshot (its data in a file beside the database, which LevelDB would otherwise copy and recompact whole). Every Ready is written as one synced batch (group commit) before anything that depends on it is
// acknowledged: its entries as one log segment (see codec.ts) plus the hard state. The KV store is recovered from
// the snapshot plus the log, so it needs no records of its own.
import { existsSync } from 'node:fs';
import { open, readdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Level } from 'level';
import { MemoryLevel } from 'memory-level';
import type { AbstractLevel } from 'abstract-level';
import type { Entry, HardState, PersistedState, Ready, Snapshot } from '../raft/types.ts';
import {
  CorruptDataError,
  ENTRY_PREFIX,
  SEGMENT_PREFIX,
  decodeEntry,
  decodeHardState,
  decodeSegment,
  decodeSnapshot,
  decodeSnapshotRef,
  encodeHardState,
  encodeSegment,
  encodeSnapshot,
  encodeSnapshotRef,
  isSnapshotRef,
  entryKey,
  logKeyIndex,
  segmentKey,
} from './codec.ts';

type Db = AbstractLevel<string | Uint8Array, Uint8Array, Uint8Array>;
type BatchOp = { type: 'put'; key: Uint8Array; value: Uint8Array } | { type: 'del'; key: Uint8Array };

const IDENTITY_KEY = new TextEncoder().encode('m');
const HARD_STATE_KEY = new TextEncoder().encode('h');
const SNAPSHOT_KEY = new TextEncoder().encode('s');
// Format 1 kept one record per log entry. Format 2 writes segments (see codec.ts) and still reads format 1
// folders; such a folder is marked 2 in the batch that writes its first segment, because a version that reads
// only format 1 would not see the entries in segments and silently start with a shorter log.
// Format 3 keeps snapshot data in a file the snapshot record names; a version that reads only format 2 would
// take that record for an inline snapshot, so a folder is marked 3 in its first write, as above.
const FORMAT = 3;
const READABLE_FORMATS = [1, 2, 3];
const SNAPSHOT_FILE = /^snapshot-[0-9a-z-]+\.snap(\.tmp)?$/;

/**
 * One log record on disk and the entries of it that are still part of the log: first..last. A segment whose tail
 * a later segment superseded keeps its stored bytes but its last shrinks. `single` marks a record of the layout
 * before segments (one entry per record, key entryKey), which folders written by older versions still hold.
 */
interface LogRecord {
  first: number;
  last: number;
  single: boolean;
}

type StoredRecord = { first: number; single: boolean; stored: Entry[] };

const recordKey = (r: LogRecord) => (r.single ? entryKey(r.first) : segmentKey(r.first));

/** Which cluster and peer a folder belongs to: a folder from another cluster must not be reused silently. */
export interface PeerIdentity {
  clusterId: string;
  peerId: number;
  name: string;
}

export class StorageError extends Error {
  constructor(
    readonly code: 'locked' | 'corrupt' | 'foreign' | 'io',
    message: string,
  ) {
    super(message);
    this.name = 'StorageError';
  }
}

export class PeerStorage {
  /** The log records on disk, by first index, their first..last ranges disjoint: rewrites, snapshots and
   *  compactions delete exactly the records they make unnecessary. */
  private records: LogRecord[] = [];
  /** The newest hard state given to save(), and the term and vote known to be on disk. */
  private lastHardState: HardState | undefined;
  private syncedTerm = -1;
  private syncedVote = -1;
  /** The identity record marked with FORMAT, until it is written with an older folder's first write. */
  private formatUpgrade: Uint8Array | undefined;
  /** The snapshot file the snapshot record names (on disk only). */
  private snapshotFile: string | undefined;

  private constructor(
    private readonly db: Db,
    readonly location: string,
    private readonly onDisk: boolean,
  ) {}

  /** Opens (or creates) a peer's folder; `location` undefined means in memory. Errors name the folder. */
  static async open(location: string | undefined, identity: PeerIdentity): Promise<PeerStorage> {
    const options = { keyEncoding: 'view', valueEncoding: 'view' } as const;
    const db = (location === undefined ? new MemoryLevel(options) : new Level(location, options)) as unknown as Db;
    const where = location ?? '(memory)';
    try {
      await db.open();
    } catch (err) {
      const hadData = location !== undefined && existsSync(join(location, 'CURRENT'));
      throw describeOpenError(err, where, hadData);
    }
    const storage = new PeerStorage(db, where, location !== undefined);
    try {
      await storage.checkIdentity(identity);
    } catch (err) {
      await db.close().catch(() => undefined);
      throw err;
    }
    return storage;
  }

  private async checkIdentity(identity: PeerIdentity): Promise<void> {
    const raw = await this.db.get(IDENTITY_KEY);
    if (raw === undefined) {
      const empty = await this.isEmpty();
      if (!empty) {
        throw new StorageError('foreign', `data folder ${this.location} holds data that is not a Raft Lab peer's; move it away or choose another data folder`);
      }
      const record = new TextEncoder().encode(JSON.stringify({ format: FORMAT, ...identity }));
      await this.db.put(IDENTITY_KEY, record, { sync: true } as object);
      return;
    }
    let stored: PeerIdentity & { format: number };
    try {
      stored = JSON.parse(new TextDecoder().decode(raw));
    } catch {
      throw new StorageError('corrupt', `data folder ${this.location} is corrupt (unreadable identity record); move it away or delete it to start this peer afresh`);
    }
    if (!READABLE_FORMATS.includes(stored.format)) {
      throw new StorageError('foreign', `data folder ${this.location} has format ${stored.format}, this version reads ${READABLE_FORMATS.join(' and ')}`);
    }
    if (stored.clusterId !== identity.clusterId || stored.peerId !== identity.peerId) {
      throw new StorageError(
        'foreign',
        `data folder ${this.location} belongs to peer ${stored.name} of cluster ${stored.clusterId}, not ${identity.name} of cluster ${identity.clusterId}; ` +
          'use another data folder, or delete this one to start afresh',
      );
    }
    if (stored.format !== FORMAT) this.formatUpgrade = new TextEncoder().encode(JSON.stringify({ ...stored, format: FORMAT }));
  }

  private async isEmpty(): Promise<boolean> {
    for await (const _ of this.db.keys({ limit: 1 })) return false;
    return true;
  }

  /** Reads back everything a restarting peer needs; undefined for a fresh folder. */
  async load(): Promise<PersistedState | undefined> {
    try {
      const hsRaw = await this.db.get(HARD_STATE_KEY);
      const snapRaw = await this.db.get(SNAPSHOT_KEY);
      if (hsRaw === undefined && snapRaw === undefined) return undefined;
      const hardState = hsRaw ? decodeHardState(hsRaw) : { term: 0, vote: 0, commit: 0 };
      this.lastHardState = hardState;
      this.syncedTerm = hardState.term;
      this.syncedVote = hardState.vote;
      const snapshot = snapRaw ? await this.readSnapshot(snapRaw) : undefined;
      await this.removeStraySnapshotFiles();
      const after = snapshot?.meta.index ?? 0;
      const entries: Entry[] = [];
      this.records = [];
      // Records are replayed by first index, which on disk is also the order they were written in: a write
      // deletes every record starting at or after its own first index. Records wholly covered by the snapshot
      // are read too (they are few), so that the ones they supersede are known and compaction can delete them.
      for (const { first, single, stored } of await this.readLogRecords()) {
        const last = first + stored.length - 1;
        let prev = this.records[this.records.length - 1];
        while (prev !== undefined && prev.first >= first) {
          this.records.pop(); // no write leaves this behind; a format 1 record and a segment at one index: the segment is newer
          prev = this.records[this.records.length - 1];
        }
        if (prev !== undefined && first <= prev.last) {
          // A rewritten suffix: this record supersedes the earlier one from `first` on.
          prev.last = first - 1;
          entries.length = Math.min(entries.length, Math.max(0, first - 1 - after));
        } else {
          // Leftovers below the snapshot may have gaps (a compaction of the old layout was not atomic).
          const expected = Math.max(prev?.last ?? 0, after) + 1;
          if (first > expected) throw new CorruptDataError(`log entry ${expected} is missing`);
        }
        for (const e of stored) if (e.index > after) entries.push(e);
        this.records.push({ first, last, single });
      }
      const commit = Math.min(Math.max(hardState.commit, after), entries[entries.length - 1]?.index ?? after);
      return { hardState: { ...hardState, commit }, snapshot, entries, applied: after };
    } catch (err) {
      if (err instanceof CorruptDataError) {
        throw new StorageError('corrupt', `data folder ${this.location} is corrupt: ${err.message}; move it away or delete it to start this peer afresh`);
      }
      throw describeOpenError(err, this.location);
    }
  }

  /** Persists a Ready's snapshot, entries and hard state in one synced write (group commit). */
  async save(rd: Ready): Promise<void> {
    const ops: BatchOp[] = [];
    if (rd.snapshot) {
      // An installed snapshot replaces the whole log.
      for (const r of this.records) ops.push({ type: 'del', key: recordKey(r) });
      ops.push({ type: 'put', key: SNAPSHOT_KEY, value: await this.snapshotRecord(rd.snapshot) });
      this.records = [];
      this.upgradeFormat(ops);
    }
    if (rd.entries.length > 0) {
      const first = rd.entries[0]!.index;
      const last = rd.entries[rd.entries.length - 1]!.index;
      // A rewritten suffix: records from `first` on leave the log, and one straddling `first` keeps its bytes
      // but counts only up to first - 1 (the new segment supersedes the rest; load() replays them so).
      let prev = this.records[this.records.length - 1];
      while (prev !== undefined && prev.first >= first) {
        this.records.pop();
        if (prev.single || prev.first !== first) ops.push({ type: 'del', key: recordKey(prev) }); // else overwritten
        prev = this.records[this.records.length - 1];
      }
      if (prev !== undefined && prev.last >= first) prev.last = first - 1;
      ops.push({ type: 'put', key: segmentKey(first), value: encodeSegment(rd.entries) });
      this.records.push({ first, last, single: false });
      this.upgradeFormat(ops);
    }
    // Term and vote must be on disk before any vote or message that depends on them. A commit index need not
    // be (a restarted peer learns it again from the leader): a change of commit alone is not written on its
    // own but rides along with the next write, so it costs neither a write nor an fsync.
    if (rd.hardState) this.lastHardState = rd.hardState;
    const hs = this.lastHardState;
    const termOrVoteChanged = hs !== undefined && (hs.term !== this.syncedTerm || hs.vote !== this.syncedVote);
    if (ops.length === 0 && !termOrVoteChanged) return;
    if (hs) ops.push({ type: 'put', key: HARD_STATE_KEY, value: encodeHardState(hs) });
    await this.writeSynced(ops);
    if (hs) {
      this.syncedTerm = hs.term;
      this.syncedVote = hs.vote;
    }
    if (rd.snapshot) await this.snapshotFileReplaced(rd.snapshot);
  }

  /**
   * One synced LevelDB write. A chained batch, not db.batch(array): abstract-level clones and re-checks every
   * operation of an array batch, and that cost 30–60 µs of CPU more per write here (docs/performance.md).
   */
  private async writeSynced(ops: BatchOp[]): Promise<void> {
    const batch = this.db.batch();
    for (const op of ops) {
      if (op.type === 'put') batch.put(op.key, op.value);
      else batch.del(op.key);
    }
    await batch.write({ sync: true } as object);
  }

  private upgradeFormat(ops: BatchOp[]): void {
    if (this.formatUpgrade) ops.push({ type: 'put', key: IDENTITY_KEY, value: this.formatUpgrade });
    this.formatUpgrade = undefined;
  }

  private static fileFor(snapshot: Snapshot): string {
    return `snapshot-${snapshot.meta.index.toString(16).padStart(16, '0')}-${snapshot.meta.term.toString(16)}.snap`;
  }

  /**
   * The snapshot record for a snapshot: on disk, its data goes to its own file first (written, synced, renamed
   * into place), so that the record, written after it, never names a file that is not whole.
   */
  private async snapshotRecord(snapshot: Snapshot): Promise<Uint8Array> {
    if (!this.onDisk) return encodeSnapshot(snapshot);
    const file = PeerStorage.fileFor(snapshot);
    const path = join(this.location, file);
    const handle = await open(`${path}.tmp`, 'w');
    try {
      await handle.writeFile(snapshot.data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(`${path}.tmp`, path);
    await syncFolder(this.location);
    return encodeSnapshotRef({ meta: snapshot.meta, file, bytes: snapshot.data.byteLength });
  }

  /** After the record names a new snapshot file, the previous one is no longer needed. */
  private async snapshotFileReplaced(snapshot: Snapshot): Promise<void> {
    if (!this.onDisk) return;
    const previous = this.snapshotFile;
    this.snapshotFile = PeerStorage.fileFor(snapshot);
    if (previous && previous !== this.snapshotFile) await rm(join(this.location, previous), { force: true }).catch(() => undefined);
  }

  private async readSnapshot(record: Uint8Array): Promise<Snapshot> {
    if (!isSnapshotRef(record)) return decodeSnapshot(record); // kept inline (in memory, or an older folder)
    const ref = decodeSnapshotRef(record);
    const data = await readFile(join(this.location, ref.file)).catch(() => undefined);
    if (!data || data.byteLength !== ref.bytes) {
      throw new CorruptDataError(`snapshot file ${ref.file} is ${data ? `${data.byteLength} bytes, not ${ref.bytes}` : 'missing'}`);
    }
    this.snapshotFile = ref.file;
    return { meta: ref.meta, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
  }

  /** Snapshot files a crash left behind: written but never named by the record, or named no more. */
  private async removeStraySnapshotFiles(): Promise<void> {
    if (!this.onDisk) return;
    for (const name of await readdir(this.location).catch(() => [] as string[])) {
      if (SNAPSHOT_FILE.test(name) && name !== this.snapshotFile) await rm(join(this.location, name), { force: true }).catch(() => undefined);
    }
  }

  /**
   * Log entries [lo, hi) read back for a leader whose follower is behind (Ready.loadEntries): contiguous from
   * `lo`, up to maxBytes of data (at least one entry), and fewer (or none) where a compaction deleted records
   * meanwhile. They are committed, so no write rewrites them while this reads.
   */
  async readEntries(lo: number, hi: number, maxBytes = Infinity): Promise<Entry[]> {
    const out: Entry[] = [];
    let bytes = 0;
    const wanted = this.records.filter((r) => r.last >= lo && r.first < hi);
    for (const r of wanted) {
      const raw = await this.db.get(recordKey(r));
      if (raw === undefined) break; // compacted away meanwhile
      const stored = r.single ? [decodeEntry(raw)] : decodeSegment(r.first, raw);
      for (const e of stored) {
        if (e.index < lo + out.length || e.index > r.last || e.index >= hi) continue;
        if (e.index !== lo + out.length) return out;
        bytes += e.data.byteLength;
        if (out.length > 0 && bytes > maxBytes) return out;
        out.push(e);
      }
    }
    return out;
  }

  /** Persists a snapshot the peer took, then drops the log entries it made unnecessary. */
  async saveSnapshot(snapshot: Snapshot, compactTo: number): Promise<void> {
    // One batch, so that a record is never gone while the snapshot that covers it is not yet on disk. Only
    // records wholly at or below compactTo go; one straddling it stays (load() skips what the snapshot covers).
    // The list is updated at once: a save() while this is written only touches records past compactTo.
    const ops: BatchOp[] = [{ type: 'put', key: SNAPSHOT_KEY, value: await this.snapshotRecord(snapshot) }];
    this.upgradeFormat(ops);
    let dropped = 0;
    while (dropped < this.records.length && this.records[dropped]!.last <= compactTo) {
      ops.push({ type: 'del', key: recordKey(this.records[dropped]!) });
      dropped++;
    }
    this.records.splice(0, dropped);
    await this.writeSynced(ops);
    await this.snapshotFileReplaced(snapshot);
  }

  /** Every log record of both layouts, by first index (an old single-entry record before a segment). */
  private async readLogRecords(): Promise<StoredRecord[]> {
    const read = async (prefix: number, single: boolean) => {
      const out: StoredRecord[] = [];
      for await (const [key, value] of this.db.iterator({ gte: new Uint8Array([prefix]), lt: new Uint8Array([prefix + 1]) })) {
        const first = logKeyIndex(key as Uint8Array);
        const stored = single ? [decodeEntry(value)] : decodeSegment(first, value);
        if (stored[0]!.index !== first) throw new CorruptDataError(`the log record at index ${first} holds entry ${stored[0]!.index}`);
        out.push({ first, single, stored });
      }
      return out;
    };
    const singles = await read(ENTRY_PREFIX, true);
    const segments = await read(SEGMENT_PREFIX, false);
    const merged: StoredRecord[] = [];
    let i = 0;
    let j = 0;
    while (i < singles.length || j < segments.length) {
      if (j >= segments.length || (i < singles.length && singles[i]!.first <= segments[j]!.first)) merged.push(singles[i++]!);
      else merged.push(segments[j++]!);
    }
    return merged;
  }

  async close(): Promise<void> {
    await this.db.close();
  }
}

function describeOpenError(err: unknown, where: string, hadData = false): StorageError {
  const e = err as { code?: string; message?: string; cause?: { code?: string; message?: string } };
  const detail = `${e.message ?? err}${e.cause?.message ? `: ${e.cause.message}` : ''}`;
  if (/lock/i.test(detail)) {
    return new StorageError('locked', `data folder ${where} is in use by another process (its LOCK file is held); stop that process or choose another data folder`);
  }
  // A LevelDB folder that exists but cannot be read back is damaged, whatever the library calls it.
  if (hadData || e.code === 'LEVEL_CORRUPTION' || e.cause?.code === 'LEVEL_CORRUPTION' || /corrupt/i.test(detail)) {
    return new StorageError('corrupt', `data folder ${where} is corrupt (${detail}); move it away or delete it to start this peer afresh`);
  }
  return new StorageError('io', `data folder ${where} could not be opened: ${detail}`);
}

/** Makes a rename in a folder durable (a no-op where folders cannot be opened, as on Windows). */
async function syncFolder(folder: string): Promise<void> {
  const handle = await open(folder, 'r').catch(() => undefined);
  if (!handle) return;
  try {
    await handle.sync();
  } catch {
    // not supported here
  } finally {
    await handle.close();
  }
}
