// The dashboard in Chromium against a real `raftlab up`: three peers and one leader; killing the leader shows a
// new leader and the old one down; an isolated follower shows as cut off and, with PreVote, neither its term
// nor the leader's moves; healing converges the logs. Screenshots land in test/e2e/artifacts/.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { badgeColors, cards, contrast, controlClient, fieldBorder, openBrowser, parseColor, raftlabUp, screenshot, sleep, styleOf, waitForCards, type Browser, type RunningCluster } from './support.ts';

describe('dashboard in a browser, served by raftlab up', () => {
  let cluster: RunningCluster;
  let browser: Browser;

  before(async () => {
    cluster = await raftlabUp(3);
    browser = await openBrowser();
    await browser.page.goto(cluster.url);
  });

  after(async () => {
    await browser?.close();
    await cluster?.stop();
  });

  const page = () => browser.page;

  async function clickPeer(name: string, action: string): Promise<void> {
    await page().locator(`.peers [data-peer="${name}"]`).click();
    await page().locator(`[data-testid="inspector"][data-peer="${name}"] [data-action="${action}"]:not([disabled])`).click();
  }

  it('shows three peers and exactly one leader, with the quorum math', async () => {
    const shown = await waitForCards(page(), (c) => c.length === 3 && c.filter((p) => p.role === 'leader').length === 1 && c.every((p) => p.state === 'up'), 'three peers, one leader');
    assert.deepEqual(shown.map((p) => p.name), ['n1', 'n2', 'n3']);
    assert.equal(await page().locator('[data-testid="quorum-members"]').textContent(), '3');
    assert.equal(await page().locator('[data-testid="quorum-quorum"]').textContent(), '2');
    assert.equal(await page().locator('[data-testid="quorum-tolerated"]').textContent(), '1');
    assert.equal(await page().locator('[data-testid="connection"]').textContent(), 'connected');
    // Some traffic so the charts, the links and the log strips have something to show.
    await page().locator('[data-action="put-test"]').click();
    await page().locator('[data-testid="writes"] li').first().waitFor();
    await sleep(1200);
    // A fresh log, far shorter than the 5,000 entries a peer keeps in memory: all of it is there.
    assert.deepEqual((await cards(page())).map((p) => p.memory), ['1', '1', '1']);
    await screenshot(page(), '01-three-peers');
  });

  let oldLeader = '';
  it('Enter in the key or value field puts, and the list of writes shows whole lines', async () => {
    const key = page().locator('vscode-textfield[aria-label="key"] input');
    await key.fill('enter/in-key');
    await key.press('Enter');
    await page().locator('[data-testid="writes"] li', { hasText: 'put enter/in-key = ' }).waitFor({ timeout: 10_000 });
    const value = page().locator('vscode-textfield[aria-label="value"] input');
    await value.fill('from the value field');
    await value.press('Enter');
    await page().locator('[data-testid="writes"] li', { hasText: 'put enter/in-key = from the value field' }).waitFor({ timeout: 10_000 });
    for (let i = 0; i < 4; i++) await page().locator('[data-action="put-test"]').click();
    await page().locator('[data-testid="writes"] li:nth-child(6)').waitFor();
    const list = page().locator('[data-testid="writes"]');
    const [shown, full] = await list.evaluate((el) => [(el as unknown as { clientHeight: number }).clientHeight, (el as unknown as { scrollHeight: number }).scrollHeight]);
    const line = (await page().locator('[data-testid="writes"] li').first().boundingBox())!.height;
    assert.ok(full > shown, 'more writes than fit: the list scrolls');
    assert.equal(shown % line, 0, `the list (${shown}px) shows whole lines of ${line}px`);
  });

  it('kill on the leader: a new leader, the old one down', async () => {
    oldLeader = (await cards(page())).find((p) => p.role === 'leader')!.name;
    await clickPeer(oldLeader, 'kill');
    const after = await waitForCards(
      page(),
      (c) => c.find((p) => p.name === oldLeader)?.state === 'down' && c.some((p) => p.name !== oldLeader && p.role === 'leader' && p.state === 'up'),
      'a new leader and the old one down',
    );
    const newLeader = after.find((p) => p.role === 'leader' && p.state === 'up')!;
    assert.notEqual(newLeader.name, oldLeader);
    assert.match((await page().locator('[data-testid="events"]').textContent()) ?? '', new RegExp(`${oldLeader} was killed`));
    assert.equal(await page().locator('[data-testid="quorum-failed"]').textContent(), '1');
    // The card goes by its state before its last role: a dead leader sends no heartbeats.
    assert.match((await page().locator(`.peers [data-peer="${oldLeader}"] [data-field="timer"]`).textContent()) ?? '', /^down\b/);
    await sleep(500);
    await screenshot(page(), '02-leader-killed');
    await clickPeer(oldLeader, 'restart');
    await waitForCards(page(), (c) => c.every((p) => p.state === 'up') && c.filter((p) => p.role === 'leader').length === 1, 'the old leader back up as a follower');
  });

  let isolated = '';
  it('isolating a follower shows it cut off, and with PreVote it disrupts neither the leader nor its own term', async () => {
    const before = await cards(page());
    const leader = before.find((p) => p.role === 'leader')!;
    isolated = before.find((p) => p.role !== 'leader')!.name;
    await clickPeer(isolated, 'isolate');
    await waitForCards(page(), (c) => c.find((p) => p.name === isolated)?.cut === true, `${isolated} cut off`);
    assert.equal(await page().locator(`.peers [data-peer="${isolated}"] [data-field="state"]`).textContent(), 'cut off');
    const termAtCut = (await cards(page())).find((p) => p.name === isolated)!.term;
    // Writes go on while it is away, so its log falls behind.
    for (let i = 0; i < 5; i++) await page().locator('[data-action="put-test"]').click();
    // Thirty election timeouts at fast timing: without PreVote the isolated peer's term would climb each time.
    await sleep(3000);
    const now = await cards(page());
    const leaderNow = now.find((p) => p.role === 'leader')!;
    assert.equal(leaderNow.name, leader.name, 'the leader stays the leader');
    assert.equal(leaderNow.term, leader.term, 'and in the same term');
    const lonely = now.find((p) => p.name === isolated)!;
    assert.equal(lonely.term, termAtCut, 'pre-votes that nobody answers do not raise the isolated peer term');
    assert.notEqual(lonely.role, 'leader');
    assert.ok(lonely.last < leaderNow.last, `the isolated log (${lonely.last}) falls behind the leader's (${leaderNow.last})`);
    await screenshot(page(), '03-follower-isolated');
  });

  it('heal converges the logs', async () => {
    await page().locator('[data-action="heal"]').click();
    const healed = await waitForCards(
      page(),
      (c) => c.every((p) => !p.cut && p.state === 'up') && new Set(c.map((p) => `${p.last}/${p.commit}/${p.applied}`)).size === 1,
      'every peer at the same last, commit and applied index',
    );
    assert.equal(healed.filter((p) => p.role === 'leader').length, 1);
    await sleep(600);
    await screenshot(page(), '04-healed');
  });

  it('with a quorum up but no leader, the quorum panel says writes wait for one', async () => {
    const client = await controlClient(cluster.controlUrl);
    try {
      // One-way cuts in a ring: every peer keeps some open links (none is cut off, all count as healthy), but no
      // candidate hears an answer to its votes, so no leader can be elected until heal.
      // Nothing to heal yet: the button says so by being disabled, until a fault appears.
      await page().locator('.toolbar [data-action="heal"][disabled]').waitFor({ timeout: 5000 });
      for (const [from, to] of [['n1', 'n2'], ['n2', 'n3'], ['n3', 'n1']]) await client.call('cut', { from, to, oneWay: true });
      await page().locator('.toolbar [data-action="heal"]:not([disabled])').waitFor({ timeout: 5000 });
      const verdict = page().locator('[data-testid="quorum-verdict"]');
      await waitForCards(page(), (c) => c.every((p) => p.role !== 'leader' && p.state === 'up' && !p.cut), 'no leader, no peer cut off');
      await page().locator('[data-testid="summary"]', { hasText: 'leader none' }).waitFor({ timeout: 10_000 });
      assert.equal(await verdict.textContent(), '3 of 3 healthy, but no leader: writes wait for one to be elected');
      await screenshot(page(), '03b-no-leader');
    } finally {
      await client.call('heal');
      client.close();
    }
    await waitForCards(page(), (c) => c.filter((p) => p.role === 'leader').length === 1, 'a leader again after heal');
  });

  it('an isolated leader shows its uncommitted entries as divergent until heal truncates them', async () => {
    const client = await controlClient(cluster.controlUrl);
    try {
      const old = (await cards(page())).find((p) => p.role === 'leader')!.name;
      const port = ((await client.call('status')).peers as { name: string; clientPort: number }[]).find((p) => p.name === old)!.clientPort;
      await client.call('isolate', { peer: old });
      // An app talking to the old leader sends it a write at once (through etcd's JSON gateway): the old leader
      // takes it before the others elect a new one, and it cannot commit. (The manager's own put would go to
      // the next leader instead.)
      const b64 = (text: string) => Buffer.from(text).toString('base64');
      const doomed = fetch(`http://127.0.0.1:${port}/v3/kv/put`, { method: 'POST', body: JSON.stringify({ key: b64('doomed'), value: b64('never committed') }) }).then(
        (r) => r.status,
        (e: Error) => e.message,
      );
      await waitForCards(page(), (c) => c.some((p) => p.name !== old && p.role === 'leader'), 'a new leader on the majority side');
      for (let i = 0; i < 3; i++) await client.call('put', { key: `after/${i}`, value: 'committed' });
      const strips = page().locator('[data-testid="log-strips"]');
      // (Polled from here: the page's CSP forbids the eval that waitForFunction would need.)
      const divergentNow = async () => (await strips.getAttribute('data-divergent')) ?? '';
      for (let i = 0; i < 100 && !(await divergentNow()).startsWith(`${old}:`); i++) await sleep(100);
      const divergent = await divergentNow();
      await screenshot(page(), '05-divergent-old-leader');
      assert.notEqual(await doomed, 200, 'the write to the isolated leader fails');
      await client.call('heal');
      for (let i = 0; i < 150 && (await divergentNow()) !== ''; i++) await sleep(100);
      assert.equal(await divergentNow(), '', 'nothing diverges once the old leader caught up');
      await waitForCards(page(), (c) => new Set(c.map((p) => `${p.last}/${p.commit}`)).size === 1, 'the logs to converge after heal');
      assert.match(divergent, new RegExp(`^${old}:\\d+-\\d+$`));
    } finally {
      client.close();
    }
  });

  it('a link can be cut from the topology and shows as cut', async () => {
    const client = await controlClient(cluster.controlUrl);
    try {
      await page().evaluate('window.scrollTo(0, 0)');
      const point = (await page().evaluate(`(() => {
        const app = globalThis.raftlabDashboard;
        const p = app.topology.linkMidpoint('n1', 'n2');
        const r = app.topology.canvas.getBoundingClientRect();
        return { x: r.left + p.x, y: r.top + p.y };
      })()`)) as { x: number; y: number };
      await page().mouse.click(point.x, point.y);
      await page().locator('[data-testid="inspector"] [data-action="cut-ab"]').click();
      await page().locator('[data-link="n1>n2"].bad').waitFor({ timeout: 5000 });
      const status = await client.call('status');
      const link = status.links.find((l: any) => l.from === 1 && l.to === 2);
      assert.equal(link.cut, true);
      assert.equal(status.links.find((l: any) => l.from === 2 && l.to === 1)?.cut ?? false, false, 'one way only');
      // An empty delay is refused beside the field, not sent as 0 ms.
      const actionsBefore = await page().locator('[data-testid="last-result"]').textContent();
      await page().locator('vscode-textfield[aria-label="delay in milliseconds"] input').fill('');
      await page().locator('[data-testid="inspector"] [data-action="delay"]').click();
      assert.match((await page().locator('[data-testid="link-error"]').textContent()) ?? '', /enter a number from 0 to 60000/);
      assert.equal(await page().locator('[data-testid="last-result"]').textContent(), actionsBefore, 'no action was sent');
      await sleep(500);
      await screenshot(page(), '06-link-cut');
      await client.call('heal');
    } finally {
      client.close();
    }
  });

  it('a learner added through the control API is promoted from its inspector', async () => {
    const client = await controlClient(cluster.controlUrl);
    try {
      const added = await client.call('add', { learner: true });
      const name = added.name as string;
      await waitForCards(page(), (c) => c.find((p) => p.name === name)?.role === 'learner', `${name} shown as a learner`);
      // Its replication bar is as long as the voters' (its badge names the state only; "learner" is in its text).
      await page().locator(`.rep-row[data-peer="${name}"] .rep-text`, { hasText: /^learner · / }).waitFor({ timeout: 5000 });
      const widths = await Promise.all((await page().locator('.rep-bar').all()).map(async (bar) => Math.round((await bar.boundingBox())!.width)));
      assert.equal(new Set(widths).size, 1, `every replication bar has the same length: ${widths.join(', ')}`);
      // Only a learner can be promoted: the button is disabled on a voter.
      await page().locator('.peers [data-peer="n1"]').click();
      await page().locator('[data-testid="inspector"][data-peer="n1"] [data-action="promote"][disabled]').waitFor({ timeout: 5000 });
      await clickPeer(name, 'promote');
      await waitForCards(page(), (c) => c.find((p) => p.name === name)?.role === 'follower', `${name} promoted to a voting follower`);
      assert.equal((await client.call('status')).quorum.members, 4);
      await screenshot(page(), '07-learner-promoted');
      await client.call('remove', { peer: name });
    } finally {
      client.close();
    }
  });

  it('the leader, the selected card and keyboard focus each look different, in forced colours too', async () => {
    const shown = await waitForCards(page(), (c) => c.length === 3 && c.filter((p) => p.role === 'leader').length === 1, 'three peers, one leader');
    const leader = shown.find((p) => p.role === 'leader')!.name;
    const [selected, focused] = shown.filter((p) => p.role !== 'leader').map((p) => p.name) as [string, string];
    const card = (name: string) => `.peers [data-peer="${name}"]`;
    const props = ['outline-style', 'outline-width', 'border-top-width', 'border-top-color', 'border-left-width', 'background-color'];
    const rgb = (css: string) => parseColor(css).slice(0, 3).map(Math.round).join();
    // Select one follower with the mouse, then Tab to the other: focus and selection on two different cards.
    await page().locator(card(selected)).click();
    await page().locator(`${card(selected)}.selected`).waitFor();
    await page().locator(card(focused)).focus();
    await page().keyboard.press('Shift+Tab');
    await page().keyboard.press('Tab');
    const look = async () => ({ sel: await styleOf(page(), card(selected), props), foc: await styleOf(page(), card(focused), props), lead: await styleOf(page(), card(leader), props) });
    const normal = await look();
    assert.notEqual(rgb(normal.sel['background-color']!), rgb(normal.foc['background-color']!), 'the selected card is filled');
    assert.equal(normal.sel['outline-style'], 'none', 'selection is not drawn as focus');
    assert.notEqual(normal.foc['outline-style'], 'none', 'focus has its own outline');
    assert.equal(normal.foc['border-top-color'], normal.lead['border-top-color'], 'focus does not recolour the border as the leader and selection once did');
    assert.ok(parseFloat(normal.lead['border-left-width']!) >= 3 && parseFloat(normal.foc['border-left-width']!) <= 1, 'the leader has its stripe');

    await page().emulateMedia({ forcedColors: 'active' });
    try {
      const forced = await look();
      assert.notEqual(forced.foc['outline-style'], 'none', 'focus keeps an outline in forced colours');
      assert.ok(parseFloat(forced.foc['outline-width']!) >= 2);
      assert.ok(parseFloat(forced.sel['border-top-width']!) >= 3, 'the selected card has a thick border in forced colours');
      const cardBg = rgb(forced.foc['background-color']!);
      const fill = await styleOf(page(), `${card(focused)} .timer-fill`, ['background-color', 'height']);
      assert.notEqual(rgb(fill['background-color']!), cardBg, 'the election timer fill stays visible');
      const bar = await styleOf(page(), '.rep-match', ['background-color']);
      assert.notEqual(rgb(bar['background-color']!), cardBg, 'the replication bars stay visible');
      const swatch = (await styleOf(page(), '.topology .swatch', ['background-color']))['background-color']!;
      assert.notEqual(rgb(swatch), cardBg, 'the message legend keeps its colours');
      const terms = (await styleOf(page(), '[data-testid="committed-swatch"]', ['background-image']))['background-image']!;
      assert.match(terms, /gradient/, 'the log legend keeps its term colours');
      await screenshot(page(), '08-forced-colors');
    } finally {
      await page().emulateMedia({ forcedColors: 'none' });
    }
  });

  it('badges, the quorum verdict and text fields are readable in the dark and the light theme', async () => {
    const client = await controlClient(cluster.controlUrl);
    const learner = (await client.call('add', { learner: true })).name as string;
    const down = (await cards(page())).find((p) => p.role === 'follower')!.name;
    try {
      await client.call('kill', { peer: down });
      await waitForCards(page(), (c) => c.find((p) => p.name === down)?.state === 'down' && c.find((p) => p.name === learner)?.role === 'learner', `${down} down and ${learner} a learner`);
      for (const colorScheme of ['dark', 'light'] as const) {
        await page().emulateMedia({ colorScheme });
        const badges = await badgeColors(page());
        for (const kind of ['leader', 'down', 'learner', 'up']) assert.ok(badges.some((b) => b.text === kind), `a ${kind} badge is shown`);
        for (const b of badges) {
          assert.equal(parseColor(b.background)[3], 1, `the ${b.text} badge is opaque`);
          const ratio = contrast(b.color, b.background);
          assert.ok(ratio >= 4.5, `${colorScheme}: the ${b.text} badge's text has ${ratio.toFixed(2)}:1 (${b.color} on ${b.background})`);
        }
        const panel = (await styleOf(page(), '.quorum', ['background-color']))['background-color']!;
        const verdict = (await styleOf(page(), '[data-testid="quorum-verdict"]', ['color'])).color!;
        assert.ok(contrast(verdict, panel) >= 4.5, `${colorScheme}: the quorum verdict has ${contrast(verdict, panel).toFixed(2)}:1`);
        const pageBg = (await styleOf(page(), 'body', ['background-color']))['background-color']!;
        const border = await fieldBorder(page(), 'vscode-textfield[aria-label="key"]');
        assert.ok(contrast(border, pageBg) >= 3, `${colorScheme}: the key field's border has ${contrast(border, pageBg).toFixed(2)}:1 against the page`);
        await screenshot(page(), `09-contrast-${colorScheme}`);
      }
    } finally {
      await page().emulateMedia({ colorScheme: 'dark' });
      await client.call('restart', { peer: down });
      await client.call('remove', { peer: learner });
      client.close();
    }
    await waitForCards(page(), (c) => c.length === 3 && c.every((p) => p.state === 'up'), 'three peers up again');
  });

  it('"Fill the disk" raises etcd\'s NOSPACE alarm: on every card, readable in both themes, writes refused, until disarmed', async () => {
    const badges = () => page().locator('.peers [data-peer] [data-field="alarm"]').allTextContents();
    const badgesRead = async (text: string) => {
      const deadline = Date.now() + 10_000;
      while ((await badges()).some((t) => t !== text)) {
        if (Date.now() > deadline) throw new Error(`the alarm badges read ${JSON.stringify(await badges())}, not ${JSON.stringify(text)}`);
        await sleep(100);
      }
    };
    // Enabled only while there is a leader (the test before this one restarted and removed peers).
    const alarmButton = page().locator('[data-action="alarm"]:not([disabled])');
    await alarmButton.waitFor({ timeout: 15_000 });
    assert.equal(((await alarmButton.textContent()) ?? '').trim(), 'Fill the disk');
    assert.match((await alarmButton.getAttribute('title')) ?? '', /raise etcd's NOSPACE alarm/);
    await alarmButton.click();
    try {
      await badgesRead('NOSPACE');
      assert.deepEqual(await badges(), ['NOSPACE', 'NOSPACE', 'NOSPACE']);
      assert.equal(await page().locator('.peers [data-peer="n1"] [data-field="alarm"]').isVisible(), true);
      await page().locator('[data-action="alarm"][title^="clear every etcd alarm"]', { hasText: 'Disarm alarms' }).waitFor({ timeout: 5000 });
      // A put from the dashboard now fails with etcd's error, shown in the list of writes.
      await page().locator('[data-action="put-test"]').click();
      await page().locator('[data-testid="writes"] li.bad', { hasText: 'etcdserver: mvcc: database space exceeded' }).waitFor({ timeout: 10_000 });
      for (const colorScheme of ['dark', 'light'] as const) {
        await page().emulateMedia({ colorScheme });
        const b = (await badgeColors(page())).find((x) => x.text === 'NOSPACE')!;
        assert.ok(contrast(b.color, b.background) >= 4.5, `${colorScheme}: the alarm badge has ${contrast(b.color, b.background).toFixed(2)}:1`);
      }
      await screenshot(page(), '11-nospace-alarm');
    } finally {
      await page().emulateMedia({ colorScheme: 'dark' });
      await page().locator('[data-action="alarm"]', { hasText: 'Disarm alarms' }).click();
    }
    await badgesRead('');
    assert.equal(await page().locator('.peers [data-peer="n1"] [data-field="alarm"]').isVisible(), false);
    await page().locator('[data-action="alarm"]', { hasText: 'Fill the disk' }).waitFor({ timeout: 5000 });
    await page().locator('[data-action="put-test"]').click();
    const key = await page().locator('vscode-textfield[aria-label="key"] input').inputValue();
    await page().locator('[data-testid="writes"] li:not(.bad)', { hasText: `put ${key} = ` }).waitFor({ timeout: 10_000 });
  });

  it('a double-click on "Add peer" adds one peer: the button waits for the add to finish', async () => {
    const addButton = page().locator('.toolbar [data-action="add-peer"]:not([disabled])');
    await addButton.waitFor({ timeout: 15_000 });
    await addButton.dblclick();
    await page().locator('.toolbar [data-action="add-peer"][disabled]').waitFor({ timeout: 5000 });
    const four = await waitForCards(page(), (c) => c.length === 4 && c.every((p) => p.state === 'up' && p.role !== 'learner'), 'a fourth peer, promoted');
    await addButton.waitFor({ timeout: 15_000 }); // the add has finished
    await sleep(1500); // room for a second add, had the second click started one
    const client = await controlClient(cluster.controlUrl);
    try {
      const peers = (await client.call('status')).peers as { name: string }[];
      assert.equal(peers.length, 4, `one peer was added: ${peers.map((p) => p.name).join(', ')}`);
      await client.call('remove', { peer: four.find((p) => !['n1', 'n2', 'n3'].includes(p.name))!.name });
    } finally {
      client.close();
    }
    await waitForCards(page(), (c) => c.length === 3 && c.every((p) => p.state === 'up'), 'three peers again');
  });

  it('the log legend shows committed entries in term colours, as the strips draw them', async () => {
    const image = (await styleOf(page(), '[data-testid="committed-swatch"]', ['background-image']))['background-image']!;
    const colours = new Set(image.match(/rgba?\([^)]*\)|color\([^)]*\)/g) ?? []);
    assert.ok(colours.size >= 3, `the committed swatch shows several terms' colours, not one: ${image}`);
  });

  it('in a narrow window, choosing a peer card brings the inspector into view', async () => {
    await page().setViewportSize({ width: 420, height: 800 });
    try {
      const last = page().locator('.peers [data-peer]').last();
      const name = (await last.getAttribute('data-peer'))!;
      await last.scrollIntoViewIfNeeded();
      const inspector = page().locator('[data-testid="inspector"]');
      assert.ok((await inspector.boundingBox())!.y < 0, 'the inspector starts out of view, above');
      await last.click();
      await page().locator(`[data-testid="inspector"][data-peer="${name}"]`).waitFor();
      // Scrolled smoothly: wait until the inspector's top is inside the viewport.
      for (let i = 0; i < 50 && (await inspector.boundingBox())!.y < 0; i++) await sleep(100);
      const box = (await inspector.boundingBox())!;
      assert.ok(box.y >= 0 && box.y < 800, `the inspector's top is in view (at ${box.y}px)`);
      await screenshot(page(), '10-narrow-inspector');
    } finally {
      await page().setViewportSize({ width: 1400, height: 1150 });
    }
  });

  it('loaded under its Content-Security-Policy without errors', () => {
    assert.deepEqual(browser.errors, []);
  });
});

