// Snapshot and restore of the whole replicated state, for Raft snapshots: the store revision, the
// compaction point, every key's surviving history, the lease table and the raised alarms. The encoding is canonical (keys in
// byte order, leases in id order), so equal states give equal bytes and `hashState` can compare peers.
// Lease attachments are not stored: they follow from each key's latest record and are rebuilt on restore.
// The watch index (keys per revision) is rebuilt from the records as well.

import { ALARM_TYPES, AlarmTable } from './alarms.ts';
import { ByteReader, ByteWriter } from './binary.ts';
import { digest64 } from './hash.ts';
import { LeaseTable } from './lease.ts';
import { isTombstone, MvccStore, type KeyHistory, type KeyRecord } from './mvcc-store.ts';
import { toKeyString } from './bytes.ts';
import { NO_LEASE, type LeaseId, type Revision } from './types.ts';

const MAGIC = [0x52, 0x4c, 0x4b, 0x56]; // "RLKV"
// Version 2 adds the raised alarms after the leases; a state without alarms is still written as version 1, so
// its bytes (and hash) are what they were before alarms existed.
const SNAPSHOT_VERSION = 1;
const SNAPSHOT_VERSION_WITH_ALARMS = 2;

export interface ReplicatedState {
  /** Index of the last log entry applied to this state. */
  appliedIndex: number;
  store: MvccStore;
  leases: LeaseTable;
  alarms: AlarmTable;
}

export function encodeSnapshot(state: ReplicatedState): Uint8Array {
  const writer = new ByteWriter();
  for (const byte of MAGIC) writer.byte(byte);
  writer.byte(versionFor(state.alarms)).uvarint(state.appliedIndex);
  writeBody(writer, state.store, state.leases, state.alarms);
  return writer.finish();
}

/**
 * Reads a snapshot. `padded`: the bytes may be followed by zeros (a saved snapshot file's padding); the state
 * then also tells how many bytes the snapshot itself took.
 */
export function decodeSnapshot(data: Uint8Array, minLeaseTtlSeconds: number, padded = false): ReplicatedState & { byteLength: number } {
  // Views: keys become strings and values are copied into the store's chunks, so nothing keeps `data` alive.
  const reader = new ByteReader(data, true);
  for (const byte of MAGIC) if (reader.byte() !== byte) throw new Error('snapshot: not a Raft Lab KV snapshot');
  const version = reader.byte();
  if (version !== SNAPSHOT_VERSION && version !== SNAPSHOT_VERSION_WITH_ALARMS) throw new Error(`snapshot: unsupported version ${version}`);
  const appliedIndex = reader.uvarint();
  const store = new MvccStore();
  const leases = new LeaseTable(minLeaseTtlSeconds);
  const current = reader.int();
  const compacted = reader.int();
  const keyCount = reader.uvarint();
  for (let k = 0; k < keyCount; k++) {
    const key = toKeyString(reader.bytes());
    const recordCount = reader.uvarint();
    let history: KeyHistory | undefined;
    for (let r = 0; r < recordCount; r++) {
      const record: KeyRecord = {
        modRevision: reader.uvarint(),
        sub: reader.uvarint(),
        createRevision: reader.uvarint(),
        version: reader.uvarint(),
        value: store.keepValue(reader.bytes()),
        lease: reader.int64(),
      };
      // The first record looks the key up (a corrupt snapshot could repeat a key); the rest reuse its history.
      history = history === undefined ? store.appendRecord(key, record) : store.appendTo(history, key, record);
    }
  }
  store.restoreRevisions(current, compacted);
  const leaseCount = reader.uvarint();
  for (let i = 0; i < leaseCount; i++) {
    const id = reader.int64();
    const ttl = reader.uvarint();
    leases.grant(id, ttl);
  }
  const alarms = new AlarmTable();
  if (version === SNAPSHOT_VERSION_WITH_ALARMS) readAlarms(reader, alarms);
  const byteLength = padded ? reader.expectZerosToEnd() : (reader.expectEnd(), data.length);
  for (const history of store.allHistories()) {
    const latest = history.latest()!;
    if (!isTombstone(latest) && latest.lease !== NO_LEASE) leases.attach(latest.lease, history.key);
  }
  return { appliedIndex, store, leases, alarms, byteLength };
}

/** A digest of the replicated state (revision, compaction point, history, leases, alarms), not of the applied index. */
export function hashState(store: MvccStore, leases: LeaseTable, alarms: AlarmTable): string {
  const writer = new ByteWriter();
  writeBody(writer, store, leases, alarms);
  return digest64(writer.finish());
}

function writeBody(writer: ByteWriter, store: MvccStore, leases: LeaseTable, alarms: AlarmTable): void {
  writer.int(store.currentRevision).int(store.compactRevision);
  writer.uvarint(store.indexedKeyCount);
  for (const history of store.allHistories()) writeKey(writer, history.keyBytes, history.records, history.records.length);
  const ids = leases.ids();
  writer.uvarint(ids.length);
  for (const id of ids) writer.int64(id).uvarint(leases.ttlOf(id)!);
  writeAlarms(writer, alarms);
}

function versionFor(alarms: AlarmTable): number {
  return alarms.isEmpty ? SNAPSHOT_VERSION : SNAPSHOT_VERSION_WITH_ALARMS;
}

