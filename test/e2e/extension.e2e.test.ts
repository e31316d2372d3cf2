// End to end in a real VS Code (code-server 4.100.3 + Chromium): the packaged .vsix starts a cluster from the
// palette, gives new terminals ETCDCTL_* (etcdctl works there), puts a key by command, shows it in the Keys
// view, opens, edits and saves it (checked with etcdctl), diffs its history,
// refuses to overwrite a change made elsewhere, saves a JSON value (its language set from the content), offers
// to create again a key deleted while it was edited, and fails over when the leader is killed from the palette.
// Screenshots land in test/e2e/artifacts/. The first run installs code-server (about two minutes).
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { freePortRange } from '../api/support.ts';
import { missingPrerequisites, startRaftLabCodeServer, type CodeServer } from './code-server.ts';

const missing = missingPrerequisites();
let cs: CodeServer | undefined;
let endpoints = '';

/** A line of the Raft Lab output channel's log file under the run's user data folder. */
function findLogLine(dir: string, pattern: RegExp): string | undefined {
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.log') || !entry.name.includes('Raft Lab')) continue;
    const line = readFileSync(join(entry.parentPath ?? entry.path, entry.name), 'utf8').split('\n').find((l) => pattern.test(l));
    if (line) return line;
  }
  return undefined;
}

/** Deletes whatever the editor auto-closed after the cursor (JSON closes quotes and braces as you type). */
async function clearAfterCursor(page: CodeServer['page']): Promise<void> {
  await page.keyboard.press('Shift+Control+End');
  await page.keyboard.press('Delete');
}

