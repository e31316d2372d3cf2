// The cluster manager (main thread): spawns each peer in its own worker thread, links the peers to each other
// (Raft messages go worker to worker; the simulated network's rules are set here and applied by each sender),
// kills / restarts / pauses peers, changes membership and streams status. It does no per-entry work, so the
// thread that owns it (the CLI or the VS Code extension host) stays free.
import { EventEmitter } from 'node:events';
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { MessageChannel, Worker } from 'node:worker_threads';
import type { ConfChange, NodeId } from '../raft/types.ts';
import { TIMING_PRESETS, UNHEALTHY_MESSAGE, type ForwardCall, type FromPeer, type PeerCall, type PeerInit, type PeerStatus, type Timing, type ToPeer } from '../node/protocol.ts';
import { quorumSize } from '../raft/quorum.ts';
import { ClusterError } from './cluster-error.ts';
import { loadOrCreateRecord, readRestoredStore, writeRecord, type ClusterRecord, type MemberRecord } from './cluster-record.ts';
import { SimulatedNetwork } from './network.ts';
import { crash, spawnWorker } from './peer-worker.ts';
import { quorumView, type ClusterEvent, type ClusterEventType, type ClusterStatus, type PeerState, type PeerView } from './status.ts';
import { LatencyWindow } from './latency-window.ts';

/**
 * etcd 3.4 and 3.5's --snapshot-count. A snapshot here encodes the whole store (etcd's is its database file,
 * already on disk), so its cost grows with the store: taken every 10,000 entries, the cluster's CPU per put grew
 * from 191 to 381 µs as the store grew to ~160,000 keys (157 µs with this count; docs/performance.md). Unlike
 * etcd, a peer does not keep all of them in memory between snapshots (DEFAULT_MEMORY_ENTRIES).
 */
export const DEFAULT_SNAPSHOT_COUNT = 100_000;
/**
 * Applied entries a peer keeps in memory between snapshots (etcd keeps all of them, up to the snapshot count):
 * as many as a snapshot keeps for catching up, so that a follower only a little behind is served from memory.
 */
export const DEFAULT_MEMORY_ENTRIES = 5_000;

export interface ClusterOptions {
  /** Founding members on a fresh data folder (1 to 7). */
  nodes?: number;
  /** Folder holding cluster.json and one LevelDB folder per peer; ignored with memory. */
  dataDir?: string;
  memory?: boolean;
  timing?: Timing | keyof typeof TIMING_PRESETS;
  /** Peer i serves the etcd API on clientPortBase + i - 1; 0 serves none. */
  clientPortBase?: number;
  /** Applied entries between snapshots; etcd 3.4/3.5's default (DEFAULT_SNAPSHOT_COUNT) unless given. */
  snapshotCount?: number;
  catchUpEntries?: number;
  /**
   * Applied log entries each peer keeps in memory (DEFAULT_MEMORY_ENTRIES unless given); older ones stay on its
   * disk until a snapshot covers them and are read back when a follower needs them. etcd keeps all of them.
   */
  memoryEntries?: number;
  /** etcd's --quota-backend-bytes for every peer: 0 or absent for etcd's 2 GiB, negative for none. */
  quotaBackendBytes?: number;
  requestTimeoutMs?: number;
  /**
   * Start a new cluster whose store is this saved one (`raftlab up --restore`): the KV snapshot and the index
   * it was taken at. Refused when the data folder already holds a cluster.
   */
  restore?: { data: Uint8Array; index: number };
}


interface PeerHandle {
  member: MemberRecord;
  state: PeerState;
  worker: Worker | undefined;
  status: PeerStatus | undefined;
  error?: string;
  calls: Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>;
}


const MAX_EVENTS = 200;
/** How long a member that removed itself keeps running so its answer gets out (etcd waits a second too). */
const REMOVED_MEMBER_STOP_DELAY_MS = 1000;
const STATUS_INTERVAL_MS = 100; // at most 10 updates a second

export class ClusterManager extends EventEmitter {
  readonly timing: Timing;
  readonly clientPortBase: number;
  private readonly peers = new Map<NodeId, PeerHandle>();
  private readonly network: SimulatedNetwork;
  private readonly events: ClusterEvent[] = [];
  private readonly latency = new LatencyWindow(2000);
  private nextCallId = 1;
  private statusTimer: ReturnType<typeof setInterval> | undefined;
  private statusDirty = true;
  private running = false;
  private commitsPerSecond = 0;
  private lastAppliedSample = { at: 0, applied: 0 };
  /** The membership change running now (add, promote, remove): they run one at a time, as etcd's do. */
  private membershipChange: Promise<unknown> = Promise.resolve();
  /** The write of cluster.json in progress: writes are queued, each writing the record as it is by then. */
  private recordWrite: Promise<void> = Promise.resolve();

