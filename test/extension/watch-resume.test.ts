// A client swap (the cluster's members changed) moves each open watch to the new client from the revision the old
// watcher had reached, so a change made during the swap still reaches the Keys view.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Etcd3Source } from '../../src/keys/etcd3-source.ts';
import type { WatchEvent } from '../../src/keys/kv-source.ts';
import type { LocalCluster } from '../../src/extension/runtime.ts';
import { startLocal, str, text } from './support.ts';

let cluster: LocalCluster;
before(async () => {
  cluster = await startLocal(3);
});
after(async () => cluster?.stop());

test('changes made while a watch moves to a new client are delivered once, in revision order', async () => {
  const endpoints = cluster.manager.endpoints();
  const watched = new Etcd3Source({ endpoints });
  const writer = new Etcd3Source({ endpoints });
  const events: WatchEvent[] = [];
  const watch = await watched.watch(text('/swap/'), text('/swap0'), (e) => events.push(...e));
  try {
    await writer.put(text('/swap/before'), text('1'));
    for (let i = 0; i < 50 && events.length < 1; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(events.length, 1, 'the watch is live before the swap');
    for (let round = 0; round < 3; round++) {
      // Swap to another set of the same cluster's endpoints and write at once: the new watcher is still being
      // created when these land.
      assert.equal(watched.setEndpoints(round % 2 === 0 ? endpoints.slice(0, 2) : endpoints), true);
      await Promise.all([0, 1, 2].map((i) => writer.put(text(`/swap/r${round}-${i}`), text('x'))));
    }
    const want = ['/swap/before', ...[0, 1, 2].flatMap((r) => [0, 1, 2].map((i) => `/swap/r${r}-${i}`))];
    const deadline = Date.now() + 10_000;
    while (events.length < want.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const got = events.map((e) => str(e.kv.key));
    assert.deepEqual([...got].sort(), [...want].sort(), 'every change once');
    const revisions = events.map((e) => e.kv.modRevision);
    assert.deepEqual(revisions, [...revisions].sort((a, b) => a - b), 'in revision order');
  } finally {
    await watch.close();
    watched.close();
    writer.close();
  }
});

test('a swap while a resumed watch is still receiving its history resumes after the last event, not at the created revision', { timeout: 60_000 }, async () => {
  // The watched peer is a follower: pausing it leaves the cluster its leader.
  const lead = await cluster.manager.waitForLeader();
  const peers = cluster.manager.status().peers;
  const watchedPeer = peers.find((p) => p.id !== lead)!;
  const [e1, e2] = peers.filter((p) => p !== watchedPeer).map((p) => `127.0.0.1:${p.clientPort}`) as [string, string];
  const e3 = `127.0.0.1:${watchedPeer.clientPort}`;
  const n3 = watchedPeer.id;
  const watched = new Etcd3Source({ endpoints: [e3] });
  const writer = new Etcd3Source({ endpoints: [e1, e2] });
  const events: WatchEvent[] = [];
  let swapped = false;
  const watch = await watched.watch(text('/hist/'), text('/hist0'), (batch) => {
    events.push(...batch);
    // The first history answer of the watch resumed on e1: swap again before the rest of its history arrives.
    if (!swapped && events.length > 1) {
      swapped = true;
      watched.setEndpoints([e2]);
    }
  });
  try {
    await writer.put(text('/hist/before'), text('1'));
    for (let i = 0; i < 100 && events.length < 1; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(events.length, 1, 'the watch is live');
    // Its peer stops applying, so its watcher falls behind by more revisions than one watch answer carries (1,000).
    cluster.manager.pause(n3);
    const total = 2500;
    for (let i = 0; i < total; i += 100) {
      await Promise.all(Array.from({ length: 100 }, (_, j) => writer.put(text(`/hist/k${i + j}`), text('x'))));
    }
    watched.setEndpoints([e1]);
    const deadline = Date.now() + 20_000;
    while (events.length < total + 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.equal(swapped, true);
    const keys = events.map((e) => str(e.kv.key));
    assert.equal(new Set(keys).size, keys.length, 'no event twice');
    assert.equal(keys.length, total + 1, `every change once (got ${keys.length})`);
  } finally {
    cluster.manager.resume(n3);
    await watch.close();
    watched.close();
    writer.close();
  }
});

test("a peer killed while a watch receives its history: etcd3's reconnect resumes after the last event too", { timeout: 90_000 }, async () => {
  const lead = await cluster.manager.waitForLeader();
  const [serving, lagging] = cluster.manager.status().peers.filter((p) => p.id !== lead);
  assert.ok(serving && lagging);
  const at = (p: { clientPort: number }) => `127.0.0.1:${p.clientPort}`;
  const watched = new Etcd3Source({ endpoints: [at(lagging)] });
  const writer = new Etcd3Source({ endpoints: cluster.manager.endpoints().filter((e) => e !== at(lagging)) });
  const events: WatchEvent[] = [];
  let killed: Promise<void> | undefined;
  const watch = await watched.watch(text('/kill/'), text('/kill0'), (batch) => {
    events.push(...batch);
    // The first history answer on `serving`: its peer dies, and etcd3 reconnects the watch once it is back.
    if (!killed && events.length > 1) killed = cluster.manager.kill(serving.id).then(() => cluster.manager.restart(serving.id));
  });
  try {
    await writer.put(text('/kill/before'), text('1'));
    for (let i = 0; i < 100 && events.length < 1; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(events.length, 1, 'the watch is live');
    cluster.manager.pause(lagging.id);
    const total = 2500;
    for (let i = 0; i < total; i += 100) {
      await Promise.all(Array.from({ length: 100 }, (_, j) => writer.put(text(`/kill/k${i + j}`), text('x'))));
    }
    watched.setEndpoints([at(serving)]);
    const deadline = Date.now() + 45_000;
    while (events.length < total + 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.ok(killed, 'the peer was killed mid-history');
    await killed;
    const keys = events.map((e) => str(e.kv.key));
    assert.equal(new Set(keys).size, keys.length, 'no event twice');
    assert.equal(keys.length, total + 1, `every change once (got ${keys.length})`);
  } finally {
    cluster.manager.resume(lagging.id);
    await watch.close();
    watched.close();
    writer.close();
  }
});

test('a swap before a new watch is confirmed: the watch answers once its replacement is, and sees the next change', async () => {
  const endpoints = cluster.manager.endpoints();
  const watched = new Etcd3Source({ endpoints });
  const writer = new Etcd3Source({ endpoints });
  try {
    for (let round = 0; round < 20; round++) {
      const events: WatchEvent[] = [];
      const watching = watched.watch(text(`/early/${round}/`), text(`/early/${round}0`), (e) => events.push(...e));
      // etcd has not confirmed the watcher yet: it is replaced before it could hand on a revision.
      assert.equal(watched.setEndpoints(round % 2 === 0 ? endpoints.slice(0, 2) : endpoints), true);
      const watch = await watching;
      await writer.put(text(`/early/${round}/k`), text('1'));
      for (let i = 0; i < 100 && events.length < 1; i++) await new Promise((r) => setTimeout(r, 20));
      assert.deepEqual(events.map((e) => str(e.kv.key)), [`/early/${round}/k`], `round ${round}`);
      await watch.close();
    }
  } finally {
    watched.close();
    writer.close();
  }
});

test('a closed source ignores new endpoints instead of opening a client for them', () => {
  const endpoints = cluster.manager.endpoints();
  const source = new Etcd3Source({ endpoints });
  source.close();
  assert.equal(source.setEndpoints(endpoints.slice(0, 2)), false);
});
