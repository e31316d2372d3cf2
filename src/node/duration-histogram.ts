// A histogram of durations for /metrics, with the buckets etcd uses for its disk latencies (1 ms, doubling, up to
// 8.192 s), so that dashboards and alerts written for etcd read it unchanged. One counter per bucket: cheap enough
// to observe every synced write.

/** etcd's disk buckets: prometheus.ExponentialBuckets(0.001, 2, 14), in seconds. */
export const ETCD_DISK_BUCKETS: readonly number[] = Array.from({ length: 14 }, (_, i) => Number((0.001 * 2 ** i).toFixed(3)));

export class DurationHistogram {
  private readonly counts: number[];
  /** Sum of every observation, in seconds. */
  sum = 0;
  count = 0;

  constructor(readonly bounds: readonly number[] = ETCD_DISK_BUCKETS) {
    this.counts = bounds.map(() => 0);
  }

  observe(seconds: number): void {
    this.sum += seconds;
    this.count++;
    const at = this.bounds.findIndex((bound) => seconds <= bound);
    if (at >= 0) this.counts[at]!++;
  }

  /** The Prometheus text lines of the histogram (`_bucket` lines are cumulative; `+Inf` is the count). */
  lines(name: string): string[] {
    const out: string[] = [];
    let cumulative = 0;
    this.bounds.forEach((bound, i) => {
      cumulative += this.counts[i]!;
      out.push(`${name}_bucket{le="${bound}"} ${cumulative}`);
    });
    out.push(`${name}_bucket{le="+Inf"} ${this.count}`, `${name}_sum ${this.sum}`, `${name}_count ${this.count}`);
    return out;
  }
}
