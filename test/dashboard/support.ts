// Support for the dashboard's browser tests: a real `raftlab up` (the built CLI, in memory, fast timing) on free
// ports, Debian's Chromium driven by playwright-core with a fresh profile, a control API client, and screenshots
// under test/e2e/artifacts/ (git-ignored).
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import WebSocket from 'ws';
import { freePortRange } from '../../scripts/free-port.ts';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const ARTIFACTS = resolve('test/e2e/artifacts');
const CLI = resolve('dist/cli.js');

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export interface RunningCluster {
  url: string;
  /** The first client port and the control port, to start another cluster in its place. */
  ports: { port: number; controlPort: number };
  controlUrl: string;
  output: () => string;
  stop: () => Promise<void>;
}

/** Starts `node dist/cli.js up --memory --timing fast` and waits for its dashboard line. */
export async function raftlabUp(nodes = 3, ports?: { port: number; controlPort: number }): Promise<RunningCluster> {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first (npm test does)`);
  if (!existsSync('dist/dashboard/index.html')) throw new Error('dist/dashboard is missing: run npm run build first');
  const port = ports?.port ?? (await freePortRange(nodes));
  const controlPort = ports?.controlPort ?? (await freePortRange(1));
  const child: ChildProcess = spawn(process.execPath, [CLI, 'up', '--memory', '--timing', 'fast', '--nodes', String(nodes), '--port', String(port), '--control-port', String(controlPort)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const url = await new Promise<string>((res, rej) => {
    const timer = setTimeout(() => rej(new Error(`raftlab up did not print a dashboard URL in time:\n${out}`)), 20_000);
    const check = () => {
      const m = /dashboard: (http:\/\/127\.0\.0\.1:\d+\/)/.exec(out);
      if (m) {
        clearTimeout(timer);
        res(m[1]!);
      }
    };
    child.stdout!.on('data', check);
    child.once('exit', (code) => rej(new Error(`raftlab up exited with ${code}:\n${out}`)));
  });
  return {
    url,
    ports: { port, controlPort },
    controlUrl: `ws://127.0.0.1:${controlPort}`,
    output: () => out,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 8000);
      await exited;
      clearTimeout(killer);
    },
  };
}

export interface Browser {
  page: Page;
  context: BrowserContext;
  /** Console errors and page errors seen so far (CSP violations show up here). */
  errors: string[];
  dialogs: string[];
  close: () => Promise<void>;
}

