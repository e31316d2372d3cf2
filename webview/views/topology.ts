// The peers as a ring of nodes with the links between them: two lanes per pair (one per direction) whose
// width follows the traffic, labelled with messages per second; cut links drawn broken with a cross; a sampled
// animation of messages in flight coloured by type (one dot stands for the messages of a type in one update);
// and each peer's election timer as a ring that fills up, as RaftScope draws it. Click a peer or a link.
import { fitCanvas, h } from '../dom.ts';
import { MESSAGE_CLASSES, type MessageClass, type Palette } from '../colors.ts';
import { linkKey, type LinkRate } from '../model.ts';
import type { ClusterStatus } from '../protocol.ts';
import type { PeerView } from '../../src/cluster/status.ts';
import type { Selection } from '../host-link.ts';

interface Dot {
  from: number;
  to: number;
  cls: MessageClass;
  /** Responses are drawn hollow, requests filled. */
  response: boolean;
  start: number;
  duration: number;
  /** Dropped messages stop halfway and fade. */
  dropped: boolean;
}

const NODE_R = 24;
const MAX_DOTS = 400;

export class TopologyView {
  readonly el = h('section', { class: 'card topology', attrs: { 'aria-label': 'Peers and links' } });
  readonly canvas = h('canvas', { attrs: { 'data-testid': 'topology', role: 'img', 'aria-label': 'peers and the links between them' } });
  private readonly legend = h('div', { class: 'legend' });
  private status: ClusterStatus | undefined;
  private rates = new Map<string, LinkRate>();
  private dots: Dot[] = [];
  private positions = new Map<number, { x: number; y: number }>();
  private timers = new Map<number, number>();
  private selection: Selection | undefined;
  private frame = 0;

  constructor(
    private palette: Palette,
    private readonly onSelect: (s: Selection) => void,
  ) {
    this.el.append(h('h2', { text: 'Peers and links' }), this.canvas, this.legend);
    this.canvas.addEventListener('click', (e) => this.click(e));
    this.buildLegend();
  }

  setPalette(p: Palette): void {
    this.palette = p;
    this.buildLegend();
  }

  private buildLegend(): void {
    const names: Record<MessageClass, string> = { append: 'append', heartbeat: 'heartbeat', vote: 'vote', preVote: 'pre-vote', snapshot: 'snapshot', other: 'other' };
    this.legend.replaceChildren(
      ...MESSAGE_CLASSES.map((c) => {
        const swatch = h('span', { class: 'swatch' });
        swatch.style.background = this.palette.messages[c];
        return h('span', { class: 'legend-item' }, swatch, names[c]);
      }),
      h('span', { class: 'legend-item muted' }, 'dots are sampled:', h('span', { class: 'dot' }), 'request', h('span', { class: 'dot hollow' }), 'response'),
    );
  }

  update(status: ClusterStatus, rates: Map<string, LinkRate>, dtMs: number, selection: Selection | undefined, spawn: boolean): void {
    this.status = status;
    this.rates = rates;
    this.selection = selection;
    const now = performance.now();
    const byId = new Map(status.peers.map((p) => [p.id, p]));
    for (const r of spawn ? rates.values() : []) {
      const from = byId.get(r.from);
      const to = byId.get(r.to);
      if (!from || !to) continue;
      const delay = Math.min(2000, r.link.delayMs);
      for (const [cls, count] of Object.entries(r.sentDelta) as [MessageClass, number][]) {
        const responses = r.responseDelta[cls] ?? 0;
        // One dot for the requests of a class and one for its responses, each when there were any.
        for (const response of [false, true]) {
          if ((response ? responses : count - responses) <= 0 || this.dots.length >= MAX_DOTS) continue;
          const dropped = r.link.cut || Math.random() < r.droppedShare;
          this.dots.push({ from: r.from, to: r.to, cls, response, start: now + Math.random() * Math.min(dtMs, 200), duration: 450 + delay, dropped });
        }
      }
    }
    for (const p of status.peers) if (!this.timers.has(p.id)) this.timers.set(p.id, p.electionProgress);
    this.kick();
  }

  setSelection(selection: Selection | undefined): void {
    this.selection = selection;
    this.kick();
  }

  /** Keeps drawing while anything moves; idle otherwise. */
  redraw(): void {
    this.kick();
  }

