// The etcd key-value store as one peer's replicated state machine, plus what only a running peer does with
// it: the leader's lease clock (expired leases are revoked through the log) and the member directory.
import { KvStateMachine } from '../kv/kv-state-machine.ts';
import type { KvRequest } from '../kv/types.ts';
import type { NodeId } from '../raft/types.ts';
import { encodeInSlices, type PeerRuntime, type SnapshotEncoding, type StateMachine } from './peer-runtime.ts';
import type { PeerInit } from './protocol.ts';

const ALL_KEYS = new Uint8Array([0]);

export class KvPeer implements StateMachine {
  readonly sm: KvStateMachine;
  readonly memberTag: number;
  memberPorts: Record<NodeId, number>;
  names: Record<NodeId, string> = {};
  private runtime: PeerRuntime | undefined;
  private readonly leaseTimer: ReturnType<typeof setInterval>;
  private keyCount = 0;
  private keyCountAt = 0;

  constructor(init: PeerInit) {
    // etcd's minimum lease TTL: 1.5 election timeouts, in whole seconds.
    const minLeaseTtlSeconds = Math.max(1, Math.ceil((1.5 * init.timing.electionMs) / 1000));
    this.sm = new KvStateMachine({ minLeaseTtlSeconds, clock: () => Date.now() });
    this.memberTag = init.id & 0xffff;
    this.memberPorts = init.memberPorts;
    this.leaseTimer = setInterval(() => this.expireLeases(), Math.max(50, init.timing.heartbeatMs));
  }

  attach(runtime: PeerRuntime): void {
    this.runtime = runtime;
  }

  apply(command: Uint8Array, index: number): unknown {
    return this.sm.apply(command, index);
  }

  read(command: Uint8Array): unknown {
    return this.sm.read(command);
  }

  /** A snapshot encoded a few keys at a time, so that the peer keeps serving while it is taken. */
  startSnapshot(): SnapshotEncoding {
    return this.sm.startSnapshot();
  }

  /** The snapshot of the state as it is now, encoded without holding the thread for long. */
  snapshotNow(): Promise<Uint8Array> {
    return encodeInSlices(this.sm.startSnapshot());
  }

  restore(data: Uint8Array): void {
    this.sm.restore(data);
  }

  onLeadership(isLeader: boolean): void {
    this.sm.onLeadership(isLeader, Date.now());
  }

  /** Validates and encodes a request for the log (throws KvError with etcd's message). */
  prepare(request: KvRequest): Uint8Array {
    if (request.type === 'leaseGrant' && request.memberTag === undefined) request = { ...request, memberTag: this.memberTag };
    return this.sm.prepareProposal(request);
  }

  /** Leader only: revoke leases whose time ran out, through the log so every peer deletes the same keys. */
  private expireLeases(): void {
    if (!this.runtime || !this.sm.lessor.isPrimary) return;
    for (const request of this.sm.expiredLeaseRequests(Date.now())) {
      this.runtime.propose(this.sm.prepareProposal(request)).catch(() => undefined); // retried by the lessor
    }
  }

  setMembers(memberPorts: Record<NodeId, number>, names: Record<NodeId, string>): void {
    this.memberPorts = memberPorts;
    this.names = names;
  }

  info(): { revision: number; compactRevision: number; keys: number; alarms: string[] } {
    const now = Date.now();
    if (now - this.keyCountAt > 1000) {
      this.keyCountAt = now;
      this.keyCount = this.sm.range({ key: ALL_KEYS, rangeEnd: ALL_KEYS, countOnly: true }).count;
    }
    const alarms = this.sm.alarms.isEmpty ? [] : [...new Set(this.sm.alarms.list().map((a) => a.alarm))];
    return { revision: this.sm.revision, compactRevision: this.sm.compactRevision, keys: this.keyCount, alarms };
  }

  close(): void {
    clearInterval(this.leaseTimer);
  }
}
