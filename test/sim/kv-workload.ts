// The KV workload: every simulated peer runs a real etcd KvStateMachine (kv-peer.ts), and clients drive a
// random mix of requests through whichever peer they talk to, under the same faults as the plain simulation.
//
// - Writes (put, delete, txn compare-and-swap, put with a lease, lease grant and revoke) are proposed through
//   the client's peer in an envelope naming that peer and the operation; the peer answers when it applies the
//   entry. Linearizable reads (get, prefix range) go through ReadIndex, then wait for the peer to apply up to
//   the read index, then read locally. Serializable gets read locally at once.
// - Each request has a timeout; a timeout or a crash of the serving peer is an unknown outcome. A request the
//   core refuses (no leader, ...) never reached the log and is left out of the history.
// - The leader runs the lessor on virtual time (TICK_MS per tick) and proposes leaseExpire for expired leases;
//   a new leader promotes its lessor (fresh TTLs).
// - Watches are opened on random peers (a key, a prefix or everything; from now or from a past revision; with
//   prev_kv and NOPUT/NODELETE filters sometimes) and end when canceled, when their peer goes down, or at the end.
//
// Checks: every completed linearizable operation goes into a history checked by checkKvHistory at the end of
// the seed; keys attached to a lease get a synthetic unknown-outcome delete from the attaching put on (the
// model has no leases). An oracle KvStateMachine applies each entry when it is first applied anywhere (the
// committed log, in order); against it: serializable reads (a committed state), every watch segment (exactly
// the committed events, in order, once), lease expiries (never before the TTL ran out); and its live event
// stream must equal what its store rebuilds from history. Peers' stores: StateMachineSafety compares sm.hash()
// at every applied index and after every snapshot restore. Plus every Raft checker, as in the plain workload.
//
// One departure from the plain workload's faults: forwarded proposals ('prop' messages) are never duplicated.
// In etcd they travel on a TCP stream, and a duplicate would apply a write twice (neither etcd nor this runtime
// deduplicates entries), which no client could tell from a real bug. Every other message is still duplicated.
import { KvError } from '../../src/kv/errors.ts';
import { decodeRequest } from '../../src/kv/codec.ts';
import { prefixRangeEnd } from '../../src/kv/bytes.ts';
import { KvStateMachine } from '../../src/kv/kv-state-machine.ts';
import type { KvEvent, KvRequest, RangeRequest, RangeResponse, TxnResponse, DeleteRangeResponse, PutResponse, LeaseGrantResponse } from '../../src/kv/types.ts';
import type { WatchBatch } from '../../src/kv/watch-hub.ts';
import { SeededRng } from '../../src/raft/rand.ts';
import type { Entry } from '../../src/raft/types.ts';
import { HistoryRecorder, checkKvHistory, type KvInput, type KvOutput, type PendingOperation } from '../support/linearizability/index.ts';
import type { Cluster, Workload } from './cluster.ts';
import { bytesToString, stringToBytes } from './fingerprint.ts';
import { checkLeaseExpiry, checkSerializableRead, checkWatchSegment, describeScope, eventString, type WatchScope, type WatchSegment } from './kv-checks.ts';
import { KvApp, TICK_MS, decodeKvEntry, encodeKvEntry, type ApplyOutcome } from './kv-peer.ts';
import type { Peer } from './peer.ts';

/** What one KV seed did, for the summary line. */
export interface KvSeedStats {
  /** Operations in the linearizability history, and how many of them have an unknown outcome. */
  ops: number;
  unknown: number;
  /** Time the linearizability check took (ms). */
  checkMs: number;
  serializableReads: number;
  watches: number;
  watchEvents: number;
  /** Watches that lived through a snapshot restore of their peer, and watches canceled for compaction. */
  watchRestores: number;
  watchesCompacted: number;
  leaseGrants: number;
  leaseExpiries: number;
  compactions: number;
  /** Requests refused before reaching the log (no leader, ...). */
  refused: number;
}

const KEYS = ['a/0', 'a/1', 'a/2', 'b/0', 'b/1', 'c', 'd'];
const PREFIXES = ['a/', 'b/'];
const LEASED_KEYS = ['l/0', 'l/1'];
/** The checker's time limit per history: far above what the histories need (see the summary line). */
const CHECK_TIMEOUT_MS = 60_000;
/** How many client operations a failure report lists at most. */
const REPORT_OPS = 60;

