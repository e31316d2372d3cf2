// The multi-version store: an ordered key index, each key's full write history, and the store revision.
//
// Every write of a key appends a KeyRecord; a deletion appends a tombstone (version 0) that ends the key's
// generation. Reading "at revision R" takes, per key, the last record with modRevision <= R. The store also
// remembers which keys each revision touched (in write order) so that watches can replay history without
// scanning every key. Nothing here does I/O or looks at the clock: the same writes give the same store.

import { EMPTY_BYTES, fromKeyString, type KeyBounds, type KeyString } from './bytes.ts';
import { KvError } from './errors.ts';
import { KeyIndex } from './key-index.ts';
import { NO_LEASE, type KeyValue, type KvEvent, type LeaseId, type Revision } from './types.ts';
import { ValueArena } from './value-arena.ts';

/** One write of one key. A tombstone (the key was deleted) has version 0 and createRevision 0. */
export interface KeyRecord {
  readonly modRevision: Revision;
  /** Position of this write inside its revision (etcd's sub-revision): orders one revision's events. */
  readonly sub: number;
  readonly createRevision: Revision;
  readonly version: number;
  readonly value: Uint8Array;
  readonly lease: LeaseId;
}

/**
 * What a record is counted as in the store's size: its key and value, plus what etcd's backend stores beside them
 * (a revision key and the record's metadata; an estimate: bbolt's pages add their own).
 */
const RECORD_OVERHEAD_BYTES = 64;

function recordBytes(key: KeyString, record: KeyRecord): number {
  return key.length + record.value.byteLength + RECORD_OVERHEAD_BYTES; // a key string has one code unit per byte
}

export function isTombstone(record: KeyRecord): boolean {
  return record.version === 0;
}

/** All surviving records of one key, oldest first. */
export class KeyHistory {
  /** Never empty while the history is in the store. Made with its first record: an empty array's first push
   * reserves room for 17 (most keys only ever have one or two records). */
  readonly records: KeyRecord[];

  constructor(
    readonly key: KeyString,
    first: KeyRecord,
  ) {
    this.records = [first];
  }

  /**
   * The key's bytes, made when asked: keeping them beside the key string cost a Uint8Array, an ArrayBuffer and
   * its backing store per key (about a fifth of a stored key's memory).
   */
  get keyBytes(): Uint8Array {
    return fromKeyString(this.key);
  }

  latest(): KeyRecord | undefined {
    return this.records[this.records.length - 1];
  }

  /** Index of the last record with modRevision <= revision, or -1. */
  indexAt(revision: Revision): number {
    const records = this.records;
    // Fast path: most reads are at the current revision.
    const last = records.length - 1;
    if (last >= 0 && records[last]!.modRevision <= revision) return last;
    let lo = 0;
    let hi = last; // answer is in [-1, hi - 1] here
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (records[mid]!.modRevision <= revision) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return found;
  }

  /** The key's live record at the revision, or undefined if it did not exist then. */
  liveAt(revision: Revision): KeyRecord | undefined {
    const record = this.records[this.indexAt(revision)];
    return record === undefined || isTombstone(record) ? undefined : record;
  }

  toKeyValue(record: KeyRecord): KeyValue {
    return {
      key: this.keyBytes,
      createRevision: record.createRevision,
      modRevision: record.modRevision,
      version: record.version,
      value: record.value,
      lease: record.lease,
    };
  }
}

/** Read access needed by range, txn compares and watch replay. */
export interface MvccReadView {
  readonly currentRevision: Revision;
  readonly compactRevision: Revision;
  liveAt(key: KeyString, revision: Revision): KeyValue | undefined;
  scan(bounds: KeyBounds, revision: Revision, visit: (history: KeyHistory, record: KeyRecord) => void): void;
}

/** See MvccStore.observeCompaction: `removed` are the key's oldest records, oldest first. */
export type CompactionObserver = (history: KeyHistory, removed: readonly KeyRecord[]) => void;

