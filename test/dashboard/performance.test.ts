// Rendering keeps up: seven peers under a write load render each update in a few milliseconds (status comes at
// most ten times a second, canvases animate in between), and log strips of 100,000 entries draw as fast as
// short ones because only the runs in view are drawn.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { controlClient, openBrowser, raftlabUp, screenshot, sleep, waitForCards } from './support.ts';

test('seven peers under a write load: renders stay well inside a frame', async (t) => {
  const cluster = await raftlabUp(7);
  const browser = await openBrowser();
  const clients = await Promise.all([1, 2, 3, 4].map(() => controlClient(cluster.controlUrl)));
  try {
    const { page } = browser;
    await page.goto(cluster.url);
    await waitForCards(page, (c) => c.length === 7 && c.filter((p) => p.role === 'leader').length === 1, 'seven peers and a leader', 20_000);
    await page.evaluate(`(() => {
      const s = globalThis.raftlabDashboard.stats;
      s.renders = 0; s.totalMs = 0; s.maxMs = 0; s.over16 = 0; s.recent = [];
      globalThis.frameGaps = [];
      let last = performance.now();
      const tick = (now) => { globalThis.frameGaps.push(now - last); last = now; if (globalThis.frameGaps.length < 100000) requestAnimationFrame(tick); };
      requestAnimationFrame(tick);
    })()`);
    const until = Date.now() + 5000;
    let writes = 0;
    await Promise.all(
      clients.map(async (c, i) => {
        for (let n = 0; Date.now() < until; n++) {
          await c.call('put', { key: `load/${i}/${n % 50}`, value: `v${n}` });
          writes++;
        }
      }),
    );
    const stats = (await page.evaluate('globalThis.raftlabDashboard.stats')) as { renders: number; totalMs: number; maxMs: number; over16: number; recent: number[] };
    const durations = [...stats.recent].sort((a, b) => a - b);
    const p90 = durations[Math.floor(durations.length * 0.9)] ?? 0;
    const gaps = ((await page.evaluate('globalThis.frameGaps')) as number[]).sort((a, b) => a - b);
    const p95 = gaps[Math.floor(gaps.length * 0.95)] ?? 0;
    const mean = stats.totalMs / Math.max(1, stats.renders);
    t.diagnostic(`${writes} writes in 5 s; ${stats.renders} renders, mean ${mean.toFixed(2)} ms, p90 ${p90.toFixed(1)} ms, max ${stats.maxMs.toFixed(1)} ms, ${stats.over16} over 16 ms; ${gaps.length} frames, p95 gap ${p95.toFixed(1)} ms`);
    assert.ok(writes > 50, 'the load ran');
    assert.ok(stats.renders >= 25, `the dashboard kept updating (${stats.renders} renders)`);
    assert.ok(mean < 8, `a render takes ${mean.toFixed(2)} ms on average`);
    // The machine is shared with seven peers and the load (two cores here): judge the typical render, not the
    // rare one that the scheduler preempted.
    assert.ok(p90 < 16, `nine renders in ten fit in a frame (p90 ${p90.toFixed(1)} ms)`);
    await screenshot(page, '07-seven-peers-under-load');

    // Log strips of 100,000 entries: synthetic logs, whole log in view and the newest entries up close.
    const timing = (await page.evaluate(`(() => {
      const app = globalThis.raftlabDashboard;
      const real = app.status;
      const runs = Array.from({ length: 60 }, (_, i) => [1 + i * 1600, 1 + i]);
      const fake = { ...real, peers: real.peers.map((p, i) => ({ ...p, lastIndex: 100000 - i * 7, commit: 99990 - i * 7, firstIndex: 1, logTerms: runs })) };
      const logs = app.logs;
      logs.update(fake);
      // The median of 21 draws: the machine is shared, a preempted draw says nothing about the code.
      const time = (scale) => {
        logs.scale = scale; logs.follow = true;
        const ms = [];
        for (let i = 0; i < 21; i++) { const t0 = performance.now(); logs.draw(); ms.push(performance.now() - t0); }
        return ms.sort((a, b) => a - b)[10];
      };
      const whole = time(1 / 128);
      const close = time(8);
      const window = logs.lastWindow;
      logs.scale = 8;
      logs.update(real);
      return { whole, close, window };
    })()`)) as { whole: number; close: number; window: [number, number] };
    t.diagnostic(`100,000-entry logs: ${timing.whole.toFixed(2)} ms a draw zoomed out, ${timing.close.toFixed(2)} ms up close (window ${timing.window.join('–')})`);
    assert.ok(timing.whole < 8, `drawing seven 100,000-entry logs zoomed out takes ${timing.whole.toFixed(2)} ms`);
    assert.ok(timing.close < 8, `drawing seven 100,000-entry logs up close takes ${timing.close.toFixed(2)} ms`);
    assert.ok(timing.window[1] >= 100000 && timing.window[0] > 99000, 'up close, the window follows the newest entries');
    await sleep(100);
    assert.deepEqual(browser.errors, []);
  } finally {
    for (const c of clients) c.close();
    await browser.close();
    await cluster.stop();
  }
});
