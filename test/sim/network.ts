// The simulated network: every message gets a random delay in virtual ticks (so messages reorder), may be
// lost or duplicated, and is dropped when its link is cut — checked both when it is sent and when it would
// arrive, so a partition also swallows what was in flight. Cuts are directed (from -> to), so one-way
// partitions are just cuts in one direction.
import type { Message, NodeId } from '../../src/raft/types.ts';
import type { SeededRng } from '../../src/raft/rand.ts';

export interface NetworkOptions {
  /** Delay of a message in ticks, uniform in [minDelay, maxDelay]; 0 means later in the same tick. */
  minDelay: number;
  maxDelay: number;
  /** Probability that a message is lost. */
  lossRate: number;
  /** Probability that a message is delivered twice (the copy with its own delay). */
  dupRate: number;
  /** Probability that a message is held back an extra 1..2*maxDelay+2 ticks (strong reordering). */
  reorderRate: number;
}

export const CALM_NETWORK: NetworkOptions = { minDelay: 0, maxDelay: 2, lossRate: 0, dupRate: 0, reorderRate: 0 };

export type SendOutcome = 'queued' | 'lost' | 'cut';

export interface NetworkCounts {
  sent: number;
  delivered: number;
  lost: number;
  cut: number;
  duplicated: number;
}

export class Network {
  /** Messages waiting, bucketed by the tick they arrive at. */
  private readonly buckets = new Map<number, Message[]>();
  private readonly cuts = new Set<number>();
  private inFlight = 0;
  now = 0;
  /** Messages that are never duplicated (the KV workload's forwarded proposals: see kv-workload.ts). */
  noDuplicate: ((m: Message) => boolean) | undefined;
  readonly counts: NetworkCounts = { sent: 0, delivered: 0, lost: 0, cut: 0, duplicated: 0 };

  constructor(
    private readonly rng: SeededRng,
    public options: NetworkOptions,
  ) {}

  private static link(from: NodeId, to: NodeId): number {
    return from * 65536 + to;
  }

  isCut(from: NodeId, to: NodeId): boolean {
    return this.cuts.size > 0 && this.cuts.has(Network.link(from, to));
  }

  cut(from: NodeId, to: NodeId): void {
    this.cuts.add(Network.link(from, to));
  }

  /** Cut both directions between every member of a and every member of b. */
  split(a: readonly NodeId[], b: readonly NodeId[]): void {
    for (const x of a)
      for (const y of b) {
        this.cut(x, y);
        this.cut(y, x);
      }
  }

  healAll(): void {
    this.cuts.clear();
  }

  get cutCount(): number {
    return this.cuts.size;
  }

  get pending(): number {
    return this.inFlight;
  }

  private enqueue(m: Message): void {
    const o = this.options;
    let delay = o.minDelay + this.rng.int(o.maxDelay - o.minDelay + 1);
    if (o.reorderRate > 0 && this.rng.chance(o.reorderRate)) delay += 1 + this.rng.int(2 * o.maxDelay + 2);
    const at = this.now + delay;
    let bucket = this.buckets.get(at);
    if (!bucket) {
      bucket = [];
      this.buckets.set(at, bucket);
    }
    bucket.push(m);
    this.inFlight++;
  }

  send(m: Message): SendOutcome {
    this.counts.sent++;
    if (this.isCut(m.from, m.to)) {
      this.counts.cut++;
      return 'cut';
    }
    if (this.options.lossRate > 0 && this.rng.chance(this.options.lossRate)) {
      this.counts.lost++;
      return 'lost';
    }
    this.enqueue(m);
    if (this.options.dupRate > 0 && !this.noDuplicate?.(m) && this.rng.chance(this.options.dupRate)) {
      this.counts.duplicated++;
      this.enqueue({ ...m });
    }
    return 'queued';
  }

  /**
   * Removes and returns the messages due now (in arrival order), split into those that arrive and those whose
   * link was cut while they were in flight. Messages sent with delay 0 while handling these show up in the
   * next call with the same `now`.
   */
  takeDue(): { arrive: Message[]; cut: Message[] } {
    const bucket = this.buckets.get(this.now);
    if (!bucket || bucket.length === 0) return { arrive: [], cut: [] };
    this.buckets.delete(this.now);
    this.inFlight -= bucket.length;
    const arrive: Message[] = [];
    const cut: Message[] = [];
    for (const m of bucket) {
      if (this.isCut(m.from, m.to)) {
        this.counts.cut++;
        cut.push(m);
      } else {
        this.counts.delivered++;
        arrive.push(m);
      }
    }
    return { arrive, cut };
  }

  /** Drops everything in flight (not used by the simulator's normal runs; handy in tests). */
  clear(): void {
    this.buckets.clear();
    this.inFlight = 0;
  }
}
