// Watches on one peer. The hub sees only applied entries: the state machine calls `notify` once per new
// revision with that revision's events, and the hub hands each watcher the ones it asked for. A watch that
// starts in the past is first brought up to date from the store's history, one batch per revision, then
// follows live revisions, so every revision's events arrive together, in order, exactly once.
//
// Delivery is synchronous: the sink runs inside `create`/`notify`. A sink must not apply entries itself;
// the gRPC layer queues batches per stream. Every watch's first batch is its `created` batch, and nothing is
// delivered for a watch after its `canceled` batch.

import { boundsContain, boundsOf, toKeyString, type KeyBounds } from './bytes.ts';
import { KV_ERRORS } from './errors.ts';
import type { KvEvent, Revision } from './types.ts';

export type WatchFilter = 'NOPUT' | 'NODELETE';

export interface WatchCreateOptions {
  key: Uint8Array;
  /** Empty: the single key. `\0`: every key >= key. Otherwise keys in [key, rangeEnd). */
  rangeEnd?: Uint8Array;
  /** First revision to report; 0 or absent: the next revision (current + 1). */
  startRevision?: Revision;
  /** Attach each event's previous value. */
  prevKv?: boolean;
  filters?: WatchFilter[];
}

/** One response for one watch, mirroring etcdserverpb.WatchResponse. */
export interface WatchBatch {
  watchId: number;
  /** The store revision when the batch was produced (the header revision). */
  revision: Revision;
  events: KvEvent[];
  created?: boolean;
  canceled?: boolean;
  /** Set when the watch was canceled because its start revision was compacted away. */
  compactRevision?: Revision;
  cancelReason?: string;
}

export type WatchSink = (batch: WatchBatch) => void;

/** What the hub reads from the store. */
export interface WatchHistory {
  readonly currentRevision: Revision;
  readonly compactRevision: Revision;
  eventsAt(revision: Revision): KvEvent[];
}

interface Watcher {
  readonly id: number;
  readonly bounds: KeyBounds;
  readonly prevKv: boolean;
  readonly noPut: boolean;
  readonly noDelete: boolean;
  readonly sink: WatchSink;
  /** The next revision this watcher has not seen yet. */
  nextRevision: Revision;
  /** Its client is not reading: nothing is delivered until resume(), which catches up from history. */
  paused: boolean;
}

export class WatchHub {
  private readonly watchers = new Map<number, Watcher>();
  private nextId = 0;

  constructor(private readonly history: WatchHistory) {}

  get size(): number {
    return this.watchers.size;
  }

  has(watchId: number): boolean {
    return this.watchers.has(watchId);
  }

  /**
   * Starts a watch and returns its id (unique on this hub; the gRPC layer maps it to a per-stream id).
   * The sink first gets the created batch, then the history since startRevision, then live batches. A start
   * revision below the compaction point cancels the watch right after creation, with compactRevision set.
   */
  create(options: WatchCreateOptions, sink: WatchSink): number {
    const id = this.nextId++;
    const current = this.history.currentRevision;
    const start = options.startRevision !== undefined && options.startRevision > 0 ? options.startRevision : current + 1;
    const filters = options.filters ?? [];
    const watcher: Watcher = {
      id,
      bounds: boundsOf(options.key, options.rangeEnd),
      prevKv: options.prevKv ?? false,
      noPut: filters.includes('NOPUT'),
      noDelete: filters.includes('NODELETE'),
      sink,
      nextRevision: start,
      paused: false,
    };
    this.watchers.set(id, watcher);
    sink({ watchId: id, revision: current, events: [], created: true });
    this.catchUp(watcher);
    return id;
  }

  /** Cancels a watch; its sink gets a final canceled batch. False if there is no such watch. */
  cancel(watchId: number): boolean {
    const watcher = this.watchers.get(watchId);
    if (watcher === undefined) return false;
    this.watchers.delete(watchId);
    watcher.sink({ watchId, revision: this.history.currentRevision, events: [], canceled: true });
    return true;
  }

