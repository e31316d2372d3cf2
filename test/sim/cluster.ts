// The simulated cluster: peers, the network between them, clients, the operator (membership changes, leader
// transfers), faults, and the checkers — all driven by one seed, one virtual tick at a time.
import { RaftNode } from '../../src/raft/raft-node.ts';
import { SeededRng } from '../../src/raft/rand.ts';
import { applyToConfState, decodeConfChange } from '../../src/raft/confchange.ts';
import { RaftError, type Config, type ConfState, type Entry, type Message, type NodeId } from '../../src/raft/types.ts';
import { CheckerSet, type Observation, type Violation } from './checkers.ts';
import { FaultScheduler, type ClusterView, type FaultAction, type FaultMix } from './faults.ts';
import { CALM_NETWORK, Network } from './network.ts';
import { Peer, type PeerApp, type PeerEnv } from './peer.ts';
import { stringToBytes } from './fingerprint.ts';
import { Trace } from './trace.ts';

/** The Raft settings a seed picks are the core's own Config fields. */
type RaftSettings = Pick<Config, 'electionTick' | 'heartbeatTick' | 'preVote' | 'checkQuorum' | 'maxInflightMsgs' | 'maxSizePerMsg' | 'maxAppliedEntriesInMemory'>;

export interface SimOptions extends RaftSettings {
  seed: number;
  nodes: number;
  /** Virtual ticks to run (the run then ends with a final heal and liveness check). */
  ticks: number;
  mix: FaultMix;
  /** Liveness: ticks after healing within which a new proposal must commit. */
  livenessBound: number;
  /** Length of each chaos phase in ticks (a heal phase follows each). */
  chaosTicks: number;
  traceCapacity: number;
  /** A deliberate bug, to prove that the checkers catch it (sim.test.ts); never set in normal runs. */
  inject?: InjectedBug | KvInjectedBug;
  /** 'kv': clients run the etcd KV workload of kv-workload.ts instead of plain proposals and reads. */
  workload?: 'kv';
}

/** Planted bugs of the KV workload (kv-sim.test.ts). */
export type KvInjectedBug =
  /** Peer 2 skips applying one KV entry (it only marks it applied). */
  | 'kvSkipApply'
  /** Linearizable reads are served from local state without the ReadIndex barrier. */
  | 'kvReadNoBarrier'
  /** Watchers lose one event now and then. */
  | 'kvDropWatchEvent'
  /** The leader's lease clock runs 60 s fast, so leases expire early. */
  | 'kvEarlyExpiry';

export const KV_INJECTABLE: readonly KvInjectedBug[] = ['kvSkipApply', 'kvReadNoBarrier', 'kvDropWatchEvent', 'kvEarlyExpiry'];

/** A client workload other than the plain one; it owns the peers' state machines and the clients. */
export interface Workload {
  makeApp(peer: Peer): PeerApp;
  /** Once per tick, instead of the plain clients. */
  clients(): void;
  /** A ReadIndex answer reached a peer. */
  readAnswered(peer: Peer, ctx: string, index: number): void;
  /** A readable description of an entry for the trace (undefined: the raw bytes). */
  describeEntry(e: Entry): string | undefined;
}

export type InjectedBug =
  /** The network changes the data of some appended entries. */
  | 'corruptAppend'
  /** A restarting peer forgets whom it voted for. */
  | 'forgetVote'
  /** A crash loses the last entries written (as if the disk had not synced them). */
  | 'loseTail'
  /** Read answers come back with an index that is too low. */
  | 'staleRead'
  /** Healing does not heal: everything is lost. */
  | 'deafAfterHeal';

export const INJECTABLE: readonly InjectedBug[] = ['corruptAppend', 'forgetVote', 'loseTail', 'staleRead', 'deafAfterHeal'];

export interface SimStats {
  ticks: number;
  elections: number;
  proposals: number;
  proposalsRejected: number;
  committed: number;
  reads: number;
  readsAnswered: number;
  snapshotsSent: number;
  confChangesApplied: number;
  retired: number;
  heals: number;
  /** Longest time from a heal to the probe committing. */
  maxRecovery: number;
}

/** The longest a message can spend in the calm network of a heal phase. */
const HEAL_NETWORK = CALM_NETWORK;

