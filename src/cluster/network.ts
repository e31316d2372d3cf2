// The network between peers, under the manager's control: every Raft message between workers passes here,
// where links can be cut (one way or both), made lossy or slow. Messages crossing it are counted per link.
import { batchDestination, batchTypes, selectMessages } from '../node/message-codec.ts';
import type { NodeId } from '../raft/types.ts';

export interface LinkRule {
  cut: boolean;
  /** Percentage of messages dropped, 0-100. */
  dropPercent: number;
  delayMs: number;
  jitterMs: number;
}

export interface LinkStats {
  from: NodeId;
  to: NodeId;
  sent: number;
  delivered: number;
  dropped: number;
  /** Counts by message type (app, heartbeat, vote...), for the dashboard's traffic view. */
  byType: Record<string, number>;
}

export interface LinkView extends LinkRule, LinkStats {}

const OPEN: LinkRule = { cut: false, dropPercent: 0, delayMs: 0, jitterMs: 0 };

function linkKey(from: NodeId, to: NodeId): string {
  return `${from}>${to}`;
}

export class SimulatedNetwork {
  private readonly rules = new Map<string, LinkRule>();
  private readonly stats = new Map<string, LinkStats>();
  private readonly timers = new Set<ReturnType<typeof setTimeout>>();

  constructor(
    /** Hands a batch of messages (see message-codec.ts) to a peer: the manager transfers it to its worker. */
    private readonly deliver: (to: NodeId, batch: ArrayBuffer) => void,
    private readonly random: () => number = Math.random,
  ) {}

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
    if (!(percent >= 0 && percent <= 100)) throw new Error(`drop percentage must be between 0 and 100, got ${percent}`);
    this.update(from, to, { dropPercent: percent });
  }

  delay(from: NodeId, to: NodeId, ms: number, jitterMs = 0): void {
    if (!(ms >= 0) || !(jitterMs >= 0)) throw new Error('delay and jitter must be non-negative numbers of milliseconds');
    this.update(from, to, { delayMs: ms, jitterMs });
  }

  heal(): void {
    this.rules.clear();
  }

  /** Forgets a removed peer's links. */
  forget(id: NodeId): void {
    for (const key of [...this.rules.keys(), ...this.stats.keys()]) {
      const [a, b] = key.split('>').map(Number);
      if (a === id || b === id) {
        this.rules.delete(key);
        this.stats.delete(key);
      }
    }
  }

  /** True when `id` can neither send to nor receive from any of the others. */
  isCutOff(id: NodeId, others: NodeId[]): boolean {
    const peers = others.filter((o) => o !== id);
    return peers.length > 0 && peers.every((o) => this.rule(id, o).cut && this.rule(o, id).cut);
  }

  /** Carries batches of messages from one peer (one batch per destination), applying each link's rule. */
  route(from: NodeId, batches: ArrayBuffer[]): void {
    for (const batch of batches) {
      const to = batchDestination(batch);
      const types = batchTypes(batch);
      const key = linkKey(from, to);
      const stats = this.stats.get(key) ?? this.newStats(key, from, to);
      stats.sent += types.length;
      for (const type of types) stats.byType[type] = (stats.byType[type] ?? 0) + 1;
      const rule = this.rules.get(key);
      if (!rule) {
        stats.delivered += types.length;
        this.deliver(to, batch);
        continue;
      }
      if (rule.cut) {
        stats.dropped += types.length;
        continue;
      }
      // A lossy or slow link decides for each message on its own.
      const now: number[] = [];
      for (let i = 0; i < types.length; i++) {
        if (rule.dropPercent > 0 && this.random() * 100 < rule.dropPercent) {
          stats.dropped++;
          continue;
        }
        stats.delivered++;
        const wait = rule.delayMs + (rule.jitterMs > 0 ? this.random() * rule.jitterMs : 0);
        if (wait <= 0) {
          now.push(i);
          continue;
        }
        const one = selectMessages(batch, [i]);
        const timer = setTimeout(() => {
          this.timers.delete(timer);
          this.deliver(to, one);
        }, wait);
        this.timers.add(timer);
      }
      if (now.length === types.length) this.deliver(to, batch);
      else if (now.length > 0) this.deliver(to, selectMessages(batch, now));
    }
  }

  private newStats(key: string, from: NodeId, to: NodeId): LinkStats {
    const stats: LinkStats = { from, to, sent: 0, delivered: 0, dropped: 0, byType: {} };
    this.stats.set(key, stats);
    return stats;
  }

  /** Every link that has a rule or has carried traffic. */
  links(): LinkView[] {
    const keys = new Set([...this.rules.keys(), ...this.stats.keys()]);
    return [...keys].sort().map((key) => {
      const [from, to] = key.split('>').map(Number) as [NodeId, NodeId];
      const stats = this.stats.get(key) ?? { from, to, sent: 0, delivered: 0, dropped: 0, byType: {} };
      return { ...this.rule(from, to), ...stats, byType: { ...stats.byType } };
    });
  }

  close(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }
}
