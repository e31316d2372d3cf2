// The replicated etcd key-value state machine of one peer: applies committed requests at their log index and
// answers them exactly as etcd would, feeds the peer's watch hub, and holds the leader-side lease clock.
//
// Determinism: the replicated state (store, lease table) changes only in `apply`/`applyRequest`, from the
// request and the entry index alone; no clock, randomness or I/O. The same entries give the same state, the
// same responses and the same errors on every peer. Only the Lessor looks at time, through the `now` values
// (or the `clock` option) the runtime passes in, and it changes nothing replicated: it only tells the leader
// which `leaseExpire` requests to propose.
//
// Persistence: snapshot() + log replay. The runtime persists `snapshot()` bytes with its Raft snapshot and,
// after a restart, calls `restore()` with them and re-applies the committed entries after the snapshot index
// (`appliedIndex` tells where the state stands). There is no per-batch KV write-ahead state of our own.

import { AlarmTable } from './alarms.ts';
import { fromKeyString, toKeyString } from './bytes.ts';
import { decodeRequest, encodeRequest } from './codec.ts';
import { KvError } from './errors.ts';
import { LeaseTable } from './lease.ts';
import { Lessor, type LeaseTtlSource, type LessorOptions } from './lessor.ts';
import { MvccStore } from './mvcc-store.ts';
import { executeRange } from './range.ts';
import { decodeSnapshot, encodeSnapshot, hashState, SnapshotEncoder } from './snapshot.ts';
import { applyDeleteRange, applyPut, applyTxn, isReadOnlyTxn, readTxn, type WriteContext } from './txn.ts';
import {
  DEFAULT_KV_CONFIG,
  type AlarmRequest,
  type AlarmResponse,
  type CompactionResponse,
  type KvConfig,
  type KvEvent,
  type KvRequest,
  type KvResponse,
  type LeaseGrantResponse,
  type LeaseId,
  type LeaseKeepAliveRequest,
  type LeaseKeepAliveResponse,
  type LeaseLeasesResponse,
  type LeaseRevokeResponse,
  type LeaseTimeToLiveRequest,
  type LeaseTimeToLiveResponse,
  type RangeRequest,
  type RangeResponse,
  type ResponseFor,
  type TxnRequest,
  type TxnResponse,
} from './types.ts';
import { validateRequest } from './validate.ts';
import { WatchHub, type WatchHistory } from './watch-hub.ts';

/** What a lease counts in dbSizeInUse (etcd's database keeps a record per lease). */
const LEASE_RECORD_BYTES = 64;

export interface KvStateMachineOptions extends Partial<KvConfig> {
  /** Milliseconds, for `onLeadership` (the only place the state machine itself needs the time). */
  clock?: () => number;
  lessor?: LessorOptions;
}

export class KvStateMachine {
  readonly config: Readonly<KvConfig>;
  readonly watches: WatchHub;
  /** The leader's lease deadlines; idle on followers. */
  readonly lessor: Lessor;
  private mvcc = new MvccStore();
  private leaseTable: LeaseTable;
  private alarmTable = new AlarmTable();
  private applied = 0;
  /** The most dbSizeInUse has been since the last defragment (see dbSize). */
  private peakSize = 0;
  private readonly clock: (() => number) | undefined;

  constructor(options: KvStateMachineOptions = {}) {
    const { clock, lessor, ...config } = options;
    this.config = { ...DEFAULT_KV_CONFIG, ...stripUndefined(config) };
    this.clock = clock;
    this.leaseTable = new LeaseTable(this.config.minLeaseTtlSeconds);
    // The hub and the lessor read through these views, so a restore (which swaps the store) is seen by both.
    const self = this;
    const history: WatchHistory = {
      get currentRevision() {
        return self.mvcc.currentRevision;
      },
      get compactRevision() {
        return self.mvcc.compactRevision;
      },
      eventsAt: (revision) => self.mvcc.eventsAt(revision),
    };
    const ttlSource: LeaseTtlSource = {
      get version() {
        return self.leaseTable.version;
      },
      ids: () => self.leaseTable.ids(),
      ttlOf: (id) => self.leaseTable.ttlOf(id),
    };
    this.watches = new WatchHub(history);
    this.lessor = new Lessor(ttlSource, lessor);
  }

