// A watcher whose client stops reading: its events stay in the store's history instead of piling up in the peer's
// memory (etcd's slow, "unsynced" watchers), and it catches up — every event once, in order — when the client reads
// again. /metrics shows it as etcd does (etcd_debugging_mvcc_slow_watcher_total).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { eventually, rawClient, startCluster } from './support.ts';

const b = (s: string) => Buffer.from(s);

async function slowWatchers(endpoint: string): Promise<number> {
  const text = await (await fetch(`http://${endpoint}/metrics`)).text();
  return Number(/^etcd_debugging_mvcc_slow_watcher_total (\d+)$/m.exec(text)?.[1] ?? NaN);
}

test('a watch whose client stops reading is paused, then catches up once it reads again', { timeout: 120_000 }, async () => {
  const cluster = await startCluster({ nodes: 3 });
  const endpoint = cluster.endpoints[0]!;
  const watcher = rawClient(endpoint);
  const writer = rawClient(cluster.endpoints[1]!);
  try {
    const stream = watcher.watch();
    const responses: { created?: boolean; events?: { kv: { key: Buffer; modRevision: string } }[] }[] = [];
    stream.on('data', (r) => responses.push(r));
    stream.write({ createRequest: { key: b('slow/'), rangeEnd: b('slow0') } });
    await eventually('the watch created', () => responses.some((r) => r.created));
    assert.equal(await slowWatchers(endpoint), 0);
    stream.pause(); // the client stops reading: its HTTP/2 window fills, then the server's queue

    const value = Buffer.alloc(4096, 0x61);
    const keys = 800;
    let next = 0;
    let paused = 0;
    const put = async () => {
      while (next < keys) await writer.kv.Put({ key: b(`slow/${String(next++).padStart(4, '0')}`), value });
    };
    await Promise.all(Array.from({ length: 8 }, put));
    await eventually('the watch paused', async () => (paused = await slowWatchers(endpoint)) >= 1, 20_000);
    assert.equal(paused, 1);

    stream.resume();
    const seen = () => responses.flatMap((r) => r.events ?? []);
    await eventually(`all ${keys} events (have ${seen().length})`, () => seen().length >= keys, 30_000);
    const events = seen();
    assert.equal(events.length, keys, 'no event twice');
    const revisions = events.map((e) => Number(e.kv.modRevision));
    assert.ok(revisions.every((r, i) => i === 0 || r > revisions[i - 1]!), 'in revision order');
    assert.equal(new Set(events.map((e) => e.kv.key.toString())).size, keys, 'every key once');
    await eventually('the watch synced again', async () => (await slowWatchers(endpoint)) === 0);
    stream.on('error', () => undefined); // the cancel below ends the call with CANCELLED
    stream.cancel();
  } finally {
    watcher.close();
    writer.close();
    await cluster.stop();
  }
});
