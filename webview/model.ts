// What the view derives from the status stream: link traffic rates from count deltas, chart history, and
// questions about logs (the term at an index, where two logs diverge) answered from the peers' term runs.
import type { LinkView } from '../src/cluster/network.ts';
import type { PeerView } from '../src/cluster/status.ts';
import type { TermRun } from '../src/node/protocol.ts';
import { termInRuns } from '../src/raft/term-runs.ts';
import type { ClusterStatus } from './protocol.ts';

export type MessageClass = 'append' | 'heartbeat' | 'vote' | 'preVote' | 'snapshot' | 'other';

/** The message types that travel between peers, by the class the dashboard draws them as. */
export function messageClass(type: string): MessageClass {
  switch (type) {
    case 'app':
    case 'appResp':
      return 'append';
    case 'heartbeat':
    case 'heartbeatResp':
      return 'heartbeat';
    case 'vote':
    case 'voteResp':
      return 'vote';
    case 'preVote':
    case 'preVoteResp':
      return 'preVote';
    case 'snap':
      return 'snapshot';
    default:
      return 'other';
  }
}

/** An answer to another peer's message (the types etcd-io/raft names ...Resp). */
export function isResponse(type: string): boolean {
  return type.endsWith('Resp');
}

export const MESSAGE_CLASSES: readonly MessageClass[] = ['append', 'heartbeat', 'vote', 'preVote', 'snapshot', 'other'];

export interface LinkRate {
  from: number;
  to: number;
  /** Messages per second sent on the link, in total and by class, over the last update. */
  perSecond: number;
  byClass: Partial<Record<MessageClass, number>>;
  /** Messages sent and dropped since the previous update (for the sampled animation). */
  sentDelta: Partial<Record<MessageClass, number>>;
  /** How many of sentDelta were responses (appResp, voteResp...), which the animation draws hollow. */
  responseDelta: Partial<Record<MessageClass, number>>;
  droppedShare: number;
  link: LinkView;
}

export function linkKey(from: number, to: number): string {
  return `${from}>${to}`;
}

/** Rates per directed link from two consecutive statuses `dtMs` apart. */
export function linkRates(prev: ClusterStatus | undefined, next: ClusterStatus, dtMs: number): Map<string, LinkRate> {
  const before = new Map(prev?.links.map((l) => [linkKey(l.from, l.to), l]) ?? []);
  const out = new Map<string, LinkRate>();
  const seconds = Math.max(dtMs, 1) / 1000;
  for (const l of next.links) {
    const p = before.get(linkKey(l.from, l.to));
    const byClass: LinkRate['byClass'] = {};
    const sentDelta: LinkRate['sentDelta'] = {};
    const responseDelta: LinkRate['responseDelta'] = {};
    let total = 0;
    for (const [type, count] of Object.entries(l.byType)) {
      const d = Math.max(0, count - (p?.byType[type] ?? count));
      if (d === 0) continue;
      const c = messageClass(type);
      sentDelta[c] = (sentDelta[c] ?? 0) + d;
      if (isResponse(type)) responseDelta[c] = (responseDelta[c] ?? 0) + d;
      byClass[c] = (byClass[c] ?? 0) + d / seconds;
      total += d;
    }
    const sent = p ? l.sent - p.sent : 0;
    const dropped = p ? l.dropped - p.dropped : 0;
    out.set(linkKey(l.from, l.to), { from: l.from, to: l.to, perSecond: total / seconds, byClass, sentDelta, responseDelta, droppedShare: sent > 0 ? dropped / sent : 0, link: l });
  }
  return out;
}

/** The term of the entry at `index` in a peer's runs (undefined outside [first run, lastIndex]). */
export function termAt(runs: readonly TermRun[], lastIndex: number, index: number): number | undefined {
  if (runs.length === 0 || index < runs[0]![0] || index > lastIndex) return undefined;
  return termInRuns(runs, index);
}

