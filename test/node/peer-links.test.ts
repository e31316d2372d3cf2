// A peer's links apply the network's rules where messages are sent: real MessagePorts between two ends.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MessageChannel } from 'node:worker_threads';
import { PeerLinks } from '../../src/node/peer-links.ts';
import type { Message } from '../../src/raft/types.ts';

const msg = (type: Message['type'], to = 2): Message => ({ type, from: 1, to, term: 1, logTerm: 0, index: 0, entries: [], commit: 0, reject: false, rejectHint: 0 });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function pair() {
  const got: Message[] = [];
  const refused: Message[] = [];
  const sender = new PeerLinks(() => undefined, (msgs) => refused.push(...msgs));
  const receiver = new PeerLinks((msgs) => got.push(...msgs), () => undefined);
  const { port1, port2 } = new MessageChannel();
  sender.connect(2, port1);
  receiver.connect(1, port2);
  return { sender, receiver, got, refused, close: () => (sender.close(), receiver.close()) };
}

test('messages cross an open link, counted by type', async () => {
  const { sender, got, close } = pair();
  sender.send([msg('app'), msg('heartbeat'), msg('app')]);
  await sleep(20);
  assert.deepEqual(got.map((m) => m.type), ['app', 'heartbeat', 'app']);
  assert.deepEqual(sender.counts.get(2), { sent: 3, delivered: 3, dropped: 0, byType: { app: 2, heartbeat: 1 } });
  close();
});

test('a cut link drops everything; a 100% lossy one too; a slow one delivers later', async () => {
  const { sender, got, close } = pair();
  sender.setRules({ 2: { cut: true, dropPercent: 0, delayMs: 0, jitterMs: 0 } });
  sender.send([msg('app')]);
  sender.setRules({ 2: { cut: false, dropPercent: 100, delayMs: 0, jitterMs: 0 } });
  sender.send([msg('app')]);
  await sleep(20);
  assert.equal(got.length, 0);
  assert.equal(sender.counts.get(2)!.dropped, 2);
  sender.setRules({ 2: { cut: false, dropPercent: 0, delayMs: 80, jitterMs: 0 } });
  sender.send([msg('vote')]);
  await sleep(30);
  assert.equal(got.length, 0, 'not before its delay');
  await sleep(100);
  assert.deepEqual(got.map((m) => m.type), ['vote']);
  close();
});

test('a peer that is down refuses forwarded proposals and reads, which come back; the rest is lost', async () => {
  const { sender, refused, close } = pair();
  sender.disconnect(2);
  sender.send([msg('prop'), msg('app'), msg('readIndex'), msg('heartbeat')]);
  await sleep(20);
  assert.deepEqual(refused.map((m) => m.type), ['prop', 'readIndex']);
  assert.equal(sender.counts.get(2)!.dropped, 4);
  close();
});
