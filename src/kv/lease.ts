// The replicated lease table: which leases exist, their granted TTL, and which keys are attached to each.
// It changes only when committed entries are applied, so every peer holds the same table. Deadlines are not
// here: only the leader tracks time, in the Lessor (lessor.ts).

import type { KeyString } from './bytes.ts';
import { KvError } from './errors.ts';
import { MAX_LEASE_TTL_SECONDS, NO_LEASE, type LeaseId } from './types.ts';

export interface Lease {
  readonly id: LeaseId;
  /** Granted TTL in seconds, after raising it to the minimum. */
  readonly ttl: number;
  readonly keys: Set<KeyString>;
}

const INT64_MAX = (1n << 63n) - 1n;
const INDEX_MASK = (1n << 48n) - 1n;

export function compareLeaseIds(a: LeaseId, b: LeaseId): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export class LeaseTable {
  private readonly leases = new Map<LeaseId, Lease>();
  private changeCount = 0;

  constructor(readonly minTtlSeconds: number) {}

  /** Bumped by every grant and revoke, so the Lessor can notice changes without diffing. */
  get version(): number {
    return this.changeCount;
  }

  get size(): number {
    return this.leases.size;
  }

  get(id: LeaseId): Lease | undefined {
    return this.leases.get(id);
  }

  has(id: LeaseId): boolean {
    return this.leases.has(id);
  }

  ttlOf(id: LeaseId): number | undefined {
    return this.leases.get(id)?.ttl;
  }

  /** Lease ids in ascending order (deterministic listing). */
  ids(): LeaseId[] {
    return [...this.leases.keys()].sort(compareLeaseIds);
  }

  /** Attached keys in byte order. */
  keysOf(id: LeaseId): KeyString[] {
    const lease = this.leases.get(id);
    return lease === undefined ? [] : [...lease.keys].sort();
  }

  /** The effective TTL for a requested one: too large is an error, too small (or <= 0) is raised. */
  effectiveTtl(requested: number): number {
    if (requested > MAX_LEASE_TTL_SECONDS) throw new KvError('leaseTtlTooLarge');
    return Math.max(requested, this.minTtlSeconds);
  }

  grant(id: LeaseId, requestedTtl: number): Lease {
    if (id === NO_LEASE) throw new KvError('leaseNotFound');
    const ttl = this.effectiveTtl(requestedTtl);
    if (this.leases.has(id)) throw new KvError('leaseExists');
    const lease: Lease = { id, ttl, keys: new Set() };
    this.leases.set(id, lease);
    this.changeCount++;
    return lease;
  }

  /** Removes the lease and returns it (with its keys, which the caller deletes). */
  revoke(id: LeaseId): Lease {
    const lease = this.leases.get(id);
    if (lease === undefined) throw new KvError('leaseNotFound');
    this.leases.delete(id);
    this.changeCount++;
    return lease;
  }

  attach(id: LeaseId, key: KeyString): void {
    this.leases.get(id)?.keys.add(key);
  }

  detach(id: LeaseId, key: KeyString): void {
    this.leases.get(id)?.keys.delete(key);
  }

  /**
   * A server-chosen id: the member tag in the high 16 bits and the entry index below, masked to a positive
   * int64 as etcd masks its minted ids; the next free id if that one is taken. Same entry, same id, on
   * every peer.
   */
  mintId(memberTag: number, entryIndex: number): LeaseId {
    const tag = BigInt(Math.trunc(memberTag) & 0xffff);
    let id = ((tag << 48n) | (BigInt(Math.trunc(entryIndex)) & INDEX_MASK)) & INT64_MAX;
    while (id === NO_LEASE || this.leases.has(id)) id = id >= INT64_MAX ? 1n : id + 1n;
    return id;
  }
}