/** Segments [from, to] of a run list, clipped to [lo, hi], with their terms. */
export function* segments(runs: readonly TermRun[], lastIndex: number, lo: number, hi: number): Generator<[number, number, number]> {
  for (let i = 0; i < runs.length; i++) {
    const from = runs[i]![0];
    const to = i + 1 < runs.length ? runs[i + 1]![0] - 1 : lastIndex;
    if (to < lo) continue;
    if (from > hi) break;
    yield [Math.max(from, lo), Math.min(to, hi), runs[i]![1]];
  }
}

/**
 * Index ranges where `peer`'s log disagrees with the reference log (the leader's): a different term at the
 * same index, or entries past the reference's end from an older term (they will be truncated).
 */
export function divergentRanges(peer: PeerView, reference: PeerView, lo: number, hi: number): [number, number][] {
  const mine = peer.logTerms ?? [];
  const theirs = reference.logTerms ?? [];
  if (mine.length === 0 || theirs.length === 0 || peer.id === reference.id) return [];
  const out: [number, number][] = [];
  const push = (a: number, b: number) => {
    const last = out[out.length - 1];
    if (last && last[1] + 1 >= a) last[1] = Math.max(last[1], b);
    else out.push([a, b]);
  };
  const refFirst = theirs[0]![0];
  for (const [a, b, term] of segments(mine, peer.lastIndex, lo, hi)) {
    // Walk the reference's runs across [a, b].
    let i = a;
    while (i <= b) {
      if (i < refFirst) {
        i = Math.min(b, refFirst - 1) + 1; // the reference no longer has these (compacted): no verdict
        continue;
      }
      if (i > reference.lastIndex) {
        if (term < reference.term) push(i, b);
        break;
      }
      const t = termAt(theirs, reference.lastIndex, i)!;
      // The end of the reference's run containing i.
      let runEnd = reference.lastIndex;
      for (const r of theirs) if (r[0] > i) {
        runEnd = r[0] - 1;
        break;
      }
      const end = Math.min(b, runEnd);
      if (t !== term) push(i, end);
      i = end + 1;
    }
  }
  return out;
}

/** Whether any link is cut, drops or delays messages: what Heal network would undo. */
export function hasNetworkFaults(status: ClusterStatus): boolean {
  return status.links.some((l) => l.cut || l.dropPercent > 0 || l.delayMs > 0 || l.jitterMs > 0);
}

/** The up leader's view, if there is one. */
export function leaderOf(status: ClusterStatus): PeerView | undefined {
  return status.peers.find((p) => p.id === status.leader && p.state === 'up');
}

export function peerName(status: ClusterStatus, id: number): string {
  return status.peers.find((p) => p.id === id)?.name ?? (id ? `#${id}` : '—');
}

/** Ring buffers of the chart series, sampled from the status stream. */
export class History {
  readonly t: number[] = [];
  readonly commits: number[] = [];
  readonly p50: number[] = [];
  readonly p99: number[] = [];
  readonly term: number[] = [];
  private lastAt = 0;

  constructor(
    private readonly max = 240,
    private readonly everyMs = 500,
  ) {}

  /** Forgets every sample (another cluster). */
  clear(): void {
    for (const a of [this.t, this.commits, this.p50, this.p99, this.term]) a.length = 0;
    this.lastAt = 0;
  }

  /** Adds a sample when enough time passed; true when it did. */
  add(status: ClusterStatus, now: number): boolean {
    if (now - this.lastAt < this.everyMs) return false;
    this.lastAt = now;
    this.t.push(now / 1000);
    this.commits.push(status.stats.commitsPerSecond);
    this.p50.push(round(status.stats.writeLatencyP50));
    this.p99.push(round(status.stats.writeLatencyP99));
    this.term.push(status.term);
    if (this.t.length > this.max) for (const a of [this.t, this.commits, this.p50, this.p99, this.term]) a.shift();
    return true;
  }
}

function round(n: number): number {
  return Math.round(n * 10) / 10;
}