function mixSeed(...xs: number[]): number {
  let h = 0x9e3779b9;
  for (const x of xs) {
    h = Math.imul(h ^ (x >>> 0), 0x85ebca6b) >>> 0;
    h = (h ^ (h >>> 13)) >>> 0;
  }
  return h;
}

export class Cluster {
  readonly trace: Trace;
  readonly checkers: CheckerSet;
  readonly net: Network;
  readonly faults: FaultScheduler;
  readonly peers = new Map<NodeId, Peer>();
  readonly stats: SimStats = {
    ticks: 0,
    elections: 0,
    proposals: 0,
    proposalsRejected: 0,
    committed: 0,
    reads: 0,
    readsAnswered: 0,
    snapshotsSent: 0,
    confChangesApplied: 0,
    retired: 0,
    heals: 0,
    maxRecovery: 0,
  };
  violation: Violation | undefined;
  tick = 0;
  chaos = true;
  readonly workload: Workload | undefined;
  private readonly clientRng: SeededRng;
  private readonly opRng: SeededRng;
  private nextId: number;
  private seq = 0;
  private maxApplied = 0;
  /** Removed peers to stop: not before `at`, and only once every remaining voter knows the removal is
   * committed (otherwise they may still need the removed peer's vote — see FINDINGS.md). */
  private readonly retireAt = new Map<NodeId, { at: number; index: number }>();
  /** The membership as committed entries define it, in log order. */
  private committedConf: ConfState = { voters: [], learners: [] };
  private deferred: (() => void)[] = [];
  /** Reads of entries on disk only in progress (Ready.loadEntries), each done at its tick. */
  private loads: { peer: Peer; incarnation: number; lo: number; hi: number; maxBytes: number; at: number }[] = [];
  /** Its own generator, so that seeds without read-backs run as before. */
  private readonly loadRng: SeededRng;
  /** The liveness probe of the current heal phase. */
  private probe: { prefix: string; since: number; lastTry: number; tries: number; done: number } | undefined;
  private healCount = 0;

  constructor(
    readonly opts: SimOptions,
    workload?: (c: Cluster) => Workload,
  ) {
    const rng = new SeededRng(opts.seed);
    this.net = new Network(rng.fork(), { ...opts.mix.network });
    this.faults = new FaultScheduler(rng.fork(), opts.mix);
    this.clientRng = rng.fork();
    this.opRng = rng.fork();
    this.trace = new Trace(opts.traceCapacity);
    this.checkers = new CheckerSet(opts.livenessBound);
    this.workload = workload?.(this);
    this.loadRng = new SeededRng(mixSeed(opts.seed, 0x10ad));
    const voters: NodeId[] = [];
    for (let i = 1; i <= opts.nodes; i++) voters.push(i);
    this.nextId = opts.nodes + 1;
    for (const id of voters) this.addPeer(id, RaftNode.bootstrap(voters));
  }

  // ---------------------------------------------------------------- wiring

  private config(id: NodeId, incarnation: number): Config {
    const o = this.opts;
    return {
      id,
      electionTick: o.electionTick,
      heartbeatTick: o.heartbeatTick,
      preVote: o.preVote,
      checkQuorum: o.checkQuorum,
      maxInflightMsgs: o.maxInflightMsgs,
      maxSizePerMsg: o.maxSizePerMsg,
      ...(o.maxAppliedEntriesInMemory === undefined ? {} : { maxAppliedEntriesInMemory: o.maxAppliedEntriesInMemory }),
      rng: new SeededRng(mixSeed(o.seed, id, incarnation)),
    };
  }

  private readonly env: PeerEnv = {
    now: () => this.tick,
    send: (m) => this.send(m),
    observe: (o) => this.observe(o),
    note: (node, kind, text) => this.trace.add(this.tick, kind, node, text),
    applied: (peer, e, fp) => this.onApplied(peer, e, fp),
    load: (peer, lo, hi, maxBytes) => {
      this.trace.add(this.tick, 'load', peer.id, `reads entries ${lo}..${hi - 1} (${maxBytes} bytes at most) back from disk`);
      this.loads.push({ peer, incarnation: peer.incarnation, lo, hi, maxBytes, at: this.tick + this.loadRng.int(4) });
    },
    readAnswered: (peer, ctx, index) => {
      if (this.opts.inject === 'staleRead') index = Math.max(0, index - 3);
      this.stats.readsAnswered++;
      this.trace.add(this.tick, 'read', peer.id, `answered ${ctx} at index ${index}`);
      this.observe({ kind: 'readAnswered', tick: this.tick, node: peer.id, ctx, index });
      this.workload?.readAnswered(peer, ctx, index);
    },
  };

