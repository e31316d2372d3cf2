// A ring buffer of the simulation's recent events, formatted only when someone reads it (a failing seed,
// or --verbose), so that tracing costs little on the thousands of passing seeds.
import type { Message, NodeId } from '../../src/raft/types.ts';

export type TraceKind =
  | 'tick'
  | 'send'
  | 'lost'
  | 'cut'
  | 'dup'
  | 'deliver'
  | 'undeliverable'
  | 'crash'
  | 'restart'
  | 'retire'
  | 'role'
  | 'commit'
  | 'persist'
  | 'partition'
  | 'heal'
  | 'conf'
  | 'transfer'
  | 'propose'
  | 'read'
  | 'snapshot'
  | 'load'
  | 'violation'
  | 'note';

interface TraceEvent {
  tick: number;
  kind: TraceKind;
  node: NodeId;
  msg: Message | undefined;
  text: string;
}

export function describeMessage(m: Message): string {
  let s = `${m.type} ${m.from}->${m.to} t${m.term}`;
  switch (m.type) {
    case 'app':
      s += ` prev=${m.index}@${m.logTerm} commit=${m.commit}`;
      if (m.entries.length > 0) {
        const first = m.entries[0]!;
        const last = m.entries[m.entries.length - 1]!;
        s += m.entries.length === 1 ? ` ent=${first.index}@${first.term}` : ` ents=${first.index}@${first.term}..${last.index}@${last.term}`;
      }
      break;
    case 'appResp':
      s += m.reject ? ` REJECT idx=${m.index} hint=${m.rejectHint}@${m.logTerm}` : ` ok idx=${m.index}`;
      break;
    case 'vote':
    case 'preVote':
      s += ` last=${m.index}@${m.logTerm}`;
      break;
    case 'voteResp':
    case 'preVoteResp':
    case 'heartbeatResp':
      s += m.reject ? ' REJECT' : ' ok';
      break;
    case 'heartbeat':
      s += ` commit=${m.commit}`;
      break;
    case 'snap':
      if (m.snapshot) s += ` snap=${m.snapshot.meta.index}@${m.snapshot.meta.term} voters=[${m.snapshot.meta.confState.voters}]`;
      break;
    case 'readIndexResp':
      s += ` idx=${m.index}`;
      break;
    default:
      break;
  }
  return s;
}

export class Trace {
  private readonly ring: (TraceEvent | undefined)[];
  private next = 0;
  total = 0;
  /** When set, every event is also written out as it happens. */
  echo: ((line: string) => void) | undefined;

  constructor(readonly capacity = 200) {
    this.ring = new Array<TraceEvent | undefined>(capacity);
  }

  add(tick: number, kind: TraceKind, node: NodeId, text: string, msg?: Message): void {
    const ev: TraceEvent = { tick, kind, node, msg, text };
    this.ring[this.next] = ev;
    this.next = (this.next + 1) % this.capacity;
    this.total++;
    if (this.echo) this.echo(Trace.format(ev));
  }

  msg(tick: number, kind: TraceKind, m: Message, note = ''): void {
    this.add(tick, kind, m.from, note, m);
  }

  static format(ev: TraceEvent): string {
    const body = ev.msg ? describeMessage(ev.msg) + (ev.text ? ` ${ev.text}` : '') : ev.text;
    const who = ev.msg || ev.node === 0 ? '' : ` n${ev.node}`;
    return `t=${String(ev.tick).padStart(5)} ${ev.kind.padEnd(9)}${who} ${body}`;
  }

  /** The buffered events, oldest first. */
  lines(): string[] {
    const out: string[] = [];
    for (let i = 0; i < this.capacity; i++) {
      const ev = this.ring[(this.next + i) % this.capacity];
      if (ev) out.push(Trace.format(ev));
    }
    return out;
  }
}
