// The replicated log as one peer sees it: entries after a compaction point, plus the indexes that say how far
// the log is committed, handed out for applying, and persisted ("stabled").
import type { Entry, Snapshot } from './types.ts';

export class RaftLog {
  /** entries[i] has index offset + 1 + i. */
  private entries: Entry[] = [];
  /** Index and term of the entry just before entries[0]: the compaction point (or a snapshot's index). */
  private offset: number;
  private offsetTerm: number;
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
    return this.offset + this.entries.length;
  }

  lastTerm(): number {
    return this.term(this.lastIndex())!;
  }

  /** Term of the entry at `index`, or undefined when it is compacted away or not there yet. */
  term(index: number): number | undefined {
    if (index === this.offset) return this.offsetTerm;
    if (index < this.offset || index > this.lastIndex()) return undefined;
    return this.entries[index - this.offset - 1]!.term;
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
    if (after < this.offset) throw new Error(`cannot append at ${after + 1} before the log start ${this.offset + 1}`);
    this.entries.length = after - this.offset;
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

  /** Entries [lo, hi), at most maxBytes of data (but always at least one entry). */
  slice(lo: number, hi: number, maxBytes = Infinity): Entry[] {
    if (lo < this.firstIndex()) throw new Error(`entries before ${this.firstIndex()} are compacted`);
    hi = Math.min(hi, this.lastIndex() + 1);
    const out: Entry[] = [];
    let bytes = 0;
    for (let i = lo; i < hi; i++) {
      const e = this.entries[i - this.offset - 1]!;
      bytes += e.data.byteLength + 16;
      if (out.length > 0 && bytes > maxBytes) break;
      out.push(e);
    }
    return out;
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
    this.offset = snapshot.meta.index;
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
    this.entries = this.entries.slice(compactTo - this.offset);
    this.offset = compactTo;
    this.offsetTerm = term;
  }
}
