// Replication as the leader tracks it: per follower, match (acknowledged) and next (to send) against the
// leader's last index, the progress state (probe / replicate / snapshot), entries in flight and lag.
import { h, setAttr, setText } from '../dom.ts';
import { leaderOf, peerName } from '../model.ts';
import type { ClusterStatus } from '../protocol.ts';

interface Row {
  el: HTMLElement;
  match: HTMLElement;
  next: HTMLElement;
  state: HTMLElement;
  text: HTMLElement;
}

export class ReplicationView {
  readonly el = h('section', { class: 'card replication', attrs: { 'aria-label': 'Replication' } });
  private readonly title = h('h2', { text: 'Replication' });
  private readonly body = h('div', { class: 'rep-rows' });
  private readonly empty = h('p', { class: 'muted' });
  private readonly rows = new Map<number, Row>();

  constructor() {
    this.el.append(this.title, this.empty, this.body);
  }

  update(status: ClusterStatus): void {
    const leader = leaderOf(status);
    if (!leader) {
      setText(this.title, 'Replication');
      setText(this.empty, 'No leader right now: nothing is replicated until one is elected.');
      this.body.replaceChildren();
      this.rows.clear();
      return;
    }
    setText(this.title, `Replication from ${leader.name} (term ${leader.term}, last index ${leader.lastIndex})`);
    setText(this.empty, '');
    const ids = Object.keys(leader.progress).map(Number).filter((id) => id !== leader.id).sort((a, b) => a - b);
    for (const [id, row] of this.rows) if (!ids.includes(id)) {
      row.el.remove();
      this.rows.delete(id);
    }
    const last = Math.max(1, leader.lastIndex);
    const first = Math.max(0, Math.min(...ids.map((id) => leader.progress[id]!.match), leader.commit) - 10);
    const span = Math.max(1, last - first);
    ids.forEach((id, i) => {
      const pr = leader.progress[id]!;
      let row = this.rows.get(id);
      if (!row) {
        const match = h('div', { class: 'rep-match' });
        const next = h('div', { class: 'rep-next' });
        const state = h('span', { class: 'badge' });
        const text = h('span', { class: 'rep-text' });
        row = {
          el: h('div', { class: 'rep-row', attrs: { 'data-peer': peerName(status, id) } }, h('span', { class: 'rep-name', text: peerName(status, id) }), h('div', { class: 'rep-bar' }, match, next), state, text),
          match,
          next,
          state,
          text,
        };
        this.rows.set(id, row);
      }
      if (this.body.children[i] !== row.el) this.body.insertBefore(row.el, this.body.children[i] ?? null);
      const pct = (n: number) => `${(Math.max(0, Math.min(1, (n - first) / span)) * 100).toFixed(2)}%`;
      if (row.match.style.width !== pct(pr.match)) row.match.style.width = pct(pr.match);
      if (row.next.style.left !== pct(pr.next - 1)) row.next.style.left = pct(pr.next - 1);
      setText(row.state, pr.state);
      setAttr(row.state, 'data-kind', pr.state);
      const lag = Math.max(0, leader.lastIndex - pr.match);
      // "learner" goes in the text line: in the badge it widened the badge column and shortened this row's bar.
      setText(row.text, `${pr.isLearner ? 'learner · ' : ''}match ${pr.match} · next ${pr.next} · lag ${lag}${pr.inflight ? ` · ${pr.inflight} in flight` : ''}${pr.recentActive ? '' : ' · not heard from'}`);
    });
  }
}