  private addPeer(id: NodeId, initial: ReturnType<typeof RaftNode.bootstrap>): Peer {
    const w = this.workload;
    const peerOpts = w ? { ...this.opts.mix, makeApp: (p: Peer) => w.makeApp(p) } : this.opts.mix;
    const peer = new Peer(id, (i, inc) => this.config(i, inc), this.env, peerOpts, initial);
    this.peers.set(id, peer);
    this.guard(peer.id, () => peer.start());
    return peer;
  }

  observe(o: Observation): void {
    if (o.kind === 'role' && o.role === 'leader') this.stats.elections++;
    const v = this.checkers.observe(o);
    if (v && !this.violation) {
      this.violation = v;
      this.trace.add(this.tick, 'violation', 0, `${v.checker}: ${v.message}`);
    }
  }

  /** Runs a call into a peer's RaftNode; anything thrown (other than an expected RaftError) is a violation. */
  private guard(node: NodeId, f: () => void): boolean {
    try {
      f();
      return true;
    } catch (err) {
      if (err instanceof RaftError) throw err;
      const msg = err instanceof Error ? `${err.message}\n${(err.stack ?? '').split('\n').slice(1, 4).join('\n')}` : String(err);
      if (!this.violation) {
        this.violation = { checker: 'core error', tick: this.tick, message: `peer ${node} threw: ${msg}` };
        this.trace.add(this.tick, 'violation', node, `core error: ${msg.split('\n')[0]}`);
      }
      return false;
    }
  }

  /** A local request that may be refused with a RaftError. */
  request(peer: Peer, what: string, f: (n: RaftNode) => void): boolean {
    try {
      let ok = false;
      this.guard(peer.id, () => {
        f(peer.node!);
        ok = true;
      });
      if (ok) this.guard(peer.id, () => peer.drain());
      return ok;
    } catch (err) {
      this.trace.add(this.tick, 'note', peer.id, `${what} refused: ${(err as RaftError).code}`);
      this.guard(peer.id, () => peer.drain());
      return false;
    }
  }

  private send(m: Message): void {
    if (m.type === 'snap') this.stats.snapshotsSent++;
    if (this.opts.inject === 'corruptAppend' && m.type === 'app' && m.entries.length > 0 && this.opRng.chance(0.05)) {
      const [first, ...rest] = m.entries;
      m = { ...m, entries: [{ ...first!, data: stringToBytes('corrupted') }, ...rest] };
    }
    const outcome = this.net.send(m);
    if (outcome === 'queued') {
      this.trace.msg(this.tick, 'send', m);
      return;
    }
    this.trace.msg(this.tick, outcome === 'cut' ? 'cut' : 'lost', m);
    if (outcome === 'cut') this.reportFailure(m);
    else if (m.type === 'snap') this.reportFailure(m);
  }

  /** The transport tells the sender it could not deliver (as etcd's does, after the fact). */
  private reportFailure(m: Message): void {
    this.deferred.push(() => {
      const sender = this.peers.get(m.from);
      if (!sender?.up) return;
      this.guard(sender.id, () => {
        if (m.type === 'snap') sender.node!.reportSnapshot(m.to, false);
        sender.node!.reportUnreachable(m.to);
        sender.drain();
      });
    });
  }

  private deliver(m: Message): void {
    const dest = this.peers.get(m.to);
    if (!dest || !dest.up) {
      this.trace.msg(this.tick, 'undeliverable', m);
      this.reportFailure(m);
      return;
    }
    this.trace.msg(this.tick, 'deliver', m);
    this.guard(dest.id, () => {
      dest.node!.step(m);
      dest.drain();
    });
    if (m.type === 'snap') {
      this.deferred.push(() => {
        const sender = this.peers.get(m.from);
        if (sender?.up) this.guard(sender.id, () => {
          sender.node!.reportSnapshot(m.to, true);
          sender.drain();
        });
      });
    }
  }

