// Small live charts drawn with uPlot: commits per second, write latency p50/p99, and the term over time.
import uPlot from 'uplot';
import { formatTime, h } from '../dom.ts';
import type { Palette } from '../colors.ts';
import type { History } from '../model.ts';

interface Chart {
  box: HTMLElement;
  plot: uPlot | undefined;
  make: (width: number) => uPlot;
  data: () => uPlot.AlignedData;
}

export class ChartsView {
  readonly el = h('section', { class: 'card charts', attrs: { 'aria-label': 'Charts' } });
  private readonly charts: Chart[] = [];
  private readonly observer: ResizeObserver;

  constructor(
    private readonly history: History,
    private palette: Palette,
  ) {
    this.el.append(h('h2', { text: 'Throughput and latency' }));
    const grid = h('div', { class: 'chart-grid' });
    this.el.append(grid);
    const add = (title: string, series: uPlot.Series[], data: () => uPlot.AlignedData, step = false) => {
      const box = h('div', { class: 'chart', attrs: { 'data-chart': title } });
      grid.append(h('figure', {}, h('figcaption', { text: title }), box));
      const chart: Chart = {
        box,
        plot: undefined,
        data,
        make: (width) => {
          const p = this.palette;
          const axis: uPlot.Axis = { stroke: p.muted, grid: { stroke: p.border, width: 0.5 }, ticks: { stroke: p.border, width: 0.5 }, font: '10px sans-serif', size: 36 };
          return new uPlot(
            {
              width,
              height: 120,
              legend: { show: true, live: false },
              cursor: { show: true, drag: { x: false, y: false } },
              scales: { x: { time: true }, y: { range: (_u, min, max) => [Math.min(0, min), Math.max(step ? 1 : 5, max * 1.1)] } },
              // hh:mm:ss as the event list shows times (mm:ss alone did not say which hour).
              axes: [{ ...axis, space: 70, incrs: [1, 2, 5, 10, 15, 30, 60, 120, 300, 600], values: (_u, ticks) => ticks.map((t) => formatTime(t * 1000, false)) }, { ...axis }],
              series: [{}, ...series.map((s) => ({ width: 1.5, points: { show: false }, ...s, ...(step ? { paths: uPlot.paths.stepped!({ align: 1 }) } : {}) }))],
            },
            data(),
            box,
          );
        },
      };
      this.charts.push(chart);
    };
    const h_ = this.history;
    add('commits / s', [{ label: 'commits/s', stroke: () => this.palette.messages.append, fill: () => alpha(this.palette.messages.append, 0.15) }], () => [h_.t, h_.commits]);
    add('write latency (ms)', [
      { label: 'p50', stroke: () => this.palette.ok },
      { label: 'p99', stroke: () => this.palette.warn },
    ], () => [h_.t, h_.p50, h_.p99]);
    add('term', [{ label: 'term', stroke: () => this.palette.messages.vote }], () => [h_.t, h_.term], true);
    this.observer = new ResizeObserver(() => this.resize());
    this.observer.observe(grid);
  }

  setPalette(p: Palette): void {
    this.palette = p;
    for (const c of this.charts) {
      c.plot?.destroy();
      c.plot = undefined;
    }
    this.resize();
  }

  private resize(): void {
    for (const c of this.charts) {
      const width = Math.max(160, Math.floor(c.box.getBoundingClientRect().width));
      if (!c.plot) c.plot = c.make(width);
      else if (Math.abs(c.plot.width - width) > 2) c.plot.setSize({ width, height: 120 });
    }
  }

  update(): void {
    if (this.charts.some((c) => !c.plot)) this.resize();
    for (const c of this.charts) c.plot?.setData(c.data());
  }
}

function alpha(colour: string, a: number): string {
  const m = /^#([0-9a-f]{6})$/i.exec(colour.trim());
  if (!m) return colour;
  const n = parseInt(m[1]!, 16);
  return `rgba(${n >> 16}, ${(n >> 8) & 255}, ${n & 255}, ${a})`;
}
