// Reusable end-to-end setup: a fresh code-server 4.100.3 (VS Code 1.100.3 in a browser, installed by setup.sh
// into a cache folder outside the repository) with a .vsix installed, driven through Debian's Chromium by
// playwright-core. `startCodeServer` returns the page and helpers (palette commands, notifications, quick
// inputs, screenshots); `close` stops exactly what it started. Used by extension.e2e.test.ts, and meant for
// other suites too (the dashboard-in-a-webview check).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { freePortRange } from '../../scripts/free-port.ts';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium, type BrowserContext, type Locator, type Page } from 'playwright-core';

const here = __dirname;
export const repoRoot = resolve(here, '..', '..');
export const artifactsDir = join(here, 'artifacts');
export const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';

/** What is missing to run the e2e suite on this machine, or undefined when nothing is. */
/**
 * Why the code-server tests cannot run here, if they cannot. Outside CI that skips them (the reason is shown);
 * in CI (`CI` set) .ci/run installs these programs, so a missing one is an error rather than a silent skip.
 */
export function missingPrerequisites(): string | undefined {
  let reason: string | undefined;
  if (!existsSync(CHROMIUM)) reason = `${CHROMIUM} is missing (apt-get install chromium; .ci/run installs it)`;
  else if (spawnSync('sh', ['-c', 'command -v rg']).status !== 0) reason = 'ripgrep is missing (apt-get install ripgrep)';
  if (reason && process.env.CI) throw new Error(`${reason}; CI must have it`);
  return reason;
}

