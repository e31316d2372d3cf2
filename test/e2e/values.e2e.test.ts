// End to end in a real VS Code (code-server + Chromium, see code-server.ts): what keeps a value safe, done as a
// user does it. A value that is not UTF-8 is opened from the Keys view, edited and saved: the save is refused
// with a message and etcd keeps its bytes. Open Value on a missing key offers to create it. Escape at Connect to
// etcd's first prompt leaves the local cluster running. A tab of the local cluster, saved after connecting to a
// real etcd, writes nothing there. Screenshots land in test/e2e/artifacts/values-*.png.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Etcd3 } from 'etcd3';
import { freePortRange, hasBinary, startRealEtcd, type RealEtcd } from '../api/support.ts';
import { missingPrerequisites, startRaftLabCodeServer, type CodeServer } from './code-server.ts';

// Skipped only outside CI when Chromium, ripgrep or etcd is missing (missingPrerequisites and hasBinary say why);
// in CI each of those throws instead, so a green CI run has really run these tests.
const missing = missingPrerequisites();
const noEtcd = hasBinary('etcd') ? undefined : 'etcd is not installed (apt-get install etcd-server)';
let cs: CodeServer | undefined;
/** A client of the test's own for the local cluster (its endpoints come from the settings given to code-server). */
let local: Etcd3 | undefined;
let external: RealEtcd | undefined;
/** Clients the scenarios opened, closed at the end. */
const closers: (() => void)[] = [];

const BLOB = Buffer.from([0x62, 0x69, 0x6e, 0x3a, 0x20, 0xff, 0xfe, 0xc3, 0x28, 0x80, 0x0a]); // "bin: " then bytes that are not UTF-8

/** The value's bytes on the local cluster, or null when the key does not exist. */
async function readLocal(key: string): Promise<Buffer | null> {
  return local!.get(key).buffer();
}

before(async () => {
  if (missing) return;
  const base = await freePortRange(3);
  local = new Etcd3({ hosts: [0, 1, 2].map((i) => `http://127.0.0.1:${base + i}`), dialTimeout: 3000 });
  cs = await startRaftLabCodeServer(base, { 'raftlab.dataLocation': 'memory' });
  const { page } = cs;
  await page.locator('.part.activitybar a.action-label[aria-label^="Raft Lab"]').click({ timeout: 60_000 });
  await cs.runCommand('Raft Lab: Start Local Cluster');
  await cs.statusBarItem(/Raft Lab: n\d leader · term \d+ · 3\/3 up/).waitFor({ timeout: 60_000 });
});

after(async () => {
  for (const close of closers) close();
  local?.close();
  await cs?.close();
  await external?.stop();
});

/** Runs one scenario; on failure a screenshot named after it, and whatever was left open is closed. */
async function scenario(name: string, fn: (s: CodeServer) => Promise<void>): Promise<void> {
  const s = cs!;
  try {
    await fn(s);
  } catch (err) {
    await s.shot(`values-${name}-failure.png`).catch(() => undefined);
    throw err;
  } finally {
    // Leave no quick input, dialog or toast for the next scenario.
    for (let i = 0; i < 3; i++) await s.page.keyboard.press('Escape');
    await s.runCommand('Notifications: Clear All Notifications').catch(() => undefined);
  }
}

/** Opens a key from the Keys view with a click, expanding its folder first when it is collapsed. */
async function openFromKeysView(s: CodeServer, folder: RegExp, leaf: RegExp): Promise<void> {
  const folderRow = s.treeRow(folder).first();
  await folderRow.waitFor({ timeout: 20_000 });
  if ((await folderRow.getAttribute('aria-expanded')) !== 'true') await folderRow.click();
  await s.treeRow(leaf).first().click({ timeout: 20_000 });
}

/** The editor of the active tab. */
const activeEditor = (s: CodeServer) => s.page.locator('.editor-instance .monaco-editor').first();

