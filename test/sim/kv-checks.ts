// Checks of the KV workload that do not need the linearizability search: watch streams against the committed
// event history, serializable reads against the committed states, and lease expiry timing. Pure functions
// over plain records, so that kv-checks.test.ts can feed them hand-made bad cases. Keys and values are latin1
// strings here (one char per byte); matching is done with plain string operations, independently of src/kv.
import type { KeyValue, KvEvent } from '../../src/kv/types.ts';
import { bytesToString } from './fingerprint.ts';

/** What a watch covers (the workload only opens these three shapes). */
export type WatchScope = { kind: 'key'; key: string } | { kind: 'prefix'; prefix: string } | { kind: 'all' };

export function scopeContains(scope: WatchScope, key: string): boolean {
  switch (scope.kind) {
    case 'key':
      return key === scope.key;
    case 'prefix':
      return key.startsWith(scope.prefix);
    case 'all':
      return true;
  }
}

export function describeScope(scope: WatchScope): string {
  return scope.kind === 'key' ? `key ${JSON.stringify(scope.key)}` : scope.kind === 'prefix' ? `prefix ${JSON.stringify(scope.prefix)}` : 'all keys';
}

export function kvString(kv: KeyValue): string {
  return `${JSON.stringify(bytesToString(kv.key))}=${JSON.stringify(bytesToString(kv.value))} c${kv.createRevision} m${kv.modRevision} v${kv.version} l${kv.lease}`;
}

/** An event as a comparable string; prevKv only when the watcher asked for it. */
export function eventString(e: KvEvent, withPrev: boolean): string {
  let s = `${e.type} ${kvString(e.kv)}`;
  if (withPrev && e.prevKv) s += ` prev{${kvString(e.prevKv)}}`;
  return s;
}

/** One watch as a client saw it on one peer, from creation until it ended (cancel, crash or end of run). */
export interface WatchSegment {
  id: number;
  peer: number;
  scope: WatchScope;
  prevKv: boolean;
  noPut: boolean;
  noDelete: boolean;
  /** The first revision it must report (the requested start, or the peer's revision + 1 for "from now"). */
  start: number;
  openedTick: number;
  /**
   * The batches the sink received, in order; `storeCompacted` is the serving store's compaction point when it
   * was delivered (a prev_kv below it is gone, and etcd then sends the event without it).
   */
  batches: { revision: number; created?: boolean; canceled?: boolean; compactRevision?: number; storeCompacted?: number; events: KvEvent[] }[];
  /**
   * Set when it ended: the serving peer's store revision at that moment, why it ended, and the highest
   * compaction committed by then.
   */
  end?: {
    revision: number;
    tick: number;
    why: 'canceled' | 'compacted' | 'peer down' | 'end of run';
    committedCompaction: number;
    /** Every revision a committed compaction compacted to (a delete there is compacted away with its key). */
    compactions?: readonly number[];
  };
}

/** The events a segment must see at revision `rev`, given every event committed at `rev`. */
export function expectedEvents(seg: WatchSegment, committed: readonly KvEvent[]): KvEvent[] {
  return committed.filter((e) => !(e.type === 'PUT' ? seg.noPut : seg.noDelete) && scopeContains(seg.scope, bytesToString(e.kv.key)));
}

/** Whether a delivered event is the committed one (prev_kv may be missing once revision - 1 was compacted). */
function sameEvent(got: KvEvent, want: KvEvent, withPrev: boolean, storeCompacted: number): boolean {
  if (eventString(got, withPrev) === eventString(want, withPrev)) return true;
  return withPrev && got.prevKv === undefined && want.kv.modRevision - 1 < storeCompacted && eventString(got, false) === eventString(want, false);
}

/**
 * Exactly the committed events, in order, once: the first batch is `created`; each batch holds the events of
 * one revision, revisions go strictly up, stay within [start, end revision]; and for every revision in that
 * interval the delivered events equal the committed events the watch selects (none delivered where none
 * match). A watch the store cancels for compaction (etcd: "resume from compact_revision") must have been
 * behind a committed compaction: its compact revision is one that was committed and lies above both its start
 * and the revision after its last event; it is checked up to its last event. Returns a description of the
 * first discrepancy, or undefined.
 */
