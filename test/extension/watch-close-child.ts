// Run by watch-close.test.ts in a process of its own (a watcher left behind keeps a process alive, which the test
// must see without hanging itself). Starts a cluster, opens a watch, swaps the client's endpoints (the watch is
// being created again on the new client) and at once closes the watch (`handle`) or the whole source (`source`).
// Then writes a key in the watched range, prints how many events still reached the closed watch, and stops
// everything: the process must then exit by itself.
import { Etcd3Source } from '../../src/keys/etcd3-source.ts';
import type { WatchEvent } from '../../src/keys/kv-source.ts';
import { startLocal, text } from './support.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function main(mode: string): Promise<void> {
  if (mode !== 'handle' && mode !== 'source') throw new Error(`mode must be handle or source, not ${mode}`);
  const cluster = await startLocal(3);
  const endpoints = cluster.manager.endpoints();
  const watched = new Etcd3Source({ endpoints });
  const writer = new Etcd3Source({ endpoints });
  const events: WatchEvent[] = [];
  const watch = await watched.watch(text('/close/'), text('/close0'), (e) => events.push(...e));
  await writer.put(text('/close/before'), text('1'));
  for (let i = 0; i < 100 && events.length === 0; i++) await sleep(20);
  if (events.length === 0) throw new Error('the watch never saw /close/before');

  if (!watched.setEndpoints(endpoints.slice(0, 2))) throw new Error('setEndpoints changed nothing');
  // The watch is being created on the new client right now.
  if (mode === 'handle') await watch.close();
  else watched.close();
  const seen = events.length;
  await sleep(500); // the new watcher's creation has long finished
  await writer.put(text('/close/after'), text('2'));
  await sleep(500);
  console.log(JSON.stringify({ afterClose: events.length - seen }));

  if (mode === 'handle') watched.close();
  writer.close();
  await cluster.stop();
  console.log('stopped');
}

main(process.argv[2] ?? '').catch((err: Error) => {
  console.error(err.stack ?? err.message);
  process.exit(2);
});