type OpKind = 'put' | 'get' | 'sget' | 'delete' | 'range' | 'cas' | 'leaseGrant' | 'leasePut' | 'leaseRevoke' | 'compact';
const OP_KINDS: readonly OpKind[] = ['put', 'get', 'sget', 'delete', 'range', 'cas', 'leaseGrant', 'leasePut', 'leaseRevoke', 'compact'];
const BASE_WEIGHTS: Record<OpKind, number> = { put: 20, get: 15, sget: 8, delete: 6, range: 8, cas: 12, leaseGrant: 3, leasePut: 6, leaseRevoke: 1, compact: 1.5 };

/** One client request, for traces and failure reports. */
interface OpRecord {
  id: number;
  client: number;
  text: string;
  peer: number;
  invokeTick: number;
  endTick?: number;
  outcome: string;
  /** Keys it touches (a prefix range: the prefix), for picking the ops of a failing key group. */
  keys: string[];
  /** Index in the recorder's invoke order; undefined when not in the linearizability history. */
  hist?: number;
}

interface Busy {
  rec: OpRecord;
  app: KvApp;
  deadline: number;
  ctx?: string;
  /** Ends the request as an unknown outcome (timeout or crash). */
  lost(why: string): void;
}

interface Client {
  id: number;
  busy: Busy | undefined;
  /** Last value this client saw per key (null: missing), for CAS expectations. */
  seen: Map<string, string | null>;
}

interface LiveWatch {
  seg: WatchSegment;
  app: KvApp;
  hubId: number;
  closeTick: number;
  stopDown: () => void;
}

function mixSeed(...xs: number[]): number {
  let h = 0x6b76a11c;
  for (const x of xs) {
    h = Math.imul(h ^ (x >>> 0), 0x85ebca6b) >>> 0;
    h = (h ^ (h >>> 13)) >>> 0;
  }
  return h;
}

export class KvWorkload implements Workload {
  readonly stats: KvSeedStats = {
    ops: 0,
    unknown: 0,
    checkMs: 0,
    serializableReads: 0,
    watches: 0,
    watchEvents: 0,
    watchRestores: 0,
    watchesCompacted: 0,
    leaseGrants: 0,
    leaseExpiries: 0,
    compactions: 0,
    refused: 0,
  };
  /**
   * The committed log applied in order, once: the reference for reads, watches and leases. It skips
   * compactions (so that it can answer for any past revision) and only records the highest one committed.
   */
  readonly oracle = new KvStateMachine();
  private compactedTo = -1;
  /** Every revision a committed compaction compacted to. */
  private readonly compactions: number[] = [];
  private readonly committedEvents = new Map<number, KvEvent[]>();
  private readonly recorder = new HistoryRecorder<KvInput, KvOutput>();
  /** Per recorder invoke: the op it belongs to, and whether it was dropped (failed = no effect). */
  private readonly histOps: { rec: OpRecord; failed: boolean }[] = [];
  private readonly records: OpRecord[] = [];
  private readonly rng: SeededRng;
  private readonly clientsList: Client[] = [];
  private readonly weights: [OpKind, number][];
  private readonly opRate: number;
  private readonly timeoutTicks: number;
  private readonly watchRate: number;
  private readonly maxWatches: number;
  private readonly live: LiveWatch[] = [];
  /** Leases a client got an id for (granted and not known to be revoked). */
  private readonly leases: { id: bigint; ttl: number; tick: number }[] = [];
  /** Grants as the oracle applied them: the tick the grant request was made, and the TTL. */
  private readonly grants = new Map<bigint, { tick: number; ttl: number }>();
  private nextOpId = 0;
  private nextLeaseId = 0x100n;
  private nextWatchId = 0;
  private draining = false;

