// Strings from the cluster are shown as text: a key and a value written through the control API (by another
// client) and through the dashboard's own form come back as text, no element is created and no script runs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { controlClient, openBrowser, raftlabUp, screenshot, waitForCards } from './support.ts';

const KEY = '<img src=x onerror=alert(1)>';
const VALUE = '<script>alert(2)</script><b>bold</b>';

test('a key named <img src=x onerror=alert(1)> appears as text', async () => {
  const cluster = await raftlabUp(3);
  const browser = await openBrowser('light');
  const client = await controlClient(cluster.controlUrl);
  try {
    const { page } = browser;
    await page.goto(cluster.url);
    await waitForCards(page, (c) => c.filter((p) => p.role === 'leader').length === 1, 'a leader');
    await client.call('put', { key: KEY, value: VALUE });

    // Read it back in the dashboard: the result is a line of text.
    await page.locator('vscode-textfield[aria-label="key"] input').fill(KEY);
    await page.locator('[data-action="get"]').click();
    const line = page.locator('[data-testid="writes"] li').first();
    await line.waitFor();
    assert.equal(await line.textContent(), `get ${KEY} = ${VALUE} (revision 2)`);

    // And written through the dashboard's own form.
    await page.locator('vscode-textfield[aria-label="value"] input').fill(VALUE);
    await page.locator('[data-action="put"]').click();
    await page.locator('[data-testid="writes"] li', { hasText: 'put ' }).first().waitFor();
    assert.equal(await page.locator('[data-testid="writes"] li').first().textContent(), `put ${KEY} = ${VALUE} → revision 3`);
    assert.match((await page.locator('[data-testid="last-result"]').textContent()) ?? '', /put <img src=x onerror=alert\(1\)>/);

    // Nothing was parsed as HTML: no image, no script element in the dashboard, no dialog.
    assert.equal(await page.locator('#app img').count(), 0);
    assert.equal(await page.locator('#app script, #app b').count(), 0);
    await page.waitForTimeout(300);
    assert.deepEqual(browser.dialogs, []);
    assert.deepEqual(browser.errors, []);
    assert.equal((await client.call('get', { key: KEY })).value, VALUE);
    await screenshot(page, '08-xss-as-text-light');
  } finally {
    client.close();
    await browser.close();
    await cluster.stop();
  }
});
