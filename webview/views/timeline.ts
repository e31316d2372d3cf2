// The cluster's events, newest first: elections, leader changes, kills, partitions, membership changes.
import { formatTime, h } from '../dom.ts';
import type { ClusterEvent } from '../protocol.ts';

const MAX = 200;

export class TimelineView {
  readonly el = h('section', { class: 'card timeline', attrs: { 'aria-label': 'Events' } });
  private readonly list = h('ol', { class: 'events', attrs: { 'data-testid': 'events' } });
  private shownKey = '';

  constructor() {
    this.el.append(h('h2', { text: 'Events' }), this.list);
  }

  update(events: readonly ClusterEvent[]): void {
    const last = events[events.length - 1];
    const key = `${events.length}:${last?.at}:${last?.message}`;
    if (key === this.shownKey) return;
    this.shownKey = key;
    const items = events.slice(-MAX).reverse().map((e) =>
      h(
        'li',
        { attrs: { 'data-type': e.type } },
        h('time', { text: formatTime(e.at) }),
        h('span', { class: `badge ev-${e.type}`, text: e.type }),
        h('span', { class: 'ev-text', text: e.message }),
      ),
    );
    this.list.replaceChildren(...items);
  }
}