  constructor(private readonly c: Cluster) {
    this.rng = new SeededRng(mixSeed(c.opts.seed, 0x4b56));
    const rng = this.rng;
    const nClients = 3 + rng.int(4);
    for (let i = 1; i <= nClients; i++) this.clientsList.push({ id: i, busy: undefined, seen: new Map() });
    this.weights = OP_KINDS.map((k) => [k, BASE_WEIGHTS[k] * (0.4 + rng.float() * 1.2)]);
    this.opRate = 0.08 + rng.float() * 0.2;
    this.timeoutTicks = 30 + rng.int(31);
    this.watchRate = 0.01 + rng.float() * 0.03;
    this.maxWatches = 1 + rng.int(3);
    c.net.noDuplicate = (m) => m.type === 'prop';
    this.oracle.watches.create({ key: new Uint8Array([0]), rangeEnd: new Uint8Array([0]), prevKv: true }, (b) => {
      if (b.events.length > 0) this.committedEvents.set(b.events[0]!.kv.modRevision, b.events);
    });
  }

  private get tick(): number {
    return this.c.tick;
  }

  makeApp(peer: Peer): KvApp {
    return new KvApp(peer, peer.incarnation, {
      applied: (app, e, outcome) => this.onApplied(app, e, outcome),
      restored: (app) => (this.stats.watchRestores += this.live.filter((w) => w.app === app).length),
      skip: this.c.opts.inject === 'kvSkipApply' ? (app, e) => app.peer.id === 2 && e.index === 12 : undefined,
    });
  }

  describeEntry(e: Entry): string | undefined {
    const kv = e.type === 'normal' ? decodeKvEntry(e.data) : undefined;
    if (!kv) return undefined;
    if (kv.opId === 0) {
      const r = decodeRequest(kv.command);
      return `lessor of n${kv.proposer}: ${r.type}${'ID' in r ? ` ${r.ID}` : ''}`;
    }
    const rec = this.records[kv.opId - 1];
    return `op${kv.opId} via n${kv.proposer}: ${rec?.text ?? '?'}`;
  }

  readAnswered(peer: Peer, ctx: string, index: number): void {
    if (peer.app instanceof KvApp) peer.app.readAnswered(ctx, index);
  }

  /** A violation of one of the KV checks: the run stops there (the first violation wins). */
  fail(checker: string, message: string): void {
    if (this.c.violation) return;
    this.c.violation = { checker, tick: this.tick, message };
    this.c.trace.add(this.tick, 'violation', 0, `${checker}: ${message.split('\n')[0]}`);
  }

  // ---------------------------------------------------------------- the committed log

  private onApplied(app: KvApp, e: Entry, _outcome: ApplyOutcome | undefined): void {
    const o = this.oracle;
    if (e.index <= o.appliedIndex) return;
    if (e.index !== o.appliedIndex + 1) throw new Error(`kv oracle: entry ${e.index} applied first, but the oracle is at ${o.appliedIndex}`);
    const kv = e.type === 'normal' ? decodeKvEntry(e.data) : undefined;
    if (!kv) {
      o.markApplied(e.index);
      return;
    }
    const request = decodeRequest(kv.command);
    if (request.type === 'compaction') {
      o.markApplied(e.index);
      if (request.revision > this.compactedTo && request.revision <= o.revision) {
        this.compactedTo = request.revision;
        this.compactions.push(request.revision);
        this.stats.compactions++;
      }
      return;
    }
    let response;
    try {
      response = o.applyRequest(request, e.index);
    } catch (err) {
      if (!(err instanceof KvError)) throw err;
      return;
    }
    if (request.type === 'leaseGrant') {
      const granted = response as LeaseGrantResponse;
      const rec = this.records[kv.opId - 1];
      this.grants.set(granted.ID, { tick: rec?.invokeTick ?? 0, ttl: granted.TTL });
    } else if (request.type === 'leaseExpire') {
      this.stats.leaseExpiries++;
      const g = this.grants.get(request.ID);
      this.c.trace.add(this.tick, 'note', app.peer.id, `lease ${request.ID} expired (first applied at ${e.index})`);
      if (g) {
        const bad = checkLeaseExpiry(request.ID, g.tick, g.ttl, this.tick, TICK_MS);
        if (bad) this.fail('lease expiry', bad);
      }
    }
  }

  // ---------------------------------------------------------------- every tick