  /** Hands over the reads that are done, from the disk as it is now (a compaction may have removed some). */
  private finishLoads(): void {
    const due = this.loads.filter((l) => l.at <= this.tick);
    if (due.length === 0) return;
    this.loads = this.loads.filter((l) => l.at > this.tick);
    for (const { peer, incarnation, lo, hi, maxBytes } of due) {
      if (!peer.up || peer.incarnation !== incarnation) continue; // the peer crashed: its request died with it
      const entries = peer.disk.read(lo, hi, maxBytes);
      this.trace.add(this.tick, 'load', peer.id, `got ${entries.length} entries from ${lo}`);
      this.guard(peer.id, () => {
        peer.node!.entriesLoaded(lo, entries);
        peer.drain();
      });
    }
  }

  private runDeferred(): void {
    while (this.deferred.length > 0) {
      const d = this.deferred;
      this.deferred = [];
      for (const f of d) f();
    }
  }

  private onApplied(peer: Peer, e: Entry, fp: string): void {
    if (e.index > this.maxApplied) {
      this.maxApplied = e.index;
      this.stats.committed++;
      const text = this.workload?.describeEntry(e) ?? (fp.length > 40 ? fp.slice(0, 40) + '…' : fp);
      this.trace.add(this.tick, 'commit', peer.id, `${e.index}@${e.term} ${text}`);
      if (e.type === 'confChange') {
        this.stats.confChangesApplied++;
        const cc = decodeConfChange(e.data);
        this.committedConf = applyToConfState(this.committedConf, cc);
        this.trace.add(this.tick, 'conf', peer.id, `committed ${cc.type} ${cc.nodeId}: voters [${this.committedConf.voters}] learners [${this.committedConf.learners}]`);
        if (cc.type === 'removeNode' && !this.retireAt.has(cc.nodeId) && this.peers.has(cc.nodeId)) {
          this.retireAt.set(cc.nodeId, { at: this.tick + 5 + this.opRng.int(36), index: e.index });
        }
      }
    }
    if (this.probe && this.probe.done < 0 && fp.startsWith('n:' + this.probe.prefix)) {
      this.probe.done = this.tick;
      const took = this.tick - this.probe.since;
      if (took > this.stats.maxRecovery) this.stats.maxRecovery = took;
      this.trace.add(this.tick, 'note', peer.id, `liveness probe committed ${took} ticks after healing`);
      this.observe({ kind: 'probeCommitted', tick: this.tick });
    }
  }

  // ---------------------------------------------------------------- views

  upPeers(): Peer[] {
    const out: Peer[] = [];
    for (const p of this.peers.values()) if (p.up) out.push(p);
    return out;
  }

  leader(): Peer | undefined {
    let best: Peer | undefined;
    for (const p of this.peers.values()) if (p.up && p.role === 'leader' && (!best || p.term > best.term)) best = p;
    return best;
  }

  private readonly view: ClusterView = (() => {
    const c = this;
    return {
      get tick() {
        return c.tick;
      },
      peers: () => [...c.peers.values()].filter((p) => !p.retired).map((p) => p.id),
      isUp: (id: NodeId) => c.peers.get(id)?.up ?? false,
      leader: () => c.leader()?.id,
      voters: () => c.leader()?.node!.confState().voters ?? [],
      learners: () => c.leader()?.node!.confState().learners ?? [],
      caughtUp: (id: NodeId) => {
        const st = c.leader()?.node!.status();
        const pr = st?.progress[id];
        return pr !== undefined && st !== undefined && pr.match + 3 >= st.lastIndex;
      },
      get minVoters() {
        return c.opts.nodes >= 3 ? 2 : 1;
      },
      canAddPeer: () => c.nextId <= c.opts.nodes + 4,
    };
  })();

  // ---------------------------------------------------------------- faults and operator

  private crash(peer: Peer, why: string): void {
    if (!peer.up) return;
    peer.crash();
    if (this.opts.inject === 'loseTail') {
      const d = peer.disk;
      d.entries.length = Math.max(0, d.entries.length - 3);
      d.hardState.commit = Math.min(d.hardState.commit, d.lastIndex());
    }
    this.trace.add(this.tick, 'crash', peer.id, why);
  }

  private restart(peer: Peer): void {
    if (peer.up || peer.retired) return;
    if (this.opts.inject === 'forgetVote') peer.disk.hardState.vote = 0;
    this.trace.add(this.tick, 'restart', peer.id, `from disk: term=${peer.disk.hardState.term} commit=${peer.disk.hardState.commit} snap=${peer.disk.snapIndex()} last=${peer.disk.lastIndex()}`);
    this.guard(peer.id, () => {
      peer.start();
      peer.drain();
    });
  }

