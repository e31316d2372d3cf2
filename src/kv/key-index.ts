// The store's ordered key index: items (key histories) in key order, held as a list of sorted chunks of at
// most MAX_CHUNK items. Adding a key costs a binary search over the chunks, a binary search inside one chunk
// and a splice of at most MAX_CHUNK slots, so it does not grow with the number of keys (a flat sorted array
// moves half of all keys on every insert). An ordered scan finds its first chunk by binary search and then
// walks chunk by chunk. The layout depends only on the sequence of inserts and removals, so peers that apply
// the same entries hold the same index (not that it matters for results: only the key order is observable).

import type { KeyString } from './bytes.ts';

/** A chunk is split in two when it grows past this size. */
const MAX_CHUNK = 512;
/** Chunk size when the index is rebuilt after removals. */
const REBUILT_CHUNK = MAX_CHUNK / 2;

export interface Keyed {
  readonly key: KeyString;
}

export class KeyIndex<T extends Keyed> {
  /** Non-empty sorted chunks; every key of chunk i is below every key of chunk i + 1. */
  private chunks: T[][] = [];
  private count = 0;

  get size(): number {
    return this.count;
  }

  /** Adds an item whose key is not in the index yet. */
  insert(item: T): void {
    const key = item.key;
    const chunks = this.chunks;
    this.count++;
    if (chunks.length === 0) {
      chunks.push([item]);
      return;
    }
    // The first chunk whose last key is >= key; keys above every key go to the last chunk.
    let c = chunkAtOrAfter(chunks, key);
    if (c === chunks.length) c--;
    const chunk = chunks[c]!;
    const at = lowerBound(chunk, key);
    if (at === chunk.length) chunk.push(item);
    else chunk.splice(at, 0, item);
    if (chunk.length > MAX_CHUNK) chunks.splice(c + 1, 0, chunk.splice(chunk.length >> 1));
  }

  /**
   * Visits the items with keys in [start, end) in key order (`end === ''`: no upper bound). The index must
   * not be changed during the visit.
   */
  scan(start: KeyString, end: KeyString, visit: (item: T) => void): void {
    const chunks = this.chunks;
    let c = chunkAtOrAfter(chunks, start);
    if (c === chunks.length) return;
    let i = lowerBound(chunks[c]!, start);
    const bounded = end !== '';
    for (; c < chunks.length; c++, i = 0) {
      const chunk = chunks[c]!;
      for (; i < chunk.length; i++) {
        const item = chunk[i]!;
        if (bounded && item.key >= end) return;
        visit(item);
      }
    }
  }

  /** Every item in key order. */
  *[Symbol.iterator](): IterableIterator<T> {
    for (const chunk of this.chunks) yield* chunk;
  }

  /** Every item in key order, as a new array. */
  toArray(): T[] {
    const all = new Array<T>(this.count);
    let at = 0;
    for (const chunk of this.chunks) for (const item of chunk) all[at++] = item;
    return all;
  }

  /** Keeps only the items for which `keep` is true (the order of the rest is unchanged). */
  retain(keep: (item: T) => boolean): void {
    const kept: T[] = [];
    for (const chunk of this.chunks) {
      for (const item of chunk) if (keep(item)) kept.push(item);
    }
    if (kept.length === this.count) return;
    const chunks: T[][] = [];
    for (let i = 0; i < kept.length; i += REBUILT_CHUNK) chunks.push(kept.slice(i, i + REBUILT_CHUNK));
    this.chunks = chunks;
    this.count = kept.length;
  }
}

/** Index of the first chunk whose last key is >= key (chunks.length if there is none). */
function chunkAtOrAfter<T extends Keyed>(chunks: readonly T[][], key: KeyString): number {
  let lo = 0;
  let hi = chunks.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    const chunk = chunks[mid]!;
    if (chunk[chunk.length - 1]!.key < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** First index whose key is >= key. */
function lowerBound<T extends Keyed>(items: readonly T[], key: KeyString): number {
  let lo = 0;
  let hi = items.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (items[mid]!.key < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
