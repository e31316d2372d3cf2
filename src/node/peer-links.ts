// One peer's links to the others: a MessagePort per peer, straight between worker threads, so Raft traffic
// takes one hop and the manager's thread is not in its path. The simulated network's rules (cut, drop, delay)
// are set by the manager and applied here, at the sender, as a real network would apply them on the wire; the
// counts per link travel back with the peer's status.
import type { Message, NodeId } from '../raft/types.ts';
import { decodeMessages, encodeMessages } from './message-codec.ts';
import type { LinkCounts, LinkPort, LinkRule } from './protocol.ts';

export class PeerLinks {
  private readonly ports = new Map<NodeId, LinkPort>();
  private rules = new Map<NodeId, LinkRule>();
  /** Counts per destination since this peer started. */
  readonly counts = new Map<NodeId, LinkCounts>();
  private readonly timers = new Set<ReturnType<typeof setTimeout>>();

  constructor(
    /** Messages that arrived from a peer. */
    private readonly receive: (msgs: Message[]) => void,
    /** Forwarded proposals and reads for a peer that is down: its process refuses them, so they come back. */
    private readonly undeliverable: (msgs: Message[]) => void,
    private readonly random: () => number = Math.random,
  ) {}

  connect(peer: NodeId, port: LinkPort): void {
    this.ports.get(peer)?.close();
    this.ports.set(peer, port);
    port.on('message', (batch: ArrayBuffer) => this.receive(decodeMessages(batch)));
    port.on('close', () => {
      if (this.ports.get(peer) === port) this.ports.delete(peer);
    });
  }

  /** The peer is down or gone. */
  disconnect(peer: NodeId): void {
    this.ports.get(peer)?.close();
    this.ports.delete(peer);
  }

  /** Whether there is a link to the peer (none while it is down). */
  connected(peer: NodeId): boolean {
    return this.ports.has(peer);
  }

  setRules(rules: Record<NodeId, LinkRule>): void {
    this.rules = new Map(Object.entries(rules).map(([to, rule]) => [Number(to), rule]));
  }

  send(msgs: Message[]): void {
    const byPeer = new Map<NodeId, Message[]>();
    for (const m of msgs) {
      const list = byPeer.get(m.to);
      if (list) list.push(m);
      else byPeer.set(m.to, [m]);
    }
    for (const [to, list] of byPeer) this.sendTo(to, list);
  }

  private sendTo(to: NodeId, msgs: Message[]): void {
    const counts = this.countsOf(to);
    counts.sent += msgs.length;
    for (const m of msgs) counts.byType[m.type] = (counts.byType[m.type] ?? 0) + 1;
    const port = this.ports.get(to);
    if (!port) {
      counts.dropped += msgs.length;
      const refused = msgs.filter((m) => m.type === 'prop' || m.type === 'readIndex');
      // Not from inside the Ready being sent: the runtime takes them back once it has finished it.
      if (refused.length > 0) setImmediate(() => this.undeliverable(refused));
      return;
    }
    const rule = this.rules.get(to);
    if (!rule) {
      counts.delivered += msgs.length;
      post(port, to, msgs);
      return;
    }
    if (rule.cut) {
      counts.dropped += msgs.length;
      return;
    }
    // A lossy or slow link decides for each message on its own.
    const now: Message[] = [];
    for (const m of msgs) {
      if (rule.dropPercent > 0 && this.random() * 100 < rule.dropPercent) {
        counts.dropped++;
        continue;
      }
      counts.delivered++;
      const wait = rule.delayMs + (rule.jitterMs > 0 ? this.random() * rule.jitterMs : 0);
      if (wait <= 0) {
        now.push(m);
        continue;
      }
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        const later = this.ports.get(to);
        if (later) post(later, to, [m]);
      }, wait);
      this.timers.add(timer);
    }
    if (now.length > 0) post(port, to, now);
  }

  private countsOf(to: NodeId): LinkCounts {
    let counts = this.counts.get(to);
    if (!counts) this.counts.set(to, (counts = { sent: 0, delivered: 0, dropped: 0, byType: {} }));
    return counts;
  }

  close(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    for (const port of this.ports.values()) port.close();
    this.ports.clear();
  }
}

function post(port: LinkPort, to: NodeId, msgs: Message[]): void {
  const batch = encodeMessages(to, msgs);
  port.postMessage(batch, [batch]);
}