  get store(): MvccStore {
    return this.mvcc;
  }

  get leases(): LeaseTable {
    return this.leaseTable;
  }

  get alarms(): AlarmTable {
    return this.alarmTable;
  }

  get revision(): number {
    return this.mvcc.currentRevision;
  }

  /** -1 until the first compaction. */
  get compactRevision(): number {
    return this.mvcc.compactRevision;
  }

  /**
   * What etcd reports as its database's size in use: the store's surviving history (MvccStore.byteSize) and its
   * leases. It drops at a compaction or a revoke. Equal on every peer.
   */
  get dbSizeInUse(): number {
    return this.mvcc.byteSize + this.leaseTable.size * LEASE_RECORD_BYTES;
  }

  /**
   * The most dbSizeInUse has been since `defragment` (or since this state was made or restored): what etcd's
   * database file would have grown to, since it reuses freed pages but shrinks only when defragmented. Local
   * bookkeeping, not replicated state (each etcd member's file has its own size, too).
   */
  get dbSize(): number {
    return this.peakSize;
  }

  /** etcd's defragment: the database shrinks to what is in use. */
  defragment(): void {
    this.peakSize = this.dbSizeInUse;
  }

  /** Index of the last entry applied (0 before any). */
  get appliedIndex(): number {
    return this.applied;
  }

  // ---- proposing -------------------------------------------------------------------------------------

  /**
   * What a proposer calls before proposing: the request's own checks (etcd rejects these without a log
   * entry), then the encoding, then the size limit. Returns the bytes to put in the log entry.
   */
  prepareProposal(request: KvRequest): Uint8Array {
    validateRequest(request, this.config.maxTxnOps);
    const data = encodeRequest(request);
    if (data.length > this.config.maxRequestBytes) throw new KvError('requestTooLarge');
    return data;
  }

  // ---- applying ----------------------------------------------------------------------------------------

  /** Applies a committed entry's command (an encoded request). Throws KvError for etcd errors. */
  apply(command: Uint8Array, index: number): KvResponse {
    return this.applyDecoded(decodeRequest(command), index);
  }

  /**
   * Applies a decoded request at a log index (strictly above `appliedIndex`). Throws KvError when etcd
   * would answer with an error; a failed request changes nothing (the index still counts as applied).
   */
  applyRequest<R extends KvRequest>(request: R, index: number): ResponseFor<R> {
    return this.applyDecoded(request, index) as ResponseFor<R>;
  }

  /** Records that a non-KV entry (membership change, empty leader entry) was applied. */
  markApplied(index: number): void {
    if (index > this.applied) this.applied = index;
  }

  private applyDecoded(request: KvRequest, index: number): KvResponse {
    if (!Number.isSafeInteger(index) || index <= this.applied) {
      throw new Error(`kv: entry ${index} is not above the applied index ${this.applied}`);
    }
    this.applied = index;
    validateRequest(request, this.config.maxTxnOps);
    const response = this.execute(request, index);
    const size = this.dbSizeInUse;
    if (size > this.peakSize) this.peakSize = size;
    return response;
  }

