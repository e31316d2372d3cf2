// Byte helpers. Keys are arbitrary bytes compared as unsigned bytes, as etcd does.
//
// Inside the store a key is held as a "key string": one UTF-16 code unit per byte (0..255). JavaScript
// compares strings code unit by code unit, so `<` on key strings is exactly unsigned lexicographic byte order,
// and the strings work as Map keys. Conversion happens only at the store's edges.

export type KeyString = string;

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder();

export const EMPTY_BYTES: Uint8Array = new Uint8Array(0);

/** UTF-8 bytes of a string (handy in tests and for etcdctl-style keys). */
export function utf8(text: string): Uint8Array {
  return textEncoder.encode(text);
}

/** Decodes UTF-8 bytes, replacing invalid sequences. For display only: keys are bytes, not text. */
export function fromUtf8(bytes: Uint8Array): string {
  return textDecoder.decode(bytes);
}

/** Longest run of bytes converted by one fromCharCode call (below engines' argument count limits). */
const KEY_STRING_CHUNK = 8192;

export function toKeyString(bytes: Uint8Array): KeyString {
  // fromCharCode takes the bytes as its arguments: each byte 0..255 becomes one code unit of that value.
  // `apply` reads the typed array directly (spreading it would go through its iterator).
  if (bytes.length <= KEY_STRING_CHUNK) return String.fromCharCode.apply(null, bytes as unknown as number[]);
  let out = '';
  for (let i = 0; i < bytes.length; i += KEY_STRING_CHUNK) {
    out += String.fromCharCode.apply(null, bytes.subarray(i, i + KEY_STRING_CHUNK) as unknown as number[]);
  }
  return out;
}

export function fromKeyString(key: KeyString): Uint8Array {
  const out = new Uint8Array(key.length);
  for (let i = 0; i < key.length; i++) out[i] = key.charCodeAt(i);
  return out;
}

/** Unsigned lexicographic comparison: negative, zero or positive. */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = a[i]! - b[i]!;
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * The range_end that selects every key with this prefix: the prefix with its last byte below 0xff
 * incremented (trailing 0xff bytes dropped). A prefix of only 0xff bytes (or empty) gives `\0`: every key
 * from the prefix on, as etcd's clientv3.GetPrefixRangeEnd does.
 */
export function prefixRangeEnd(prefix: Uint8Array): Uint8Array {
  for (let i = prefix.length - 1; i >= 0; i--) {
    if (prefix[i]! < 0xff) {
      const end = prefix.slice(0, i + 1);
      end[i]! += 1;
      return end;
    }
  }
  return new Uint8Array([0]);
}

/**
 * A key interval as the store reads it. `end === undefined` means the single key `start`; `end === ''` means
 * no upper bound (etcd's range_end `\0`); otherwise keys in [start, end).
 */
export interface KeyBounds {
  start: KeyString;
  end: KeyString | undefined;
}

/** etcd's reading of (key, range_end): empty range_end = one key, `\0` = every key >= key. */
export function boundsOf(key: Uint8Array, rangeEnd: Uint8Array | undefined): KeyBounds {
  const start = toKeyString(key);
  if (rangeEnd === undefined || rangeEnd.length === 0) return { start, end: undefined };
  if (rangeEnd.length === 1 && rangeEnd[0] === 0) return { start, end: '' };
  return { start, end: toKeyString(rangeEnd) };
}

export function boundsContain(bounds: KeyBounds, key: KeyString): boolean {
  if (bounds.end === undefined) return key === bounds.start;
  if (key < bounds.start) return false;
  return bounds.end === '' || key < bounds.end;
}

/** Whether two intervals share at least one key. */
export function boundsOverlap(a: KeyBounds, b: KeyBounds): boolean {
  if (a.end === undefined) return boundsContain(b, a.start);
  if (b.end === undefined) return boundsContain(a, b.start);
  const aEndsBeforeB = a.end !== '' && a.end <= b.start;
  const bEndsBeforeA = b.end !== '' && b.end <= a.start;
  const aEmpty = a.end !== '' && a.end <= a.start;
  const bEmpty = b.end !== '' && b.end <= b.start;
  return !aEndsBeforeB && !bEndsBeforeA && !aEmpty && !bEmpty;
}
