// The replicated log as one peer sees it: entries after a compaction point, plus the indexes that say how far
// the log is committed, handed out for applying, and persisted ("stabled").
//
// Entries that are applied and on disk may also leave memory before any snapshot covers them (trimTo): only
// their terms stay, as runs. A leader that needs them for a follower that is behind has them read back from
// disk (setLoaded) instead of keeping every entry since the last snapshot on the heap, as etcd does.
import { termInRuns } from './term-runs.ts';
import type { Entry, Snapshot } from './types.ts';

/** Most read-back ranges kept at once: one per follower that is behind, for clusters of up to nine. */
const MAX_LOADED_RANGES = 8;

export class RaftLog {
  /** entries[i] has index memOffset + 1 + i. */
  private entries: Entry[] = [];
  /** Index and term of the entry just before the log: the compaction point (or a snapshot's index). */
  private offset: number;
  private offsetTerm: number;
  /** Entries in (offset, memOffset] are on disk only; their terms are in diskTerms. */
  private memOffset: number;
  /** Runs [first index, term] covering (offset, memOffset], oldest first. */
  private diskTerms: [number, number][] = [];
  /**
   * Entries in (offset, memOffset] read back from disk for followers that are behind: contiguous ranges, at most
   * MAX_LOADED_RANGES (followers at different points each need their own), oldest first. A read stops where an
   * earlier one starts (loadEnd), so they do not overlap.
   */
  private loaded: Entry[][] = [];
  committed: number;
  /** Highest index handed to the caller for applying (in a Ready). */
  applying: number;
  /** Highest index known to be on disk. */
  stabled: number;
  /** The latest snapshot, kept so that it can be sent to peers that are too far behind. */
  snapshot: Snapshot | undefined;
  /** A snapshot received from the leader that the caller has not yet persisted. */
  pendingSnapshot: Snapshot | undefined;

  constructor(snapshot: Snapshot | undefined, entries: Entry[], committed: number, applied: number) {
    this.snapshot = snapshot;
    this.offset = snapshot?.meta.index ?? 0;
    this.offsetTerm = snapshot?.meta.term ?? 0;
    this.memOffset = this.offset;
    for (const e of entries) {
      if (e.index <= this.offset) continue;
      if (e.index !== this.lastIndex() + 1) throw new Error(`persisted log has a gap before index ${e.index}`);
      this.entries.push(e);
    }
    this.committed = Math.max(committed, this.offset);
    this.applying = Math.max(applied, this.offset);
    this.stabled = this.lastIndex();
    if (this.committed > this.lastIndex()) throw new Error(`commit ${committed} is beyond the last index ${this.lastIndex()}`);
  }

  firstIndex(): number {
    return this.offset + 1;
  }

  lastIndex(): number {
    return this.memOffset + this.entries.length;
  }

  /** The first index whose entry is in memory (lastIndex() + 1 when none is). */
  memoryFirstIndex(): number {
    return this.memOffset + 1;
  }

  lastTerm(): number {
    return this.term(this.lastIndex())!;
  }

  /** Term of the entry at `index`, or undefined when it is compacted away or not there yet. */
  term(index: number): number | undefined {
    if (index === this.offset) return this.offsetTerm;
    if (index < this.offset || index > this.lastIndex()) return undefined;
    if (index > this.memOffset) return this.entries[index - this.memOffset - 1]!.term;
    return termInRuns(this.diskTerms, index);
  }

  matchTerm(index: number, term: number): boolean {
    return this.term(index) === term;
  }

  /** Raft §5.4.1: a candidate's log is at least as up-to-date as ours. */
  isUpToDate(lastIndex: number, lastTerm: number): boolean {
    const ourTerm = this.lastTerm();
    return lastTerm > ourTerm || (lastTerm === ourTerm && lastIndex >= this.lastIndex());
  }

