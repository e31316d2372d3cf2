// Each peer's log as a strip of entries coloured by term, one row per peer on a shared index axis: the commit
// point marked, uncommitted entries pale, entries that disagree with the leader's log struck through in red
// until they are truncated, compacted entries (in the snapshot) hatched. Only the visible window is drawn, from
// the peers' term runs, so the cost depends on the runs in view, not on the log's length.
import { boxSize, fitCanvas, h, setText } from '../dom.ts';
import { termColor, type Palette } from '../colors.ts';
import { divergentRanges, leaderOf, segments } from '../model.ts';
import type { ClusterStatus } from '../protocol.ts';
import type { ViewState } from '../host-link.ts';

const GUTTER = 56;
const AXIS = 18;
const ROW = 22;
const MIN_SCALE = 1 / 4096;
const MAX_SCALE = 24;

export class LogStripView {
  readonly el = h('section', { class: 'card logs', attrs: { 'aria-label': 'Logs' } });
  readonly canvas = h('canvas', { attrs: { 'data-testid': 'log-strips', role: 'img', 'aria-label': 'each peer log coloured by term' } });
  private readonly range = h('input', { attrs: { type: 'range', min: '1', max: '1', value: '1', 'aria-label': 'scroll the log window' } });
  private readonly info = h('span', { class: 'muted log-info', attrs: { 'data-testid': 'log-window' } });
  private readonly followBtn: HTMLElement;
  private status: ClusterStatus | undefined;
  private frame = 0;
  /** Pixels per entry. */
  scale = 8;
  follow = true;
  /** First index in view when not following. */
  start = 1;
  private drag: { x: number; start: number } | undefined;
  /** Pixels per entry in the last drawing (larger than `scale` while a short log is followed). */
  private drawnScale = 8;
  /** Index window drawn last, for tests. */
  lastWindow: [number, number] = [1, 1];
  private readonly committedSwatch = h('span', { class: 'swatch terms', attrs: { 'data-testid': 'committed-swatch' } });
  private readonly uncommittedSwatch = h('span', { class: 'swatch terms pale' });

  constructor(
    private palette: Palette,
    state: ViewState,
    private readonly saveState: () => void,
  ) {
    this.scale = clamp(state.logScale ?? 8, MIN_SCALE, MAX_SCALE);
    this.follow = state.logFollow ?? true;
    this.start = state.logStart ?? 1;
    const btn = (label: string, title: string, fn: () => void) => {
      const b = h('vscode-button', { text: label, title, attrs: { secondary: '' }, on: { click: fn } });
      return b;
    };
    this.followBtn = btn('Follow newest', 'keep the newest entries in view', () => {
      this.follow = true;
      this.changed();
    });
    const legend = h(
      'div',
      { class: 'legend' },
      h('span', { class: 'legend-item' }, this.committedSwatch, 'committed (colour: its term)'),
      h('span', { class: 'legend-item' }, this.uncommittedSwatch, 'not yet committed'),
      h('span', { class: 'legend-item' }, h('span', { class: 'swatch divergent' }), 'differs from the leader'),
      h('span', { class: 'legend-item' }, h('span', { class: 'swatch hatched' }), 'in the snapshot'),
      h('span', { class: 'legend-item' }, h('span', { class: 'swatch commit' }), 'commit point'),
    );
    this.el.append(
      h(
        'div',
        { class: 'card-head' },
        h('h2', { text: 'Logs' }),
        h('div', { class: 'log-controls' }, btn('−', 'zoom out', () => this.zoom(0.5)), btn('+', 'zoom in', () => this.zoom(2)), this.followBtn, this.info),
      ),
      this.canvas,
      this.range,
      legend,
    );
    this.paintSwatches();
    this.range.addEventListener('input', () => {
      this.follow = false;
      this.start = Number(this.range.value);
      this.changed();
    });
    this.canvas.addEventListener('wheel', (e) => {
      e.preventDefault();
      if (e.ctrlKey || e.metaKey) return this.zoom(e.deltaY < 0 ? 1.25 : 0.8);
      const delta = (Math.abs(e.deltaX) > Math.abs(e.deltaY) ? e.deltaX : e.deltaY) / this.drawnScale;
      this.follow = false;
      this.start = Math.max(1, Math.round(this.lastWindow[0] + delta));
      this.changed();
    }, { passive: false });
    this.canvas.addEventListener('pointerdown', (e) => {
      this.drag = { x: e.clientX, start: this.lastWindow[0] };
      this.canvas.setPointerCapture(e.pointerId);
    });
    this.canvas.addEventListener('pointermove', (e) => {
      if (!this.drag) return;
      const moved = Math.round((this.drag.x - e.clientX) / this.drawnScale);
      if (moved === 0) return;
      this.follow = false;
      this.start = Math.max(1, this.drag.start + moved);
      this.changed();
    });
    this.canvas.addEventListener('pointerup', () => (this.drag = undefined));
  }

