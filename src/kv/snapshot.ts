// Snapshot and restore of the whole replicated state, for Raft snapshots: the store revision, the
// compaction point, every key's surviving history and the lease table. The encoding is canonical (keys in
// byte order, leases in id order), so equal states give equal bytes and `hashState` can compare peers.
// Lease attachments are not stored: they follow from each key's latest record and are rebuilt on restore.
// The watch index (keys per revision) is rebuilt from the records as well.

import { ByteReader, ByteWriter } from './binary.ts';
import { digest64 } from './hash.ts';
import { LeaseTable } from './lease.ts';
import { isTombstone, MvccStore, type KeyHistory, type KeyRecord } from './mvcc-store.ts';
import { toKeyString } from './bytes.ts';
import { NO_LEASE } from './types.ts';

const MAGIC = [0x52, 0x4c, 0x4b, 0x56]; // "RLKV"
const SNAPSHOT_VERSION = 1;

export interface ReplicatedState {
  /** Index of the last log entry applied to this state. */
  appliedIndex: number;
  store: MvccStore;
  leases: LeaseTable;
}

export function encodeSnapshot(state: ReplicatedState): Uint8Array {
  const writer = new ByteWriter();
  for (const byte of MAGIC) writer.byte(byte);
  writer.byte(SNAPSHOT_VERSION).uvarint(state.appliedIndex);
  writeBody(writer, state.store, state.leases);
  return writer.finish();
}

export function decodeSnapshot(data: Uint8Array, minLeaseTtlSeconds: number): ReplicatedState {
  const reader = new ByteReader(data);
  for (const byte of MAGIC) if (reader.byte() !== byte) throw new Error('snapshot: not a Raft Lab KV snapshot');
  const version = reader.byte();
  if (version !== SNAPSHOT_VERSION) throw new Error(`snapshot: unsupported version ${version}`);
  const appliedIndex = reader.uvarint();
  const store = new MvccStore();
  const leases = new LeaseTable(minLeaseTtlSeconds);
  const current = reader.int();
  const compacted = reader.int();
  const keyCount = reader.uvarint();
  for (let k = 0; k < keyCount; k++) {
    const keyBytes = reader.bytes(); // a fresh copy: the store keeps it
    const key = toKeyString(keyBytes);
    const recordCount = reader.uvarint();
    let history: KeyHistory | undefined;
    for (let r = 0; r < recordCount; r++) {
      const record: KeyRecord = {
        modRevision: reader.uvarint(),
        sub: reader.uvarint(),
        createRevision: reader.uvarint(),
        version: reader.uvarint(),
        value: reader.bytes(),
        lease: reader.int64(),
      };
      // The first record looks the key up (a corrupt snapshot could repeat a key); the rest reuse its history.
      history = history === undefined ? store.appendRecord(key, record, keyBytes) : store.appendTo(history, key, record);
    }
  }
  store.restoreRevisions(current, compacted);
  const leaseCount = reader.uvarint();
  for (let i = 0; i < leaseCount; i++) {
    const id = reader.int64();
    const ttl = reader.uvarint();
    leases.grant(id, ttl);
  }
  reader.expectEnd();
  for (const history of store.allHistories()) {
    const latest = history.latest()!;
    if (!isTombstone(latest) && latest.lease !== NO_LEASE) leases.attach(latest.lease, history.key);
  }
  return { appliedIndex, store, leases };
}

/** A digest of the replicated state (revision, compaction point, history, leases), not of the applied index. */
export function hashState(store: MvccStore, leases: LeaseTable): string {
  const writer = new ByteWriter();
  writeBody(writer, store, leases);
  return digest64(writer.finish());
}

function writeBody(writer: ByteWriter, store: MvccStore, leases: LeaseTable): void {
  writer.int(store.currentRevision).int(store.compactRevision);
  writer.uvarint(store.indexedKeyCount);
  for (const history of store.allHistories()) {
    writer.bytes(history.keyBytes).uvarint(history.records.length);
    for (const record of history.records) {
      writer
        .uvarint(record.modRevision)
        .uvarint(record.sub)
        .uvarint(record.createRevision)
        .uvarint(record.version)
        .bytes(record.value)
        .int64(record.lease);
    }
  }
  const ids = leases.ids();
  writer.uvarint(ids.length);
  for (const id of ids) writer.int64(id).uvarint(leases.ttlOf(id)!);
}