  clients(): void {
    this.runLessors();
    for (const cl of this.clientsList) {
      const b = cl.busy;
      if (b && this.tick >= b.deadline) b.lost('timed out');
    }
    for (const w of [...this.live]) if (this.tick >= w.closeTick) this.closeWatch(w, 'canceled');
    if (this.draining) return;
    const rate = this.c.chaos ? this.opRate : this.opRate / 2;
    for (const cl of this.clientsList) if (!cl.busy && this.rng.chance(rate)) this.startOp(cl);
    if (this.live.length < this.maxWatches && this.rng.chance(this.watchRate)) this.openWatch();
  }

  /** The leader's lease clock: promote on gaining leadership, demote on losing it, propose expiries. */
  private runLessors(): void {
    const now = this.tick * TICK_MS;
    for (const p of this.c.peers.values()) {
      if (!p.up || !(p.app instanceof KvApp)) continue;
      const app = p.app;
      if (p.role === 'leader') {
        if (app.leaderTerm !== p.term) {
          app.sm.onLeadership(true, now);
          app.leaderTerm = p.term;
        }
        const clock = this.c.opts.inject === 'kvEarlyExpiry' ? now + 60_000 : now;
        for (const req of app.sm.expiredLeaseRequests(clock)) {
          if (!p.up) break; // crashed while handling the previous proposal (an armed crash)
          const data = encodeKvEntry(p.id, 0, app.sm.prepareProposal(req));
          this.c.trace.add(this.tick, 'propose', p.id, `lessor: ${req.type} ${(req as { ID: bigint }).ID}`);
          this.c.request(p, 'leaseExpire', (n) => n.propose(data));
        }
      } else if (app.leaderTerm !== 0) {
        app.sm.onLeadership(false);
        app.leaderTerm = 0;
      }
    }
  }

  private pickPeer(preferLeader: boolean): Peer | undefined {
    const leader = this.c.leader();
    if (preferLeader && leader && this.rng.chance(0.5)) return leader;
    const up = this.c.upPeers().filter((p) => !p.retired);
    return up.length > 0 ? this.rng.pick(up) : undefined;
  }

  private pickKind(): OpKind {
    let total = 0;
    for (const [, w] of this.weights) total += w;
    let x = this.rng.float() * total;
    for (const [k, w] of this.weights) {
      x -= w;
      if (x < 0) return k;
    }
    return 'put';
  }

  // ---------------------------------------------------------------- client requests