  setPalette(p: Palette): void {
    this.palette = p;
    this.paintSwatches();
    this.redraw();
  }

  /** Entries are coloured by term, so the legend's swatches show a few terms' colours, full and pale. */
  private paintSwatches(): void {
    const colours = [1, 2, 3].map((t) => termColor(t, this.palette.dark));
    const stripes = (alpha: number) => `linear-gradient(90deg, ${colours.map((c, i) => `color-mix(in srgb, ${c} ${alpha}%, transparent) ${(i * 100) / 3}% ${((i + 1) * 100) / 3}%`).join(', ')})`;
    this.committedSwatch.style.background = stripes(100);
    this.uncommittedSwatch.style.background = stripes(35);
  }

  update(status: ClusterStatus): void {
    this.status = status;
    this.redraw();
  }

  private zoom(f: number): void {
    const [lo, hi] = this.lastWindow;
    const centre = (lo + hi) / 2;
    this.scale = clamp(this.drawnScale * f, MIN_SCALE, MAX_SCALE);
    if (!this.follow) this.start = Math.max(1, Math.round(centre - this.visibleEntries() / 2));
    this.changed();
  }

  private changed(): void {
    this.saveState();
    this.redraw();
  }

  redraw(): void {
    if (!this.frame) this.frame = requestAnimationFrame(() => this.draw());
  }

  private visibleEntries(scale = this.scale): number {
    const width = boxSize(this.canvas).width - GUTTER - 4;
    return Math.max(1, Math.floor(width / scale));
  }

