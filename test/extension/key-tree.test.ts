// The Keys view's model against a real running cluster: folders by separator, paging with "Load more",
// folders with many keys skipped in one jump, binary keys, leases with TTLs, the filter, and live reloads.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { KeyTreeModel, describeKey, listChildren, type KeyNode, type TreeNode } from '../../src/keys/key-tree.ts';
import type { KvSource, RangeRequest } from '../../src/keys/kv-source.ts';
import type { LocalCluster } from '../../src/extension/runtime.ts';
import { startLocal, str, text } from './support.ts';

let cluster: LocalCluster;
before(async () => {
  cluster = await startLocal();
  const s = cluster.source;
  for (const k of ['/app/a', '/app/b', '/app/cfg/x', '/app/cfg/y', '/db/1', 'plain', '/app/z']) await s.put(text(k), text(`v:${k}`));
  for (let i = 0; i < 250; i++) await s.put(text(`/big/k${String(i).padStart(4, '0')}`), text(String(i)));
  for (let i = 0; i < 300; i++) await s.put(text(`/many/sub/k${i}`), text('x'));
});
after(async () => cluster?.stop());

const labels = (nodes: TreeNode[]) => nodes.map((n) => (n.kind === 'more' ? '…' : n.kind === 'folder' ? `${n.label}/` : n.label));

test('the top level groups keys into folders by the separator', async () => {
  const model = new KeyTreeModel(cluster.source, { separator: '/', pageSize: 100 });
  const top = await model.children();
  assert.deepEqual(labels(top), ['/app/', '/big/', '/db/', '/many/', 'plain']);
  const app = top[0]!;
  assert.equal(app.kind, 'folder');
  const inApp = await model.children(app.kind === 'folder' ? app : undefined);
  assert.deepEqual(labels(inApp), ['a', 'b', 'cfg/', 'z']);
  const cfg = inApp[2]!;
  assert.deepEqual(labels(await model.children(cfg.kind === 'folder' ? cfg : undefined)), ['x', 'y']);
});

test('a folder with thousands of keys is one child, reached with few ranges', async () => {
  let calls = 0;
  const counting: KvSource = Object.create(cluster.source) as KvSource;
  counting.range = (req: RangeRequest) => {
    calls++;
    return cluster.source.range(req);
  };
  const page = await listChildren(counting, text('/'), text('/'), { limit: 10 });
  assert.deepEqual(page.children.map((c) => (c.kind === 'folder' ? str(c.prefix) : str(c.kv.key))), ['/app/', '/big/', '/db/', '/many/']);
  assert.equal(page.next, undefined);
  assert.ok(calls <= 6, `${calls} ranges`);
});

test('pages with Load more, no duplicates and no gaps', async () => {
  const model = new KeyTreeModel(cluster.source, { separator: '/', pageSize: 100, root: text('/big/') });
  let nodes = await model.children();
  assert.equal(nodes.length, 101);
  assert.equal(nodes[100]!.kind, 'more');
  for (let round = 0; round < 5 && nodes.at(-1)?.kind === 'more'; round++) {
    await model.loadMore(nodes.at(-1) as Extract<TreeNode, { kind: 'more' }>);
    nodes = await model.children();
  }
  const keys = nodes.filter((n): n is KeyNode => n.kind === 'key').map((n) => str(n.kv.key));
  assert.equal(keys.length, 250);
  assert.equal(new Set(keys).size, 250);
  assert.equal(nodes.at(-1)!.kind, 'key');
  // Under a filter, the top level shows whole keys.
  assert.equal(nodes[0]!.kind === 'key' && nodes[0]!.label, '/big/k0000');
});

test('binary keys display escaped, leased keys carry their TTL, tooltips name the revisions', async () => {
  const s = cluster.source;
  await s.put(new Uint8Array([0x2f, 0x62, 0x69, 0x6e, 0x2f, 0xff, 0x00]), new Uint8Array([1, 2, 3]));
  const lease = await s.client.lease(60, { autoKeepAlive: false }).grant();
  await s.put(text('/leased/k'), text('v'), lease);
  const model = new KeyTreeModel(s, { separator: '/', pageSize: 50 });
  const bin = await model.children((await model.children()).find((n) => n.kind === 'folder' && n.label === '/bin') as never);
  assert.equal(bin[0]!.kind === 'key' && bin[0]!.label, '\\xff\\x00');
  const leased = await model.children((await model.children()).find((n) => n.kind === 'folder' && n.label === '/leased') as never);
  const k = leased[0] as KeyNode;
  assert.ok(k.ttl !== undefined && k.ttl > 50 && k.ttl <= 60, `ttl ${k.ttl}`);
  const tip = describeKey(k.kv, k.ttl).join('\n');
  assert.match(tip, /create revision: \d+/);
  assert.match(tip, /mod revision: \d+/);
  assert.match(tip, /version: 1/);
  assert.match(tip, /lease: [0-9a-f]+ \(TTL \d+ s\)/);
});

