// Tiny DOM helpers. Every string from the cluster reaches the page through textContent or attributes set one
// by one (never innerHTML), and canvas text through fillText, so a key named "<img onerror=...>" stays text.

type Child = Node | string | null | undefined | false;

export interface Props {
  class?: string;
  text?: string;
  title?: string;
  attrs?: Record<string, string>;
  on?: Partial<Record<keyof HTMLElementEventMap, (e: Event) => void>>;
}

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, props?: Props, ...children: Child[]): HTMLElementTagNameMap[K];
export function h(tag: string, props?: Props, ...children: Child[]): HTMLElement;
export function h(tag: string, props: Props = {}, ...children: Child[]): HTMLElement {
  const el = document.createElement(tag);
  if (props.class) el.className = props.class;
  if (props.text !== undefined) el.textContent = props.text;
  if (props.title !== undefined) el.title = props.title;
  for (const [k, v] of Object.entries(props.attrs ?? {})) el.setAttribute(k, v);
  for (const [k, fn] of Object.entries(props.on ?? {})) if (fn) el.addEventListener(k, fn);
  for (const c of children) if (c) el.append(c);
  return el;
}

/** Sets text only when it changed (no layout work for unchanged values at ten updates a second). */
export function setText(el: Element, text: string): void {
  if (el.textContent !== text) el.textContent = text;
}

export function setAttr(el: Element, name: string, value: string | null): void {
  if (value === null) {
    if (el.hasAttribute(name)) el.removeAttribute(name);
  } else if (el.getAttribute(name) !== value) el.setAttribute(name, value);
}

export function toggleClass(el: Element, name: string, on: boolean): void {
  if (el.classList.contains(name) !== on) el.classList.toggle(name, on);
}

/** Reads a CSS custom property from the page (theme colours for canvases and charts). */
export function cssVar(name: string, fallback: string): string {
  const v = getComputedStyle(document.body).getPropertyValue(name).trim();
  return v || fallback;
}

const sizes = new WeakMap<Element, { width: number; height: number }>();
let sizeObserver: ResizeObserver | undefined;

/**
 * The CSS size of an element, kept up to date by a ResizeObserver so that drawing never forces a layout
 * (reading getBoundingClientRect after the DOM changed would, once per canvas per frame). `onResize` runs
 * when the size changes.
 */
export function boxSize(el: Element, onResize?: () => void): { width: number; height: number } {
  let size = sizes.get(el);
  if (!size) {
    const rect = el.getBoundingClientRect();
    size = { width: rect.width, height: rect.height };
    sizes.set(el, size);
    sizeObserver ??= new ResizeObserver((entries) => {
      for (const e of entries) {
        const box = e.contentBoxSize?.[0];
        const next = box ? { width: box.inlineSize, height: box.blockSize } : { width: e.contentRect.width, height: e.contentRect.height };
        sizes.set(e.target, next);
        (e.target as Element & { onBoxResize?: () => void }).onBoxResize?.();
      }
    });
    sizeObserver.observe(el);
  }
  if (onResize) (el as Element & { onBoxResize?: () => void }).onBoxResize = onResize;
  return size;
}

/** A canvas sized to its box in device pixels; returns its 2D context scaled to CSS pixels, or undefined. */
export function fitCanvas(canvas: HTMLCanvasElement, onResize?: () => void): { ctx: CanvasRenderingContext2D; width: number; height: number } | undefined {
  const { width, height } = boxSize(canvas, onResize);
  const dpr = window.devicePixelRatio || 1;
  const w = Math.max(1, Math.round(width * dpr));
  const hh = Math.max(1, Math.round(height * dpr));
  if (canvas.width !== w || canvas.height !== hh) {
    canvas.width = w;
    canvas.height = hh;
  }
  const ctx = canvas.getContext('2d');
  if (!ctx) return undefined;
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  return { ctx, width, height };
}

/** Local time as hh:mm:ss, with milliseconds unless `millis` is false (24-hour: the same in every locale). */
export function formatTime(ms: number, millis = true): string {
  const d = new Date(ms);
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}${millis ? `.${pad(d.getMilliseconds(), 3)}` : ''}`;
}