  private execute(request: KvRequest, index: number): KvResponse {
    const ctx: WriteContext = { store: this.mvcc, leases: this.leaseTable };
    if (!this.alarmTable.isEmpty) this.refuseUnderAlarm(request);
    switch (request.type) {
      case 'range':
        return executeRange(this.mvcc, request);
      case 'put':
        return this.publish(applyPut(ctx, request));
      case 'deleteRange':
        return this.publish(applyDeleteRange(ctx, request));
      case 'txn':
        return this.publish(applyTxn(ctx, request));
      case 'compaction': {
        this.mvcc.compact(request.revision);
        const response: CompactionResponse = { header: { revision: this.mvcc.currentRevision } };
        return response;
      }
      case 'leaseGrant': {
        const requested = request.ID ?? 0n;
        const id = requested !== 0n ? requested : this.leaseTable.mintId(request.memberTag ?? 0, index);
        const lease = this.leaseTable.grant(id, request.TTL);
        if (this.clock && this.lessor.isPrimary) this.lessor.granted(lease.id, this.clock());
        const response: LeaseGrantResponse = { header: { revision: this.mvcc.currentRevision }, ID: lease.id, TTL: lease.ttl, error: '' };
        return response;
      }
      case 'leaseRevoke':
      case 'leaseExpire':
        return this.revokeLease(request.ID);
      case 'alarm':
        return this.alarm(request);
    }
  }

  /**
   * What etcd's appliers refuse while an alarm is raised: with CORRUPT every write (etcd's corrupt applier);
   * with NOSPACE whatever would grow the store, a put, a txn with a put among its top-level operations, a lease
   * grant (etcd's capped applier). Deletes, compactions and revokes still run, so space can be freed. A lease's
   * expiry still runs under CORRUPT too: refused, the leader's lessor would propose it again at every check.
   */
  private refuseUnderAlarm(request: KvRequest): void {
    if (request.type === 'alarm' || request.type === 'range' || request.type === 'leaseExpire') return;
    if (this.alarmTable.has('CORRUPT')) throw new KvError('corrupt');
    if (!this.alarmTable.has('NOSPACE')) return;
    const growsStore =
      request.type === 'put' ||
      request.type === 'leaseGrant' ||
      (request.type === 'txn' && [...(request.success ?? []), ...(request.failure ?? [])].some((op) => 'requestPut' in op));
    if (growsStore) throw new KvError('noSpace');
  }

  /** etcd's Alarm apply: GET lists, ACTIVATE and DEACTIVATE answer the alarm they raised or cleared (if any). */
  private alarm(request: AlarmRequest): AlarmResponse {
    const header = { revision: this.mvcc.currentRevision };
    if (request.action === 'GET') return { header, alarms: this.alarmTable.list(request.alarm) };
    const changed =
      request.action === 'ACTIVATE' ? this.alarmTable.activate(request.memberID, request.alarm) : this.alarmTable.deactivate(request.memberID, request.alarm);
    return { header, alarms: changed ? [changed] : [] };
  }

  /** Deletes every key attached to the lease in one revision (a DELETE event each), then drops the lease. */
  private revokeLease(id: LeaseId): LeaseRevokeResponse {
    if (!this.leaseTable.has(id)) throw new KvError('leaseNotFound');
    const keys = this.leaseTable.keysOf(id); // sorted, as etcd sorts them
    if (keys.length > 0) {
      const txn = this.mvcc.beginWrite();
      for (const key of keys) txn.deleteRange({ start: key, end: undefined });
      this.leaseTable.revoke(id);
      this.notify(txn.end());
    } else {
      this.leaseTable.revoke(id);
    }
    return { header: { revision: this.mvcc.currentRevision } };
  }

  private publish<R extends KvResponse>(outcome: { response: R; events: KvEvent[] }): R {
    this.notify(outcome.events);
    return outcome.response;
  }

  private notify(events: KvEvent[]): void {
    if (events.length > 0) this.watches.notify(this.mvcc.currentRevision, events);
  }

  // ---- local reads (not logged) ------------------------------------------------------------------------

  /** Answers an encoded read-only request (a range) from local state. */
  read(command: Uint8Array): RangeResponse {
    const request = decodeRequest(command);
    if (request.type !== 'range') throw new Error(`kv: ${request.type} is not a read`);
    return this.range(request);
  }