  /**
   * Stops delivering to a watch whose client is not keeping up (etcd's slow, "unsynced" watchers): its events
   * stay in the store's history instead of piling up in memory. resume() catches it up from there — or cancels
   * it with the compaction revision if the history it needs was compacted meanwhile, as etcd does.
   */
  pause(watchId: number): void {
    const watcher = this.watchers.get(watchId);
    if (watcher) watcher.paused = true;
  }

  resume(watchId: number): void {
    const watcher = this.watchers.get(watchId);
    if (!watcher?.paused) return;
    watcher.paused = false;
    this.catchUp(watcher);
  }

  /** How many watches are paused (etcd's etcd_debugging_mvcc_slow_watcher_total). */
  get pausedCount(): number {
    let n = 0;
    for (const w of this.watchers.values()) if (w.paused) n++;
    return n;
  }

  /** Drops a watch without telling its sink (its stream is gone). */
  remove(watchId: number): boolean {
    return this.watchers.delete(watchId);
  }

  /**
   * Sends a progress notification (an empty batch with the current revision) to one watch. Watches are
   * always caught up here, so the revision promises that nothing at or below it is still to come.
   */
  progress(watchId: number): boolean {
    const watcher = this.watchers.get(watchId);
    // A paused watch is behind: a progress notification would promise events it has not had.
    if (watcher === undefined || watcher.paused) return false;
    watcher.sink({ watchId, revision: this.history.currentRevision, events: [] });
    return true;
  }

  /** Sends a progress notification to every watch. */
  progressAll(): void {
    for (const id of [...this.watchers.keys()]) this.progress(id);
  }

  /** Called by the state machine after each applied write revision, with all of its events. */
  notify(revision: Revision, events: readonly KvEvent[]): void {
    if (this.watchers.size === 0) return;
    for (const watcher of [...this.watchers.values()]) {
      if (!this.watchers.has(watcher.id)) continue; // canceled by an earlier sink
      if (watcher.nextRevision > revision || watcher.paused) continue; // starts later, or catches up on resume
      if (watcher.nextRevision < revision) {
        // Missed revisions (e.g. after a snapshot restore): replay them first.
        this.catchUp(watcher, revision - 1);
        if (!this.watchers.has(watcher.id)) continue;
      }
      this.deliver(watcher, revision, events);
    }
  }

  /**
   * Brings every watch up to the store's revision from history; call after restoring a snapshot. Watches
   * whose next revision was compacted away are canceled with the compaction revision.
   */
  catchUpAll(): void {
    for (const watcher of [...this.watchers.values()]) {
      if (this.watchers.has(watcher.id) && !watcher.paused) this.catchUp(watcher); // a paused one catches up on resume
    }
  }

  private catchUp(watcher: Watcher, through: Revision = this.history.currentRevision): void {
    if (watcher.nextRevision > through) return;
    const compacted = this.history.compactRevision;
    if (watcher.nextRevision < compacted) {
      this.watchers.delete(watcher.id);
      watcher.sink({
        watchId: watcher.id,
        revision: this.history.currentRevision,
        events: [],
        canceled: true,
        compactRevision: compacted,
        cancelReason: KV_ERRORS.compacted.message,
      });
      return;
    }
    for (let revision = watcher.nextRevision; revision <= through; revision++) {
      this.deliver(watcher, revision, this.history.eventsAt(revision));
      if (!this.watchers.has(watcher.id) || watcher.paused) return; // canceled, or its sink paused it
    }
  }

  private deliver(watcher: Watcher, revision: Revision, events: readonly KvEvent[]): void {
    watcher.nextRevision = revision + 1;
    const selected: KvEvent[] = [];
    for (const event of events) {
      if (event.type === 'PUT' ? watcher.noPut : watcher.noDelete) continue;
      if (!boundsContain(watcher.bounds, toKeyString(event.kv.key))) continue;
      selected.push(watcher.prevKv || event.prevKv === undefined ? event : { type: event.type, kv: event.kv });
    }
    if (selected.length === 0) return;
    watcher.sink({ watchId: watcher.id, revision: this.history.currentRevision, events: selected });
  }
}