  private kick(): void {
    if (!this.frame) this.frame = requestAnimationFrame((t) => this.draw(t));
  }

  private layout(width: number, height: number, peers: PeerView[]): void {
    const cx = width / 2;
    const cy = height / 2;
    // Room around the ring for the timer ring and a "cut off" line outside each node.
    const r = Math.max(30, Math.min(width, height) / 2 - NODE_R - 22);
    this.positions.clear();
    peers.forEach((p, i) => {
      const a = -Math.PI / 2 + (2 * Math.PI * i) / peers.length;
      this.positions.set(p.id, { x: cx + r * Math.cos(a), y: cy + r * Math.sin(a) });
    });
  }

  private draw(now: number): void {
    this.frame = 0;
    const status = this.status;
    const fit = fitCanvas(this.canvas, () => this.kick());
    if (!status || !fit) return;
    const { ctx, width, height } = fit;
    const pal = this.palette;
    const peers = status.peers.filter((p) => p.state !== 'removed');
    this.layout(width, height, peers);
    ctx.clearRect(0, 0, width, height);
    ctx.font = '11px var(--vscode-font-family, sans-serif)';

    // Links: one lane per direction, offset to the right of its travel direction.
    const labels = peers.length <= 5;
    for (let i = 0; i < peers.length; i++) {
      for (let j = 0; j < peers.length; j++) {
        if (i === j) continue;
        const a = peers[i]!;
        const b = peers[j]!;
        const lane = this.lane(a.id, b.id);
        if (!lane) continue;
        const rate = this.rates.get(linkKey(a.id, b.id));
        const rule = rate?.link ?? status.links.find((l) => l.from === a.id && l.to === b.id);
        const selected = this.selection?.kind === 'link' && ((this.selection.a === a.name && this.selection.b === b.name) || (this.selection.a === b.name && this.selection.b === a.name));
        const active = a.state === 'up' && b.state !== 'removed';
        const perSecond = rate?.perSecond ?? 0;
        ctx.lineWidth = (selected ? 2 : 1) + Math.min(4, Math.log10(1 + perSecond));
        // An open link in the muted text colour: the panel border colour is too faint against the panel (< 3:1).
        ctx.strokeStyle = rule?.cut ? pal.error : rule && (rule.dropPercent > 0 || rule.delayMs > 0) ? pal.warn : selected ? pal.accent : pal.muted;
        ctx.globalAlpha = active ? 1 : 0.35;
        ctx.setLineDash(rule?.cut ? [5, 5] : []);
        ctx.beginPath();
        ctx.moveTo(lane.x1, lane.y1);
        ctx.lineTo(lane.x2, lane.y2);
        ctx.stroke();
        ctx.setLineDash([]);
        const mx = lane.x1 + (lane.x2 - lane.x1) * 0.5;
        const my = lane.y1 + (lane.y2 - lane.y1) * 0.5;
        if (rule?.cut) {
          ctx.strokeStyle = pal.error;
          ctx.lineWidth = 2;
          ctx.beginPath();
          ctx.moveTo(mx - 5, my - 5);
          ctx.lineTo(mx + 5, my + 5);
          ctx.moveTo(mx + 5, my - 5);
          ctx.lineTo(mx - 5, my + 5);
          ctx.stroke();
        }
        if (labels || selected) {
          const tags: string[] = [];
          // A peer cut off says so under its node; its links' crosses show the rest.
          if (rule?.cut && !a.cutOff && !b.cutOff) tags.push('cut');
          if (rule && rule.dropPercent > 0) tags.push(`drop ${rule.dropPercent}%`);
          if (rule && rule.delayMs > 0) tags.push(`+${rule.delayMs}ms`);
          if (!rule?.cut && active && perSecond >= 0.5) tags.push(`${Math.round(perSecond)}/s`);
          // The label runs along its lane, on the lane's outer side (away from the pair's other lane), upright,
          // on a backing: it crosses neither lane of the pair and reaches no further sideways than one line.
          const text = tags.join(' · ');
          const angle = Math.atan2(lane.y2 - lane.y1, lane.x2 - lane.x1);
          const flip = Math.abs(angle) > Math.PI / 2;
          ctx.save();
          ctx.translate(mx + lane.nx * 7, my + lane.ny * 7);
          ctx.rotate(flip ? angle + Math.PI : angle);
          const w = ctx.measureText(text).width;
          ctx.globalAlpha = 0.85;
          ctx.fillStyle = pal.panel;
          ctx.fillRect(-w / 2 - 2, flip ? -13 : 0, w + 4, 13);
          ctx.globalAlpha = active ? 1 : 0.4;
          ctx.fillStyle = rule?.cut ? pal.error : pal.muted;
          ctx.textAlign = 'center';
          // The lane's outward normal is +y in this frame, or -y when the text was turned upright.
          ctx.textBaseline = flip ? 'bottom' : 'top';
          ctx.fillText(text, 0, flip ? -1 : 1);
          ctx.restore();
        }
        ctx.globalAlpha = 1;
      }
    }

    // Messages in flight.
    const alive: Dot[] = [];
    for (const d of this.dots) {
      const t = (now - d.start) / d.duration;
      if (t < 0) {
        alive.push(d);
        continue;
      }
      const limit = d.dropped ? 0.5 : 1;
      if (t > limit + (d.dropped ? 0.3 : 0)) continue;
      const lane = this.lane(d.from, d.to);
      if (!lane) continue;
      alive.push(d);
      const u = Math.min(t, limit);
      const x = lane.x1 + (lane.x2 - lane.x1) * u;
      const y = lane.y1 + (lane.y2 - lane.y1) * u;
      ctx.globalAlpha = d.dropped && t > limit ? Math.max(0, 1 - (t - limit) / 0.3) : 1;
      ctx.beginPath();
      ctx.arc(x, y, d.cls === 'snapshot' ? 5 : 3.5, 0, Math.PI * 2);
      if (d.response) {
        ctx.strokeStyle = pal.messages[d.cls];
        ctx.lineWidth = 1.5;
        ctx.stroke();
      } else {
        ctx.fillStyle = pal.messages[d.cls];
        ctx.fill();
      }
    }
    ctx.globalAlpha = 1;
    this.dots = alive;

    // Nodes.
    for (const p of peers) {
      const pos = this.positions.get(p.id)!;
      const shown = this.timers.get(p.id) ?? 0;
      const target = p.state === 'up' && p.role !== 'leader' ? p.electionProgress : 0;
      // Ease the ring toward the last reported progress (reports come at most ten times a second).
      const eased = target < shown ? target : shown + (target - shown) * 0.25;
      this.timers.set(p.id, eased);
      const down = p.state === 'down';
      const isSel = this.selection?.kind === 'peer' && this.selection.peer === p.name;
      ctx.beginPath();
      ctx.arc(pos.x, pos.y, NODE_R, 0, Math.PI * 2);
      ctx.fillStyle = isSel ? pal.selection : pal.panel;
      ctx.fill();
      ctx.lineWidth = !down && p.role === 'leader' ? 3 : 1.5;
      ctx.strokeStyle = down ? pal.muted : p.role === 'leader' ? pal.accent : p.role === 'candidate' || p.role === 'preCandidate' ? pal.warn : pal.fg;
      ctx.setLineDash(down ? [3, 3] : []);
      ctx.stroke();
      ctx.setLineDash([]);
      if (eased > 0.001) {
        ctx.beginPath();
        ctx.arc(pos.x, pos.y, NODE_R + 5, -Math.PI / 2, -Math.PI / 2 + Math.PI * 2 * eased);
        ctx.strokeStyle = eased > 0.75 ? pal.warn : pal.muted;
        ctx.lineWidth = 3;
        ctx.stroke();
      }
      if (isSel) {
        ctx.beginPath();
        ctx.arc(pos.x, pos.y, NODE_R + 10, 0, Math.PI * 2);
        ctx.strokeStyle = pal.accent;
        ctx.lineWidth = 1;
        ctx.setLineDash([2, 3]);
        ctx.stroke();
        ctx.setLineDash([]);
      }
      ctx.fillStyle = down ? pal.muted : pal.fg;
      ctx.textAlign = 'center';
      ctx.textBaseline = 'middle';
      ctx.font = 'bold 12px var(--vscode-font-family, sans-serif)';
      ctx.fillText(p.name, pos.x, pos.y - 6);
      ctx.font = '10px var(--vscode-font-family, sans-serif)';
      const tag = down ? 'down' : p.state === 'paused' ? 'paused' : p.role === 'leader' ? `L · t${p.term}` : p.role === 'preCandidate' ? `pre · t${p.term}` : p.role === 'candidate' ? `C · t${p.term}` : `t${p.term}`;
      ctx.fillText(tag, pos.x, pos.y + 8);
      if (p.cutOff && !down) {
        ctx.fillStyle = pal.error;
        // Outside the ring, away from the links, growing outward past the timer ring.
        const out = Math.atan2(pos.y - height / 2, pos.x - width / 2);
        const [ox, oy] = [Math.cos(out), Math.sin(out)];
        ctx.textAlign = ox > 0.3 ? 'left' : ox < -0.3 ? 'right' : 'center';
        ctx.textBaseline = oy > 0.3 ? 'top' : oy < -0.3 ? 'bottom' : 'middle';
        ctx.fillText('cut off', pos.x + ox * (NODE_R + 9), pos.y + oy * (NODE_R + 9));
      }
    }
    ctx.font = '11px var(--vscode-font-family, sans-serif)';

    const moving = this.dots.length > 0 || peers.some((p) => Math.abs((this.timers.get(p.id) ?? 0) - (p.state === 'up' && p.role !== 'leader' ? p.electionProgress : 0)) > 0.002);
    if (moving && !document.hidden) this.kick();
  }

