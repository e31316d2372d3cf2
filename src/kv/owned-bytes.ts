// Stored values are views into shared 256 KB chunks (value-arena.ts). Where one would outlive the moment, or
// be cloned, it is copied to a buffer of its own first: results a peer posts to the main thread (cloning a
// Uint8Array clones the whole ArrayBuffer under it), and watch responses queued behind a slow client (each
// would keep its chunk alive until sent).

/** `value` with every Uint8Array that views part of a larger buffer replaced by a copy (plain data only). */
export function withOwnedBytes<T>(value: T): T {
  return own(value) as T;
}

function own(value: unknown): unknown {
  if (value instanceof Uint8Array) return value.byteLength === value.buffer.byteLength ? value : new Uint8Array(value); // a copy, also of a Buffer
  if (Array.isArray(value)) {
    let out: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const owned = own(value[i]);
      if (owned !== value[i]) (out ??= value.slice())[i] = owned;
    }
    return out ?? value;
  }
  if (value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    let out: Record<string, unknown> | undefined;
    for (const [k, v] of Object.entries(value)) {
      const owned = own(v);
      if (owned !== v) (out ??= { ...(value as Record<string, unknown>) })[k] = owned;
    }
    return out ?? value;
  }
  return value;
}