  /**
   * The follower side of AppendEntries: if our log has (prevIndex, prevTerm), append `ents`, dropping any
   * conflicting suffix, and commit up to what the leader said (but never past what we know matches).
   * Returns the index of the last new entry, or undefined when the consistency check fails.
   */
  maybeAppend(prevIndex: number, prevTerm: number, commit: number, ents: Entry[]): number | undefined {
    if (!this.matchTerm(prevIndex, prevTerm)) return undefined;
    const lastNew = prevIndex + ents.length;
    const conflict = this.findConflict(ents);
    if (conflict !== 0) {
      if (conflict <= this.committed) throw new Error(`entry ${conflict} conflicts with a committed entry`);
      this.append(ents.slice(conflict - (prevIndex + 1)));
    }
    this.commitTo(Math.min(commit, lastNew));
    return lastNew;
  }

  /** Index of the first entry of `ents` that is not already in our log with the same term; 0 if none. */
  private findConflict(ents: Entry[]): number {
    for (const e of ents) {
      if (e.index <= this.offset) continue; // covered by our snapshot: committed, so it matches
      if (!this.matchTerm(e.index, e.term)) return e.index;
    }
    return 0;
  }

  /**
   * Fast back-off: the largest index <= `index` whose term is <= `term`, with its term. The leader uses it to
   * skip a whole conflicting term in one round trip instead of one entry at a time.
   */
  findConflictByTerm(index: number, term: number): { index: number; term: number } {
    let i = Math.min(index, this.lastIndex());
    for (;;) {
      const t = this.term(i);
      if (t === undefined) return { index: i, term: 0 };
      if (t <= term) return { index: i, term: t };
      i--;
    }
  }

  /** Appends entries, replacing everything from the first one's index on. */
  append(ents: Entry[]): void {
    if (ents.length === 0) return;
    const after = ents[0]!.index - 1;
    if (after < this.committed) throw new Error(`cannot overwrite committed entry ${after + 1}`);
    if (after < this.memOffset) throw new Error(`cannot append at ${after + 1} before the entries in memory (from ${this.memOffset + 1})`);
    this.entries.length = after - this.memOffset;
    for (const e of ents) this.entries.push(e);
    // Rewritten entries must be persisted again.
    if (this.stabled > after) this.stabled = after;
  }

  commitTo(index: number): void {
    if (index > this.committed) {
      if (index > this.lastIndex()) throw new Error(`commit ${index} is beyond the last index ${this.lastIndex()}`);
      this.committed = index;
    }
  }

  /** Entries [lo, hi) held in memory, at most maxBytes of data (but always at least one entry). */
  slice(lo: number, hi: number, maxBytes = Infinity): Entry[] {
    if (lo < this.firstIndex()) throw new Error(`entries before ${this.firstIndex()} are compacted`);
    if (lo <= this.memOffset) throw new Error(`entries before ${this.memOffset + 1} are on disk only`);
    return takeUpTo(this.entries, lo - this.memOffset - 1, Math.min(hi, this.lastIndex() + 1) - lo, maxBytes);
  }

  /**
   * Entries [lo, hi) to send to a follower, at most maxBytes (at least one entry): from memory, or from what was
   * read back from disk (possibly fewer than asked, up to the end of that range). Undefined when `lo` is on disk
   * only and not read back: the caller asks for it to be loaded.
   */
  sliceToSend(lo: number, hi: number, maxBytes: number): Entry[] | undefined {
    if (lo > this.memOffset) return this.slice(lo, hi, maxBytes);
    for (const range of this.loaded) {
      const first = range[0]!.index;
      if (lo >= first && lo < first + range.length) return takeUpTo(range, lo - first, Math.min(hi, first + range.length) - lo, maxBytes);
    }
    return undefined;
  }

  /**
   * Entries read back from disk, from index `lo`, for sliceToSend(). Only those that are still on disk only and
   * match this log's terms are kept, up to the first that does not (a compaction may have removed some).
   */
  setLoaded(lo: number, ents: readonly Entry[]): void {
    const kept: Entry[] = [];
    for (const e of ents) {
      if (e.index !== lo + kept.length || e.index <= this.offset || e.index > this.memOffset || this.term(e.index) !== e.term) break;
      kept.push(e);
    }
    if (kept.length === 0) return;
    this.loaded.push(kept);
    if (this.loaded.length > MAX_LOADED_RANGES) this.loaded.shift();
  }

  /** Where the next read-back should stop: the first index above `lo` already read back (or memory's start). */
  loadEnd(lo: number): number {
    let end = this.memOffset + 1;
    for (const r of this.loaded) if (r[0]!.index > lo && r[0]!.index < end) end = r[0]!.index;
    return end;
  }