  private constructor(
    private record: ClusterRecord,
    private readonly opts: Required<Omit<ClusterOptions, 'dataDir' | 'timing' | 'restore'>> & { dataDir: string | undefined; restore: ClusterOptions['restore'] },
    timing: Timing,
  ) {
    super();
    this.timing = timing;
    this.clientPortBase = opts.clientPortBase;
    this.network = new SimulatedNetwork();
  }

  /** Starts a cluster: a fresh one, or the one whose folder `dataDir` already holds. */
  static async start(options: ClusterOptions = {}): Promise<ClusterManager> {
    const timing = typeof options.timing === 'object' ? options.timing : TIMING_PRESETS[options.timing ?? 'etcd'];
    if (!timing || !(timing.heartbeatMs > 0) || !(timing.electionMs > timing.heartbeatMs)) {
      throw new ClusterError('timing needs heartbeatMs > 0 and electionMs > heartbeatMs', 'INVALID_ARGUMENT');
    }
    const nodes = options.nodes ?? 3;
    if (!Number.isInteger(nodes) || nodes < 1 || nodes > 7) throw new ClusterError(`nodes must be 1 to 7, got ${nodes}`, 'INVALID_ARGUMENT');
    const memory = options.memory ?? false;
    const dataDir = memory ? undefined : (options.dataDir ?? '.raftlab');
    const opts = {
      nodes,
      memory,
      dataDir,
      clientPortBase: options.clientPortBase ?? 0,
      snapshotCount: options.snapshotCount ?? DEFAULT_SNAPSHOT_COUNT,
      catchUpEntries: options.catchUpEntries ?? 5_000,
      memoryEntries: options.memoryEntries ?? DEFAULT_MEMORY_ENTRIES,
      quotaBackendBytes: options.quotaBackendBytes ?? 0,
      // etcd's ReqTimeout: 5 s plus two election timeouts.
      requestTimeoutMs: options.requestTimeoutMs ?? 5000 + 2 * timing.electionMs,
      restore: options.restore,
    };
    if (options.restore && dataDir !== undefined && existsSync(join(dataDir, 'cluster.json'))) {
      throw new ClusterError(`restoring makes a new cluster, but ${dataDir} already holds one; choose another --data-dir, or move that folder away`, 'FAILED_PRECONDITION');
    }
    const record = await loadOrCreateRecord(dataDir, nodes, options.restore);
    if (!opts.restore && record.restored && dataDir !== undefined) opts.restore = await readRestoredStore(dataDir, record.restored);
    const manager = new ClusterManager(record, opts, timing);
    await manager.startAll();
    return manager;
  }

  get clusterId(): string {
    return this.record.clusterId;
  }

  /** Client endpoints of the members, in id order. */
  endpoints(): string[] {
    if (!this.clientPortBase) return [];
    return this.record.members.map((m) => `127.0.0.1:${this.clientPort(m.id)}`);
  }

  clientPort(id: NodeId): number {
    return this.clientPortBase ? this.clientPortBase + id - 1 : 0;
  }