  apply(a: FaultAction): void {
    switch (a.kind) {
      case 'partition':
        this.net.healAll();
        for (const [from, to] of a.cuts) this.net.cut(from, to);
        this.trace.add(this.tick, 'partition', 0, `${a.shape}: ${a.cuts.map(([f, t]) => `${f}-/->${t}`).join(' ')}`);
        return;
      case 'healPartition':
        this.net.healAll();
        this.trace.add(this.tick, 'heal', 0, 'partition healed');
        return;
      case 'crash': {
        const p = this.peers.get(a.node);
        if (!p?.up) return;
        if (a.point === 'idle') this.crash(p, 'idle');
        else {
          p.armedCrash = a.point;
          p.armedUntil = this.tick + 5;
          this.trace.add(this.tick, 'note', p.id, `will crash ${a.point} of its next Ready`);
        }
        return;
      }
      case 'restart': {
        const p = this.peers.get(a.node);
        if (p) this.restart(p);
        return;
      }
      case 'addLearner': {
        const leader = this.leader();
        if (!leader) return;
        const id = this.nextId++;
        this.trace.add(this.tick, 'conf', leader.id, `propose addLearner ${id}`);
        const peer = this.addPeer(id, RaftNode.joining());
        if (!this.request(leader, 'addLearner', (n) => n.proposeConfChange({ type: 'addLearner', nodeId: id }))) {
          // Never proposed: the new peer goes away again.
          this.crash(peer, 'not added');
          peer.retired = true;
        }
        return;
      }
      case 'promote':
      case 'removeVoter': {
        const leader = this.leader();
        if (!leader) return;
        const type = a.kind === 'promote' ? 'addNode' : 'removeNode';
        this.trace.add(this.tick, 'conf', leader.id, `propose ${type} ${a.node}`);
        this.request(leader, type, (n) => n.proposeConfChange({ type, nodeId: a.node }));
        return;
      }
      case 'transfer': {
        const leader = this.leader();
        if (!leader) return;
        this.trace.add(this.tick, 'transfer', leader.id, `transfer leadership to ${a.to}`);
        this.request(leader, 'transfer', (n) => n.transferLeader(a.to));
        return;
      }
    }
  }

  private retireDue(): void {
    for (const [id, { at, index }] of this.retireAt) {
      if (this.tick < at) continue;
      const informed = this.committedConf.voters.every((v) => {
        const p = this.peers.get(v);
        return v === id || !p || p.retired || p.disk.hardState.commit >= index;
      });
      if (!informed) continue;
      this.retireAt.delete(id);
      const p = this.peers.get(id);
      if (!p || p.retired) continue;
      this.crash(p, 'removed from the cluster: stops for good');
      p.retired = true;
      this.stats.retired++;
      this.trace.add(this.tick, 'retire', id, '');
    }
  }

  // ---------------------------------------------------------------- clients

  private clients(): void {
    if (this.workload) return this.workload.clients();
    const rng = this.clientRng;
    const mix = this.opts.mix;
    // Lighter traffic while healed, so that the liveness probe is not stuck behind an ever longer queue.
    if (rng.chance(this.chaos ? mix.proposeRate : Math.min(mix.proposeRate, 0.1))) this.propose(`c${++this.seq}`);
    if (rng.chance(mix.readRate)) {
      const target = this.pickTarget();
      if (target) {
        const ctx = `r${++this.seq}`;
        this.stats.reads++;
        this.trace.add(this.tick, 'read', target.id, `readIndex ${ctx}`);
        this.observe({ kind: 'readIssued', tick: this.tick, node: target.id, ctx });
        this.request(target, 'readIndex', (n) => n.readIndex(stringToBytes(ctx)));
      }
    }
  }

  private pickTarget(): Peer | undefined {
    const rng = this.clientRng;
    const leader = this.leader();
    if (leader && rng.chance(0.6)) return leader;
    const up = this.upPeers().filter((p) => !p.retired);
    return up.length > 0 ? rng.pick(up) : undefined;
  }

  private propose(id: string, target = this.pickTarget()): void {
    if (!target) return;
    const pad = this.clientRng.int(48);
    const data = `${id}|${'.'.repeat(pad)}`;
    this.stats.proposals++;
    this.trace.add(this.tick, 'propose', target.id, id);
    if (!this.request(target, 'propose', (n) => n.propose(stringToBytes(data)))) this.stats.proposalsRejected++;
  }

