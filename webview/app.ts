// The dashboard: keeps the latest status from the host, derives rates and history, and renders every view in
// one animation frame per update (status arrives at most ten times a second; canvases animate in between).
import { readPalette, type Palette } from './colors.ts';
import { h, setText, toggleClass } from './dom.ts';
import type { HostLink, Selection, ViewState } from './host-link.ts';
import { History, linkRates, type LinkRate } from './model.ts';
import { describeAction, type ClusterEvent, type ClusterStatus, type DashboardAction, type HostMessage } from './protocol.ts';
import { ChartsView } from './views/charts.ts';
import { Inspector, Toolbar } from './views/controls.ts';
import { LogStripView } from './views/logstrip.ts';
import { PeerCards } from './views/peers.ts';
import { QuorumView } from './views/quorum.ts';
import { ReplicationView } from './views/replication.ts';
import { TimelineView } from './views/timeline.ts';
import { TopologyView } from './views/topology.ts';

/** When the grids fall to one column (dashboard.css). */
const NARROW = '(max-width: 900px)';

/** Render timings, read by the tests (and handy in devtools). */
export interface RenderStats {
  renders: number;
  totalMs: number;
  maxMs: number;
  over16: number;
  /** The last few hundred render durations, in milliseconds. */
  recent: number[];
}