/** Waits until etcdctl reads `expected` for the key (a save lands a moment after Ctrl+S). */
async function waitForValue(key: string, expected: string): Promise<void> {
  let value = '';
  for (let i = 0; i < 100; i++) {
    value = etcdctl('get', key, '--print-value-only').replace(/\n$/, '');
    if (value === expected) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  assert.equal(value, expected, `${key} never read ${JSON.stringify(expected)}`);
}

function etcdctl(...args: string[]): string {
  const r = spawnSync('etcdctl', [`--endpoints=${endpoints}`, '--dial-timeout=3s', '--command-timeout=10s', ...args], { encoding: 'utf8', env: { ...process.env, ETCDCTL_API: '3' } });
  if (r.status !== 0) throw new Error(`etcdctl ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

before(async () => {
  if (missing) return;
  const base = await freePortRange(4);
  endpoints = [0, 1, 2].map((i) => `127.0.0.1:${base + i}`).join(',');
  cs = await startRaftLabCodeServer(base, {
    // small pages, so a folder shows "Load more…"
    'raftlab.pageSize': 5,
    'editor.formatOnType': false,
  });
});

after(async () => {
  await cs?.close();
});

// Skipped only outside CI when Chromium or ripgrep is missing (see missingPrerequisites); in CI that fails.
test('the .vsix in code-server: cluster, keys, editing, conflicts and failover', { skip: missing, timeout: 300_000 }, async () => {
  try {
    await scenario(cs!);
  } catch (err) {
    await cs!.shot('failure.png').catch(() => undefined);
    throw err;
  }
});

async function scenario(s: CodeServer): Promise<void> {
  const { page } = s;

  // The activity bar entry and the Cluster view's welcome.
  await page.locator('.part.activitybar a.action-label[aria-label^="Raft Lab"]').click({ timeout: 60_000 });
  await page.locator('.welcome-view-content a, .welcome-view-content .monaco-button', { hasText: 'Start Local Cluster' }).first().waitFor({ timeout: 30_000 });
  await s.shot('01-welcome.png');

  // Start from the palette; the status bar shows the leader, the term and 3/3 up.
  await s.runCommand('Raft Lab: Start Local Cluster');
  const up = s.statusBarItem(/Raft Lab: n\d leader · term \d+ · 3\/3 up/);
  await up.waitFor({ timeout: 60_000 });
  s.log(await up.innerText());
  await s.treeRow(/^n1/).first().waitFor({ timeout: 20_000 });
  await s.shot('02-cluster-started.png');

  // A new terminal gets ETCDCTL_API and ETCDCTL_ENDPOINTS, so etcdctl just works there.
  await s.runCommand('Terminal: Create New Terminal');
  await page.locator('.terminal-wrapper.active .xterm').first().waitFor({ timeout: 30_000 });
  await page.waitForTimeout(1500); // the shell's prompt
  const envFile = join(s.workspace, 'etcdctl-env.txt');
  await page.keyboard.type(`echo "$ETCDCTL_API $ETCDCTL_ENDPOINTS" > ${envFile} && etcdctl put /e2e/from-terminal yes\n`);
  for (let i = 0; i < 100 && !existsSync(envFile); i++) await page.waitForTimeout(100);
  assert.equal(readFileSync(envFile, 'utf8').trim(), `3 ${endpoints}`);
  await s.treeRow('/e2e').first().waitFor({ timeout: 20_000 });
  await s.shot('02b-terminal-env.png');
  await s.runCommand('View: Hide Panel');

  // Put a key by command; the Keys view shows it without a refresh.
  await s.runCommand('Raft Lab: Put Key');
  await s.answer('/e2e/greeting', 'Key to write');
  await s.answer('hello', 'Value for /e2e/greeting');
  await s.notification(/put \/e2e\/greeting at revision \d+/).waitFor({ timeout: 20_000 });
  const folder = s.treeRow('/e2e').first();
  await folder.waitFor({ timeout: 20_000 });
  await folder.click();
  const leaf = s.treeRow('greeting').first();
  await leaf.waitFor({ timeout: 20_000 });
  await s.shot('03-key-in-tree.png');

  // Open it, edit, save: etcdctl sees the new value.
  const editor = page.locator('.editor-instance .monaco-editor').first();
  const opened = editor.locator('.view-lines', { hasText: 'hello' });
  // One click opens it, even while live refreshes re-render the row (the row's command is sent with it).
  await s.treeRow('greeting').first().click();
  await opened.waitFor({ timeout: 20_000 });
  await editor.click();
  await page.keyboard.press('Control+a');
  await page.keyboard.type('{"greeting": "hello from code-server"}');
  // whatever the editor auto-closed after the cursor goes
  await page.keyboard.press('Shift+End');
  await page.keyboard.press('Delete');
  await page.keyboard.press('Control+s');
  await page.locator('.tabs-container .tab.active:not(.dirty)').waitFor({ timeout: 20_000 });
  let value = '';
  for (let i = 0; i < 50 && !value.includes('hello from code-server'); i++) {
    value = etcdctl('get', '/e2e/greeting', '--print-value-only').trim();
    if (!value.includes('hello from code-server')) await page.waitForTimeout(100);
  }
  assert.equal(value, '{"greeting": "hello from code-server"}');
  await s.shot('04-edited-and-saved.png');

  // A change made elsewhere while the editor has unsaved edits: the save is refused, with Overwrite / Compare.
  await editor.click();
  await page.keyboard.press('Control+End');
  await page.keyboard.type(' ');
  etcdctl('put', '/e2e/greeting', 'changed by etcdctl');
  await page.waitForTimeout(500);
  await page.keyboard.press('Control+s');
  const conflict = s.notification(/changed on the cluster since you opened it/);
  await conflict.first().waitFor({ timeout: 20_000 });
  await s.shot('05-save-conflict.png');
  assert.equal(etcdctl('get', '/e2e/greeting', '--print-value-only').trim(), 'changed by etcdctl');
  // Overwrite wins.
  await page.locator('.notifications-toasts .notification-list-item', { hasText: 'changed on the cluster' }).locator('a.monaco-button, .monaco-button', { hasText: 'Overwrite' }).first().click();
  for (let i = 0; i < 50 && etcdctl('get', '/e2e/greeting', '--print-value-only').includes('etcdctl'); i++) await page.waitForTimeout(100);
  assert.match(etcdctl('get', '/e2e/greeting', '--print-value-only'), /hello from code-server/);

  // Show History (for the active editor's key): pick the newest older version, a diff opens.
  await editor.click();
  await s.runCommand('Raft Lab: Show History');
  await page.locator('.quick-input-widget .monaco-list-row', { hasText: 'version' }).first().waitFor({ timeout: 20_000 });
  await s.shot('06-history-pick.png');
  await page.keyboard.press('Enter');
  await page.locator('.monaco-diff-editor').first().waitFor({ timeout: 20_000 });
  await page.locator('.tabs-container .tab', { hasText: /greeting: rev \d+ ↔ now/ }).waitFor({ timeout: 20_000 });
  await s.shot('07-history-diff.png');

  // A folder larger than a page: "Load more…" loads the next page with one click, while a writer keeps the
  // folder re-rendering (the row's command must survive that).
  for (let i = 0; i < 12; i++) etcdctl('put', `/e2e/page/k${String(i).padStart(2, '0')}`, String(i));
  let writing = true;
  const writer = (async () => {
    for (let n = 0; writing; n++) {
      await new Promise<void>((r) => execFile('etcdctl', [`--endpoints=${endpoints}`, 'put', '/e2e/page/zz-live', String(n)], { env: { ...process.env, ETCDCTL_API: '3' } }, () => r()));
      await page.waitForTimeout(100);
    }
  })();
  try {
    await s.treeRow(/^page/).first().click();
    const more = s.treeRow('Load more…').first();
    await more.waitFor({ timeout: 20_000 });
    assert.match(await more.innerText(), /5 shown/);
    await s.treeRow('k04').first().waitFor();
    await more.click();
    await s.treeRow('k09').first().waitFor({ timeout: 10_000 });
    assert.match(await s.treeRow('Load more…').first().innerText(), /10 shown/);
    await s.shot('07b-load-more.png');
  } finally {
    writing = false;
    await writer;
  }
  await editor.click(); // focus back where the steps below expect it

  // A value whose language comes from its content (JSON here) saves like any other: setting the language closes
  // and reopens the document, which must not cost the file the revision its save compares against.
  etcdctl('put', '/cfg/settings', '{"debug": false}');
  await s.treeRow(/^\/cfg/).first().click();
  await s.treeRow('settings').first().click();
  await editor.locator('.view-lines', { hasText: '"debug"' }).waitFor({ timeout: 20_000 });
  await page.locator('.part.statusbar #status\\.editor\\.mode', { hasText: 'JSON' }).waitFor({ timeout: 20_000 });
  await editor.click();
  await page.keyboard.press('Control+a');
  await page.keyboard.type('{"debug": true}');
  await clearAfterCursor(page);
  await page.keyboard.press('Control+s');
  await waitForValue('/cfg/settings', '{"debug": true}');
  await page.locator('.tabs-container .tab.active:not(.dirty)').waitFor({ timeout: 20_000 });

  // Deleted on the cluster while edited: the save is refused as designed, and Overwrite creates the key again.
  await editor.click();
  await page.keyboard.press('Control+a');
  await page.keyboard.type('{"debug": "recreated"}');
  await clearAfterCursor(page);
  etcdctl('del', '/cfg/settings');
  await s.treeRow('settings').first().waitFor({ state: 'detached', timeout: 20_000 });
  await page.keyboard.press('Control+s');
  await page.locator('.notifications-toasts .notification-list-item', { hasText: 'was deleted on the cluster since you opened it' }).locator('.monaco-button', { hasText: 'Overwrite' }).first().click({ timeout: 20_000 });
  await waitForValue('/cfg/settings', '{"debug": "recreated"}');
  await s.shot('07c-deleted-then-overwritten.png');

  // Kill the leader from the palette; the status bar names a new leader with 2/3 up.
  await s.runCommand('Raft Lab: Kill Leader (Failover)');
  const killedNote = s.notification(/killed the leader n\d/).first();
  await killedNote.waitFor({ timeout: 20_000 });
  const killed = /killed the leader (n\d)/.exec(await killedNote.innerText())![1]!;
  s.log('killed', killed);
  const failedOver = s.statusBarItem(new RegExp(`Raft Lab: (?!${killed} )n\\d leader · term \\d+ · 2/3 up`));
  await failedOver.waitFor({ timeout: 30_000 });
  s.log('after failover:', await failedOver.innerText());
  await s.treeRow(new RegExp(`^${killed}.*down`)).first().waitFor();
  await s.shot('08-failover.png');
  // The cluster still serves etcdctl.
  etcdctl('put', '/e2e/after-failover', 'ok');
  assert.equal(etcdctl('get', '/e2e/after-failover', '--print-value-only').trim(), 'ok');

  // With a voter down, Add Node is refused as etcd refuses it, saying which node and why.
  await s.runCommand('Raft Lab: Add Node');
  await s.answer('Learner', 'Add Node');
  await s.notification(new RegExp(`${killed} is down: etcd changes membership only when every voter is connected`)).first().waitFor({ timeout: 30_000 });
  await s.shot('08b-add-refused.png');
  // Bring it back; all three up again.
  await s.runCommand('Raft Lab: Restart Node');
  await s.answer(killed, 'Restart Node');
  await s.statusBarItem(/Raft Lab: n\d leader · term \d+ · 3\/3 up/).waitFor({ timeout: 30_000 });

  // Add a learner, then promote it from the palette (the quick pick offers only learners).
  await s.runCommand('Raft Lab: Add Node');
  await s.answer('Learner', 'Add Node');
  await s.notification(/n4 joined the cluster as a learner/).first().waitFor({ timeout: 30_000 });
  await s.treeRow(/^n4.*learner/).first().waitFor({ timeout: 20_000 });
  await s.runCommand('Raft Lab: Promote Learner');
  await s.answer('n4', 'Promote Learner');
  await s.notification(/n4 is now a voter/).first().waitFor({ timeout: 30_000 });
  const promoted = s.statusBarItem(/Raft Lab: n\d leader · term \d+ · 4\/4 up/);
  await promoted.waitFor({ timeout: 20_000 });
  await s.shot('09-learner-promoted.png');

  // "The disk is full" as a fault: etcdctl's writes fail with etcd's error and the status bar warns, until disarmed.
  await s.runCommand('Raft Lab: Fill the Disk (NOSPACE Alarm)');
  await s.notification(/NOSPACE alarm raised \(n\d\): writes fail with "database space exceeded"/).first().waitFor({ timeout: 20_000 });
  await s.statusBarItem(/Raft Lab: n\d leader · term \d+ · 4\/4 up · NOSPACE alarm/).waitFor({ timeout: 20_000 });
  assert.throws(() => etcdctl('put', '/e2e/full', 'x'), /database space exceeded/);
  await s.shot('09b-nospace-alarm.png');
  await s.runCommand('Raft Lab: Disarm Alarms');
  await s.notification(/disarmed NOSPACE \(n\d\): writes are taken again/).first().waitFor({ timeout: 20_000 });
  await s.statusBarItem(/Raft Lab: n\d leader · term \d+ · 4\/4 up(?! · NOSPACE)/).waitFor({ timeout: 20_000 });
  etcdctl('put', '/e2e/full', 'x');

  // The status bar opens the dashboard.
  await promoted.click();
  await page.locator('.tabs-container .tab', { hasText: 'Raft Lab Dashboard' }).waitFor({ timeout: 20_000 });
  await page.locator('iframe.webview.ready').first().waitFor({ timeout: 30_000 });
  await s.shot('10-dashboard-from-status-bar.png');

  // Activation stayed light: the extension logs how long it took.
  const logLine = findLogLine(s.runDir, /activated in ([\d.]+) ms/);
  s.log(logLine ?? 'no activation line found');
  assert.ok(logLine, 'the Raft Lab output channel logs its activation time');
  assert.ok(Number(/activated in ([\d.]+) ms/.exec(logLine)![1]) < 100, logLine);

  await s.runCommand('Raft Lab: Stop Cluster');
  await s.statusBarItem('Raft Lab: stopped').waitFor({ timeout: 30_000 });
  await s.shot('11-stopped.png');
}
