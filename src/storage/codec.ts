// Byte layouts of what a peer keeps in LevelDB. Fixed-width big-endian numbers keep keys sorted by index.
import type { ConfState, Entry, EntryType, HardState, Snapshot } from '../raft/types.ts';

const ENTRY_TYPES: EntryType[] = ['normal', 'confChange'];
export const ENTRY_PREFIX = 0x65; // 'e'

export function entryKey(index: number): Uint8Array {
  const key = new Uint8Array(9);
  key[0] = ENTRY_PREFIX;
  new DataView(key.buffer).setBigUint64(1, BigInt(index));
  return key;
}

export function encodeEntry(e: Entry): Uint8Array {
  const out = new Uint8Array(17 + e.data.byteLength);
  const view = new DataView(out.buffer);
  view.setFloat64(0, e.term);
  view.setFloat64(8, e.index);
  out[16] = ENTRY_TYPES.indexOf(e.type);
  out.set(e.data, 17);
  return out;
}

export function decodeEntry(bytes: Uint8Array): Entry {
  if (bytes.byteLength < 17 || bytes[16]! >= ENTRY_TYPES.length) throw new CorruptDataError('a log entry is malformed');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return { term: view.getFloat64(0), index: view.getFloat64(8), type: ENTRY_TYPES[bytes[16]!]!, data: bytes.slice(17) };
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

export class CorruptDataError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CorruptDataError';
  }
}