  private startOp(cl: Client): void {
    let kind = this.pickKind();
    // Attach mostly to leases that should still be alive (sometimes to any, which the store may refuse).
    const fresh = this.leases.filter((l) => this.tick < l.tick + (l.ttl * 1000) / TICK_MS - 5);
    const attachable = fresh.length > 0 && this.rng.chance(0.85) ? fresh : this.leases;
    if ((kind === 'leasePut' || kind === 'leaseRevoke') && this.leases.length === 0) kind = 'leaseGrant';
    const peer = this.pickPeer(kind !== 'sget');
    if (!peer || !(peer.app instanceof KvApp)) return;
    const rng = this.rng;
    const id = ++this.nextOpId;
    const value = `v${id}`;
    switch (kind) {
      case 'put': {
        const key = rng.pick(KEYS);
        this.write(cl, peer, id, `put ${key}=${value}`, [key], { type: 'put', key, value }, { type: 'put', key: stringToBytes(key), value: stringToBytes(value) }, (r) => {
          cl.seen.set(key, value);
          return { type: 'put', revision: (r as PutResponse).header.revision };
        });
        return;
      }
      case 'delete': {
        const key = rng.pick(KEYS);
        this.write(cl, peer, id, `delete ${key}`, [key], { type: 'delete', key }, { type: 'deleteRange', key: stringToBytes(key) }, (r) => {
          cl.seen.set(key, null);
          const d = r as DeleteRangeResponse;
          return { type: 'delete', deleted: d.deleted, revision: d.header.revision };
        });
        return;
      }
      case 'cas': {
        const key = rng.pick(KEYS);
        const seen = cl.seen.get(key);
        const expected = seen === undefined || rng.chance(0.15) ? (rng.chance(0.5) ? null : `v${1 + rng.int(Math.max(1, id - 1))}`) : seen;
        const compare =
          expected === null
            ? { result: 'EQUAL' as const, target: 'CREATE' as const, key: stringToBytes(key), createRevision: 0 }
            : { result: 'EQUAL' as const, target: 'VALUE' as const, key: stringToBytes(key), value: stringToBytes(expected) };
        const text = `cas ${key}: ${expected === null ? 'missing' : expected} -> ${value}`;
        const request: KvRequest = { type: 'txn', compare: [compare], success: [{ requestPut: { key: stringToBytes(key), value: stringToBytes(value) } }], failure: [] };
        this.write(cl, peer, id, text, [key], { type: 'cas', key, expected, value }, request, (r) => {
          const t = r as TxnResponse;
          if (t.succeeded) cl.seen.set(key, value);
          return { type: 'cas', succeeded: t.succeeded, revision: t.header.revision };
        });
        return;
      }
      case 'leasePut': {
        const key = rng.pick(LEASED_KEYS);
        const lease = rng.pick(attachable);
        const request: KvRequest = { type: 'put', key: stringToBytes(key), value: stringToBytes(value), lease: lease.id };
        this.write(cl, peer, id, `put ${key}=${value} lease ${lease.id}`, [key], { type: 'put', key, value }, request, (r) => ({
          type: 'put',
          revision: (r as PutResponse).header.revision,
        }), key);
        return;
      }
      case 'leaseGrant': {
        const ttl = 2 + rng.int(3);
        const chosen = rng.chance(0.5) ? this.nextLeaseId++ : undefined;
        const request: KvRequest = { type: 'leaseGrant', TTL: ttl, memberTag: peer.id & 0xffff };
        if (chosen !== undefined) request.ID = chosen;
        this.stats.leaseGrants++;
        this.write(cl, peer, id, `lease grant TTL ${ttl}${chosen !== undefined ? ` id ${chosen}` : ''}`, [], undefined, request, (r) => {
          const g = r as LeaseGrantResponse;
          this.leases.push({ id: g.ID, ttl: g.TTL, tick: this.tick });
          return undefined;
        });
        return;
      }
      case 'compact': {
        const revision = Math.max(1, this.oracle.revision - 5 - rng.int(40));
        this.write(cl, peer, id, `compact at ${revision}`, [], undefined, { type: 'compaction', revision }, () => undefined);
        return;
      }
      case 'leaseRevoke': {
        const at = rng.int(this.leases.length);
        const lease = this.leases[at]!;
        this.leases.splice(at, 1);
        this.write(cl, peer, id, `lease revoke ${lease.id}`, [], undefined, { type: 'leaseRevoke', ID: lease.id }, () => undefined);
        return;
      }
      case 'get': {
        const key = rng.pick(rng.chance(0.2) ? LEASED_KEYS : KEYS);
        this.read(cl, peer, id, `get ${key}`, [key], { type: 'get', key }, { key: stringToBytes(key) }, (r) => {
          const value = r.kvs.length > 0 ? bytesToString(r.kvs[0]!.value) : null;
          cl.seen.set(key, value);
          return { type: 'get', value, revision: r.header.revision };
        });
        return;
      }
      case 'range': {
        const prefix = rng.pick(PREFIXES);
        const start = stringToBytes(prefix);
        this.read(cl, peer, id, `range ${prefix}*`, [prefix], { type: 'range', prefix }, { key: start, rangeEnd: prefixRangeEnd(start) }, (r) => {
          const kvs: [string, string][] = r.kvs.map((kv) => [bytesToString(kv.key), bytesToString(kv.value)]);
          for (const [k, v] of kvs) cl.seen.set(k, v);
          return { type: 'range', kvs, revision: r.header.revision };
        });
        return;
      }
      case 'sget': {
        const key = rng.pick([...KEYS, ...LEASED_KEYS]);
        const app = peer.app;
        const r = app.sm.range({ key: stringToBytes(key), serializable: true });
        const rev = r.header.revision;
        const committed = rev <= this.oracle.revision ? this.oracle.range({ key: stringToBytes(key), revision: rev }).kvs : [];
        const rec = this.record(cl, peer, id, `serializable get ${key}`, [key]);
        rec.endTick = this.tick;
        rec.outcome = `${r.kvs.length > 0 ? JSON.stringify(bytesToString(r.kvs[0]!.value)) : 'missing'} @rev ${rev}`;
        this.c.trace.add(this.tick, 'read', peer.id, `op${id} c${cl.id} ${rec.text} -> ${rec.outcome}`);
        this.stats.serializableReads++;
        const bad = checkSerializableRead(r.kvs, rev, this.oracle.revision, committed);
        if (bad) this.fail('serializable read', `op${id} client ${cl.id}: serializable get ${JSON.stringify(key)} on peer ${peer.id} at tick ${this.tick}: ${bad}`);
        return;
      }
    }
  }

