// One peer's simulated disk: hard state, latest snapshot and the log entries after it. It survives crashes;
// everything else a peer holds does not. A restart reads PersistedState back from here.
import type { Entry, HardState, PersistedState, Snapshot } from '../../src/raft/types.ts';

export class Disk {
  hardState: HardState = { term: 0, vote: 0, commit: 0 };
  snapshot: Snapshot | undefined;
  /** Contiguous entries; entries[0].index === this.snapIndex() + 1. */
  entries: Entry[] = [];
  /** Entries at or below the snapshot index that a compaction kept (as the peer's log keeps them), contiguous
   *  up to it: a leader may read them back for a follower. A restart does not load them. */
  kept: Entry[] = [];

  static from(ps: PersistedState): Disk {
    const d = new Disk();
    d.hardState = { ...ps.hardState };
    d.snapshot = ps.snapshot;
    d.entries = ps.entries.filter((e) => e.index > d.snapIndex());
    return d;
  }

  snapIndex(): number {
    return this.snapshot?.meta.index ?? 0;
  }

  lastIndex(): number {
    return this.snapIndex() + this.entries.length;
  }

  term(i: number): number | undefined {
    const s = this.snapIndex();
    if (i === s) return this.snapshot?.meta.term ?? 0;
    if (i < s || i > this.lastIndex()) return undefined;
    return this.entries[i - s - 1]!.term;
  }

  /**
   * A snapshot received from the leader: it replaces the log. Entries after it are kept only when the disk has
   * the snapshot's last entry with the same term (then they are consistent with it).
   */
  installSnapshot(snap: Snapshot): void {
    const keep = this.term(snap.meta.index) === snap.meta.term ? this.entries.filter((e) => e.index > snap.meta.index) : [];
    this.snapshot = snap;
    this.entries = keep;
    this.kept = [];
  }

  /** Our own snapshot (compaction): the entries it covers go, but for those after `keepAfter`. */
  compact(snap: Snapshot, keepAfter: number): void {
    if (snap.meta.index <= this.snapIndex()) return;
    this.kept = [...this.kept, ...this.entries].filter((e) => e.index > keepAfter && e.index <= snap.meta.index);
    this.entries = this.entries.filter((e) => e.index > snap.meta.index);
    this.snapshot = snap;
  }

  /**
   * Writes entries: the first one replaces any stored entry at or after its index. Entries at or below the
   * snapshot index are skipped. Returns false (writing nothing) when they would leave a gap.
   */
  append(ents: readonly Entry[]): boolean {
    if (ents.length === 0) return true;
    const s = this.snapIndex();
    let from = 0;
    while (from < ents.length && ents[from]!.index <= s) from++;
    if (from === ents.length) return true;
    const first = ents[from]!.index;
    if (first > this.lastIndex() + 1) return false;
    this.entries.length = first - s - 1;
    for (let i = from; i < ents.length; i++) this.entries.push(ents[i]!);
    return true;
  }

  /** Entries [lo, hi) still on the disk, up to maxBytes of data (at least one), as a leader's read-back gets them. */
  read(lo: number, hi: number, maxBytes: number): Entry[] {
    const out: Entry[] = [];
    let bytes = 0;
    for (const e of [...this.kept, ...this.entries]) {
      if (e.index < lo || e.index >= hi) continue;
      bytes += e.data.byteLength;
      if (out.length > 0 && bytes > maxBytes) break;
      out.push(e);
    }
    return out;
  }

  /** What a restarting peer reads back; the application state is the snapshot's, so applied = its index. */
  load(): PersistedState {
    const ps: PersistedState = {
      hardState: { ...this.hardState },
      entries: this.entries.slice(),
      applied: this.snapIndex(),
    };
    if (this.snapshot) ps.snapshot = this.snapshot;
    return ps;
  }
}