export class App {
  private status: ClusterStatus | undefined;
  private prev: { status: ClusterStatus; at: number } | undefined;
  private rates = new Map<string, LinkRate>();
  /** The rates are from a status not yet rendered: spawn their message dots (once). */
  private freshRates = false;
  private dtMs = 100;
  private events: ClusterEvent[] = [];
  private readonly history = new History();
  private selection: Selection | undefined;
  private palette: Palette;
  private frame = 0;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void; action: DashboardAction }>();
  readonly stats: RenderStats = { renders: 0, totalMs: 0, maxMs: 0, over16: 0, recent: [] };
  private chartsDirty = false;
  private revealInspector = false;

  private readonly connection = h('span', { class: 'connection', attrs: { 'data-testid': 'connection' } });
  private readonly summary = h('span', { class: 'summary', attrs: { 'data-testid': 'summary' } });
  private readonly result = h('p', { class: 'result', attrs: { 'data-testid': 'last-result', role: 'status', 'aria-live': 'polite' } });
  private readonly empty = h('p', { class: 'empty' });
  private readonly quorum = new QuorumView();
  private readonly peers: PeerCards;
  private readonly topology: TopologyView;
  private readonly replication = new ReplicationView();
  private readonly logs: LogStripView;
  private readonly timeline = new TimelineView();
  private readonly charts: ChartsView;
  private readonly toolbar: Toolbar;
  private readonly inspector: Inspector;
  /** What goes inert while the link to the cluster is down. */
  private readonly controls: HTMLElement[];

  constructor(
    private readonly link: HostLink,
    root: HTMLElement,
  ) {
    const state = link.getState();
    this.selection = state.selection;
    this.palette = readPalette();
    const run = (a: DashboardAction) => this.run(a);
    this.peers = new PeerCards((peer) => {
      this.select({ kind: 'peer', peer });
      // In one column the inspector is far above the cards: bring it into view once it shows the peer.
      this.revealInspector = window.matchMedia(NARROW).matches;
    });
    this.topology = new TopologyView(this.palette, (s) => this.select(s));
    this.logs = new LogStripView(this.palette, state, () => this.saveState());
    this.charts = new ChartsView(this.history, this.palette);
    this.toolbar = new Toolbar(run);
    this.inspector = new Inspector(run);
    this.controls = [this.toolbar.el, this.inspector.el];
    root.replaceChildren(
      h('header', { class: 'top' }, h('h1', { text: 'Raft Lab' }), this.summary, this.connection),
      this.toolbar.el,
      this.result,
      this.empty,
      h('div', { class: 'grid-top' }, this.quorum.el, this.topology.el, this.inspector.el),
      this.peers.el,
      h('div', { class: 'grid-mid' }, this.replication.el, this.logs.el),
      h('div', { class: 'grid-bottom' }, this.charts.el, this.timeline.el),
    );
    setText(this.empty, 'Waiting for the cluster…');
    toggleClass(document.body, 'no-cluster', true);
    link.onMessage((m) => this.receive(m));
    this.watchTheme();
    window.addEventListener('resize', () => this.schedule());
    document.addEventListener('visibilitychange', () => this.schedule());
    link.send({ type: 'ready' });
  }

  private receive(m: HostMessage): void {
    switch (m.type) {
      case 'status': {
        const now = performance.now();
        if (!m.status) {
          this.status = undefined;
          setText(this.empty, 'No cluster is running. Start one (Raft Lab: Start Local Cluster, or `raftlab up`) and it shows here.');
          toggleClass(document.body, 'no-cluster', true);
          return;
        }
        if (this.status && this.status.clusterId !== m.status.clusterId) {
          // Another cluster (restarted, or a new one on the port): its history is not this one's.
          this.prev = undefined;
          this.history.clear();
          this.chartsDirty = true;
        }
        if (this.prev) this.dtMs = Math.max(1, now - this.prev.at);
        this.rates = linkRates(this.prev?.status, m.status, this.dtMs);
        this.freshRates = true;
        this.prev = { status: m.status, at: now };
        this.status = m.status;
        this.events = m.status.events;
        if (this.history.add(m.status, Date.now())) this.chartsDirty = true;
        setText(this.empty, '');
        toggleClass(document.body, 'no-cluster', false);
        this.schedule();
        return;
      }
      case 'event': {
        const last = this.events[this.events.length - 1];
        if (!last || m.event.at >= last.at) {
          this.events = [...this.events, m.event].slice(-200);
          this.schedule();
        }
        return;
      }
      case 'result': {
        const p = this.pending.get(m.id);
        if (!p) return;
        this.pending.delete(m.id);
        if (m.ok) {
          this.showResult(`✓ ${describeAction(p.action)}`, true);
          p.resolve(m.value);
        } else {
          this.showResult(`✗ ${describeAction(p.action)}: ${m.error.message}`, false);
          p.reject(Object.assign(new Error(m.error.message), { code: m.error.code }));
        }
        return;
      }
      case 'connection':
        setText(this.connection, m.state === 'open' ? 'connected' : m.state === 'connecting' ? 'connecting…' : `disconnected — ${m.detail ?? ''}; what is shown is from before`);
        this.connection.dataset.state = m.state;
        // Stale panels dim and their controls go inert until the link is back (the last status stays readable).
        toggleClass(document.body, 'disconnected', m.state !== 'open');
        for (const el of this.controls) el.inert = m.state !== 'open';
        return;
    }
  }

  run(action: DashboardAction): Promise<unknown> {
    const id = this.nextId++;
    this.showResult(`… ${describeAction(action)}`, true);
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, action });
      this.link.send({ type: 'action', id, action });
    });
  }

  private showResult(text: string, ok: boolean): void {
    setText(this.result, text);
    toggleClass(this.result, 'bad', !ok);
  }

  private select(s: Selection): void {
    this.selection = s;
    this.saveState();
    this.topology.setSelection(this.selection);
    this.schedule();
  }

  private saveState(): void {
    const state: ViewState = { logScale: this.logs.scale, logFollow: this.logs.follow, logStart: this.logs.start };
    if (this.selection) state.selection = this.selection;
    this.link.setState(state);
  }

  private schedule(): void {
    if (!this.frame) this.frame = requestAnimationFrame(() => this.render());
  }

  private render(): void {
    this.frame = 0;
    const status = this.status;
    if (!status) return;
    const t0 = performance.now();
    const sel = this.selection;
    // A removed peer takes its selection with it.
    if (sel && !status.peers.some((p) => p.name === (sel.kind === 'peer' ? sel.peer : sel.a))) this.selection = undefined;
    const leader = status.peers.find((p) => p.id === status.leader);
    setText(this.summary, `cluster ${status.clusterId} · ${status.peers.length} peers · term ${status.term} · leader ${leader?.name ?? 'none'} · ${status.stats.commitsPerSecond} commits/s`);
    this.quorum.update(status);
    this.peers.update(status, this.selection?.kind === 'peer' ? this.selection.peer : undefined);
    this.topology.update(status, this.rates, this.dtMs, this.selection, this.freshRates);
    this.freshRates = false;
    this.inspector.update(status, this.selection, this.rates);
    if (this.revealInspector) {
      this.revealInspector = false;
      const smooth = !window.matchMedia('(prefers-reduced-motion: reduce)').matches;
      this.inspector.el.scrollIntoView({ block: 'nearest', behavior: smooth ? 'smooth' : 'auto' });
    }
    this.replication.update(status);
    this.logs.update(status);
    this.timeline.update(this.events);
    if (this.chartsDirty) {
      this.chartsDirty = false;
      this.charts.update();
    }
    this.toolbar.update(status);
    const ms = performance.now() - t0;
    this.stats.renders++;
    this.stats.totalMs += ms;
    this.stats.maxMs = Math.max(this.stats.maxMs, ms);
    if (ms > 16) this.stats.over16++;
    this.stats.recent.push(ms);
    if (this.stats.recent.length > 500) this.stats.recent.shift();
  }

  private watchTheme(): void {
    const refresh = () => {
      this.palette = readPalette();
      this.topology.setPalette(this.palette);
      this.logs.setPalette(this.palette);
      this.charts.setPalette(this.palette);
      this.schedule();
    };
    new MutationObserver(refresh).observe(document.body, { attributes: true, attributeFilter: ['class'] });
    window.matchMedia('(prefers-color-scheme: dark)').addEventListener('change', refresh);
    window.matchMedia('(forced-colors: active)').addEventListener('change', refresh);
  }
}