  private record(cl: Client, peer: Peer, id: number, text: string, keys: string[]): OpRecord {
    const rec: OpRecord = { id, client: cl.id, text, peer: peer.id, invokeTick: this.tick, outcome: 'pending', keys };
    this.records[id - 1] = rec;
    return rec;
  }

  private invoke(rec: OpRecord, input: KvInput, client: number | string): PendingOperation {
    rec.hist ??= this.histOps.length;
    this.histOps.push({ rec, failed: false });
    return this.recorder.invoke(client, input);
  }

  private dropFromHistory(h: PendingOperation): void {
    this.recorder.failed(h);
    this.histOps[h.index]!.failed = true;
  }

  /**
   * Proposes a write through `peer`. `input` is its entry in the linearizability history (none for lease
   * grants and revokes); `attached` names a key a lease now holds (a synthetic unknown delete goes with it).
   */
  private write(
    cl: Client,
    peer: Peer,
    id: number,
    text: string,
    keys: string[],
    input: KvInput | undefined,
    request: KvRequest,
    output: (r: unknown) => KvOutput | undefined,
    attached?: string,
  ): void {
    const app = peer.app as KvApp;
    const rec = this.record(cl, peer, id, text, keys);
    const data = encodeKvEntry(peer.id, id, app.sm.prepareProposal(request));
    const h = input ? this.invoke(rec, input, `c${cl.id} op${id}`) : undefined;
    // The lease may delete the key at any time after this put (expiry or revoke): the model has no leases.
    const expiry = attached !== undefined ? this.invoke(rec, { type: 'delete', key: attached }, `lease of op${id}`) : undefined;
    let done = false;
    const finish = (outcome: string) => {
      done = true;
      rec.outcome = outcome;
      rec.endTick = this.tick;
      cl.busy = undefined;
      stopDown();
      this.c.trace.add(this.tick, 'note', peer.id, `op${id} c${cl.id} ${text} -> ${outcome}`);
    };
    const busy: Busy = {
      rec,
      app,
      deadline: this.tick + this.timeoutTicks,
      lost: (why) => {
        if (done) return;
        app.forget(id);
        if (h) this.recorder.unknown(h);
        finish(`unknown (${why})`);
      },
    };
    const stopDown = app.whenDown(() => busy.lost('peer crashed'));
    cl.busy = busy;
    app.awaitProposal(id, (outcome) => {
      if (done) return;
      if ('error' in outcome) {
        // A request the store rejects changes nothing.
        if (h) this.dropFromHistory(h);
        if (expiry) this.dropFromHistory(expiry);
        finish(`error: ${outcome.error.message}`);
        return;
      }
      const out = output(outcome.ok);
      if (h && out) this.recorder.ok(h, out);
      const what = !out ? 'ok' : out.type === 'cas' ? (out.succeeded ? 'succeeded' : 'failed') : out.type === 'delete' ? `deleted ${out.deleted}` : 'ok';
      finish(out && 'revision' in out ? `${what} @rev ${out.revision}` : what);
    });
    this.c.trace.add(this.tick, 'propose', peer.id, `op${id} c${cl.id} ${text}`);
    const ok = this.c.request(peer, 'propose', (n) => n.propose(data));
    if (!ok && !done) {
      app.forget(id);
      if (h) this.dropFromHistory(h);
      if (expiry) this.dropFromHistory(expiry);
      this.stats.refused++;
      finish('refused (never proposed)');
    }
  }