  private async startAll(): Promise<void> {
    this.running = true;
    this.statusTimer = setInterval(() => this.flushStatus(), STATUS_INTERVAL_MS);
    const results = await Promise.allSettled(this.record.members.map((m) => this.spawn(m)));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) {
      await this.stop();
      throw failed.reason;
    }
    this.addEvent('started', `cluster ${this.clusterId} started with ${this.record.members.length} peers`);
    await this.campaignFirst();
  }

  /**
   * All peers start together, so there is no need to wait out a randomised election timeout for the first
   * leader: the peer with the most up-to-date log campaigns at once (any peer may, safely; PreVote makes one
   * whose log is behind lose without disturbing anything, and the timers still elect a leader as usual).
   */
  private async campaignFirst(): Promise<void> {
    const deadline = Date.now() + 200;
    const handles = [...this.peers.values()].filter((h) => h.state === 'up');
    while (handles.some((h) => !h.status) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    if (this.leaderId() || handles.length === 0) return;
    const lastTerm = (h: PeerHandle) => h.status?.logTerms?.at(-1)?.[1] ?? 0;
    const best = handles.reduce((a, b) => {
      const byTerm = lastTerm(b) - lastTerm(a);
      const byIndex = (b.status?.raft.lastIndex ?? 0) - (a.status?.raft.lastIndex ?? 0);
      return byTerm > 0 || (byTerm === 0 && byIndex > 0) ? b : a;
    });
    await this.call(best.member.id, { op: 'campaign' }).catch(() => undefined);
  }

  // ------------------------------------------------------------------ peers and workers

  private spawn(member: MemberRecord, joining = false): Promise<void> {
    const existing = this.peers.get(member.id);
    const handle: PeerHandle = existing ?? { member, state: 'starting', worker: undefined, status: undefined, calls: new Map() };
    handle.state = 'starting';
    handle.error = undefined;
    this.peers.set(member.id, handle);
    const init: PeerInit = {
      id: member.id,
      name: member.name,
      clusterId: this.record.clusterId,
      dataDir: this.opts.dataDir === undefined ? undefined : join(this.opts.dataDir, member.name),
      timing: this.timing,
      bootstrap: joining || !this.record.founders.includes(member.id) ? 'join' : this.record.founders,
      // Used only by a founder whose storage is empty, so a restart from its folder never restores again. (A
      // folder's existence is not enough to skip sending it: a peer killed between opening and first saving its
      // storage has a folder and no state.)
      ...(this.opts.restore && !joining && this.record.founders.includes(member.id) ? { restore: this.opts.restore } : {}),
      snapshotCount: this.opts.snapshotCount,
      catchUpEntries: this.opts.catchUpEntries,
      memoryEntries: this.opts.memoryEntries,
      quotaBackendBytes: this.opts.quotaBackendBytes,
      clientPort: this.clientPort(member.id),
      memberPorts: Object.fromEntries(this.record.members.map((m) => [m.id, this.clientPort(m.id)])),
      requestTimeoutMs: this.opts.requestTimeoutMs,
    };
    const worker = spawnWorker(init);
    handle.worker = worker;
    this.connectLinks(member.id, worker);
    this.statusDirty = true;
    return new Promise((resolve, reject) => {
      let started = false;
      worker.on('message', (msg: FromPeer) => {
        if (msg.t === 'started') {
          started = true;
          handle.state = 'up';
          this.statusDirty = true;
          resolve();
        } else if (msg.t === 'fatal') {
          handle.error = msg.message;
          this.addEvent('peerFailed', `${member.name} failed: ${msg.message}`, member.id);
          if (!started) reject(new ClusterError(msg.message, msg.code));
          void worker.terminate();
        } else {
          this.onPeerMessage(handle, msg);
        }
      });
      worker.on('error', (err) => {
        handle.error = err.message;
        if (!started) reject(err);
        else this.addEvent('peerFailed', `${member.name} crashed: ${err.message}`, member.id);
      });
      worker.on('exit', () => {
        // Calls still waiting were sent to this worker (a restart waits for the exit before spawning anew, and a
        // removal or restart detaches the worker first): they will never be answered now.
        for (const call of handle.calls.values()) call.reject(new ClusterError(`${member.name} is down`, 'UNAVAILABLE'));
        handle.calls.clear();
        if (handle.worker === worker) {
          this.disconnectLinks(member.id);
          handle.worker = undefined;
          if (handle.state !== 'removed') handle.state = 'down';
          this.statusDirty = true;
        }
        if (!started) reject(new ClusterError(handle.error ?? `${member.name} exited while starting`));
      });
    });
  }

  private onPeerMessage(handle: PeerHandle, msg: FromPeer): void {
    switch (msg.t) {
      case 'result': {
        const call = handle.calls.get(msg.id);
        if (!call) return;
        handle.calls.delete(msg.id);
        if (msg.ok) call.resolve(msg.value);
        else call.reject(new ClusterError(msg.error.message, msg.error.code));
        return;
      }
      case 'status':
        this.onPeerStatus(handle, msg.status);
        return;
      case 'forward':
        void this.forward(handle, msg.id, msg.call);
        return;
    }
  }

  /** A peer's etcd API asks for what only the leader (lease clocks) or the manager (membership) can do. */
  private async forward(from: PeerHandle, id: number, call: ForwardCall): Promise<void> {
    let reply: ToPeer;
    try {
      let value: unknown;
      if (call.op === 'toLeader') {
        const lead = call.to && this.peers.get(call.to)?.worker ? call.to : this.leaderId();
        if (!lead) throw new ClusterError('etcdserver: no leader', 'UNAVAILABLE');
        value = await this.call(lead, call.call).catch((err: Error) => {
          // The leader went away mid-call: answer as etcd would, so clients retry elsewhere.
          throw err.message.startsWith('etcdserver:') ? err : new ClusterError('etcdserver: leader changed', 'UNAVAILABLE');
        });
      } else if (call.op === 'memberAdd') {
        value = await this.addPeer({ learner: call.learner });
      } else if (call.op === 'memberRemove') {
        await this.removePeer(call.id, call.id === from.member.id ? REMOVED_MEMBER_STOP_DELAY_MS : 0);
      } else {
        await this.promotePeer(call.id);
      }
      reply = { t: 'forwarded', id, ok: true, value };
    } catch (err) {
      const e = err as { message?: string; code?: unknown };
      reply = { t: 'forwarded', id, ok: false, error: { message: e.message ?? String(err), code: typeof e.code === 'string' ? e.code : 'UNKNOWN' } };
    }
    from.worker?.postMessage(reply);
  }

  private onPeerStatus(handle: PeerHandle, next: PeerStatus): void {
    const prev = handle.status;
    handle.status = next;
    for (const ms of next.latencySamples ?? []) this.latency.add(ms);
    if (next.linkCounts) this.network.report(handle.member.id, next.linkCounts);
    this.statusDirty = true;
    const id = handle.member.id;
    const name = handle.member.name;
    const r = next.raft;
    if (prev && r.term > prev.raft.term) this.addEvent('termChanged', `${name} moved to term ${r.term}`, id, r.term);
    if (prev?.raft.role !== r.role) {
      if (r.role === 'leader') this.addEvent('leaderElected', `${name} is the leader of term ${r.term}`, id, r.term);
      else if (r.role === 'candidate' || r.role === 'preCandidate') {
        this.addEvent('electionStarted', `${name} started ${r.role === 'preCandidate' ? 'a pre-vote' : 'an election'} for term ${r.term + (r.role === 'preCandidate' ? 1 : 0)}`, id, r.term);
      }
    }
  }

  /**
   * Gives a starting peer a direct link (a MessagePort pair) to every other running peer, and its link rules.
   * Raft messages then go worker to worker; the manager only sets rules and collects the counts.
   */
  private connectLinks(id: NodeId, worker: Worker): void {
    worker.postMessage({ t: 'rules', rules: this.network.rulesFrom(id) } satisfies ToPeer);
    for (const other of this.peers.values()) {
      if (other.member.id === id || !other.worker || other.state === 'removed' || other.state === 'down') continue;
      const { port1, port2 } = new MessageChannel();
      worker.postMessage({ t: 'link', peer: other.member.id, port: port1 } satisfies ToPeer, [port1]);
      other.worker.postMessage({ t: 'link', peer: id, port: port2 } satisfies ToPeer, [port2]);
    }
  }

  /** A peer went down or away: the others learn it at once, as from a refused connection. */
  private disconnectLinks(id: NodeId): void {
    for (const other of this.peers.values()) {
      if (other.member.id !== id) other.worker?.postMessage({ t: 'unlink', peer: id } satisfies ToPeer);
    }
    this.network.endRun(id);
  }

  /** Sends every running peer the rules of its outgoing links, after a change. */
  private pushRules(): void {
    for (const h of this.peers.values()) h.worker?.postMessage({ t: 'rules', rules: this.network.rulesFrom(h.member.id) } satisfies ToPeer);
  }

  private handle(id: NodeId): PeerHandle {
    const handle = this.peers.get(id);
    if (!handle || handle.state === 'removed') throw new ClusterError(`no peer with id ${id}`, 'NOT_FOUND');
    return handle;
  }

  /** Resolves a peer by name (n2), id (2) or 'leader'. */
  resolvePeer(ref: string | NodeId): NodeId {
    if (typeof ref === 'number') return this.handle(ref).member.id;
    if (ref === 'leader') {
      const lead = this.leaderId();
      if (!lead) throw new ClusterError('there is no leader right now', 'UNAVAILABLE');
      return lead;
    }
    for (const h of this.peers.values()) if (h.member.name === ref && h.state !== 'removed') return h.member.id;
    if (/^\d+$/.test(ref)) return this.handle(Number(ref)).member.id;
    throw new ClusterError(`no peer named ${JSON.stringify(ref)} (peers: ${this.record.members.map((m) => m.name).join(', ')})`, 'NOT_FOUND');
  }

  /** Sends a call to a peer's worker. */
  call(id: NodeId, call: PeerCall): Promise<unknown> {
    const handle = this.handle(id);
    if (!handle.worker || handle.state === 'down' || handle.state === 'starting') {
      return Promise.reject(new ClusterError(`${handle.member.name} is ${handle.state}`, 'UNAVAILABLE'));
    }
    const callId = this.nextCallId++;
    return new Promise((resolve, reject) => {
      handle.calls.set(callId, { resolve, reject });
      handle.worker!.postMessage({ t: 'call', id: callId, call });
    });
  }

  /** The current leader as reported by the up peers (the one with the highest term), or 0. */
  leaderId(): NodeId {
    let best: { id: NodeId; term: number } | undefined;
    for (const h of this.peers.values()) {
      const r = h.status?.raft;
      if (h.state !== 'up' || !r || r.role !== 'leader') continue;
      if (!best || r.term > best.term) best = { id: r.id, term: r.term };
    }
    return best?.id ?? 0;
  }

  /**
   * The leader for the manager's own requests (ctl put/get/alarm, the dashboard's writes): the current
   * leader unless the simulated network cuts it off from a quorum of the voters that are up (cut links, links
   * dropping everything, links slower than an election timeout: see SimulatedNetwork.carriesLeadership). An isolated leader
   * keeps its role until CheckQuorum deposes it (an election timeout), and a request sent to it meanwhile could
   * only wait out its timeout; the manager, which sees the network, waits for the next leader instead. 0 if none.
   */
  workingLeaderId(): NodeId {
    const lead = this.leaderId();
    const progress = this.peers.get(lead)?.status?.raft.progress ?? {};
    let voters = 0;
    let reached = 0;
    for (const [key, pr] of Object.entries(progress)) {
      if (pr.isLearner) continue;
      const id = Number(key);
      voters++;
      if (id === lead || (this.peers.get(id)?.state === 'up' && this.network.inTouch(lead, id, this.timing.electionMs))) reached++;
    }
    return lead && reached >= quorumSize(voters) ? lead : 0;
  }

  /**
   * Why no leader can be elected now, when the manager can see it: fewer voters up and able to reach each other
   * (both ways, over links that carry leadership) than a quorum. Undefined when a quorum could elect one.
   */
  private whyNoLeader(): string | undefined {
    const voters = [...this.peers.values()].filter((h) => h.state !== 'removed' && h.status && !h.status.raft.isLearner);
    const up = voters.filter((h) => h.state === 'up').map((h) => h.member.id);
    // The largest group around one peer: exact for partitions, which split the peers into groups.
    const together = Math.max(0, ...up.map((a) => up.filter((b) => this.network.inTouch(a, b, this.timing.electionMs)).length));
    const quorum = quorumSize(voters.length);
    if (together >= quorum) return undefined;
    return `${up.length} of ${voters.length} voters are up, the largest group of them in touch is ${together}, and a leader needs ${quorum}`;
  }

  /** Resolves with the leader's id once one is elected (or rejects after timeoutMs); see workingLeaderId for `working`. */
  async waitForLeader(timeoutMs = 10_000, except?: NodeId, working = false): Promise<NodeId> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const lead = working ? this.workingLeaderId() : this.leaderId();
      if (lead && lead !== except) return lead;
      if (Date.now() > deadline) {
        const why = this.whyNoLeader();
        throw new ClusterError(`no leader was elected in time${why ? ` (${why})` : ''}`, 'UNAVAILABLE');
      }
      await new Promise((r) => setTimeout(r, Math.min(20, this.timing.heartbeatMs)));
    }
  }

  // ------------------------------------------------------------------ fault injection

  async kill(ref: string | NodeId): Promise<void> {
    const handle = this.handle(this.resolvePeer(ref));
    if (!handle.worker) throw new ClusterError(`${handle.member.name} is already down`);
    const worker = handle.worker;
    handle.state = 'down';
    this.disconnectLinks(handle.member.id);
    await crash(worker);
    this.addEvent('peerKilled', `${handle.member.name} was killed`, handle.member.id);
  }

  async restart(ref: string | NodeId): Promise<void> {
    const handle = this.handle(this.resolvePeer(ref));
    if (handle.worker) {
      const worker = handle.worker;
      handle.worker = undefined;
      this.disconnectLinks(handle.member.id);
      await crash(worker);
    }
    await this.spawn(handle.member);
    this.addEvent('peerRestarted', `${handle.member.name} restarted`, handle.member.id);
  }

  pause(ref: string | NodeId): void {
    const handle = this.handle(this.resolvePeer(ref));
    if (handle.state !== 'up') throw new ClusterError(`${handle.member.name} is ${handle.state}, not up`);
    handle.worker!.postMessage({ t: 'pause' });
    handle.state = 'paused';
    this.addEvent('peerPaused', `${handle.member.name} paused`, handle.member.id);
  }

  resume(ref: string | NodeId): void {
    const handle = this.handle(this.resolvePeer(ref));
    if (handle.state !== 'paused') throw new ClusterError(`${handle.member.name} is not paused`);
    handle.worker!.postMessage({ t: 'resume' });
    handle.state = 'up';
    this.addEvent('peerResumed', `${handle.member.name} resumed`, handle.member.id);
  }

  private memberIds(): NodeId[] {
    return this.record.members.map((m) => m.id);
  }

  isolate(ref: string | NodeId): void {
    const id = this.resolvePeer(ref);
    this.network.isolate(id, this.memberIds());
    this.pushRules();
    this.addEvent('partitionChanged', `${this.peers.get(id)!.member.name} isolated`, id);
  }

  /** The listed peers on one side, everyone else on the other; oneWay cuts only their outgoing links. */
  partition(refs: (string | NodeId)[], oneWay = false): void {
    const side = [...new Set(refs.map((r) => this.resolvePeer(r)))];
    const rest = this.memberIds().filter((id) => !side.includes(id));
    if (side.length === 0 || rest.length === 0) throw new ClusterError('a partition needs peers on both sides', 'INVALID_ARGUMENT');
    this.network.partition([side, rest], oneWay);
    this.pushRules();
    const names = (ids: NodeId[]) => ids.map((id) => this.peers.get(id)!.member.name).join(',');
    this.addEvent('partitionChanged', `partitioned ${names(side)} ${oneWay ? '-/->' : '|'} ${names(rest)}`);
  }

  /** Both ends of a link to break: two different peers (a peer's messages to itself never cross the network). */
  private linkEnds(from: string | NodeId, to: string | NodeId): [NodeId, NodeId] {
    const a = this.resolvePeer(from);
    const b = this.resolvePeer(to);
    if (a === b) throw new ClusterError(`a link joins two different peers; ${this.name(a)} was given for both ends`, 'INVALID_ARGUMENT');
    return [a, b];
  }

  cutLink(from: string | NodeId, to: string | NodeId, oneWay = true): void {
    const [a, b] = this.linkEnds(from, to);
    this.network.cut(a, b, oneWay);
    this.pushRules();
    this.addEvent('partitionChanged', `cut ${this.name(a)} ${oneWay ? '->' : '<->'} ${this.name(b)}`);
  }

  drop(from: string | NodeId, to: string | NodeId, percent: number): void {
    const [a, b] = this.linkEnds(from, to);
    this.network.drop(a, b, percent);
    this.pushRules();
    this.addEvent('partitionChanged', `dropping ${percent}% of ${this.name(a)} -> ${this.name(b)}`);
  }

  delay(from: string | NodeId, to: string | NodeId, ms: number, jitterMs = 0): void {
    const [a, b] = this.linkEnds(from, to);
    this.network.delay(a, b, ms, jitterMs);
    this.pushRules();
    this.addEvent('partitionChanged', `delaying ${this.name(a)} -> ${this.name(b)} by ${ms} ms${jitterMs ? ` ± ${jitterMs} ms` : ''}`);
  }

  heal(): void {
    this.network.heal();
    this.pushRules();
    this.addEvent('partitionChanged', 'network healed');
  }

  private name(id: NodeId): string {
    return this.peers.get(id)?.member.name ?? `#${id}`;
  }

  // ------------------------------------------------------------------ leadership and membership

  async transferLeader(ref: string | NodeId): Promise<void> {
    const to = this.resolvePeer(ref);
    const lead = this.leaderId();
    if (!lead) throw new ClusterError('etcdserver: no leader', 'UNAVAILABLE');
    if (lead === to) return;
    await this.call(lead, { op: 'transferLeader', to });
    this.addEvent('leaderTransferred', `leadership moved from ${this.name(lead)} to ${this.name(to)}`, to);
  }

  /**
   * Adds a peer: it joins as a learner, catches up, and is then promoted to a voter — or, with `learner`, stays
   * a learner (it gets every entry but does not vote or count for quorum) until promotePeer.
   */
  addPeer(options: { learner?: boolean } = {}): Promise<NodeId> {
    return this.oneMembershipChangeAtATime(() => this.addPeerNow(options));
  }

  /**
   * Runs a membership change after the ones asked for before it. Two at once would both start a peer and both
   * write cluster.json, and Raft takes one configuration change at a time anyway (a second one is refused).
   */
  private oneMembershipChangeAtATime<T>(change: () => Promise<T>): Promise<T> {
    const run = this.membershipChange.then(change, change);
    this.membershipChange = run.catch(() => undefined);
    return run;
  }

  private async addPeerNow(options: { learner?: boolean }): Promise<NodeId> {
    if (this.record.members.length >= 7) throw new ClusterError('a cluster has at most 7 peers here', 'FAILED_PRECONDITION');
    // etcd's check, before anything starts: a new member needs every current voter connected.
    await this.callLeader({ op: 'checkAddMember' }, this.timing.electionMs);
    const member = await this.startJoiningPeer();
    const id = member.id;
    try {
      await this.changeMembership({ type: 'addLearner', nodeId: id });
    } catch (err) {
      // The change may still be in the log and commit later (a timed-out proposal is not a refused one), so the
      // peer stays, listed and removable, rather than leave a member in the configuration that nothing runs.
      const reason = (err as Error).message;
      throw new ClusterError(`${member.name} was started but could not be added to the configuration (${reason}); it may still join, or remove it`, (err as { code?: string }).code ?? 'UNAVAILABLE');
    }
    this.addEvent('memberAdded', `${member.name} joined as a learner`, id);
    if (options.learner) return id;
    await this.waitForCatchUp(id);
    await this.changeMembership({ type: 'addNode', nodeId: id });
    this.addEvent('memberAdded', `${member.name} promoted to voter`, id);
    return id;
  }

  /**
   * Records and starts the next peer, not yet in the Raft configuration. A peer that cannot start is undone;
   * when only its client port was taken (by anything on this machine), the next id and port are tried.
   */
  private async startJoiningPeer(): Promise<MemberRecord> {
    for (let attempt = 1; ; attempt++) {
      const id = this.record.nextId;
      const member = { id, name: `n${id}` };
      const before = this.record;
      this.record = { ...this.record, nextId: id + 1, members: [...this.record.members, member] };
      try {
        await this.saveRecord();
      } catch (err) {
        this.record = before; // nothing was started: no member may be listed that nothing runs
        throw new ClusterError(`could not record ${member.name} in cluster.json: ${(err as Error).message}`, 'UNAVAILABLE');
      }
      this.broadcastMembers();
      try {
        await this.spawn(member, true);
        return member;
      } catch (err) {
        await this.retire(id);
        if (!(err instanceof ClusterError && err.code === 'clientPort') || attempt === 5) throw err;
      }
    }
  }

  /** Makes a learner a voter; its leader decides, as in etcd (it must be a learner, and in sync). */
  promotePeer(ref: string | NodeId): Promise<void> {
    return this.oneMembershipChangeAtATime(() => this.promotePeerNow(ref));
  }

  private async promotePeerNow(ref: string | NodeId): Promise<void> {
    const id = this.resolvePeer(ref);
    const lead = this.leaderId() || (await this.waitForLeader());
    await this.call(lead, { op: 'promote', id });
    this.addEvent('memberAdded', `${this.name(id)} promoted to voter`, id);
  }

  /**
   * Removes a peer from the configuration, then stops it and deletes its folder. `stopAfterMs` keeps it running a
   * moment longer, as etcd's removed member stops after a delay: when a client asked the member to remove itself,
   * its answer must get out first.
   */
  removePeer(ref: string | NodeId, stopAfterMs = 0): Promise<void> {
    return this.oneMembershipChangeAtATime(() => this.removePeerNow(ref, stopAfterMs));
  }

  private async removePeerNow(ref: string | NodeId, stopAfterMs: number): Promise<void> {
    const id = this.resolvePeer(ref);
    if (this.record.members.length <= 1) throw new ClusterError('cannot remove the last member', 'FAILED_PRECONDITION');
    await this.changeMembership({ type: 'removeNode', nodeId: id });
    const name = this.name(id);
    const stop = async () => {
      await this.retire(id);
      this.addEvent('memberRemoved', `${name} removed`, id);
    };
    if (stopAfterMs === 0) return stop();
    this.peers.get(id)!.state = 'removed';
    setTimeout(() => void stop().catch((err: Error) => this.addEvent('peerFailed', `${name} did not stop cleanly after its removal: ${err.message}`, id)), stopAfterMs);
  }

  /** Stops a peer that is no longer (or never was) in the configuration and forgets it, folder and all. */
  private async retire(id: NodeId): Promise<void> {
    const handle = this.peers.get(id)!;
    handle.state = 'removed';
    const worker = handle.worker;
    handle.worker = undefined;
    this.disconnectLinks(id);
    if (worker) await crash(worker);
    this.network.forget(id);
    this.pushRules();
    this.record = { ...this.record, members: this.record.members.filter((m) => m.id !== id) };
    await this.saveRecord();
    this.broadcastMembers();
    if (this.opts.dataDir) await rm(join(this.opts.dataDir, handle.member.name), { recursive: true, force: true });
    this.peers.delete(id);
  }

  private changeMembership(change: ConfChange): Promise<void> {
    return this.callLeader({ op: 'confChange', change }).then(() => undefined);
  }

  /**
   * Runs a call on the leader, asking the current one again while it answers UNAVAILABLE (the leader changed, or
   * there is none yet). "Unhealthy cluster" is an answer, not a blip — except for `unhealthyGraceMs`: a link that
   * has just healed is heard from again within a heartbeat.
   */
  private async callLeader(call: PeerCall, unhealthyGraceMs = 0): Promise<unknown> {
    const start = Date.now();
    for (;;) {
      const lead = this.leaderId() || (await this.waitForLeader());
      try {
        return await this.call(lead, call);
      } catch (err) {
        const unhealthy = (err as Error).message === UNHEALTHY_MESSAGE;
        const retry = unhealthy
          ? Date.now() - start < unhealthyGraceMs
          : err instanceof ClusterError && err.code === 'UNAVAILABLE' && Date.now() - start < this.opts.requestTimeoutMs * 2;
        if (!retry) throw err;
        await new Promise((r) => setTimeout(r, this.timing.heartbeatMs));
      }
    }
  }

  private async waitForCatchUp(id: NodeId): Promise<void> {
    const deadline = Date.now() + this.opts.requestTimeoutMs * 4;
    for (;;) {
      const lead = this.peers.get(this.leaderId());
      const pr = lead?.status?.raft.progress[id];
      if (lead && pr && pr.match >= lead.status!.raft.commit - 10) return;
      if (Date.now() > deadline) throw new ClusterError(`n${id} did not catch up in time`, 'UNAVAILABLE');
      await new Promise((r) => setTimeout(r, this.timing.heartbeatMs));
    }
  }

  private broadcastMembers(): void {
    const memberPorts = Object.fromEntries(this.record.members.map((m) => [m.id, this.clientPort(m.id)]));
    const names = Object.fromEntries(this.record.members.map((m) => [m.id, m.name]));
    for (const h of this.peers.values()) h.worker?.postMessage({ t: 'members', memberPorts, names });
  }

  private saveRecord(): Promise<void> {
    const dataDir = this.opts.dataDir;
    if (!dataDir) return Promise.resolve();
    // One write at a time (they share a temporary name); each writes the record as it is when it starts.
    const write = this.recordWrite.then(() => writeRecord(dataDir, this.record));
    this.recordWrite = write.catch(() => undefined);
    return write;
  }

  // ------------------------------------------------------------------ status

  private addEvent(type: ClusterEventType, message: string, peer?: NodeId, term?: number): void {
    const event: ClusterEvent = { at: Date.now(), type, message, ...(peer ? { peer } : {}), ...(term ? { term } : {}) };
    this.events.push(event);
    if (this.events.length > MAX_EVENTS) this.events.splice(0, this.events.length - MAX_EVENTS);
    this.statusDirty = true;
    this.emit('event', event);
  }

  private flushStatus(): void {
    this.sampleCommitRate();
    if (!this.statusDirty || this.listenerCount('status') === 0) return;
    this.statusDirty = false;
    this.emit('status', this.status());
  }

  private sampleCommitRate(): void {
    const now = Date.now();
    if (now - this.lastAppliedSample.at < 1000) return;
    const applied = Math.max(0, ...[...this.peers.values()].map((h) => h.status?.raft.applied ?? 0));
    if (this.lastAppliedSample.at > 0) {
      this.commitsPerSecond = ((applied - this.lastAppliedSample.applied) * 1000) / (now - this.lastAppliedSample.at);
    }
    this.lastAppliedSample = { at: now, applied };
  }

  /** A full snapshot of the cluster, as the status stream sends it. */
  status(): ClusterStatus {
    const ids = this.memberIds();
    const peers: PeerView[] = this.record.members.map((m) => {
      const h = this.peers.get(m.id);
      const s = h?.status;
      const r = s?.raft;
      const state = h?.state ?? 'down';
      const view: PeerView = {
        id: m.id,
        name: m.name,
        state,
        clientPort: this.clientPort(m.id),
        role: r ? (r.isLearner ? 'learner' : r.role) : 'follower',
        term: r?.term ?? 0,
        vote: r?.vote ?? 0,
        leader: r?.lead ?? 0,
        commit: r?.commit ?? 0,
        applied: r?.applied ?? 0,
        firstIndex: r?.firstIndex ?? 0,
        memoryFirstIndex: r?.memoryFirstIndex ?? 0,
        lastIndex: r?.lastIndex ?? 0,
        snapshotIndex: r?.snapshotIndex ?? 0,
        electionProgress: state === 'up' ? (s?.electionProgress ?? 0) : 0,
        isLearner: r?.isLearner ?? false,
        progress: state === 'up' && r?.role === 'leader' ? r.progress : {},
        revision: s?.revision ?? 0,
        keys: s?.keys ?? 0,
        alarms: s?.alarms ?? [],
        cutOff: this.network.isCutOff(m.id, ids),
        logTerms: s?.logTerms ?? [],
      };
      if (h?.error) view.error = h.error;
      return view;
    });
    const leader = this.leaderId();
    return {
      clusterId: this.clusterId,
      running: this.running,
      leader,
      term: Math.max(0, ...peers.map((p) => p.term)),
      timing: this.timing,
      peers,
      links: this.network.links(),
      quorum: quorumView(peers),
      events: [...this.events],
      stats: {
        applied: Math.max(0, ...peers.map((p) => p.applied)),
        writeLatencyP50: this.latency.percentile(50),
        writeLatencyP99: this.latency.percentile(99),
        commitsPerSecond: Math.round(this.commitsPerSecond),
      },
    };
  }

  /** Stops every peer cleanly (their folders are closed) and the manager. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    if (this.statusTimer) clearInterval(this.statusTimer);
    await Promise.all(
      [...this.peers.values()].map(async (h) => {
        const worker = h.worker;
        if (!worker) return;
        const stopped = new Promise<void>((resolve) => {
          worker.on('message', (m: FromPeer) => m.t === 'stopped' && resolve());
          worker.on('exit', () => resolve());
        });
        if (h.state === 'paused') worker.postMessage({ t: 'resume' });
        worker.postMessage({ t: 'stop' });
        await Promise.race([stopped, new Promise((r) => setTimeout(r, 3000))]);
        h.worker = undefined;
        h.state = 'down';
        await worker.terminate();
      }),
    );
    this.addEvent('stopped', `cluster ${this.clusterId} stopped`);
    this.emit('status', this.status());
  }
}

/**
 * Kills a peer as a crash would: its sockets reset, nothing more is written, only synced data survives. The
 * worker closes its client sockets and exits itself; terminating a worker whose HTTP/2 sockets are still
 * receiving can abort the whole process (a Node assertion in http2's stream read), and this process may be
 * VS Code's extension host. terminate() remains the fallback for a peer that does not answer.
 */
