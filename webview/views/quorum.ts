// The quorum math for the current membership: voters, quorum size floor(n/2)+1, failures tolerated, failures
// now, and why an even size buys nothing.
import { h, setText, toggleClass } from '../dom.ts';
import { votingPeers } from '../../src/cluster/status.ts';
import type { ClusterStatus } from '../protocol.ts';

export class QuorumView {
  readonly el = h('section', { class: 'card quorum', attrs: { 'aria-label': 'Quorum' } });
  private readonly dots = h('div', { class: 'quorum-dots', attrs: { 'aria-hidden': 'true' } });
  private readonly verdict = h('div', { class: 'quorum-verdict', attrs: { 'data-testid': 'quorum-verdict' } });
  private readonly facts = h('dl', { class: 'facts' });
  private readonly note = h('p', { class: 'note' });
  private readonly values = new Map<string, HTMLElement>();

  constructor() {
    this.el.append(h('h2', { text: 'Quorum' }), this.dots, this.verdict, this.facts, this.note);
    for (const [key, label] of [
      ['members', 'voting peers'],
      ['quorum', 'quorum size ⌊n/2⌋+1'],
      ['tolerated', 'failures tolerated'],
      ['failed', 'failed now'],
    ] as const) {
      const dd = h('dd', { attrs: { 'data-testid': `quorum-${key}` } });
      this.values.set(key, dd);
      this.facts.append(h('dt', { text: label }), dd);
    }
  }

  update(status: ClusterStatus): void {
    const q = status.quorum;
    setText(this.values.get('members')!, String(q.members));
    setText(this.values.get('quorum')!, String(q.quorum));
    setText(this.values.get('tolerated')!, String(q.tolerated));
    setText(this.values.get('failed')!, String(q.failed));
    toggleClass(this.values.get('failed')!, 'bad', q.failed > q.tolerated);
    const count = `${q.members - q.failed} of ${q.members} healthy`;
    // Enough healthy voters is not enough: a write commits only through a leader, and during an election there is none.
    const leaderless = q.hasQuorum && status.leader === 0;
    setText(
      this.verdict,
      !q.hasQuorum
        ? `no quorum: ${count}, ${q.quorum} needed — writes cannot commit`
        : leaderless
          ? `${count}, but no leader: writes wait for one to be elected`
          : `${count}: writes can commit`,
    );
    toggleClass(this.verdict, 'bad', !q.hasQuorum);
    toggleClass(this.verdict, 'waiting', leaderless);
    const n = q.members;
    setText(
      this.note,
      n > 0 && n % 2 === 0
        ? `${n} is even: ${n} peers need ${q.quorum} to agree and tolerate ${q.tolerated} failure${q.tolerated === 1 ? '' : 's'}, no more than ${n - 1} peers do — the extra peer adds load, not safety.`
        : n === 1
          ? 'A single peer is its own quorum: it tolerates no failure.'
          : `${n} peers survive ${q.tolerated} failure${q.tolerated === 1 ? '' : 's'}; a majority of any two quorums overlaps, so two leaders can never commit in one term.`,
    );
    toggleClass(this.note, 'warn', n > 0 && n % 2 === 0);
    // One dot per voter: healthy first, then failed, with the quorum line after the quorum-th dot.
    const voters = votingPeers(status.peers);
    const healthy = voters.filter((p) => p.state === 'up' && !p.cutOff);
    const failed = voters.filter((p) => !(p.state === 'up' && !p.cutOff));
    const key = `${healthy.map((p) => p.name).join()}|${failed.map((p) => p.name).join()}|${q.quorum}`;
    if (this.dots.dataset.key === key) return;
    this.dots.dataset.key = key;
    this.dots.replaceChildren();
    [...healthy, ...failed].forEach((p, i) => {
      if (i === q.quorum) this.dots.append(h('span', { class: 'quorum-line', title: `quorum: ${q.quorum}` }));
      this.dots.append(h('span', { class: `quorum-dot ${healthy.includes(p) ? 'ok' : 'failed'}`, title: p.name, text: p.name }));
    });
    if (voters.length === q.quorum) this.dots.append(h('span', { class: 'quorum-line', title: `quorum: ${q.quorum}` }));
  }
}