  /** How many read-back entries are held. */
  loadedCount(): number {
    let n = 0;
    for (const r of this.loaded) n += r.length;
    return n;
  }

  /** Lets go of read-back entries below `index` (every follower is past them). */
  dropLoadedBelow(index: number): void {
    if (this.loaded.length === 0) return;
    this.loaded = this.loaded.map((r) => (r[0]!.index >= index ? r : r.slice(index - r[0]!.index))).filter((r) => r.length > 0);
  }

  /** Drops entries up to `index` from memory; they must be applied and on disk. Their terms stay known. */
  trimTo(index: number): void {
    index = Math.min(index, this.applying, this.stabled);
    if (index <= this.memOffset) return;
    const runs = this.diskTerms;
    for (let i = this.memOffset + 1; i <= index; i++) {
      const term = this.entries[i - this.memOffset - 1]!.term;
      if (runs.length === 0 || runs[runs.length - 1]![1] !== term) runs.push([i, term]);
    }
    this.entries = this.entries.slice(index - this.memOffset);
    this.memOffset = index;
  }

  unstableEntries(): Entry[] {
    return this.stabled >= this.lastIndex() ? [] : this.slice(this.stabled + 1, this.lastIndex() + 1);
  }

  hasNextCommitted(): boolean {
    return this.committed > this.applying;
  }

  nextCommittedEntries(): Entry[] {
    return this.hasNextCommitted() ? this.slice(this.applying + 1, this.committed + 1) : [];
  }

  /** The caller persisted entries up to (index, term); ignored if the log changed under it meanwhile. */
  stableTo(index: number, term: number): void {
    if (index > this.stabled && this.matchTerm(index, term)) this.stabled = index;
  }

  stableSnapshotTo(index: number): void {
    if (this.pendingSnapshot && this.pendingSnapshot.meta.index === index) this.pendingSnapshot = undefined;
  }

  /** Replaces the whole log with a snapshot received from the leader. */
  restore(snapshot: Snapshot): void {
    this.entries = [];
    this.diskTerms = [];
    this.loaded = [];
    this.offset = snapshot.meta.index;
    this.memOffset = snapshot.meta.index;
    this.offsetTerm = snapshot.meta.term;
    this.committed = snapshot.meta.index;
    this.applying = snapshot.meta.index;
    this.stabled = snapshot.meta.index;
    this.snapshot = snapshot;
    this.pendingSnapshot = snapshot;
  }

  /** Records a snapshot the caller took and drops the entries up to `compactTo` (<= the snapshot index). */
  compact(snapshot: Snapshot, compactTo: number): void {
    this.snapshot = snapshot;
    if (compactTo <= this.offset) return;
    const term = this.term(compactTo);
    if (term === undefined) throw new Error(`cannot compact to ${compactTo}: not in the log`);
    if (compactTo > this.memOffset) {
      this.entries = this.entries.slice(compactTo - this.memOffset);
      this.memOffset = compactTo;
      this.diskTerms = [];
    } else {
      // Runs wholly at or below compactTo go; the one straddling it now starts after it.
      let drop = 0;
      while (drop + 1 < this.diskTerms.length && this.diskTerms[drop + 1]![0] <= compactTo + 1) drop++;
      this.diskTerms = this.diskTerms.slice(drop);
      if (compactTo === this.memOffset) this.diskTerms = [];
      else this.diskTerms[0] = [compactTo + 1, this.diskTerms[0]![1]];
    }
    this.dropLoadedBelow(compactTo + 1);
    this.offset = compactTo;
    this.offsetTerm = term;
  }
}

/** Up to `count` entries of `from` starting at `at`, at most maxBytes of data (but at least one entry). */
function takeUpTo(from: readonly Entry[], at: number, count: number, maxBytes: number): Entry[] {
  const out: Entry[] = [];
  let bytes = 0;
  for (let i = at; i < at + count; i++) {
    const e = from[i]!;
    bytes += e.data.byteLength + 16;
    if (out.length > 0 && bytes > maxBytes) break;
    out.push(e);
  }
  return out;
}
