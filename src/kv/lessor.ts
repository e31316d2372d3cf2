// The leader's lease clock. Only the leader decides that a lease expired: it tracks a deadline per lease
// (time comes in as `now`, in milliseconds, from the runtime; nothing here reads a clock), lists expired
// leases, and the runtime proposes a `leaseExpire` entry for each so that every peer deletes the same keys at
// the same revision. Keep-alives renew a deadline here without going through the log, as in etcd.
//
// A new leader does not know its predecessor's deadlines, so `promote(now)` gives every lease a fresh full
// TTL (as etcd's lessor.Promote does): a failover can extend a lease, never cut it short.

import { KvError } from './errors.ts';
import { compareLeaseIds } from './lease.ts';
import type { LeaseId } from './types.ts';

/** What the Lessor reads from the replicated lease table. */
export interface LeaseTtlSource {
  /** Changes whenever a lease is granted or revoked. */
  readonly version: number;
  ids(): LeaseId[];
  ttlOf(id: LeaseId): number | undefined;
}

export interface LessorOptions {
  /** An expired lease is listed again by `expired()` if it is still there this long after (default 3 s). */
  expiryRetryMs?: number;
}

export class Lessor {
  private primary = false;
  private readonly deadlines = new Map<LeaseId, number>();
  /** When `expired()` last handed out each lease, to avoid proposing the same revoke on every tick. */
  private readonly handedOut = new Map<LeaseId, number>();
  private seenVersion = -1;
  private readonly expiryRetryMs: number;

  constructor(
    private readonly table: LeaseTtlSource,
    options: LessorOptions = {},
  ) {
    this.expiryRetryMs = options.expiryRetryMs ?? 3000;
  }

  get isPrimary(): boolean {
    return this.primary;
  }

  /** This peer became leader: every lease gets a full TTL from now. */
  promote(now: number): void {
    this.primary = true;
    this.deadlines.clear();
    this.handedOut.clear();
    for (const id of this.table.ids()) this.deadlines.set(id, now + this.ttlMs(id));
    this.seenVersion = this.table.version;
  }

  /**
   * A lease was just granted (applied): on the leader its clock starts now, as etcd's lessor starts it at grant,
   * not at the next sync (up to a heartbeat later). One map entry: the next sync still sees the table change.
   */
  granted(id: LeaseId, now: number): void {
    if (this.primary && !this.deadlines.has(id) && this.table.ttlOf(id) !== undefined) this.deadlines.set(id, now + this.ttlMs(id));
  }

  /** This peer is no longer leader: forget all deadlines. */
  demote(): void {
    this.primary = false;
    this.deadlines.clear();
    this.handedOut.clear();
    this.seenVersion = -1;
  }

  /**
   * Picks up grants and revokes applied since the last call: a newly granted lease's TTL starts now.
   * Every other method calls this; the runtime may also call it right after applying entries.
   */
  sync(now: number): void {
    if (!this.primary || this.seenVersion === this.table.version) return;
    const ids = this.table.ids();
    const live = new Set(ids);
    for (const id of ids) if (!this.deadlines.has(id)) this.deadlines.set(id, now + this.ttlMs(id));
    for (const id of [...this.deadlines.keys()]) {
      if (!live.has(id)) {
        this.deadlines.delete(id);
        this.handedOut.delete(id);
      }
    }
    this.seenVersion = this.table.version;
  }

  /** Keep-alive: restarts the lease's TTL. Returns the TTL in seconds, or 0 for an unknown lease (as etcd). */
  renew(id: LeaseId, now: number): number {
    this.requirePrimary();
    this.sync(now);
    const ttl = this.table.ttlOf(id);
    if (ttl === undefined) return 0;
    this.deadlines.set(id, now + ttl * 1000);
    this.handedOut.delete(id);
    return ttl;
  }

  /** Leases whose deadline has passed and that were not handed out within the retry interval, oldest first. */
  expired(now: number): LeaseId[] {
    if (!this.primary) return [];
    this.sync(now);
    const due: Array<[LeaseId, number]> = [];
    for (const [id, deadline] of this.deadlines) {
      if (deadline > now) continue;
      const handed = this.handedOut.get(id);
      if (handed !== undefined && now - handed < this.expiryRetryMs) continue;
      due.push([id, deadline]);
    }
    due.sort((a, b) => a[1] - b[1] || compareLeaseIds(a[0], b[0]));
    for (const [id] of due) this.handedOut.set(id, now);
    return due.map(([id]) => id);
  }

  /**
   * Whole seconds left (etcd truncates), never below 0 for a known lease; -1 for an unknown one. A peer that
   * is not leader has no deadlines and answers the granted TTL.
   */
  remainingTtl(id: LeaseId, now: number): number {
    const ttl = this.table.ttlOf(id);
    if (ttl === undefined) return -1;
    if (!this.primary) return ttl;
    this.sync(now);
    const deadline = this.deadlines.get(id)!;
    return Math.max(0, Math.floor((deadline - now) / 1000));
  }

  /** The lease's deadline in ms, if this peer is leader and knows the lease. */
  deadlineOf(id: LeaseId, now: number): number | undefined {
    this.sync(now);
    return this.deadlines.get(id);
  }

  private ttlMs(id: LeaseId): number {
    return (this.table.ttlOf(id) ?? 0) * 1000;
  }

  private requirePrimary(): void {
    if (!this.primary) throw new KvError('notLeader');
  }
}