test('a value that is not UTF-8: its save is refused with a message, and etcd keeps its bytes', { skip: missing, timeout: 120_000 }, () =>
  scenario('not-utf8', async (s) => {
    const { page } = s;
    await local!.put('/values/blob').value(BLOB);
    await openFromKeysView(s, /^\/values/, /^blob/);
    const editor = activeEditor(s);
    await editor.locator('.view-lines', { hasText: 'bin:' }).waitFor({ timeout: 20_000 });
    await page.locator('.tabs-container .tab.active', { hasText: 'blob' }).waitFor();

    await editor.click();
    await page.keyboard.press('Control+End');
    await page.keyboard.type('edited in the editor');
    await page.keyboard.press('Control+s');
    const refused = s.notification(/blob holds bytes that are not UTF-8 text.*nothing was written/).first();
    const saved = page.locator('.tabs-container .tab.active:not(.dirty)', { hasText: 'blob' });
    await refused.or(saved).first().waitFor({ timeout: 20_000 }); // the save is over, one way or the other
    await s.shot('values-01-not-utf8-refused.png');
    // etcd has exactly the bytes it had; the user is told why, and the edit is still unsaved.
    assert.deepEqual(await readLocal('/values/blob'), BLOB, "etcd's bytes changed");
    await refused.waitFor({ timeout: 5_000 });
    await page.locator('.tabs-container .tab.active.dirty', { hasText: 'blob' }).waitFor({ timeout: 5_000 });

    // Revert, so the editor closes without asking.
    await s.runCommand('File: Revert File');
    await page.locator('.tabs-container .tab.active:not(.dirty)', { hasText: 'blob' }).waitFor({ timeout: 10_000 });
    await s.runCommand('View: Close All Editors');
    assert.deepEqual(await readLocal('/values/blob'), BLOB);
  }),
);

test('Open Value on a key that does not exist offers to create it, and creating it writes it', { skip: missing, timeout: 120_000 }, () =>
  scenario('missing-key', async (s) => {
    const { page } = s;
    assert.equal(await readLocal('/values/missing'), null);
    await s.runCommand('Raft Lab: Open Value');
    await s.answer('/values/missing', 'Key to open');
    const offer = page.locator('.notifications-toasts .notification-list-item', { hasText: '/values/missing does not exist.' });
    await offer.first().waitFor({ timeout: 20_000 });
    await s.shot('values-02-missing-key-offer.png');
    // Nothing is written before the user accepts.
    assert.equal(await readLocal('/values/missing'), null);
    await offer.locator('.monaco-button', { hasText: 'Create It' }).first().click();
    await s.answer('created from the prompt', 'Value for /values/missing');
    // It opens in an editor, and etcd has it.
    await activeEditor(s).locator('.view-lines', { hasText: 'created from the prompt' }).waitFor({ timeout: 20_000 });
    await page.locator('.tabs-container .tab.active', { hasText: 'missing' }).waitFor();
    assert.equal((await readLocal('/values/missing'))?.toString('utf8'), 'created from the prompt');
    await s.shot('values-03-missing-key-created.png');
    await s.runCommand('View: Close All Editors');
  }),
);

test('Escape at Connect to etcd\'s endpoints prompt leaves the local cluster running', { skip: missing, timeout: 120_000 }, () =>
  scenario('connect-escape', async (s) => {
    const { page } = s;
    await s.runCommand('Raft Lab: Connect to etcd…');
    // Running locally, it first asks whether to stop the local cluster; the cluster stops only after the last answer.
    await page.locator('.monaco-dialog-box', { hasText: 'The local cluster stops once the connection works' }).waitFor({ timeout: 20_000 });
    await page.locator('.monaco-dialog-box .dialog-buttons .monaco-button', { hasText: 'Stop and Connect' }).click();
    const prompt = page.locator('.quick-input-widget', { hasText: 'Connect to etcd (1/3): endpoints' });
    await prompt.waitFor({ timeout: 20_000 });
    await s.shot('values-04-connect-endpoints-prompt.png');
    await page.keyboard.press('Escape');
    await prompt.waitFor({ state: 'hidden', timeout: 10_000 });
    // Give a stop that was wrongly started time to show.
    await page.waitForTimeout(1500);

    // The status bar and the Cluster view still show three peers up; a client of its own and Put Key still write.
    const up = s.statusBarItem(/Raft Lab: n\d leader · term \d+ · 3\/3 up/);
    await up.waitFor({ timeout: 5_000 });
    assert.equal(await s.statusBarItem('Raft Lab: stopped').count(), 0);
    for (const n of ['n1', 'n2', 'n3']) await s.treeRow(new RegExp(`^${n}.*\\bup\\b`)).first().waitFor({ timeout: 5_000 });
    await local!.put('/values/after-escape').value('from a client of its own');
    assert.equal((await readLocal('/values/after-escape'))?.toString('utf8'), 'from a client of its own');
    await s.runCommand('Raft Lab: Put Key');
    await s.answer('/values/after-escape-2', 'Key to write');
    await s.answer('from Put Key', 'Value for /values/after-escape-2');
    await s.notification(/put \/values\/after-escape-2 at revision \d+/).first().waitFor({ timeout: 20_000 });
    assert.equal((await readLocal('/values/after-escape-2'))?.toString('utf8'), 'from Put Key');
    await s.shot('values-05-still-running-after-escape.png');

    // A mistyped endpoint: connecting fails, and the local cluster, which would only stop once it worked, still runs.
    const nobody = await freePortRange(1);
    await s.runCommand('Raft Lab: Connect to etcd…');
    await page.locator('.monaco-dialog-box .dialog-buttons .monaco-button', { hasText: 'Stop and Connect' }).click({ timeout: 20_000 });
    await s.answer(`127.0.0.1:${nobody}`, 'Connect to etcd (1/3): endpoints');
    await s.answer('No TLS', 'Connect to etcd (2/3): TLS');
    await s.answer('No authentication', 'Connect to etcd (3/3): authentication');
    await s.notification(new RegExp(`Connect to etcd failed: cannot reach etcd at 127\\.0\\.0\\.1:${nobody} \\(connection refused\\)`)).first().waitFor({ timeout: 30_000 });
    await s.statusBarItem(/Raft Lab: n\d leader · term \d+ · 3\/3 up/).waitFor({ timeout: 5_000 });
    await local!.put('/values/after-failed-connect').value('still running');
    assert.equal((await readLocal('/values/after-failed-connect'))?.toString('utf8'), 'still running');
    await s.shot('values-05b-still-running-after-failed-connect.png');
  }),
);

