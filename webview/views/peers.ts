// One card per peer: role, term, vote, commit/applied, last and snapshot index, up/down/paused/cut off, and
// its election timer filling up (RaftScope's ring, here a bar; the topology draws the ring).
import { h, setAttr, setText, toggleClass } from '../dom.ts';
import { peerName } from '../model.ts';
import type { ClusterStatus } from '../protocol.ts';
import type { PeerView } from '../../src/cluster/status.ts';

const ROLE_LABEL: Record<PeerView['role'], string> = {
  leader: 'leader',
  follower: 'follower',
  candidate: 'candidate',
  preCandidate: 'pre-candidate',
  learner: 'learner',
};

interface Card {
  el: HTMLElement;
  role: HTMLElement;
  state: HTMLElement;
  alarm: HTMLElement;
  fields: Record<'term' | 'vote' | 'commit' | 'last' | 'memory' | 'snapshot' | 'keys', HTMLElement>;
  timer: HTMLElement;
  timerLabel: HTMLElement;
  error: HTMLElement;
}

export class PeerCards {
  readonly el = h('section', { class: 'peers', attrs: { 'aria-label': 'Peers' } });
  private readonly cards = new Map<string, Card>();

  constructor(private readonly onSelect: (peer: string) => void) {}

  update(status: ClusterStatus, selected: string | undefined): void {
    const names = new Set(status.peers.map((p) => p.name));
    for (const [name, card] of this.cards) {
      if (!names.has(name)) {
        card.el.remove();
        this.cards.delete(name);
      }
    }
    status.peers.forEach((p, i) => {
      let card = this.cards.get(p.name);
      if (!card) {
        card = this.create(p.name);
        this.cards.set(p.name, card);
      }
      if (this.el.children[i] !== card.el) this.el.insertBefore(card.el, this.el.children[i] ?? null);
      this.fill(card, p, status, selected === p.name);
    });
  }

  private create(name: string): Card {
    const field = (label: string, key: string) => {
      const dd = h('dd', { attrs: { 'data-field': key } });
      return [h('dt', { text: label }), dd] as const;
    };
    const fields = {} as Card['fields'];
    const dl = h('dl', { class: 'facts' });
    for (const [key, label] of [
      ['term', 'term'],
      ['vote', 'voted for'],
      ['commit', 'commit / applied'],
      ['last', 'last index'],
      ['memory', 'in memory from'],
      ['snapshot', 'snapshot index'],
      ['keys', 'keys / revision'],
    ] as const) {
      const [dt, dd] = field(label, key);
      fields[key] = dd;
      dl.append(dt, dd);
    }
    const role = h('span', { class: 'badge role', attrs: { 'data-field': 'role' } });
    const state = h('span', { class: 'badge state', attrs: { 'data-field': 'state' } });
    const alarm = h('span', { class: 'badge alarm', attrs: { 'data-field': 'alarm', 'data-kind': 'alarm', title: 'an etcd alarm is raised: writes are refused until it is disarmed (Disarm alarms above, or etcdctl alarm disarm)' } });
    const timer = h('div', { class: 'timer-fill' });
    const timerLabel = h('span', { class: 'timer-label', attrs: { 'data-field': 'timer' } });
    const error = h('p', { class: 'peer-error' });
    const el = h(
      'article',
      {
        class: 'card peer',
        attrs: { 'data-peer': name, tabindex: '0', role: 'button', 'aria-label': `peer ${name}` },
        on: {
          click: () => this.onSelect(name),
          keydown: (e) => {
            const k = (e as KeyboardEvent).key;
            if (k === 'Enter' || k === ' ') {
              e.preventDefault();
              this.onSelect(name);
            }
          },
        },
      },
      h('header', {}, h('span', { class: 'peer-name', text: name }), role, state, alarm),
      dl,
      h('div', { class: 'timer', title: 'election timer: when it fills up, the peer starts an election' }, timer, timerLabel),
      error,
    );
    return { el, role, state, alarm, fields, timer, timerLabel, error };
  }

  private fill(card: Card, p: PeerView, status: ClusterStatus, selected: boolean): void {
    // A peer that is not running has no role now; its last one is shown as what it was.
    const running = p.state === 'up' || p.state === 'paused';
    const role = running ? ROLE_LABEL[p.role] : `was ${ROLE_LABEL[p.role]}`;
    const state = p.state === 'up' && p.cutOff ? 'cut off' : p.state;
    setAttr(card.el, 'data-role', running ? p.role : 'none');
    setAttr(card.el, 'data-state', p.state);
    setAttr(card.el, 'data-cut', String(p.cutOff));
    setAttr(card.el, 'aria-pressed', String(selected));
    toggleClass(card.el, 'selected', selected);
    toggleClass(card.el, 'dead', p.state === 'down' || p.state === 'removed');
    setText(card.role, role);
    setAttr(card.role, 'data-kind', running ? p.role : 'none');
    setText(card.state, state);
    setAttr(card.state, 'data-kind', state.replace(' ', '-'));
    setText(card.alarm, p.alarms.length > 0 ? p.alarms.join(' ') : '');
    setText(card.fields.term, String(p.term));
    setText(card.fields.vote, p.vote ? peerName(status, p.vote) : '—');
    setText(card.fields.commit, `${p.commit} / ${p.applied}`);
    setText(card.fields.last, String(p.lastIndex));
    // Older entries are on the peer's disk only (read back when a follower needs them).
    setText(card.fields.memory, p.memoryFirstIndex > p.lastIndex ? '—' : String(p.memoryFirstIndex));
    setText(card.fields.snapshot, String(p.snapshotIndex));
    setText(card.fields.keys, `${p.keys} / ${p.revision}`);
    // Only a running follower's timer moves; a stopped peer's last report is not a timer running now.
    const ticking = running && p.role !== 'leader';
    const progress = ticking ? Math.max(0, Math.min(1, p.electionProgress)) : 0;
    const width = `${(progress * 100).toFixed(1)}%`;
    if (card.timer.style.width !== width) card.timer.style.width = width;
    toggleClass(card.timer, 'hot', progress > 0.75);
    setText(card.timerLabel, timerLabel(p, progress));
    setText(card.error, p.error ?? '');
  }
}

/** What the election timer bar says: the state first (a down leader sends nothing), then the role. */
function timerLabel(p: PeerView, progress: number): string {
  switch (p.state) {
    case 'down':
      return 'down: no timer, sends nothing';
    case 'removed':
      return 'removed from the cluster';
    case 'starting':
      return 'starting: timer not running yet';
    case 'paused':
      return p.role === 'leader' ? 'paused: sends no heartbeats' : `paused: timer frozen at ${Math.round(progress * 100)}%`;
    case 'up':
      return p.role === 'leader' ? 'leader: sends heartbeats' : `election timer ${Math.round(progress * 100)}%`;
  }
}
