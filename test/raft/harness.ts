// A tiny hand-driven network of RaftNodes for scenario tests: every peer persists to an in-memory "disk"
// and applies committed entries; messages wait in one queue until the test delivers them (or drops them).
import { RaftNode } from '../../src/raft/raft-node.ts';
import { SeededRng } from '../../src/raft/rand.ts';
import type { Config, Entry, HardState, Message, NodeId, PersistedState, ReadState, Snapshot } from '../../src/raft/types.ts';

export interface TestPeer {
  id: NodeId;
  node: RaftNode;
  /** What is on its disk. */
  hard: HardState;
  snapshot: Snapshot | undefined;
  log: Entry[];
  applied: Entry[];
  reads: ReadState[];
}

export const text = (s: string) => new TextEncoder().encode(s);
export const str = (b: Uint8Array) => new TextDecoder().decode(b);

export class Net {
  readonly peers = new Map<NodeId, TestPeer>();
  queue: Message[] = [];
  /** Directed links that drop everything. */
  readonly cut = new Set<string>();
  /** Every message ever sent, for assertions. */
  readonly sent: Message[] = [];
  /** Reads of entries on disk only (Ready.loadEntries) not yet handed back; every one ever asked for. */
  loads: { id: NodeId; lo: number; hi: number; maxBytes: number }[] = [];
  readonly loadsAsked: { id: NodeId; lo: number; hi: number; maxBytes: number }[] = [];

  constructor(
    ids: NodeId[],
    readonly opts: Partial<Config> = {},
    initial?: (id: NodeId) => PersistedState,
  ) {
    for (const id of ids) this.add(id, initial ? initial(id) : RaftNode.bootstrap(ids));
  }

  config(id: NodeId): Config {
    return {
      id,
      electionTick: 10,
      heartbeatTick: 1,
      preVote: true,
      checkQuorum: true,
      maxInflightMsgs: 256,
      maxSizePerMsg: 1 << 20,
      rng: new SeededRng(id * 7919),
      ...this.opts,
    };
  }

  add(id: NodeId, state: PersistedState): TestPeer {
    const p: TestPeer = {
      id,
      node: new RaftNode(this.config(id), state),
      hard: { ...state.hardState },
      snapshot: state.snapshot,
      log: state.entries.slice(),
      applied: [],
      reads: [],
    };
    this.peers.set(id, p);
    this.drain(p);
    return p;
  }

  get(id: NodeId): TestPeer {
    const p = this.peers.get(id);
    if (!p) throw new Error(`no peer ${id}`);
    return p;
  }

  /** Handles every Ready of p in order: persist, queue messages, apply, advance. */
  drain(p: TestPeer): void {
    while (p.node.hasReady()) {
      const rd = p.node.ready();
      if (rd.snapshot) {
        p.snapshot = rd.snapshot;
        p.log = p.log.filter((e) => e.index > rd.snapshot!.meta.index);
      }
      if (rd.entries.length > 0) {
        const first = rd.entries[0]!.index;
        p.log = p.log.filter((e) => e.index < first).concat(rd.entries);
      }
      if (rd.hardState) p.hard = { ...rd.hardState };
      if (rd.loadEntries) {
        this.loads.push({ id: p.id, ...rd.loadEntries });
        this.loadsAsked.push({ id: p.id, ...rd.loadEntries });
      }
      for (const m of rd.messages) {
        this.sent.push(m);
        if (!this.cut.has(`${m.from}>${m.to}`)) this.queue.push(m);
      }
      p.applied.push(...rd.committedEntries);
      p.reads.push(...rd.readStates);
      p.node.advance(rd);
    }
  }

  /** Hands back the entries every pending load asked for, from the peer's disk as it is now. */
  finishLoads(): void {
    const loads = this.loads;
    this.loads = [];
    for (const load of loads) this.finishLoad(load);
  }

  /** Hands back one load's entries: those on the peer's disk in [lo, hi), up to maxBytes (at least one). */
  finishLoad({ id, lo, hi, maxBytes }: { id: NodeId; lo: number; hi: number; maxBytes: number }): Entry[] {
    const p = this.get(id);
    let bytes = 0;
    const read = p.log.filter((e) => e.index >= lo && e.index < hi && ((bytes += e.data.byteLength) <= maxBytes || e.index === lo));
    p.node.entriesLoaded(lo, read);
    this.drain(p);
    return read;
  }

  /** Delivers queued messages (those passing `filter`; others stay queued) and loads until none are left. */
  deliverAll(filter: (m: Message) => boolean = () => true, maxRounds = 1000): void {
    for (let round = 0; round < maxRounds; round++) {
      this.finishLoads();
      const now = this.queue.filter(filter);
      if (now.length === 0 && this.loads.length === 0) return;
      this.queue = this.queue.filter((m) => !filter(m));
      for (const m of now) {
        const p = this.peers.get(m.to);
        if (!p || this.cut.has(`${m.from}>${m.to}`)) continue;
        p.node.step(m);
        this.drain(p);
      }
    }
  }

  /** Drops queued messages matching `f`. */
  drop(f: (m: Message) => boolean): void {
    this.queue = this.queue.filter((m) => !f(m));
  }

  tick(ids: NodeId[] = [...this.peers.keys()], n = 1): void {
    for (let i = 0; i < n; i++)
      for (const id of ids) {
        const p = this.get(id);
        p.node.tick();
        this.drain(p);
      }
  }

  /** Ticks everyone, delivering after each tick, n times. */
  run(n: number, ids?: NodeId[]): void {
    for (let i = 0; i < n; i++) {
      this.tick(ids);
      this.deliverAll();
    }
  }

  isolate(id: NodeId): void {
    for (const other of this.peers.keys()) {
      if (other === id) continue;
      this.cut.add(`${id}>${other}`);
      this.cut.add(`${other}>${id}`);
    }
  }

  heal(): void {
    this.cut.clear();
  }

  campaign(id: NodeId): void {
    const p = this.get(id);
    p.node.campaign();
    this.drain(p);
    this.deliverAll();
  }

  leaders(): NodeId[] {
    return [...this.peers.values()].filter((p) => p.node.status().role === 'leader').map((p) => p.id);
  }

  propose(id: NodeId, data: string): void {
    const p = this.get(id);
    p.node.propose(text(data));
    this.drain(p);
  }

  /** The normal entries p applied, as strings. */
  appliedData(id: NodeId): string[] {
    return this.get(id)
      .applied.filter((e) => e.type === 'normal' && e.data.length > 0)
      .map((e) => str(e.data));
  }

  /** Terms of the entries on p's disk, from index 1 (or after its snapshot). */
  terms(id: NodeId): number[] {
    return this.get(id).log.map((e) => e.term);
  }
}

/** A persisted state with a log of the given terms (entries 1..n, no data except a marker), at term `term`. */
export function stateWithLog(voters: NodeId[], terms: number[], term: number, commit: number): PersistedState {
  const boot = RaftNode.bootstrap(voters);
  const entries = boot.entries.slice();
  for (let i = 0; i < terms.length; i++) {
    entries.push({ term: terms[i]!, index: entries.length + 1, type: 'normal', data: text(`e${entries.length + 1}t${terms[i]}`) });
  }
  return { hardState: { term, vote: 0, commit: Math.max(commit, boot.entries.length) }, entries, applied: 0 };
}
