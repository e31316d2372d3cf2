// The key client follows membership changes: after the founders are removed and new nodes added, keys are read,
// written and watched through the new voters' endpoints, also with one of them down (a quorum remains).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { sameEndpoints } from '../../src/keys/endpoints.ts';
import type { WatchEvent } from '../../src/keys/kv-source.ts';
import type { LocalCluster } from '../../src/extension/runtime.ts';
import { startLocal, str, text } from './support.ts';

let cluster: LocalCluster;
// Every step is bounded, so a failure is reported at once rather than at the runner's 10-minute timeout. A
// failure here used to leave the process running: the watch closed in `finally` while a client swap was creating
// it again on the new client, and that watcher, left behind, kept retrying (watch-close.test.ts).
before(async () => {
  cluster = await startLocal(3);
}, { timeout: 60_000 });
after(async () => cluster?.stop(), { timeout: 30_000 });

/** Waits for a condition (the client follows status events, which come at most ten a second). */
async function until(what: string, check: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('endpoint lists compare as sets', () => {
  assert.equal(sameEndpoints(['a:1', 'b:2'], ['b:2', 'a:1']), true);
  assert.equal(sameEndpoints(['a:1', 'b:2'], ['a:1', 'c:3']), false);
  assert.equal(sameEndpoints(['a:1'], ['a:1', 'b:2']), false);
});

test('after n1 and n3 are replaced and n2 is killed, keys still work through the new members', { timeout: 180_000 }, async () => {
  const m = cluster.manager;
  const events: WatchEvent[] = [];
  const watch = await cluster.source.watch(text('/m/'), text('/m0'), (e) => events.push(...e));
  try {
    const n4 = await m.addPeer();
    const n5 = await m.addPeer();
    await m.removePeer(1);
    await m.removePeer(3);
    await until('the client uses the members n2, n4, n5', () => sameEndpoints(cluster.source.endpoints, m.endpoints()));
    // a learner answers no key requests, so the client leaves it out
    const learner = await m.addPeer({ learner: true });
    await until('the client leaves the learner out', () => m.status().peers.some((p) => p.id === learner && p.isLearner) && !cluster.source.endpoints.includes(`127.0.0.1:${m.clientPort(learner)}`));
    await m.removePeer(learner);
    assert.deepEqual(cluster.source.endpoints.length, 3);
    assert.ok(cluster.source.endpoints.includes(`127.0.0.1:${m.clientPort(n4)}`));
    assert.ok(cluster.source.endpoints.includes(`127.0.0.1:${m.clientPort(n5)}`));

    await m.kill(2);
    await m.waitForLeader(15_000, 2).catch(() => undefined);
    await cluster.source.put(text('/m/after'), text('still works'));
    assert.equal(str((await cluster.source.range({ key: text('/m/after') })).kvs[0]!.value), 'still works');
    // the watch moved to the new client too
    await until('the watch sees the put', () => events.some((e) => str(e.kv.key) === '/m/after'));
  } finally {
    await watch.close();
  }
});