/** Runs in the page (a function, not a string: the page's CSP forbids eval). */
function bodyHasClass(name: string): boolean {
  return (globalThis as unknown as { document: { body: { classList: DOMTokenListLike } } }).document.body.classList.contains(name);
}
interface DOMTokenListLike {
  contains(name: string): boolean;
}

describe('dashboard when its cluster goes away', () => {
  it('says so, goes inert, refuses actions, and replays nothing on a new cluster at the same address', { timeout: 120_000 }, async () => {
    const first = await raftlabUp(3);
    const browser = await openBrowser();
    let second: RunningCluster | undefined;
    try {
      const { page } = browser;
      await page.goto(first.url);
      await waitForCards(page, (c) => c.length === 3 && c.some((p) => p.role === 'leader'), 'a leader');
      await first.stop();
      const connection = page.locator('[data-testid="connection"]');
      await page.waitForFunction(bodyHasClass, 'disconnected');
      assert.match((await connection.textContent()) ?? '', /disconnected — reconnecting to .*what is shown is from before/);
      assert.equal(await page.locator('.toolbar').evaluate((el) => (el as unknown as { inert: boolean }).inert), true, 'the controls are inert');
      await screenshot(page, '09-disconnected');
      // An action asked for meanwhile (the page's own API, as a click would) fails now instead of waiting.
      const refused = await page.evaluate(() =>
        (globalThis as unknown as { raftlabDashboard: { run(a: object): Promise<unknown> } }).raftlabDashboard.run({ kind: 'killLeader' }).then(
          () => 'sent',
          (err: Error) => err.message,
        ),
      );
      assert.equal(refused, 'not connected to the cluster: nothing was sent');
      assert.match((await page.locator('[data-testid="last-result"]').textContent()) ?? '', /✗ .*not connected to the cluster/);

      second = await raftlabUp(3, first.ports);
      await connection.filter({ hasText: /^connected$/ }).waitFor({ timeout: 30_000 });
      assert.equal(await page.evaluate(bodyHasClass, 'disconnected'), false);
      await sleep(1500); // a replayed kill would have landed by now
      const client = await controlClient(second.controlUrl);
      const status = await client.call('status');
      client.close();
      assert.deepEqual(status.peers.map((p: { state: string }) => p.state), ['up', 'up', 'up'], 'nothing was killed in the new cluster');
    } finally {
      await browser.close();
      await second?.stop();
      await first.stop();
    }
  });
});