/** The alarms section (only when some are raised: see SNAPSHOT_VERSION_WITH_ALARMS). */
function writeAlarms(writer: ByteWriter, alarms: AlarmTable): void {
  const raised = alarms.list();
  if (raised.length === 0) return;
  writer.uvarint(raised.length);
  for (const { memberID, alarm } of raised) writer.int64(BigInt.asIntN(64, memberID)).byte(ALARM_TYPES.indexOf(alarm));
}

function readAlarms(reader: ByteReader, into: AlarmTable): void {
  const count = reader.uvarint();
  for (let i = 0; i < count; i++) {
    const memberID = BigInt.asUintN(64, reader.int64());
    const alarm = ALARM_TYPES[reader.byte()];
    if (alarm === undefined || alarm === 'NONE') throw new Error('snapshot: unknown alarm type');
    into.activate(memberID, alarm);
  }
}

/** One key: its bytes and its first `count` records. */
function writeKey(writer: ByteWriter, keyBytes: Uint8Array, records: readonly KeyRecord[], count: number): void {
  writer.bytes(keyBytes).uvarint(count);
  for (let i = 0; i < count; i++) {
    const record = records[i]!;
    writer
      .uvarint(record.modRevision)
      .uvarint(record.sub)
      .uvarint(record.createRevision)
      .uvarint(record.version)
      .bytes(record.value)
      .int64(record.lease);
  }
}

/**
 * Encodes the snapshot of the state as it is when the encoder is created, a few keys at a time, while the
 * state keeps changing: the bytes are exactly `encodeSnapshot`'s at that moment.
 *
 * At the start it fixes the applied index, the store revision R, the compaction point, the list of keys
 * (in key order) and the lease table (ids and TTLs). Writes after the start only append records above R to
 * histories (a deletion appends a tombstone), so each key is written with its records at or below R; keys
 * created later are not in the list. A compaction after the start removes old records in place: the store
 * hands them to the encoder first (observeCompaction), which puts them back in front when it writes the key.
 * A restore swaps the store for a new one and leaves this one unchanged, but the caller should discard the
 * encoding then anyway (its index is older than the restored state's). Call `cancel()` to stop early.
 */
export class SnapshotEncoder {
  readonly appliedIndex: number;
  readonly revision: Revision;
  private readonly writer = new ByteWriter(64 * 1024);
  private readonly histories: KeyHistory[];
  private readonly leases: { id: LeaseId; ttl: number }[];
  /** The alarms as they are at the start (a copy: they may change while the keys are written). */
  private readonly alarms = new AlarmTable();
  /** Records a compaction removed from a key after the start, oldest first. */
  private readonly removed = new Map<KeyHistory, KeyRecord[]>();
  private stopObserving: (() => void) | undefined;
  private next = 0;
  private bytes: Uint8Array | undefined;

  constructor(state: ReplicatedState) {
    const { store, leases } = state;
    this.appliedIndex = state.appliedIndex;
    this.revision = store.currentRevision;
    this.histories = store.historiesInOrder();
    this.leases = leases.ids().map((id) => ({ id, ttl: leases.ttlOf(id)! }));
    for (const byte of MAGIC) this.writer.byte(byte);
    for (const { memberID, alarm } of state.alarms.list()) this.alarms.activate(memberID, alarm);
    this.writer.byte(versionFor(this.alarms)).uvarint(state.appliedIndex);
    this.writer.int(store.currentRevision).int(store.compactRevision).uvarint(this.histories.length);
    this.stopObserving = store.observeCompaction((history, records) => {
      const earlier = this.removed.get(history);
      this.removed.set(history, earlier === undefined ? records.slice() : earlier.concat(records));
    });
  }

  get done(): boolean {
    return this.bytes !== undefined;
  }

  /** Encodes up to `maxKeys` more keys; returns true when the snapshot is complete (see `result()`). */
  step(maxKeys: number): boolean {
    if (this.bytes !== undefined) return true;
    if (this.stopObserving === undefined) throw new Error('snapshot: the encoding was canceled');
    const writer = this.writer;
    const histories = this.histories;
    const end = Math.min(histories.length, this.next + maxKeys);
    const revision = this.revision;
    for (let k = this.next; k < end; k++) {
      const history = histories[k]!;
      const removed = this.removed.get(history);
      const records = removed === undefined ? history.records : removed.concat(history.records);
      writeKey(writer, history.keyBytes, records, countAtOrBelow(records, revision));
      histories[k] = undefined!; // written: let it go
      if (removed !== undefined) this.removed.delete(history);
    }
    this.next = end;
    if (end < histories.length) return false;
    writer.uvarint(this.leases.length);
    for (const { id, ttl } of this.leases) writer.int64(id).uvarint(ttl);
    writeAlarms(writer, this.alarms);
    this.bytes = writer.finish();
    this.release();
    return true;
  }

  /** The snapshot bytes, once `step` returned true. */
  result(): Uint8Array {
    if (this.bytes === undefined) throw new Error('snapshot: the encoding is not finished');
    return this.bytes;
  }

  /** Stops the encoding and lets go of the store. */
  cancel(): void {
    this.release();
  }

  private release(): void {
    this.stopObserving?.();
    this.stopObserving = undefined;
    this.removed.clear();
  }
}

/** How many of the records (ascending modRevision) are at or below the revision. */
function countAtOrBelow(records: readonly KeyRecord[], revision: Revision): number {
  let n = records.length;
  while (n > 0 && records[n - 1]!.modRevision > revision) n--;
  return n;
}