test('a local value tab saved after connecting to a real etcd writes nothing there, and says why', { skip: missing ?? noEtcd, timeout: 180_000 }, () =>
  scenario('stale-tab', async (s) => {
    const { page } = s;
    external = await startRealEtcd(1);
    const ext = new Etcd3({ hosts: external.endpoints.map((e) => `http://${e}`), dialTimeout: 3000 });
    closers.push(() => ext.close());
    assert.equal(await ext.get('/values/stale').buffer(), null);

    // A value of the local cluster, opened from the Keys view and edited (not saved).
    await local!.put('/values/stale').value('local value');
    await openFromKeysView(s, /^\/values/, /^stale/);
    const editor = activeEditor(s);
    await editor.locator('.view-lines', { hasText: 'local value' }).waitFor({ timeout: 20_000 });
    await editor.click();
    await page.keyboard.press('Control+End');
    await page.keyboard.type(' edited before the switch');
    await page.locator('.tabs-container .tab.active.dirty', { hasText: 'stale' }).waitFor({ timeout: 5_000 });

    // Connect to the real etcd: Stop and Connect, its endpoint, no TLS, no authentication.
    await s.runCommand('Raft Lab: Connect to etcd…');
    await page.locator('.monaco-dialog-box .dialog-buttons .monaco-button', { hasText: 'Stop and Connect' }).click({ timeout: 20_000 });
    await s.answer(external.endpoints[0]!, 'Connect to etcd (1/3): endpoints');
    await s.answer('No TLS', 'Connect to etcd (2/3): TLS');
    await s.answer('No authentication', 'Connect to etcd (3/3): authentication');
    await s.notification(`connected to etcd at ${external.endpoints[0]}`).first().waitFor({ timeout: 30_000 });
    await s.statusBarItem(`Raft Lab: etcd ${external.endpoints[0]}`).waitFor({ timeout: 10_000 });

    // Save the old tab: refused, saying whose file it is; the real etcd has no such key.
    await page.locator('.tabs-container .tab', { hasText: 'stale' }).first().click();
    await editor.click();
    await page.keyboard.press('Control+s');
    const refused = s.notification(/belongs to the local cluster, which is not running/).first();
    const saved = page.locator('.tabs-container .tab.active:not(.dirty)', { hasText: 'stale' });
    await refused.or(saved).first().waitFor({ timeout: 20_000 }); // the save is over, one way or the other
    await s.shot('values-06-local-tab-refused-on-external.png');
    assert.equal(await ext.get('/values/stale').string(), null, 'the key reached the external etcd');
    assert.deepEqual(await ext.getAll().keys(), [], 'the external etcd has keys');
    await refused.waitFor({ timeout: 5_000 });
    await page.locator('.tabs-container .tab.active.dirty', { hasText: 'stale' }).waitFor({ timeout: 5_000 });
  }),
);