export class MvccStore implements MvccReadView {
  private revision: Revision = 1;
  /** -1 until the first compaction, as in etcd (so compacting at revision 0 or 1 is accepted once). */
  private compacted: Revision = -1;
  /** Every key with surviving history, in key order. */
  private readonly index = new KeyIndex<KeyHistory>();
  private readonly histories = new Map<KeyString, KeyHistory>();
  /** Keys written at each surviving revision, in write (sub-revision) order. */
  /** The keys each revision wrote, in write order: one key string for the usual one-key revision (an array
   * per revision would cost more than the key). */
  private readonly changes = new Map<Revision, KeyString | KeyString[]>();
  private openTxn = false;
  /** Told about the records a compaction removes (a snapshot encoding in progress still needs them). */
  private readonly compactionObservers = new Set<CompactionObserver>();
  /** The bytes of every stored value. */
  private readonly values = new ValueArena();
  /** The size of the surviving records (recordBytes). */
  private bytes = 0;

  get currentRevision(): Revision {
    return this.revision;
  }

  get compactRevision(): Revision {
    return this.compacted;
  }

  /**
   * The surviving history's size (what etcd's database holds of it: it drops at a compaction). Derived from the
   * records alone, so equal on every peer.
   */
  get byteSize(): number {
    return this.bytes;
  }

  /** Number of keys with surviving history (live or not yet compacted tombstones). */
  get indexedKeyCount(): number {
    return this.index.size;
  }

  /**
   * Resolves a requested read revision (<= 0 means `latest`) and rejects what cannot be served:
   * above `latest` -> future revision; below the compaction point -> compacted (at it is fine).
   */
  resolveReadRevision(requested: Revision | undefined, latest: Revision = this.revision): Revision {
    const revision = requested !== undefined && requested > 0 ? requested : latest;
    if (revision > latest) throw new KvError('futureRevision');
    if (revision < this.compacted) throw new KvError('compacted');
    return revision;
  }

  history(key: KeyString): KeyHistory | undefined {
    return this.histories.get(key);
  }

  liveAt(key: KeyString, revision: Revision): KeyValue | undefined {
    const history = this.histories.get(key);
    const record = history?.liveAt(revision);
    return record === undefined ? undefined : history!.toKeyValue(record);
  }

  /** Visits the keys in bounds that were live at the revision, in key order. Never scans outside bounds. */
  scan(bounds: KeyBounds, revision: Revision, visit: (history: KeyHistory, record: KeyRecord) => void): void {
    if (bounds.end === undefined) {
      const history = this.histories.get(bounds.start);
      const record = history?.liveAt(revision);
      if (record !== undefined) visit(history!, record);
      return;
    }
    this.index.scan(bounds.start, bounds.end, (history) => {
      const record = history.liveAt(revision);
      if (record !== undefined) visit(history, record);
    });
  }

  /** Every key with surviving history, in key order (snapshots and hashing). */
  *allHistories(): IterableIterator<KeyHistory> {
    yield* this.index;
  }

  /** The same as `allHistories()`, as a new array (a snapshot encoding's fixed list of keys). */
  historiesInOrder(): KeyHistory[] {
    return this.index.toArray();
  }

  /**
   * Calls `observer` with each key's records that a compaction removes, before it forgets them, until the
   * returned function is called. Reads do not see the difference: this is for a snapshot encoding that is
   * still writing the state as it was before the compaction.
   */
  observeCompaction(observer: CompactionObserver): () => void {
    this.compactionObservers.add(observer);
    return () => this.compactionObservers.delete(observer);
  }

  /**
   * The events of one revision, in write order, rebuilt from history (watch replay). prevKv is the key's
   * value at revision - 1 when it existed and survived compaction.
   */
  eventsAt(revision: Revision): KvEvent[] {
    const keys = this.changedAt(revision);
    if (keys.length === 0) return [];
    const events: KvEvent[] = [];
    for (const key of keys) {
      const history = this.histories.get(key)!;
      const index = history.indexAt(revision);
      const record = history.records[index]!;
      const before = history.records[index - 1];
      const prevKv = before !== undefined && !isTombstone(before) ? history.toKeyValue(before) : undefined;
      events.push(makeEvent(history, record, prevKv));
    }
    return events;
  }

  /** Starts the single write transaction of the next revision. */
  beginWrite(): WriteTxn {
    if (this.openTxn) throw new Error('mvcc: a write transaction is already open');
    this.openTxn = true;
    return new WriteTxn(this, this.revision + 1);
  }