  // ---------------------------------------------------------------- phases

  /** Ends a chaos phase: heal the network, calm it down, restart peers (leaving down at most what keeps
   * every known configuration's quorum up), and start the liveness clock with a probe proposal. */
  heal(): void {
    this.chaos = false;
    this.faults.reset();
    this.net.healAll();
    this.net.options = this.opts.inject === 'deafAfterHeal' ? { ...HEAL_NETWORK, lossRate: 1 } : { ...HEAL_NETWORK };
    const live = [...this.peers.values()].filter((p) => !p.retired);
    const configs = new Set<string>();
    for (const p of live) if (p.voters.length > 0) configs.add(p.voters.join(','));
    const voterSets = [...configs].map((s) => s.split(',').map(Number));
    // Keep a down peer down (sometimes) only if every configuration any peer knows keeps a quorum up.
    const keepDown = new Set<NodeId>();
    const staysDown = (id: NodeId) => keepDown.has(id) || (this.peers.get(id)?.retired ?? true);
    for (const p of live) {
      // (Not with membership changes about: one still in flight could shrink the configuration.)
      if (p.up || voterSets.length === 0 || this.opts.mix.confChangeRate > 0 || !this.opRng.chance(0.3)) continue;
      keepDown.add(p.id);
      if (!voterSets.every((vs) => vs.filter((id) => !staysDown(id)).length * 2 > vs.length)) keepDown.delete(p.id);
    }
    for (const p of live) if (!p.up && !keepDown.has(p.id)) this.restart(p);
    for (const p of live) if (p.up) p.armedCrash = undefined;
    this.stats.heals++;
    this.healCount++;
    this.probe = { prefix: `P${this.healCount}.`, since: this.tick, lastTry: -1e9, tries: 0, done: -1 };
    this.trace.add(this.tick, 'heal', 0, `network healed, calm; down: [${[...keepDown].join(',')}]`);
    this.observe({ kind: 'healed', tick: this.tick });
  }

  /** Starts a new chaos phase. */
  unheal(): void {
    this.chaos = true;
    this.net.options = { ...this.opts.mix.network };
    this.probe = undefined;
    this.trace.add(this.tick, 'note', 0, 'chaos resumes');
    this.observe({ kind: 'unhealed', tick: this.tick });
  }

  /** Whether the probe of the current heal phase has committed, and since how many ticks. */
  probeCommittedFor(): number {
    if (!this.probe || this.probe.done < 0) return -1;
    return this.tick - this.probe.done;
  }

  private runProbe(): void {
    const p = this.probe;
    if (!p || p.done >= 0) return;
    // A proposal can be dropped (no leader yet, forwarded and lost): retry every election timeout.
    if (this.tick - p.lastTry < this.opts.electionTick) return;
    p.lastTry = this.tick;
    p.tries++;
    const leader = this.leader();
    const target = leader ?? this.upPeers().find((x) => !x.retired && x.voters.includes(x.id));
    if (target) this.propose(`${p.prefix}${p.tries}`, target);
  }

  // ---------------------------------------------------------------- the clock

  /** One virtual tick: faults, clients, every peer's tick, then every message due. */
  step(): void {
    this.tick++;
    this.stats.ticks = this.tick;
    this.net.now = this.tick;
    if (this.chaos) for (const a of this.faults.step(this.view)) this.apply(a);
    this.retireDue();
    this.clients();
    this.runProbe();
    for (const p of this.peers.values()) {
      if (!p.up) continue;
      this.guard(p.id, () => {
        p.node!.tick();
        p.drain();
      });
    }
    this.finishLoads();
    for (let rounds = 0; rounds < 1000; rounds++) {
      const { arrive, cut } = this.net.takeDue();
      if (arrive.length === 0 && cut.length === 0) break;
      for (const m of cut) {
        this.trace.msg(this.tick, 'cut', m, '(in flight)');
        this.reportFailure(m);
      }
      for (const m of arrive) this.deliver(m);
      this.runDeferred();
    }
    this.runDeferred();
    for (const p of this.peers.values())
      if (p.up && p.armedCrash && this.tick >= p.armedUntil) this.crash(p, `armed (${p.armedCrash}) but no Ready came`);
    this.observe({ kind: 'tick', tick: this.tick });
  }
}