test('watch events say which loaded folders to reload; the reload shows the change', async () => {
  const model = new KeyTreeModel(cluster.source, { separator: '/', pageSize: 100 });
  const top = await model.children();
  const app = top.find((n) => n.kind === 'folder' && n.label === '/app')!;
  await model.children(app as never);
  const events: Parameters<KeyTreeModel['applyEvents']>[0] = [];
  const watch = await cluster.source.watch(text('\0'), new Uint8Array([0]), (e) => events.push(...e));
  await cluster.source.put(text('/app/new'), text('1'));
  await cluster.source.deleteRange(text('/db/1'));
  for (let i = 0; i < 100 && events.length < 2; i++) await new Promise((r) => setTimeout(r, 20));
  await watch.close();
  const reload = model.applyEvents(events).map(str).sort();
  // the put: the deepest loaded folder (/app/); the delete: every loaded folder above it (the top, '')
  assert.deepEqual(reload, ['', '/app/']);
  assert.deepEqual(labels(await model.children(model.folder(text('/app/')))), ['a', 'b', 'cfg/', 'new', 'z']);
  assert.ok(!labels(await model.children()).includes('/db/'));
});

const moreOf = (nodes: TreeNode[]) => nodes.at(-1) as Extract<TreeNode, { kind: 'more' }>;
const putEvent = (key: string) => ({ type: 'put', kv: { key: text(key) } }) as unknown as Parameters<KeyTreeModel['applyEvents']>[0][number];

test('Load more while a watch event reloads the folder: the next page stays, in either order', async () => {
  for (const eventFirst of [true, false]) {
    const model = new KeyTreeModel(cluster.source, { separator: '/', pageSize: 100, root: text('/big/') });
    const first = await model.children();
    assert.equal(first.length, 101);
    let reload: Promise<TreeNode[]>;
    let more: Promise<void>;
    if (eventFirst) {
      assert.deepEqual(model.applyEvents([putEvent('/big/k0001')]).map(str), ['/big/']);
      reload = model.children(); // the view's refresh after the event, in flight
      more = model.loadMore(moreOf(first));
    } else {
      more = model.loadMore(moreOf(first));
      model.applyEvents([putEvent('/big/k0001')]);
      reload = model.children();
    }
    await Promise.all([more, reload]);
    const after = await model.children();
    assert.equal(after.length, 201, `event first: ${eventFirst}`);
    assert.equal(moreOf(after).loaded, 200);
    // and a later event keeps the two pages
    model.applyEvents([putEvent('/big/k0002')]);
    assert.equal((await model.children()).length, 201);
  }
});

test('a change that lands while a folder is loading is not lost', async () => {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const slow: KvSource = Object.create(cluster.source) as KvSource;
  slow.range = async (req: RangeRequest) => {
    const answer = await cluster.source.range(req); // read before the change...
    await gate; // ...answered after it
    return answer;
  };
  const model = new KeyTreeModel(slow, { separator: '/', pageSize: 100, root: text('/late/') });
  const loading = model.children();
  await cluster.source.put(text('/late/new'), text('1'));
  assert.deepEqual(model.applyEvents([putEvent('/late/new')]).map(str), ['/late/'], 'a loading folder reloads too');
  const reloaded = model.children();
  release();
  await loading;
  assert.deepEqual(labels(await reloaded), ['/late/new']);
  assert.deepEqual(labels(await model.children()), ['/late/new']);
});

test('a folder that keeps changing while it loads still answers (a busy writer cannot starve the view)', async () => {
  const slow: KvSource = Object.create(cluster.source) as KvSource;
  slow.range = async (req: RangeRequest) => {
    await new Promise((r) => setTimeout(r, 40)); // each load is overtaken by the next event
    return cluster.source.range(req);
  };
  const model = new KeyTreeModel(slow, { separator: '/', pageSize: 100, root: text('/app/') });
  let events = 0;
  const writer = setInterval(() => {
    events++;
    model.applyEvents([putEvent('/app/a')]);
  }, 10);
  try {
    const answered = await Promise.race([model.children(), new Promise<undefined>((r) => setTimeout(() => r(undefined), 3000))]);
    assert.ok(answered, `no answer within 3 s while ${events} events kept the folder changing`);
    assert.ok(labels(answered).includes('/app/cfg/'), labels(answered).join(' '));
  } finally {
    clearInterval(writer);
  }
});