  /**
   * Drops history that no read at or above `revision` can see: per key, every record older than the one
   * visible at `revision`, and that one too if it is a tombstone (at or below `revision`, as etcd's key index
   * compacts). A put at exactly `revision` stays, so a watch from the compaction revision still sees it; a
   * delete there is gone, as in etcd.
   */
  compact(revision: Revision): void {
    if (revision <= this.compacted) throw new KvError('compacted');
    if (revision > this.revision) throw new KvError('futureRevision');
    let removedKeys = false;
    for (const history of this.index) {
      const index = history.indexAt(revision);
      if (index < 0) continue;
      const visible = history.records[index]!;
      const dropThroughVisible = isTombstone(visible);
      const removed = history.records.splice(0, dropThroughVisible ? index + 1 : index);
      for (const record of removed) {
        this.values.release(record.value);
        this.bytes -= recordBytes(history.key, record);
      }
      if (removed.length > 0 && this.compactionObservers.size > 0) {
        for (const observer of this.compactionObservers) observer(history, removed);
      }
      if (history.records.length === 0) {
        this.histories.delete(history.key);
        removedKeys = true;
      }
    }
    if (removedKeys) this.index.retain((history) => history.records.length > 0);
    for (const changed of [...this.changes.keys()]) {
      if (changed < revision) this.changes.delete(changed);
    }
    // The revision itself keeps only the changes whose records survived (a delete there went with its key).
    const atRevision = this.changedAt(revision).filter((key) => this.recordAt(key, revision) !== undefined);
    if (atRevision.length === 0) this.changes.delete(revision);
    else this.changes.set(revision, atRevision.length === 1 ? atRevision[0]! : atRevision);
    this.compacted = revision;
    if (this.values.hasSparseChunks()) this.moveValuesOutOfSparseChunks();
  }

  /**
   * After a compaction: the surviving values in chunks it left mostly empty are copied out, so those chunks can
   * be freed (their records are replaced by equal ones holding the copies).
   */
  private moveValuesOutOfSparseChunks(): void {
    for (const history of this.index) {
      const records = history.records as KeyRecord[];
      for (let i = 0; i < records.length; i++) {
        const record = records[i]!;
        if (!this.values.isSparse(record.value)) continue;
        const value = this.values.keep(record.value);
        this.values.release(record.value);
        records[i] = { ...record, value };
      }
    }
  }

  /** A copy of a value for a record of this store (see ValueArena). */
  keepValue(bytes: Uint8Array): Uint8Array {
    return this.values.keep(bytes);
  }

  /** The chunks holding stored values (for tests). */
  valueStats(): { chunks: number; liveBytes: number } {
    return this.values.stats();
  }

  // ---- used by WriteTxn and snapshot restore -------------------------------------------------------

  /**
   * Appends a record to a key's history, creating the key in the index if needed.
   */
  appendRecord(key: KeyString, record: KeyRecord): KeyHistory {
    return this.appendTo(this.histories.get(key), key, record);
  }

  /** `appendRecord` for a caller that has already looked the key up: `history` must be `history(key)`. */
  appendTo(history: KeyHistory | undefined, key: KeyString, record: KeyRecord): KeyHistory {
    if (history === undefined) {
      this.count(key, record);
      history = new KeyHistory(key, record);
      this.histories.set(key, history);
      this.index.insert(history);
      this.noteChange(key, record.modRevision);
      return history;
    }
    const records = history.records;
    if (records.length > 0 && records[records.length - 1]!.modRevision >= record.modRevision) {
      throw new Error('mvcc: a key was written twice in one revision');
    }
    this.count(key, record);
    records.push(record);
    this.noteChange(key, record.modRevision);
    return history;
  }

  private count(key: KeyString, record: KeyRecord): void {
    this.bytes += recordBytes(key, record);
  }

  private noteChange(key: KeyString, revision: Revision): void {
    const changed = this.changes.get(revision);
    if (changed === undefined) this.changes.set(revision, key);
    else if (typeof changed === 'string') this.changes.set(revision, [changed, key]);
    else changed.push(key);
  }

  private changedAt(revision: Revision): readonly KeyString[] {
    const changed = this.changes.get(revision);
    return changed === undefined ? [] : typeof changed === 'string' ? [changed] : changed;
  }

  /** Sets the revisions after a restore; the change lists are re-sorted into sub-revision order. */
  restoreRevisions(current: Revision, compacted: Revision): void {
    this.revision = current;
    this.compacted = compacted;
    for (const [revision, keys] of this.changes) {
      if (typeof keys !== 'string') keys.sort((a, b) => this.subOf(a, revision) - this.subOf(b, revision));
    }
  }