export function checkWatchSegment(seg: WatchSegment, committedAt: (rev: number) => readonly KvEvent[]): string | undefined {
  const name = `watch #${seg.id} on peer ${seg.peer} (${describeScope(seg.scope)}${seg.noPut ? ', NOPUT' : ''}${seg.noDelete ? ', NODELETE' : ''}${seg.prevKv ? ', prev_kv' : ''}, from revision ${seg.start}, opened at tick ${seg.openedTick})`;
  if (!seg.end) return `${name} never ended`;
  const first = seg.batches[0];
  if (!first || !first.created) return `${name}: the first batch is not the created one`;
  const delivered = new Map<number, { events: KvEvent[]; storeCompacted: number }>();
  let last = seg.start - 1;
  let through = seg.end.revision;
  for (let i = 1; i < seg.batches.length; i++) {
    const b = seg.batches[i]!;
    if (b.canceled) {
      if (i !== seg.batches.length - 1) return `${name}: a batch after the canceled one`;
      if (seg.end.why === 'canceled') continue;
      const c = b.compactRevision;
      if (c === undefined || seg.end.why !== 'compacted') return `${name}: canceled by the store without a compact revision`;
      if (c > seg.end.committedCompaction) return `${name}: canceled for compaction at ${c}, but the highest compaction committed is ${seg.end.committedCompaction}`;
      if (c <= seg.start || c <= last + 1)
        return `${name}: canceled for compaction at ${c}, but it only needed revisions from ${Math.max(seg.start, last + 1)} on (not compacted)`;
      through = Math.max(seg.start - 1, last);
      continue;
    }
    if (b.events.length === 0) continue; // a progress notification
    const rev = b.events[0]!.kv.modRevision;
    const mixed = b.events.find((e) => e.kv.modRevision !== rev);
    if (mixed) return `${name}: one batch mixes revisions ${rev} and ${mixed.kv.modRevision}`;
    if (rev <= last) return `${name}: revision ${rev} delivered after revision ${last} (out of order or twice)`;
    if (rev > seg.end.revision) return `${name}: revision ${rev} delivered, but the peer was only at revision ${seg.end.revision}`;
    last = rev;
    delivered.set(rev, { events: b.events, storeCompacted: b.storeCompacted ?? -1 });
  }
  if (seg.end.why === 'compacted' && !seg.batches.at(-1)?.canceled) return `${name}: ended for compaction without a canceled batch`;
  for (let rev = Math.max(seg.start, 1); rev <= through; rev++) {
    const all = expectedEvents(seg, committedAt(rev));
    const d = delivered.get(rev);
    const got = d?.events ?? [];
    const matches = (want: readonly KvEvent[]) => want.length === got.length && want.every((w, i) => sameEvent(got[i]!, w, seg.prevKv, d!.storeCompacted));
    // As in etcd, a compaction at exactly `rev` removes that revision's deletes: a replay after it has only the puts.
    const compactedHere = seg.end.compactions?.includes(rev) ?? false;
    const want = compactedHere && !matches(all) ? all.filter((e) => e.type === 'PUT') : all;
    if (!matches(want)) {
      const show = (es: readonly KvEvent[]) => es.map((e) => eventString(e, seg.prevKv)).join('; ');
      return (
        `${name}, ended at tick ${seg.end.tick} (${seg.end.why}) at revision ${seg.end.revision}: at revision ${rev} ` +
        `it got [${show(got)}] but the committed events it selects are [${show(want)}]`
      );
    }
  }
  return undefined;
}

/**
 * A serializable read may be stale but must return a state the cluster committed: the range at its header
 * revision `rev` must equal the committed store's range at that revision.
 */
export function checkSerializableRead(got: readonly KeyValue[], rev: number, committedRevision: number, committed: readonly KeyValue[]): string | undefined {
  if (rev > committedRevision) return `it answered at revision ${rev}, beyond the last committed revision ${committedRevision}`;
  const a = got.map(kvString);
  const b = committed.map(kvString);
  if (a.length !== b.length || a.some((x, i) => x !== b[i]))
    return `it answered [${a.join(', ')}] at revision ${rev}, but the committed state at revision ${rev} is [${b.join(', ')}]`;
  return undefined;
}

/**
 * Only the leader expires a lease, after at least its TTL: the deadline starts no earlier than the grant
 * request (the leader learns of the grant after it is applied; a new leader restarts every TTL).
 */
export function checkLeaseExpiry(id: bigint, grantTick: number, ttlSeconds: number, expiredTick: number, tickMs: number): string | undefined {
  const earliest = grantTick + Math.ceil((ttlSeconds * 1000) / tickMs);
  if (expiredTick < earliest)
    return `lease ${id} (TTL ${ttlSeconds} s, granted by a request at tick ${grantTick}) expired at tick ${expiredTick}, before tick ${earliest}`;
  return undefined;
}
