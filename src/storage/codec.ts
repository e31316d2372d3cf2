// Byte layouts of what a peer keeps in LevelDB. Fixed-width big-endian numbers keep keys sorted by index.
import type { ConfState, Entry, EntryType, HardState, Snapshot, SnapshotMeta } from '../raft/types.ts';

const ENTRY_TYPES: EntryType[] = ['normal', 'confChange'];
// Format 1 kept one record per log entry under entryKey; folders written so are still read (see segments below).
export const ENTRY_PREFIX = 0x65; // 'e'

export function entryKey(index: number): Uint8Array {
  return logKey(ENTRY_PREFIX, index);
}

/** [prefix u8][index u64 big-endian]: the keys of both log layouts. */
function logKey(prefix: number, index: number): Uint8Array {
  const key = new Uint8Array(9);
  key[0] = prefix;
  new DataView(key.buffer).setBigUint64(1, BigInt(index));
  return key;
}

/** [term f64][index f64][type u8][data] */
export function encodeEntry(e: Entry): Uint8Array {
  const out = new Uint8Array(17 + e.data.byteLength);
  writeEntry(new DataView(out.buffer), out, 0, e);
  return out;
}

function writeEntry(view: DataView, out: Uint8Array, at: number, e: Entry): void {
  view.setFloat64(at, e.term);
  view.setFloat64(at + 8, e.index);
  out[at + 16] = ENTRY_TYPES.indexOf(e.type);
  out.set(e.data, at + 17);
}

export function decodeEntry(bytes: Uint8Array): Entry {
  if (bytes.byteLength < 17 || bytes[16]! >= ENTRY_TYPES.length) throw new CorruptDataError('a log entry is malformed');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return { term: view.getFloat64(0), index: view.getFloat64(8), type: ENTRY_TYPES[bytes[16]!]!, data: bytes.slice(17) };
}

// A segment holds the consecutive entries of one Ready in one record, so a write costs one LevelDB op however
// many entries it carries (per-op marshalling dominated the write path). The key is the first index; a later
// segment whose first index falls inside an earlier one supersedes that one's entries from there on (a
// rewritten suffix), which keeps a rewrite from having to rewrite the older record.
export const SEGMENT_PREFIX = 0x6c; // 'l', after ENTRY_PREFIX: folders written before segments still hold 'e' keys

export function segmentKey(first: number): Uint8Array {
  return logKey(SEGMENT_PREFIX, first);
}

/** The first index a key of either log layout (an old per-entry key, or a segment's) stands for. */
export function logKeyIndex(key: Uint8Array): number {
  if (key.byteLength !== 9 || (key[0] !== ENTRY_PREFIX && key[0] !== SEGMENT_PREFIX)) throw new CorruptDataError('a log key is malformed');
  return Number(new DataView(key.buffer, key.byteOffset, 9).getBigUint64(1));
}

/** [count u32] then per entry [length u32][entry as encodeEntry lays it out]; entries are consecutive. */
export function encodeSegment(entries: readonly Entry[]): Uint8Array {
  let size = 4;
  for (let i = 0; i < entries.length; i++) {
    // decodeSegment would refuse the record: fail the write rather than leave an unreadable folder.
    if (entries[i]!.index !== entries[0]!.index + i) throw new Error(`log entries to save are not consecutive at index ${entries[i]!.index}`);
    size += 4 + 17 + entries[i]!.data.byteLength;
  }
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  view.setUint32(0, entries.length);
  let at = 4;
  for (const e of entries) {
    view.setUint32(at, 17 + e.data.byteLength);
    writeEntry(view, out, at + 4, e);
    at += 4 + 17 + e.data.byteLength;
  }
  return out;
}

/** The entries of the segment stored under first index `first`; anything inconsistent is corruption. */
export function decodeSegment(first: number, bytes: Uint8Array): Entry[] {
  const bad = () => new CorruptDataError(`the log segment at index ${first} is malformed`);
  if (bytes.byteLength < 4) throw bad();
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const count = view.getUint32(0);
  if (count === 0) throw bad();
  const entries: Entry[] = [];
  let at = 4;
  for (let i = 0; i < count; i++) {
    if (at + 4 > bytes.byteLength) throw bad();
    const len = view.getUint32(at);
    if (at + 4 + len > bytes.byteLength) throw bad();
    const e = decodeEntry(bytes.subarray(at + 4, at + 4 + len));
    if (e.index !== first + i) throw bad();
    entries.push(e);
    at += 4 + len;
  }
  if (at !== bytes.byteLength) throw bad();
  return entries;
}

export function encodeHardState(hs: HardState): Uint8Array {
  const out = new Uint8Array(24);
  const view = new DataView(out.buffer);
  view.setFloat64(0, hs.term);
  view.setFloat64(8, hs.vote);
  view.setFloat64(16, hs.commit);
  return out;
}

export function decodeHardState(bytes: Uint8Array): HardState {
  if (bytes.byteLength !== 24) throw new CorruptDataError('the hard state record is malformed');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return { term: view.getFloat64(0), vote: view.getFloat64(8), commit: view.getFloat64(16) };
}

/** [meta length u32][meta JSON][data] */
export function encodeSnapshot(s: Snapshot): Uint8Array {
  const meta = new TextEncoder().encode(JSON.stringify(s.meta));
  const out = new Uint8Array(4 + meta.byteLength + s.data.byteLength);
  new DataView(out.buffer).setUint32(0, meta.byteLength);
  out.set(meta, 4);
  out.set(s.data, 4 + meta.byteLength);
  return out;
}

export function decodeSnapshot(bytes: Uint8Array): Snapshot {
  try {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const len = view.getUint32(0);
    const meta = JSON.parse(new TextDecoder().decode(bytes.subarray(4, 4 + len))) as { index: number; term: number; confState: ConfState };
    if (typeof meta.index !== 'number' || !Array.isArray(meta.confState?.voters)) throw new Error('bad snapshot metadata');
    return { meta, data: bytes.slice(4 + len) };
  } catch (err) {
    throw new CorruptDataError(`the snapshot record is malformed (${(err as Error).message})`);
  }
}

/**
 * A snapshot kept in a file beside the database: the database's snapshot record then names the file instead of
 * holding the data (JSON, so its first byte '{' tells it from the inline layout, whose first byte is 0).
 */
export interface SnapshotRef {
  meta: SnapshotMeta;
  file: string;
  bytes: number;
}

export function encodeSnapshotRef(ref: SnapshotRef): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(ref));
}

export function isSnapshotRef(bytes: Uint8Array): boolean {
  return bytes[0] === 0x7b;
}

export function decodeSnapshotRef(bytes: Uint8Array): SnapshotRef {
  try {
    const ref = JSON.parse(new TextDecoder().decode(bytes)) as SnapshotRef;
    if (typeof ref.file !== 'string' || !/^snapshot-[0-9a-z-]+\.snap$/.test(ref.file) || typeof ref.bytes !== 'number') throw new Error('bad file reference');
    if (typeof ref.meta?.index !== 'number' || !Array.isArray(ref.meta.confState?.voters)) throw new Error('bad snapshot metadata');
    return ref;
  } catch (err) {
    throw new CorruptDataError(`the snapshot record is malformed (${(err as Error).message})`);
  }
}

export class CorruptDataError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CorruptDataError';
  }
}