  finishWrite(txn: WriteTxn, wrote: boolean): void {
    if (!this.openTxn) throw new Error('mvcc: no write transaction is open');
    this.openTxn = false;
    if (wrote) this.revision = txn.revision;
  }

  /** The key's record written at exactly `revision`, if it is still in its history. */
  private recordAt(key: KeyString, revision: Revision): KeyRecord | undefined {
    const history = this.histories.get(key);
    const record = history?.records[history.indexAt(revision)];
    return record?.modRevision === revision ? record : undefined;
  }

  private subOf(key: KeyString, revision: Revision): number {
    const history = this.histories.get(key)!;
    return history.records[history.indexAt(revision)]!.sub;
  }
}

/**
 * The writes of one revision. Reads through `readRevision` see this txn's own writes, as in etcd. A txn
 * that writes nothing leaves the store revision unchanged.
 */
export class WriteTxn {
  private readonly written: KvEvent[] = [];
  private ended = false;

  constructor(
    private readonly store: MvccStore,
    /** The revision this txn's writes get. */
    readonly revision: Revision,
  ) {}

  /** The revision reads inside the txn use: the new one once something was written. */
  get readRevision(): Revision {
    return this.written.length > 0 ? this.revision : this.revision - 1;
  }

  get hasWrites(): boolean {
    return this.written.length > 0;
  }

  /**
   * Writes a key; returns its previous live value (the event's prevKv). The key must not have been written in
   * this txn.
   */
  put(key: KeyString, value: Uint8Array, lease: LeaseId): KeyValue | undefined {
    return this.putTo(this.store.history(key), key, value, lease);
  }

  /** `put` for a caller that has already looked the key up: `history` must be the store's `history(key)`. */
  putTo(history: KeyHistory | undefined, key: KeyString, value: Uint8Array, lease: LeaseId): KeyValue | undefined {
    this.assertOpen();
    const before = history?.latest();
    const prevLive = before !== undefined && !isTombstone(before) ? before : undefined;
    const record: KeyRecord = {
      modRevision: this.revision,
      sub: this.written.length,
      createRevision: prevLive ? prevLive.createRevision : this.revision,
      version: prevLive ? prevLive.version + 1 : 1,
      value: this.store.keepValue(value),
      lease,
    };
    const written = this.store.appendTo(history, key, record);
    const prev = prevLive ? written.toKeyValue(prevLive) : undefined;
    this.written.push(makeEvent(written, record, prev));
    return prev;
  }

  /** Deletes every key in bounds that is live now; returns their values as they were. */
  deleteRange(bounds: KeyBounds): KeyValue[] {
    this.assertOpen();
    const victims: KeyHistory[] = [];
    this.store.scan(bounds, this.readRevision, (history) => victims.push(history));
    const deleted: KeyValue[] = [];
    for (const history of victims) {
      const prevRecord = history.latest()!;
      const prev = history.toKeyValue(prevRecord);
      const tombstone: KeyRecord = {
        modRevision: this.revision,
        sub: this.written.length,
        createRevision: 0,
        version: 0,
        value: EMPTY_BYTES,
        lease: NO_LEASE,
      };
      this.store.appendTo(history, history.key, tombstone);
      this.written.push(makeEvent(history, tombstone, prev));
      deleted.push(prev);
    }
    return deleted;
  }

  /** Ends the txn; returns its events (each with prevKv), empty if nothing was written. */
  end(): KvEvent[] {
    this.assertOpen();
    this.ended = true;
    this.store.finishWrite(this, this.written.length > 0);
    return this.written;
  }

  private assertOpen(): void {
    if (this.ended) throw new Error('mvcc: write transaction already ended');
  }
}

function makeEvent(history: KeyHistory, record: KeyRecord, prevKv: KeyValue | undefined): KvEvent {
  const kv: KeyValue = isTombstone(record)
    ? { key: history.keyBytes, createRevision: 0, modRevision: record.modRevision, version: 0, value: EMPTY_BYTES, lease: NO_LEASE }
    : history.toKeyValue(record);
  const event: KvEvent = { type: isTombstone(record) ? 'DELETE' : 'PUT', kv };
  if (prevKv !== undefined) event.prevKv = prevKv;
  return event;
}