  /** A txn that writes nothing, answered from the store as it is (the caller makes it linearizable). */
  readTxn(request: TxnRequest): TxnResponse {
    validateRequest({ type: 'txn', ...request }, this.config.maxTxnOps);
    if (!isReadOnlyTxn(request)) throw new Error('kv: a txn that writes is not a read');
    return readTxn(this.mvcc, request);
  }

  range(request: RangeRequest): RangeResponse {
    validateRequest({ type: 'range', ...request }, this.config.maxTxnOps);
    return executeRange(this.mvcc, request);
  }

  /** Leader only (keep-alives are not logged): restarts the TTL; TTL 0 for an unknown lease. */
  leaseKeepAlive(request: LeaseKeepAliveRequest, now: number): LeaseKeepAliveResponse {
    const ttl = this.lessor.renew(request.ID, now);
    return { header: { revision: this.mvcc.currentRevision }, ID: request.ID, TTL: ttl };
  }

  /** Remaining and granted TTL (and keys if asked); TTL -1 for an unknown lease, as etcd answers. */
  leaseTimeToLive(request: LeaseTimeToLiveRequest, now: number): LeaseTimeToLiveResponse {
    const header = { revision: this.mvcc.currentRevision };
    const granted = this.leaseTable.ttlOf(request.ID);
    if (granted === undefined) return { header, ID: request.ID, TTL: -1, grantedTTL: 0, keys: [] };
    const keys = request.keys ? this.leaseTable.keysOf(request.ID).map(fromKeyString) : [];
    return { header, ID: request.ID, TTL: this.lessor.remainingTtl(request.ID, now), grantedTTL: granted, keys };
  }

  leaseLeases(): LeaseLeasesResponse {
    return { header: { revision: this.mvcc.currentRevision }, leases: this.leaseTable.ids().map((ID) => ({ ID })) };
  }

  /** Leader only: the `leaseExpire` requests to propose now (see Lessor.expired). */
  expiredLeaseRequests(now: number): KvRequest[] {
    return this.lessor.expired(now).map((ID) => ({ type: 'leaseExpire', ID }));
  }

  /** Leadership changed: a new leader restarts every lease's TTL; a follower keeps no deadlines. */
  onLeadership(isLeader: boolean, now?: number): void {
    if (isLeader) this.lessor.promote(now ?? this.clock?.() ?? 0);
    else this.lessor.demote();
  }

  // ---- snapshots ---------------------------------------------------------------------------------------

  snapshot(): Uint8Array {
    return encodeSnapshot({ appliedIndex: this.applied, store: this.mvcc, leases: this.leaseTable, alarms: this.alarmTable });
  }

  /**
   * Starts encoding the snapshot of the state as it is now, a few keys per `step()`, while entries keep being
   * applied: the finished bytes equal what `snapshot()` returns now. Cancel it before a `restore()`.
   */
  startSnapshot(): SnapshotEncoder {
    return new SnapshotEncoder({ appliedIndex: this.applied, store: this.mvcc, leases: this.leaseTable, alarms: this.alarmTable });
  }

  /** Replaces the state with a snapshot's; live watches catch up from its history (or are canceled). */
  restore(data: Uint8Array): void {
    const state = decodeSnapshot(data, this.config.minLeaseTtlSeconds);
    this.mvcc = state.store;
    this.leaseTable = state.leases;
    this.alarmTable = state.alarms;
    this.applied = state.appliedIndex;
    this.peakSize = this.dbSizeInUse;
    if (this.lessor.isPrimary) this.lessor.promote(this.clock?.() ?? 0);
    this.watches.catchUpAll();
  }

  /** Digest of the replicated state (not of the applied index): equal on peers that applied the same entries. */
  hash(): string {
    return hashState(this.mvcc, this.leaseTable, this.alarmTable);
  }

  /** Convenience for tools: the live value of a key, or undefined. */
  getValue(key: Uint8Array): Uint8Array | undefined {
    return this.mvcc.liveAt(toKeyString(key), this.mvcc.currentRevision)?.value;
  }
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