  /** A linearizable read through `peer`: ReadIndex, wait until applied, read locally. */
  private read(cl: Client, peer: Peer, id: number, text: string, keys: string[], input: KvInput, request: RangeRequest, output: (r: RangeResponse) => KvOutput): void {
    const app = peer.app as KvApp;
    const rec = this.record(cl, peer, id, text, keys);
    const h = this.invoke(rec, input, `c${cl.id} op${id}`);
    const ctx = `k${id}`;
    let done = false;
    const finish = (outcome: string) => {
      done = true;
      rec.outcome = outcome;
      rec.endTick = this.tick;
      cl.busy = undefined;
      stopDown();
      this.c.trace.add(this.tick, 'read', peer.id, `op${id} c${cl.id} ${text} -> ${outcome}`);
    };
    const serve = () => {
      if (done) return;
      const out = output(app.sm.range(request));
      this.recorder.ok(h, out);
      finish(out.type === 'get' ? `${JSON.stringify(out.value)} @rev ${out.revision}` : out.type === 'range' ? `[${out.kvs.map(([k, v]) => `${k}=${v}`).join(' ')}] @rev ${out.revision}` : 'ok');
    };
    const busy: Busy = {
      rec,
      app,
      ctx,
      deadline: this.tick + this.timeoutTicks,
      lost: (why) => {
        if (done) return;
        app.forget(id, ctx);
        this.recorder.unknown(h);
        finish(`unknown (${why})`);
      },
    };
    const stopDown = app.whenDown(() => busy.lost('peer crashed'));
    cl.busy = busy;
    this.c.trace.add(this.tick, 'read', peer.id, `op${id} c${cl.id} ${text} (readIndex ${ctx})`);
    if (this.c.opts.inject === 'kvReadNoBarrier') {
      serve();
      return;
    }
    app.awaitRead(ctx, serve);
    this.c.observe({ kind: 'readIssued', tick: this.tick, node: peer.id, ctx });
    const ok = this.c.request(peer, 'readIndex', (n) => n.readIndex(stringToBytes(ctx)));
    if (!ok && !done) {
      app.forget(id, ctx);
      this.dropFromHistory(h);
      this.stats.refused++;
      finish('refused (no read index)');
    }
  }

  // ---------------------------------------------------------------- watches

  private openWatch(): void {
    const peer = this.pickPeer(false);
    if (!peer || !(peer.app instanceof KvApp)) return;
    const app = peer.app;
    const rng = this.rng;
    const shape = rng.int(3);
    const scope: WatchScope =
      shape === 0 ? { kind: 'key', key: rng.pick([...KEYS, ...LEASED_KEYS]) } : shape === 1 ? { kind: 'prefix', prefix: rng.pick([...PREFIXES, 'l/']) } : { kind: 'all' };
    const current = app.sm.revision;
    // From now, or from a past (possibly not yet applied here) revision of the committed history.
    const requested = rng.chance(0.5) ? 0 : Math.max(1, this.oracle.revision - rng.int(30));
    const filter = rng.int(6);
    const seg: WatchSegment = {
      id: ++this.nextWatchId,
      peer: peer.id,
      scope,
      prevKv: rng.chance(0.5),
      noPut: filter === 0,
      noDelete: filter === 1,
      start: requested > 0 ? requested : current + 1,
      openedTick: this.tick,
      batches: [],
    };
    const drop = this.c.opts.inject === 'kvDropWatchEvent';
    const w: LiveWatch = { seg, app, hubId: -1, closeTick: this.tick + 30 + rng.int(300), stopDown: () => undefined };
    const sink = (b: WatchBatch) => {
      if (drop && b.events.length > 0 && rng.chance(0.1)) return;
      const copy: WatchSegment['batches'][number] = { revision: b.revision, events: b.events };
      if (b.created) copy.created = true;
      if (b.canceled) copy.canceled = true;
      if (b.compactRevision !== undefined) copy.compactRevision = b.compactRevision;
      if (b.events.length > 0) copy.storeCompacted = app.sm.compactRevision;
      seg.batches.push(copy);
      this.stats.watchEvents += b.events.length;
      // The store canceled it: its next revision was compacted away (at creation, or after a snapshot restore).
      if (b.canceled && !seg.end) this.closeWatch(w, 'compacted');
    };
    const key = scope.kind === 'key' ? stringToBytes(scope.key) : scope.kind === 'prefix' ? stringToBytes(scope.prefix) : new Uint8Array([0]);
    const rangeEnd = scope.kind === 'key' ? undefined : scope.kind === 'prefix' ? prefixRangeEnd(key) : new Uint8Array([0]);
    const filters: ('NOPUT' | 'NODELETE')[] = seg.noPut ? ['NOPUT'] : seg.noDelete ? ['NODELETE'] : [];
    this.stats.watches++;
    this.c.trace.add(this.tick, 'note', peer.id, `watch #${seg.id} opens: ${describeScope(scope)} from revision ${seg.start} (peer at ${current})`);
    this.live.push(w);
    w.stopDown = app.whenDown(() => this.closeWatch(w, 'peer down'));
    const opts = { key, prevKv: seg.prevKv, filters, ...(rangeEnd ? { rangeEnd } : {}), ...(requested > 0 ? { startRevision: requested } : {}) };
    w.hubId = app.sm.watches.create(opts, sink);
  }