  /** The lane for from -> to: the segment between the two node rims, shifted to one side. */
  private lane(from: number, to: number): { x1: number; y1: number; x2: number; y2: number; nx: number; ny: number } | undefined {
    const a = this.positions.get(from);
    const b = this.positions.get(to);
    if (!a || !b) return undefined;
    const dx = b.x - a.x;
    const dy = b.y - a.y;
    const len = Math.hypot(dx, dy) || 1;
    const ux = dx / len;
    const uy = dy / len;
    const nx = -uy;
    const ny = ux;
    const off = 5;
    const rim = NODE_R + 6;
    return { x1: a.x + ux * rim + nx * off, y1: a.y + uy * rim + ny * off, x2: b.x - ux * rim + nx * off, y2: b.y - uy * rim + ny * off, nx, ny };
  }

  private click(e: MouseEvent): void {
    const status = this.status;
    if (!status) return;
    const rect = this.canvas.getBoundingClientRect();
    const x = e.clientX - rect.left;
    const y = e.clientY - rect.top;
    for (const p of status.peers) {
      const pos = this.positions.get(p.id);
      if (pos && Math.hypot(pos.x - x, pos.y - y) <= NODE_R + 6) return this.onSelect({ kind: 'peer', peer: p.name });
    }
    let best: { d: number; a: string; b: string } | undefined;
    for (const a of status.peers) {
      for (const b of status.peers) {
        if (a.id >= b.id) continue;
        const pa = this.positions.get(a.id);
        const pb = this.positions.get(b.id);
        if (!pa || !pb) continue;
        const d = distanceToSegment(x, y, pa.x, pa.y, pb.x, pb.y);
        if (d < 12 && (!best || d < best.d)) best = { d, a: a.name, b: b.name };
      }
    }
    if (best) this.onSelect({ kind: 'link', a: best.a, b: best.b });
  }

  /** Where a link between two peers is drawn (for tests and keyboard-free clicking). */
  linkMidpoint(a: string, b: string): { x: number; y: number } | undefined {
    const ida = this.status?.peers.find((p) => p.name === a)?.id;
    const idb = this.status?.peers.find((p) => p.name === b)?.id;
    const pa = ida === undefined ? undefined : this.positions.get(ida);
    const pb = idb === undefined ? undefined : this.positions.get(idb);
    return pa && pb ? { x: (pa.x + pb.x) / 2, y: (pa.y + pb.y) / 2 } : undefined;
  }
}

function distanceToSegment(px: number, py: number, x1: number, y1: number, x2: number, y2: number): number {
  const dx = x2 - x1;
  const dy = y2 - y1;
  const len2 = dx * dx + dy * dy || 1;
  const t = Math.max(0, Math.min(1, ((px - x1) * dx + (py - y1) * dy) / len2));
  return Math.hypot(px - (x1 + t * dx), py - (y1 + t * dy));
}
