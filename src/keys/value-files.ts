// Key values as files: read, write with conflict detection by mod revision, delete, and a key's history.
// The VS Code FileSystemProvider (src/extension/value-fs.ts) is a thin layer over this. No `vscode` here.
//
// A value file remembers the mod revision it was read at (its base). Saving writes only if the key still has
// that mod revision (a txn compare), so a change made on the cluster meanwhile is never overwritten silently:
// the save fails with a ConflictError naming both revisions, and the user picks Overwrite or Compare.
import { displayBytes, toHex } from './bytes.ts';
import { isCompactedError, type KeyValue, type KvSource } from './kv-source.ts';
import { roundTripsAsText } from './text-round-trip.ts';

export class ConflictError extends Error {
  constructor(
    readonly key: Uint8Array,
    readonly baseModRevision: number,
    readonly current: KeyValue | undefined,
  ) {
    super(
      current
        ? `${displayBytes(key)} changed on the cluster since you opened it (mod revision ${baseModRevision} → ${current.modRevision}); overwrite it or compare first`
        : baseModRevision === 0
          ? `${displayBytes(key)} was created on the cluster since you opened it (now at a newer revision); overwrite it or compare first`
          : `${displayBytes(key)} was deleted on the cluster since you opened it (mod revision ${baseModRevision}); overwrite to create it again`,
    );
    this.name = 'ConflictError';
  }
}

export class KeyNotFoundError extends Error {
  constructor(readonly key: Uint8Array, revision?: number) {
    super(`${displayBytes(key)} does not exist${revision ? ` at revision ${revision}` : ''}`);
    this.name = 'KeyNotFoundError';
  }
}

/** The file was read from a value that is not text: what the editor holds is not those bytes. */
export class NotTextError extends Error {
  constructor(readonly key: Uint8Array) {
    super(`${displayBytes(key)} holds bytes that are not UTF-8 text, which the editor cannot keep; saving would corrupt them, so nothing was written (write it with etcdctl or Put Key)`);
    this.name = 'NotTextError';
  }
}

export interface HistoryEntry {
  kv: KeyValue;
}

export interface History {
  /** Newest first: the current value, then each earlier version back to the key's creation or compaction. */
  entries: HistoryEntry[];
  /** Earlier versions exist but were compacted away. */
  compacted: boolean;
  /** Stopped at the limit. */
  truncated: boolean;
}

export class ValueFiles {
  private readonly bases = new Map<string, number>();
  /** Keys whose file was read from bytes that do not round-trip as text (see write). */
  private readonly notText = new Set<string>();

  constructor(readonly source: KvSource) {}

  /**
   * The same files through a new connection to the same cluster (stopped and started again, or reconnected):
   * the editors still open keep their bases, so a save compares against what they were read from rather than
   * taking every open file for a conflict.
   */
  reconnected(source: KvSource): ValueFiles {
    const files = new ValueFiles(source);
    for (const [key, base] of this.bases) files.bases.set(key, base);
    for (const key of this.notText) files.notText.add(key);
    return files;
  }

  /** The key now (or at `revision`), or undefined when it does not exist. */
  async get(key: Uint8Array, revision?: number): Promise<KeyValue | undefined> {
    const res = await this.source.range({ key, ...(revision ? { revision } : {}) });
    return res.kvs[0];
  }

  /** Reads the value a file shows; remembers its mod revision as the base for the next save. */
  async read(key: Uint8Array, revision?: number): Promise<KeyValue> {
    const kv = await this.get(key, revision);
    if (!kv) throw new KeyNotFoundError(key, revision);
    if (!revision) {
      this.bases.set(toHex(key), kv.modRevision);
      if (roundTripsAsText(kv.value)) this.notText.delete(toHex(key));
      else this.notText.add(toHex(key));
    }
    return kv;
  }

  /** The mod revision the next save compares against (0: the file was new). */
  base(key: Uint8Array): number | undefined {
    return this.bases.get(toHex(key));
  }

  /**
   * Sets the base (the user chose to overwrite from this revision). Bases are kept after a file closes: VS Code
   * closes and reopens a document to change its language, without reading it again; a reopened file reads anew.
   */
  setBase(key: Uint8Array, modRevision: number): void {
    this.bases.set(toHex(key), modRevision);
  }

  /**
   * Saves a value. With a base, writes only if the key still has that mod revision; without one (a file never
   * read), creates the key only if it does not exist. Throws ConflictError otherwise, and NotTextError when the
   * file was read from a value that is not text (the editor replaced its bytes).
   */
  async write(key: Uint8Array, value: Uint8Array): Promise<{ modRevision: number }> {
    if (this.notText.has(toHex(key))) throw new NotTextError(key);
    const base = this.bases.get(toHex(key)) ?? 0;
    const res = await this.source.putIfModRevision(key, value, base);
    if (!res.succeeded) throw new ConflictError(key, base, res.current);
    this.bases.set(toHex(key), res.revision);
    return { modRevision: res.revision };
  }

  /** Writes whatever the key holds now (Overwrite). */
  async overwrite(key: Uint8Array, value: Uint8Array): Promise<{ modRevision: number }> {
    const res = await this.source.put(key, value);
    this.bases.set(toHex(key), res.revision);
    return { modRevision: res.revision };
  }

  async delete(key: Uint8Array): Promise<number> {
    const res = await this.source.deleteRange(key);
    this.bases.delete(toHex(key));
    return res.deleted;
  }

  /** The key's versions, newest first, walking back through mod revisions until its creation or compaction. */
  async history(key: Uint8Array, max = 100): Promise<History> {
    const entries: HistoryEntry[] = [];
    let kv = await this.get(key);
    if (!kv) return { entries, compacted: false, truncated: false };
    for (;;) {
      entries.push({ kv });
      if (kv.version <= 1 || kv.modRevision <= 1) return { entries, compacted: false, truncated: false };
      if (entries.length >= max) return { entries, compacted: false, truncated: true };
      let prev: KeyValue | undefined;
      try {
        prev = await this.get(key, kv.modRevision - 1);
      } catch (err) {
        if (isCompactedError(err)) return { entries, compacted: true, truncated: false };
        throw err;
      }
      if (!prev) return { entries, compacted: false, truncated: false };
      kv = prev;
    }
  }
}