export async function openBrowser(colorScheme: 'dark' | 'light' = 'dark'): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (.ci/run does)`);
  const profile = await mkdtemp(join(tmpdir(), 'raftlab-chromium-'));
  process.env.XDG_CONFIG_HOME = join(profile, 'config');
  process.env.XDG_CACHE_HOME = join(profile, 'cache');
  const context = await chromium.launchPersistentContext(join(profile, 'user-data'), {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1400, height: 1150 },
    colorScheme,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const errors: string[] = [];
  const dialogs: string[] = [];
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('dialog', (d) => {
    dialogs.push(d.message());
    void d.dismiss();
  });
  return {
    page,
    context,
    errors,
    dialogs,
    close: async () => {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const path = join(ARTIFACTS, `dashboard-${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

/** A control API client (what users' own tests use), for actions outside the dashboard. */
export async function controlClient(url: string): Promise<{ call: (op: string, args?: object) => Promise<any>; close: () => void }> {
  const ws = new WebSocket(url);
  await new Promise<void>((res, rej) => {
    ws.once('open', () => res());
    ws.once('error', rej);
  });
  let next = 1;
  const waiting = new Map<number, { res: (v: unknown) => void; rej: (e: Error) => void }>();
  ws.on('message', (d) => {
    const m = JSON.parse(d.toString());
    const w = waiting.get(m.id);
    if (!w) return;
    waiting.delete(m.id);
    if (m.ok) w.res(m.result);
    else w.rej(new Error(m.error.message));
  });
  return {
    call: (op, args = {}) =>
      new Promise((res, rej) => {
        const id = next++;
        waiting.set(id, { res, rej });
        ws.send(JSON.stringify({ v: 1, id, op, ...args }));
      }),
    close: () => ws.close(),
  };
}

/** What a peer card shows. */
export interface CardView {
  name: string;
  role: string;
  state: string;
  cut: boolean;
  term: number;
  commit: number;
  applied: number;
  last: number;
  /** The first index held in memory, as shown ('—' when none is). */
  memory: string;
}

// Page scripts are passed as text: tsx compiles this file with helpers (__name) that do not exist in the page.
const READ_CARDS = `[...document.querySelectorAll('.peers [data-peer]')].map((el) => {
  const f = (k) => el.querySelector('[data-field="' + k + '"]')?.textContent ?? '';
  const [commit, applied] = f('commit').split('/').map((s) => Number(s.trim()));
  return {
    name: el.getAttribute('data-peer') ?? '',
    role: el.getAttribute('data-role') ?? '',
    state: el.getAttribute('data-state') ?? '',
    cut: el.getAttribute('data-cut') === 'true',
    term: Number(f('term')),
    commit,
    applied,
    last: Number(f('last')),
    memory: f('memory'),
  };
})`;

export async function cards(page: Page): Promise<CardView[]> {
  return (await page.evaluate(READ_CARDS)) as CardView[];
}

/** Polls the page's peer cards until `check` passes. */
export async function waitForCards(page: Page, check: (c: CardView[]) => boolean, what: string, timeoutMs = 15_000): Promise<CardView[]> {
  const deadline = Date.now() + timeoutMs;
  let last: CardView[] = [];
  for (;;) {
    last = await cards(page);
    if (check(last)) return last;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; the cards show ${JSON.stringify(last)}`);
    await sleep(100);
  }
}

/** Runs in the page (a function with no inner functions: tsx would wrap those in helpers the page lacks). */
function readStyle(el: unknown, props: string[]): Record<string, string> {
  const cs = (globalThis as unknown as { getComputedStyle(e: unknown): { getPropertyValue(p: string): string } }).getComputedStyle(el);
  const out: Record<string, string> = {};
  for (const p of props) out[p] = cs.getPropertyValue(p);
  return out;
}

/** Computed CSS values (by property name, e.g. 'outline-style') of the first element matching a selector. */
export async function styleOf(page: Page, selector: string, props: string[]): Promise<Record<string, string>> {
  return page.locator(selector).first().evaluate(readStyle, props);
}

/** [r, g, b, alpha] (0-255, 0-1) of a computed colour: rgb(), rgba(), color(srgb ...) or a grey lch(L 0 0). */
export function parseColor(css: string): [number, number, number, number] {
  const grey = /^lch\(([\d.]+) 0 0\)$/.exec(css);
  if (grey) {
    // CIE lightness to luminance to an sRGB channel value.
    const l = Number(grey[1]);
    const y = l > 8 ? ((l + 16) / 116) ** 3 : l / 903.3;
    const v = 255 * (y <= 0.0031308 ? 12.92 * y : 1.055 * y ** (1 / 2.4) - 0.055);
    return [v, v, v, 1];
  }
  const srgb = /^color\(srgb ([\d.e-]+) ([\d.e-]+) ([\d.e-]+)(?: \/ ([\d.]+))?\)$/.exec(css);
  if (srgb) return [Number(srgb[1]) * 255, Number(srgb[2]) * 255, Number(srgb[3]) * 255, srgb[4] === undefined ? 1 : Number(srgb[4])];
  const rgb = /^rgba?\(([\d.]+), ([\d.]+), ([\d.]+)(?:, ([\d.]+))?\)$/.exec(css);
  if (rgb) return [Number(rgb[1]), Number(rgb[2]), Number(rgb[3]), rgb[4] === undefined ? 1 : Number(rgb[4])];
  throw new Error(`cannot read the colour ${css}`);
}

/** WCAG contrast ratio of a text colour on a background (a translucent text colour is laid over the background). */
export function contrast(fg: string, bg: string): number {
  const b = parseColor(bg);
  const f = parseColor(fg);
  const over = [0, 1, 2].map((i) => f[i]! * f[3] + b[i]! * (1 - f[3]));
  const lum = (c: number[]) => {
    const [r, g, bl] = c.map((v) => {
      const s = v / 255;
      return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r! + 0.7152 * g! + 0.0722 * bl!;
  };
  const [hi, lo] = [lum(over), lum(b)].sort((x, y) => y - x);
  return (hi! + 0.05) / (lo! + 0.05);
}

/** Runs in the page: text and background colour of every badge, with its text. */
function readBadges(): { text: string; color: string; background: string }[] {
  const g = globalThis as any;
  const out: { text: string; color: string; background: string }[] = [];
  for (const el of g.document.querySelectorAll('.badge')) {
    const cs = g.getComputedStyle(el);
    out.push({ text: el.textContent, color: cs.color, background: cs.backgroundColor });
  }
  return out;
}

export async function badgeColors(page: Page): Promise<{ text: string; color: string; background: string }[]> {
  return page.evaluate(readBadges);
}

/** Runs in the page: the border colour a vscode-textfield draws (inside its shadow root). */
function readFieldBorder(el: any): string {
  return (globalThis as any).getComputedStyle(el.shadowRoot.querySelector('.root')).borderTopColor;
}

export async function fieldBorder(page: Page, selector: string): Promise<string> {
  return page.locator(selector).first().evaluate(readFieldBorder);
}