  private closeWatch(w: LiveWatch, why: 'canceled' | 'compacted' | 'peer down' | 'end of run'): void {
    const at = this.live.indexOf(w);
    if (at < 0) return;
    this.live.splice(at, 1);
    w.stopDown();
    if (why === 'canceled') w.app.sm.watches.cancel(w.hubId);
    if (why === 'compacted') this.stats.watchesCompacted++;
    w.seg.end = { revision: w.app.sm.revision, tick: this.tick, why, committedCompaction: this.compactedTo, compactions: [...this.compactions] };
    this.c.trace.add(this.tick, 'note', w.seg.peer, `watch #${w.seg.id} ends (${why}) at revision ${w.seg.end.revision}`);
    const bad = checkWatchSegment(w.seg, (rev) => this.committedEvents.get(rev) ?? []);
    if (bad) this.fail('watch', bad);
  }

  // ---------------------------------------------------------------- the end of a seed

  /** Lets the requests in flight finish (no new ones), then runs the end-of-seed checks. */
  finish(): void {
    const c = this.c;
    this.draining = true;
    const until = c.tick + this.timeoutTicks + 1;
    while (!c.violation && c.tick < until && this.clientsList.some((cl) => cl.busy)) c.step();
    for (const cl of this.clientsList) cl.busy?.lost('end of run');
    for (const w of [...this.live]) this.closeWatch(w, 'end of run');
    if (c.violation) return;
    // The live event stream of the oracle must be what its store rebuilds from history (watch replay).
    for (let rev = 2; rev <= this.oracle.revision; rev++) {
      // (The oracle skips compactions, so it still has every revision.)
      const live = (this.committedEvents.get(rev) ?? []).map((e) => eventString(e, true));
      const replay = this.oracle.store.eventsAt(rev).map((e) => eventString(e, true));
      if (live.length !== replay.length || live.some((x, i) => x !== replay[i]))
        return this.fail('watch history', `revision ${rev}: applied as [${live.join('; ')}] but rebuilt from history as [${replay.join('; ')}]`);
    }
    this.checkLinearizability();
  }

  private checkLinearizability(): void {
    const ops = this.recorder.operations();
    const kept = this.histOps.filter((x) => !x.failed);
    this.stats.ops = ops.length;
    this.stats.unknown = ops.filter((op) => op.return === Infinity).length;
    const result = checkKvHistory(ops, { timeoutMs: CHECK_TIMEOUT_MS });
    this.stats.checkMs = result.elapsedMs;
    if (result.ok === true) return;
    const keys = new Set<string>();
    for (const op of result.failure?.partition ?? []) keys.add('key' in op.input ? op.input.key : op.input.prefix);
    const related = kept
      .map((x) => x.rec)
      .filter((rec, i, all) => all.indexOf(rec) === i)
      .filter((rec) => keys.size === 0 || rec.keys.some((k) => [...keys].some((x) => x.startsWith(k) || k.startsWith(x))));
    const lines = related.slice(-REPORT_OPS).map((r) => `  op${r.id} c${r.client} via n${r.peer} [t${r.invokeTick}..${r.endTick ?? '?'}] ${r.text} -> ${r.outcome}`);
    const what = result.ok === 'unknown' ? 'linearizability (check timed out)' : 'linearizability';
    this.fail(
      what,
      `${result.explanation}\nclient operations on ${[...keys].map((k) => JSON.stringify(k)).join(', ') || 'all keys'} ` +
        `(${related.length}${related.length > REPORT_OPS ? `, last ${REPORT_OPS}` : ''}; ticks, peer, outcome):\n${lines.join('\n')}`,
    );
  }
}
