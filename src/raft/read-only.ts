// ReadIndex (Raft thesis §6.4): the leader records its commit index for a read, then confirms it is still
// leader by a heartbeat round acknowledged by a quorum; only then may the read be served at that index.
import type { NodeId } from './types.ts';

export interface PendingRead {
  index: number;
  /** Who asked: the leader itself or a follower that forwarded the request. */
  from: NodeId;
  context: Uint8Array;
  acks: Set<NodeId>;
}

export function contextKey(context: Uint8Array): string {
  let s = '';
  for (const b of context) s += String.fromCharCode(b);
  return s;
}

export class ReadOnly {
  private readonly pending = new Map<string, PendingRead>();
  private readonly queue: string[] = [];

  add(index: number, from: NodeId, context: Uint8Array): void {
    const key = contextKey(context);
    if (this.pending.has(key)) return;
    this.pending.set(key, { index, from, context, acks: new Set() });
    this.queue.push(key);
  }

  /** Records that `from` acknowledged the heartbeat carrying `context`; returns the acknowledgers so far. */
  recvAck(from: NodeId, context: Uint8Array): ReadonlySet<NodeId> | undefined {
    const read = this.pending.get(contextKey(context));
    if (!read) return undefined;
    read.acks.add(from);
    return read.acks;
  }

  /** The reads that a confirmed heartbeat round for `context` releases: it and every read queued before it. */
  advance(context: Uint8Array): PendingRead[] {
    const key = contextKey(context);
    const at = this.queue.indexOf(key);
    if (at < 0) return [];
    const released = this.queue.splice(0, at + 1).map((k) => this.pending.get(k)!);
    for (const k of released) this.pending.delete(contextKey(k.context));
    return released;
  }

  /** The context of the newest pending read, sent with heartbeats so that followers echo it. */
  lastContext(): Uint8Array | undefined {
    const key = this.queue[this.queue.length - 1];
    return key === undefined ? undefined : this.pending.get(key)!.context;
  }

  get size(): number {
    return this.queue.length;
  }

  reset(): void {
    this.pending.clear();
    this.queue.length = 0;
  }
}