  private draw(): void {
    this.frame = 0;
    const status = this.status;
    if (!status) return;
    const peers = status.peers.filter((p) => p.state !== 'removed');
    const height = AXIS + Math.max(1, peers.length) * ROW + 4;
    if (this.canvas.style.height !== `${height}px`) this.canvas.style.height = `${height}px`;
    const fit = fitCanvas(this.canvas, () => this.redraw());
    if (!fit) return;
    const { ctx, width } = fit;
    const pal = this.palette;
    const maxLast = Math.max(1, ...peers.map((p) => p.lastIndex));
    const minFirst = Math.max(1, Math.min(...peers.map((p) => p.logTerms?.[0]?.[0] ?? p.firstIndex)));
    // Following a log shorter than the strip: draw its entries larger, down to the chosen scale as it grows.
    const plotWidth = Math.max(1, width - GUTTER - 4);
    const scale = this.follow ? Math.max(this.scale, Math.min(MAX_SCALE, plotWidth / Math.max(1, maxLast))) : this.scale;
    this.drawnScale = scale;
    const visible = this.visibleEntries(scale);
    let lo = this.follow ? Math.max(1, maxLast - visible + 1) : clamp(this.start, 1, Math.max(1, maxLast - visible + 1));
    const hi = lo + visible - 1;
    lo = Math.max(1, lo);
    this.lastWindow = [lo, hi];
    const setRange = (name: 'min' | 'max' | 'value', v: number) => {
      if (this.range[name] !== String(v)) this.range[name] = String(v);
    };
    setRange('min', Math.min(minFirst, lo));
    setRange('max', Math.max(1, maxLast - visible + 1));
    setRange('value', lo);
    if (this.followBtn.hasAttribute('disabled') !== this.follow) this.followBtn.toggleAttribute('disabled', this.follow);
    const perPx = 1 / scale;
    setText(this.info, `entries ${lo.toLocaleString()}–${Math.min(hi, maxLast).toLocaleString()} of ${maxLast.toLocaleString()}${perPx > 1 ? ` · ${Math.round(perPx)} per pixel` : ''}`);

    const xOf = (index: number) => GUTTER + (index - lo) * scale;
    ctx.clearRect(0, 0, width, height);
    ctx.font = '10px var(--vscode-font-family, sans-serif)';
    ctx.textBaseline = 'middle';

    // Index axis.
    ctx.fillStyle = pal.muted;
    ctx.textAlign = 'center';
    const step = niceStep(70 / scale);
    for (let i = Math.ceil(lo / step) * step; i <= hi; i += step) {
      const x = xOf(i) + scale / 2;
      ctx.fillText(i.toLocaleString(), x, AXIS / 2);
      ctx.fillRect(Math.round(x), AXIS - 4, 1, 4);
    }

    const leader = leaderOf(status);
    const divergent: string[] = [];
    peers.forEach((p, row) => {
      const y = AXIS + row * ROW + 2;
      const hgt = ROW - 6;
      const dim = p.state === 'down' ? 0.45 : 1;
      ctx.globalAlpha = dim;
      ctx.fillStyle = pal.fg;
      ctx.textAlign = 'left';
      ctx.font = p.id === status.leader ? 'bold 11px var(--vscode-font-family, sans-serif)' : '11px var(--vscode-font-family, sans-serif)';
      ctx.fillText(p.name + (p.id === status.leader ? ' ★' : ''), 4, y + hgt / 2);
      ctx.font = '10px var(--vscode-font-family, sans-serif)';
      const runs = p.logTerms ?? [];
      const first = runs[0]?.[0] ?? p.lastIndex + 1;
      // Compacted entries (in the snapshot, or older than the runs reported).
      const compactedTo = Math.min(first - 1, hi);
      if (compactedTo >= lo && p.lastIndex > 0) {
        const x = xOf(lo);
        const w = xOf(compactedTo + 1) - x;
        ctx.fillStyle = pal.border;
        ctx.globalAlpha = 0.5 * dim;
        ctx.fillRect(x, y, w, hgt);
        ctx.globalAlpha = dim;
        ctx.strokeStyle = pal.muted;
        ctx.lineWidth = 1;
        ctx.save();
        ctx.beginPath();
        ctx.rect(x, y, w, hgt);
        ctx.clip();
        for (let hx = x - hgt; hx < x + w; hx += 6) {
          ctx.moveTo(hx, y + hgt);
          ctx.lineTo(hx + hgt, y);
        }
        ctx.stroke();
        ctx.restore();
      }
      for (const [a, b, term] of segments(runs, p.lastIndex, lo, hi)) {
        const colour = termColor(term, pal.dark);
        const committedEnd = Math.min(b, p.commit);
        if (committedEnd >= a) {
          ctx.fillStyle = colour;
          ctx.globalAlpha = dim;
          ctx.fillRect(xOf(a), y, xOf(committedEnd + 1) - xOf(a), hgt);
        }
        const uncommittedStart = Math.max(a, p.commit + 1);
        if (uncommittedStart <= b) {
          const x = xOf(uncommittedStart);
          const w = xOf(b + 1) - x;
          ctx.fillStyle = colour;
          ctx.globalAlpha = 0.35 * dim;
          ctx.fillRect(x, y, w, hgt);
          ctx.globalAlpha = dim;
          ctx.strokeStyle = colour;
          ctx.lineWidth = 1;
          ctx.strokeRect(x + 0.5, y + 0.5, Math.max(0, w - 1), hgt - 1);
        }
      }
      ctx.globalAlpha = dim;
      // Entry boundaries when entries are wide enough to see one by one.
      if (scale >= 5) {
        ctx.fillStyle = pal.bg;
        const end = Math.min(hi, p.lastIndex);
        for (let i = Math.max(lo, first); i <= end + 1; i++) ctx.fillRect(Math.round(xOf(i)), y, 1, hgt);
      }
      // Term labels on runs wide enough to carry one, over the boundaries.
      for (const [a, b, term] of segments(runs, p.lastIndex, lo, hi)) {
        const left = Math.max(xOf(a), GUTTER);
        const right = Math.min(xOf(b + 1), width);
        if (right - left < 30) continue;
        const label = `t${term}`;
        const tw = ctx.measureText(label).width + 6;
        const cx = (left + right) / 2;
        ctx.globalAlpha = 0.85 * dim;
        ctx.fillStyle = pal.bg;
        ctx.fillRect(cx - tw / 2, y + 3, tw, hgt - 6);
        ctx.globalAlpha = dim;
        ctx.fillStyle = pal.fg;
        ctx.textAlign = 'center';
        ctx.fillText(label, cx, y + hgt / 2);
      }
      // Entries that disagree with the leader's log.
      if (leader && leader.id !== p.id) {
        for (const [a, b] of divergentRanges(p, leader, lo, hi)) {
          divergent.push(`${p.name}:${a}-${b}`);
          const x = xOf(a);
          const w = xOf(b + 1) - x;
          ctx.strokeStyle = pal.error;
          ctx.lineWidth = 2;
          ctx.strokeRect(x + 1, y + 1, Math.max(1, w - 2), hgt - 2);
          ctx.beginPath();
          ctx.moveTo(x, y + hgt);
          ctx.lineTo(x + w, y);
          ctx.stroke();
        }
      }
      // The commit point.
      if (p.commit >= lo - 1 && p.commit <= hi) {
        const x = Math.round(xOf(p.commit + 1));
        ctx.fillStyle = pal.fg;
        ctx.fillRect(x - 1, y - 2, 2, hgt + 4);
        ctx.beginPath();
        ctx.moveTo(x - 4, y - 3);
        ctx.lineTo(x + 4, y - 3);
        ctx.lineTo(x, y + 2);
        ctx.fill();
      }
      ctx.globalAlpha = 1;
    });
    // What is drawn as divergent, for assistive technology and the tests.
    const summary = divergent.join(' ');
    if (this.canvas.dataset.divergent !== summary) this.canvas.dataset.divergent = summary;
  }
}

function clamp(n: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, n));
}

/** 1, 2, 5, 10, 20, 50... at least `min`. */
function niceStep(min: number): number {
  let step = 1;
  for (;;) {
    for (const m of [1, 2, 5]) if (step * m >= min) return step * m;
    step *= 10;
  }
}
