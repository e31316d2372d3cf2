// One peer's durable state in its own LevelDB folder: identity, hard state, log entries and the latest
// snapshot. Every Ready is written as one synced batch (group commit) before anything that depends on it is
// acknowledged. The KV store is recovered from the snapshot plus the log, so it needs no records of its own.
import { existsSync } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Level } from 'level';
import { MemoryLevel } from 'memory-level';
import type { AbstractLevel } from 'abstract-level';
import type { Entry, HardState, PersistedState, Ready, Snapshot } from '../raft/types.ts';
import {
  CorruptDataError,
  ENTRY_PREFIX,
  decodeEntry,
  decodeHardState,
  decodeSnapshot,
  encodeEntry,
  encodeHardState,
  encodeSnapshot,
  entryKey,
} from './codec.ts';

type Db = AbstractLevel<string | Uint8Array, Uint8Array, Uint8Array>;
type BatchOp = { type: 'put'; key: Uint8Array; value: Uint8Array } | { type: 'del'; key: Uint8Array };

const IDENTITY_KEY = new TextEncoder().encode('m');
const HARD_STATE_KEY = new TextEncoder().encode('h');
const SNAPSHOT_KEY = new TextEncoder().encode('s');
const FORMAT = 1;

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
  /** Indexes of the entries on disk (first..last), so rewrites and snapshots can delete exactly those. */
  private firstStored = 0;
  private lastStored = 0;
  /** The newest hard state given to save(), and the term and vote known to be on disk. */
  private lastHardState: HardState | undefined;
  private syncedTerm = -1;
  private syncedVote = -1;

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
    if (stored.format !== FORMAT) {
      throw new StorageError('foreign', `data folder ${this.location} has format ${stored.format}, this version reads ${FORMAT}`);
    }
    if (stored.clusterId !== identity.clusterId || stored.peerId !== identity.peerId) {
      throw new StorageError(
        'foreign',
        `data folder ${this.location} belongs to peer ${stored.name} of cluster ${stored.clusterId}, not ${identity.name} of cluster ${identity.clusterId}; ` +
          'use another data folder, or delete this one to start afresh',
      );
    }
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
      const snapshot = snapRaw ? decodeSnapshot(snapRaw) : undefined;
      const after = snapshot?.meta.index ?? 0;
      const entries: Entry[] = [];
      for await (const value of this.db.values({ gt: entryKey(after), lt: new Uint8Array([ENTRY_PREFIX + 1]) })) {
        const e = decodeEntry(value);
        const expected = (entries[entries.length - 1]?.index ?? after) + 1;
        if (e.index !== expected) throw new CorruptDataError(`log entry ${expected} is missing`);
        entries.push(e);
      }
      // Leftovers from before a compaction that was interrupted are harmless: the snapshot covers them.
      this.firstStored = entries[0]?.index ?? 0;
      this.lastStored = entries[entries.length - 1]?.index ?? 0;
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
      for (let i = this.firstStored; i > 0 && i <= this.lastStored; i++) ops.push({ type: 'del', key: entryKey(i) });
      ops.push({ type: 'put', key: SNAPSHOT_KEY, value: encodeSnapshot(rd.snapshot) });
      this.firstStored = 0;
      this.lastStored = 0;
    }
    if (rd.entries.length > 0) {
      const first = rd.entries[0]!.index;
      const last = rd.entries[rd.entries.length - 1]!.index;
      for (const e of rd.entries) ops.push({ type: 'put', key: entryKey(e.index), value: encodeEntry(e) });
      // A rewritten suffix: entries past the new end are no longer part of the log.
      for (let i = last + 1; i <= this.lastStored; i++) ops.push({ type: 'del', key: entryKey(i) });
      if (this.firstStored === 0 || first < this.firstStored) this.firstStored = first;
      this.lastStored = last;
    }
    // Term and vote must be on disk before any vote or message that depends on them. A commit index need not
    // be (a restarted peer learns it again from the leader): a change of commit alone is not written on its
    // own but rides along with the next write, so it costs neither a write nor an fsync.
    if (rd.hardState) this.lastHardState = rd.hardState;
    const hs = this.lastHardState;
    const termOrVoteChanged = hs !== undefined && (hs.term !== this.syncedTerm || hs.vote !== this.syncedVote);
    if (ops.length === 0 && !termOrVoteChanged) return;
    if (hs) ops.push({ type: 'put', key: HARD_STATE_KEY, value: encodeHardState(hs) });
    await this.db.batch(ops, { sync: true } as object);
    if (hs) {
      this.syncedTerm = hs.term;
      this.syncedVote = hs.vote;
    }
  }

  /** Persists a snapshot the peer took, then drops the log entries it made unnecessary. */
  async saveSnapshot(snapshot: Snapshot, compactTo: number): Promise<void> {
    await this.db.put(SNAPSHOT_KEY, encodeSnapshot(snapshot), { sync: true } as object);
    if (this.firstStored > 0 && compactTo >= this.firstStored) {
      await this.db.clear({ gte: entryKey(this.firstStored), lte: entryKey(compactTo) });
      this.firstStored = compactTo + 1 > this.lastStored ? 0 : compactTo + 1;
      if (this.firstStored === 0) this.lastStored = 0;
    }
  }

  /** Approximate bytes on disk (for status and etcd's dbSize). */
  async approximateSize(): Promise<number> {
    // The folder's files, as etcd reports its database file: LevelDB's own estimate leaves out the write-ahead
    // log, which holds most of a young store.
    if (this.onDisk) {
      let total = 0;
      for (const name of await readdir(this.location).catch(() => [] as string[])) {
        total += await stat(join(this.location, name)).then((s) => (s.isFile() ? s.size : 0), () => 0);
      }
      return total;
    }
    const db = this.db as unknown as { approximateSize?: (a: Uint8Array, b: Uint8Array) => Promise<number> };
    if (typeof db.approximateSize !== 'function') return 0;
    return db.approximateSize(new Uint8Array([0]), new Uint8Array([0xff]));
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
