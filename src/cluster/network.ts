// The network between peers, under the manager's control: links can be cut (one way or both), made lossy or
// slow. This is the rule book; each peer applies the rules of its own outgoing links where it sends (see
// src/node/peer-links.ts) and reports what crossed them, which is gathered here per link.
import type { LinkCounts, LinkRule } from '../node/protocol.ts';
import type { NodeId } from '../raft/types.ts';
import { ClusterError } from './cluster-error.ts';

/** The longest timer Node runs (2^31 - 1 ms); a link's delay and jitter must fit in it. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export type { LinkRule } from '../node/protocol.ts';

export interface LinkStats extends LinkCounts {
  from: NodeId;
  to: NodeId;
}

export interface LinkView extends LinkRule, LinkStats {}

const OPEN: LinkRule = { cut: false, dropPercent: 0, delayMs: 0, jitterMs: 0 };

function linkKey(from: NodeId, to: NodeId): string {
  return `${from}>${to}`;
}

export class SimulatedNetwork {
  private readonly rules = new Map<string, LinkRule>();
  /** Counts reported by each peer's current run, and what earlier runs of it (before a restart) counted. */
  private readonly current = new Map<string, LinkCounts>();
  private readonly earlier = new Map<string, LinkCounts>();

  rule(from: NodeId, to: NodeId): LinkRule {
    return this.rules.get(linkKey(from, to)) ?? OPEN;
  }

  private update(from: NodeId, to: NodeId, change: Partial<LinkRule>): void {
    if (from === to) return;
    const next = { ...this.rule(from, to), ...change };
    const isOpen = !next.cut && next.dropPercent === 0 && next.delayMs === 0 && next.jitterMs === 0;
    if (isOpen) this.rules.delete(linkKey(from, to));
    else this.rules.set(linkKey(from, to), next);
  }

  /** Cuts the link from -> to; both ways unless oneWay. */
  cut(from: NodeId, to: NodeId, oneWay = false): void {
    this.update(from, to, { cut: true });
    if (!oneWay) this.update(to, from, { cut: true });
  }

  /** Cuts every link between `id` and the others. */
  isolate(id: NodeId, all: NodeId[]): void {
    for (const other of all) if (other !== id) this.cut(id, other);
  }

  /**
   * Splits the peers into groups that cannot reach each other. With oneWay, only messages from the first
   * group to the others are cut (the others still reach it).
   */
  partition(groups: NodeId[][], oneWay = false): void {
    for (let i = 0; i < groups.length; i++) {
      for (let j = 0; j < groups.length; j++) {
        if (i === j || (oneWay && i !== 0)) continue;
        for (const a of groups[i]!) for (const b of groups[j]!) this.update(a, b, { cut: true });
      }
    }
  }

  drop(from: NodeId, to: NodeId, percent: number): void {
    if (!(percent >= 0 && percent <= 100)) throw new ClusterError(`drop percentage must be between 0 and 100, got ${percent}`, 'INVALID_ARGUMENT');
    this.update(from, to, { dropPercent: percent });
  }

  delay(from: NodeId, to: NodeId, ms: number, jitterMs = 0): void {
    if (!(ms >= 0) || !(jitterMs >= 0)) throw new ClusterError('delay and jitter must be non-negative numbers of milliseconds', 'INVALID_ARGUMENT');
    // A longer timer fires at once in Node (with a warning): a "never arrives" delay would become none at all.
    if (ms + jitterMs > MAX_TIMER_MS) throw new ClusterError(`delay and jitter together must be at most ${MAX_TIMER_MS} ms (about 24.8 days); to lose messages, use drop 100 or cut the link`, 'INVALID_ARGUMENT');
    this.update(from, to, { delayMs: ms, jitterMs });
  }

  heal(): void {
    this.rules.clear();
  }

  /** Forgets a removed peer's links. */
  forget(id: NodeId): void {
    for (const key of new Set([...this.rules.keys(), ...this.current.keys(), ...this.earlier.keys()])) {
      const [a, b] = key.split('>').map(Number);
      if (a === id || b === id) {
        this.rules.delete(key);
        this.current.delete(key);
        this.earlier.delete(key);
      }
    }
  }

  /**
   * Whether a leader could keep a follower over this link: not when it is cut, drops everything, or is slower
   * than an election timeout (the follower stops hearing heartbeats in time and a new election starts).
   */
  carriesLeadership(from: NodeId, to: NodeId, electionMs: number): boolean {
    const rule = this.rule(from, to);
    return !rule.cut && rule.dropPercent < 100 && rule.delayMs < electionMs;
  }

  /** Whether a and b can hold a leader–follower relationship: both ways (a peer is always in touch with itself). */
  inTouch(a: NodeId, b: NodeId, electionMs: number): boolean {
    return a === b || (this.carriesLeadership(a, b, electionMs) && this.carriesLeadership(b, a, electionMs));
  }

  /** True when `id` can neither send to nor receive from any of the others. */
  isCutOff(id: NodeId, others: NodeId[]): boolean {
    const peers = others.filter((o) => o !== id);
    return peers.length > 0 && peers.every((o) => this.rule(id, o).cut && this.rule(o, id).cut);
  }

  /** The rules of the links from `from`, by destination, as its peer applies them. */
  rulesFrom(from: NodeId): Record<NodeId, LinkRule> {
    const out: Record<NodeId, LinkRule> = {};
    for (const [key, rule] of this.rules) {
      const [a, b] = key.split('>').map(Number) as [NodeId, NodeId];
      if (a === from) out[b] = rule;
    }
    return out;
  }

  /** A peer's counts per destination since it started. */
  report(from: NodeId, counts: Record<NodeId, LinkCounts>): void {
    for (const [to, c] of Object.entries(counts)) this.current.set(linkKey(from, Number(to)), c);
  }

  /** The peer stopped: what its run counted stays in the totals. */
  endRun(from: NodeId): void {
    for (const [key, c] of [...this.current]) {
      if (!key.startsWith(`${from}>`)) continue;
      this.earlier.set(key, add(this.earlier.get(key), c));
      this.current.delete(key);
    }
  }

  /** Every link that has a rule or has carried traffic. */
  links(): LinkView[] {
    const keys = new Set([...this.rules.keys(), ...this.current.keys(), ...this.earlier.keys()]);
    return [...keys].sort().map((key) => {
      const [from, to] = key.split('>').map(Number) as [NodeId, NodeId];
      const counts = add(this.earlier.get(key), this.current.get(key));
      return { ...this.rule(from, to), from, to, ...counts };
    });
  }
}

function add(a: LinkCounts | undefined, b: LinkCounts | undefined): LinkCounts {
  const byType: Record<string, number> = { ...a?.byType };
  for (const [type, n] of Object.entries(b?.byType ?? {})) byType[type] = (byType[type] ?? 0) + n;
  return { sent: (a?.sent ?? 0) + (b?.sent ?? 0), delivered: (a?.delivered ?? 0) + (b?.delivered ?? 0), dropped: (a?.dropped ?? 0) + (b?.dropped ?? 0), byType };
}