/** Installs code-server into the cache folder if needed (minutes, the first time) and returns its binary. */
export function ensureCodeServer(): string {
  const r = spawnSync('bash', [join(here, 'setup.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (r.status !== 0) throw new Error(`test/e2e/setup.sh failed (${r.status})`);
  const bin = r.stdout.trim().split('\n').pop()!;
  if (!existsSync(bin)) throw new Error(`setup.sh printed ${bin}, which does not exist`);
  return bin;
}

/** Packages the extension (npm run package's script) into `out`. */
export function buildVsix(out: string): string {
  const r = spawnSync(process.execPath, [join(repoRoot, 'scripts/package-extension.mjs'), out], { cwd: repoRoot, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`packaging failed:\n${r.stdout}\n${r.stderr}`);
  return out;
}


function healthy(url: string): Promise<boolean> {
  return new Promise((res) => {
    const req = request(url, (r) => {
      r.resume();
      res((r.statusCode ?? 500) < 500);
    });
    req.on('error', () => res(false));
    req.end();
  });
}

export interface StartOptions {
  vsix: string;
  /** User settings.json entries on top of quiet defaults. */
  settings?: Record<string, unknown>;
  /** Extra environment for code-server (and so the extension host). */
  env?: Record<string, string>;
  /** Where screenshots go (default test/e2e/artifacts). */
  shots?: string;
  /** Keep the run folder (logs, user data) after close. */
  keep?: boolean;
  viewport?: { width: number; height: number };
}

export interface CodeServer {
  page: Page;
  context: BrowserContext;
  url: string;
  /** The run's folder: ud/ (user data), ext/ (extensions), ws/ (the workspace), code-server.log. */
  runDir: string;
  workspace: string;
  log(...args: unknown[]): void;
  /** Runs a palette command by its full title ("Raft Lab: Start Local Cluster"). */
  runCommand(title: string): Promise<void>;
  /** Types into the open quick input (input box or quick pick) and accepts. */
  answer(text: string, expectPrompt?: string | RegExp): Promise<void>;
  notification(text: string | RegExp): Locator;
  statusBarItem(text: string | RegExp): Locator;
  treeRow(text: string | RegExp): Locator;
  /** Screenshot into the shots folder, after letting animations settle. */
  shot(name: string): Promise<void>;
  close(): Promise<void>;
}

export async function startCodeServer(opts: StartOptions): Promise<CodeServer> {
  const t0 = Date.now();
  const log = (...a: unknown[]) => console.log(`[e2e ${((Date.now() - t0) / 1000).toFixed(1)}s]`, ...a);
  const bin = ensureCodeServer();
  const base = join(process.env.RAFTLAB_E2E_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(process.env.HOME ?? tmpdir(), '.cache'), 'raftlab-e2e'), 'runs');
  mkdirSync(base, { recursive: true });
  const runDir = mkdtempSync(join(base, 'run-'));
  const ud = join(runDir, 'ud');
  const ext = join(runDir, 'ext');
  const ws = join(runDir, 'ws');
  for (const d of [ud, ext, ws, join(ud, 'User')]) mkdirSync(d, { recursive: true });
  writeFileSync(join(ws, 'README.md'), '# e2e workspace\n');
  writeFileSync(
    join(ud, 'User', 'settings.json'),
    JSON.stringify(
      {
        'workbench.startupEditor': 'none',
        'security.workspace.trust.enabled': false,
        'workbench.tips.enabled': false,
        'telemetry.telemetryLevel': 'off',
        'extensions.autoUpdate': false,
        'extensions.autoCheckUpdates': false,
        'update.mode': 'none',
        'workbench.enableExperiments': false,
        'chat.commandCenter.enabled': false,
        'workbench.secondarySideBar.defaultVisibility': 'hidden',
        // VS Code in a browser saves after a second by default: a file is saved when the test saves it.
        'files.autoSave': 'off',
        ...opts.settings,
      },
      null,
      2,
    ),
  );
  // Bound only after the extension is installed (seconds later): below the ephemeral range, where no outgoing
  // connection can take it meanwhile.
  const port = await freePortRange(1);
  const config = join(runDir, 'config.yaml');
  writeFileSync(config, `bind-addr: 127.0.0.1:${port}\nauth: none\ncert: false\n`);
  const csArgs = ['--config', config, '--user-data-dir', ud, '--extensions-dir', ext];
  const install = spawnSync(bin, [...csArgs, '--install-extension', opts.vsix], { encoding: 'utf8' });
  if (install.status !== 0) throw new Error(`installing ${opts.vsix} failed:\n${install.stdout}\n${install.stderr}`);
  log('installed', opts.vsix);

  const csLog = openSync(join(runDir, 'code-server.log'), 'w');
  const cs: ChildProcess = spawn(
    bin,
    [...csArgs, '--bind-addr', `127.0.0.1:${port}`, '--auth', 'none', '--disable-telemetry', '--disable-update-check', '--disable-workspace-trust', '--disable-getting-started-override', ws],
    { detached: true, stdio: ['ignore', csLog, csLog], env: { ...process.env, ...opts.env } },
  );
  closeSync(csLog);
  const stopCs = () => {
    try {
      if (cs.pid) process.kill(-cs.pid, 'SIGTERM');
    } catch {
      /* already gone */
    }
  };
  process.once('exit', stopCs);
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; !(await healthy(`${url}/healthz`)); i++) {
    if (i > 300 || cs.exitCode !== null) {
      stopCs();
      throw new Error(`code-server did not come up (see ${join(runDir, 'code-server.log')})`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  log(`code-server up on ${port}`);

  const profile = mkdtempSync(join(tmpdir(), 'raftlab-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: opts.viewport ?? { width: 1400, height: 900 },
    env: { ...process.env, XDG_CONFIG_HOME: join(profile, 'xdg-config'), XDG_CACHE_HOME: join(profile, 'xdg-cache') } as Record<string, string>,
  });
  const page = context.pages()[0] ?? (await context.newPage());
  page.on('pageerror', (e) => log('pageerror:', e.message));
  await page.goto(`${url}/?folder=${encodeURIComponent(ws)}`);
  await page.locator('.monaco-workbench').waitFor({ timeout: 90_000 });
  log('workbench loaded');

  const shots = opts.shots ?? artifactsDir;
  mkdirSync(shots, { recursive: true });
  const quickInput = page.locator('.quick-input-widget');

  const server: CodeServer = {
    page,
    context,
    url,
    runDir,
    workspace: ws,
    log,
    async runCommand(title) {
      await page.locator('.monaco-workbench').click({ position: { x: 700, y: 12 } }).catch(() => undefined);
      await page.keyboard.press('F1');
      const input = quickInput.locator('.quick-input-box input');
      await input.waitFor({ state: 'visible' });
      await input.fill(`>${title}`);
      await quickInput.locator('.monaco-list-row.focused', { hasText: title }).waitFor({ timeout: 20_000 });
      await page.keyboard.press('Enter');
      log('ran', title);
    },
    async answer(text, expectPrompt) {
      if (expectPrompt) await quickInput.locator('.quick-input-header, .quick-input-message, .quick-input-title', { hasText: expectPrompt }).first().waitFor({ timeout: 20_000 });
      const input = quickInput.locator('.quick-input-box input');
      await input.waitFor({ state: 'visible' });
      await input.fill(text);
      await page.waitForTimeout(150);
      await page.keyboard.press('Enter');
    },
    notification: (text) => page.locator('.notifications-toasts .notification-list-item-message', { hasText: text }),
    statusBarItem: (text) => page.locator('.part.statusbar .statusbar-item', { hasText: text }),
    treeRow: (text) => page.locator('.pane-body .monaco-list-row', { hasText: text }),
    async shot(name) {
      await page.waitForTimeout(700);
      await page.screenshot({ path: join(shots, name) });
      log('screenshot', name);
    },
    async close() {
      await context.close().catch(() => undefined);
      const exited = new Promise<void>((r) => (cs.exitCode !== null ? r() : cs.once('exit', () => r())));
      stopCs();
      await Promise.race([exited, new Promise((r) => setTimeout(r, 8000).unref())]);
      process.off('exit', stopCs);
      rmSync(profile, { recursive: true, force: true });
      if (!opts.keep) rmSync(runDir, { recursive: true, force: true });
      else log('kept', runDir);
    },
  };
  return server;
}

/**
 * The .vsix packaged into a temporary folder and installed into a fresh code-server, set up for a local 3-node
 * cluster on `clientPortBase` with etcd's timing (a loaded CI machine sees no spurious elections) and typed text
 * landing as typed. `settings` adds to or overrides that; close() also removes the package.
 */
export async function startRaftLabCodeServer(clientPortBase: number, settings: Record<string, unknown> = {}): Promise<CodeServer> {
  const vsixDir = mkdtempSync(join(tmpdir(), 'raftlab-e2e-vsix-'));
  try {
    const server = await startCodeServer({
      vsix: buildVsix(join(vsixDir, 'raftlab-e2e.vsix')),
      settings: {
        'raftlab.clientPortBase': clientPortBase,
        'raftlab.controlPort': 0,
        'raftlab.timing': 'etcd',
        'raftlab.nodes': 3,
        'editor.autoClosingBrackets': 'never',
        'editor.autoClosingQuotes': 'never',
        ...settings,
      },
      keep: !!process.env.KEEP,
    });
    const close = server.close.bind(server);
    server.close = async () => {
      await close();
      rmSync(vsixDir, { recursive: true, force: true });
    };
    return server;
  } catch (err) {
    rmSync(vsixDir, { recursive: true, force: true });
    throw err;
  }
}

