// The WebSocket control API: requests and replies, the status stream, bad input, and the Origin rule.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { ControlServer } from '../../src/api/control-server.ts';
import type { ClusterManager } from '../../src/cluster/cluster-manager.ts';
import type { ClusterStatus } from '../../src/cluster/status.ts';
import { startCluster, waitFor } from './helpers.ts';

function connect(url: string, origin?: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, origin ? { headers: { Origin: origin } } : {});
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (_req, res) => reject(new Error(`refused with HTTP ${res.statusCode}`)));
    ws.once('error', reject);
  });
}

function request(ws: WebSocket, body: object | string): Promise<any> {
  const id = Math.random().toString(36).slice(2);
  return new Promise((resolve) => {
    const onMessage = (data: WebSocket.RawData) => {
      const msg = JSON.parse(data.toString());
      if (msg.id === id || (typeof body === 'string' && msg.id === null)) {
        ws.off('message', onMessage);
        resolve(msg);
      }
    };
    ws.on('message', onMessage);
    ws.send(typeof body === 'string' ? body : JSON.stringify({ v: 1, id, ...body }));
  });
}

/** A running cluster with its control API and one connected client, torn down after `body`. */
async function withControl(body: (manager: ClusterManager, ws: WebSocket) => Promise<void>): Promise<void> {
  const { manager, stop } = await startCluster();
  const server = await ControlServer.start(manager, { port: 0 });
  const ws = await connect(server.url);
  try {
    await manager.waitForLeader();
    await body(manager, ws);
  } finally {
    ws.close();
    await server.close();
    await stop();
  }
}

test('control API: status, actions, the status stream and clear errors', () =>
  withControl(async (_, ws) => {
    const status = await request(ws, { op: 'status' });
    assert.equal(status.ok, true);
    assert.equal(status.result.peers.length, 3);

    const pushes: ClusterStatus[] = [];
    ws.on('message', (d) => {
      const m = JSON.parse(d.toString());
      if (m.type === 'status') pushes.push(m.status);
    });
    assert.equal((await request(ws, { op: 'subscribe' })).ok, true);

    assert.deepEqual((await request(ws, { op: 'put', key: 'greeting', value: 'hello' })).ok, true);
    const got = await request(ws, { op: 'get', key: 'greeting' });
    assert.equal(got.result.value, 'hello');

    const killed = await request(ws, { op: 'kill', peer: 'leader' });
    assert.equal(killed.ok, true);
    await waitFor(() => pushes.some((s) => s.peers.some((p) => p.state === 'down') && s.leader !== 0 && s.peers.find((p) => p.id === s.leader)?.state === 'up'), 'a pushed status with a new leader and a down peer');

    const badJson = await request(ws, '{not json');
    assert.equal(badJson.ok, false);
    assert.match(badJson.error.message, /not valid JSON/);
    const unknown = await request(ws, { op: 'explode' });
    assert.equal(unknown.ok, false);
    assert.match(unknown.error.message, /unknown op "explode"/);
    const noPeer = await request(ws, { op: 'kill', peer: 'n9' });
    assert.equal(noPeer.error.code, 'NOT_FOUND');
    assert.match(noPeer.error.message, /no peer named "n9"/);
    const badDrop = await request(ws, { op: 'drop', from: 'n1', to: 'n2', percent: 140 });
    assert.match(badDrop.error.message, /between 0 and 100/);
    assert.equal(badDrop.error.code, 'INVALID_ARGUMENT');
    const selfLink = await request(ws, { op: 'drop', from: 'n2', to: 'n2', percent: 50 });
    assert.equal(selfLink.error.code, 'INVALID_ARGUMENT');
    assert.match(selfLink.error.message, /two different peers; n2 was given for both ends/);
    // Node fires a longer timer at once: a "never arrives" delay would have delivered everything immediately.
    const hugeDelay = await request(ws, { op: 'delay', from: 'n1', to: 'n2', ms: 3_000_000_000 });
    assert.equal(hugeDelay.error.code, 'INVALID_ARGUMENT');
    assert.match(hugeDelay.error.message, /at most 2147483647 ms/);
    const negative = await request(ws, { op: 'delay', from: 'n1', to: 'n2', ms: -100 });
    assert.equal(negative.error.code, 'INVALID_ARGUMENT');
    assert.deepEqual((await request(ws, { op: 'status' })).result.links.filter((l: { delayMs: number; dropPercent: number }) => l.delayMs > 0 || l.dropPercent > 0), [], 'no rule was set by the refused requests');
    // A request whose id could not come back is refused, not carried out.
    const objectId = await request(ws, JSON.stringify({ v: 1, id: { x: 1 }, op: 'put', key: 'by-object-id', value: 'v' }));
    assert.equal(objectId.error.code, 'INVALID_ARGUMENT');
    assert.match(objectId.error.message, /id must be a string or a number/);
    assert.equal((await request(ws, { op: 'get', key: 'by-object-id' })).result.value, null);
    const badAlarm = await request(ws, { op: 'alarm', action: 'explode' });
    assert.equal(badAlarm.error.code, 'INVALID_ARGUMENT');
    assert.match(badAlarm.error.message, /alarm needs "action": list, raise or disarm/);
    const badType = await request(ws, { op: 'alarm', action: 'raise', alarm: 'FULL' });
    assert.match(badType.error.message, /"alarm" is NOSPACE or CORRUPT/);
    assert.deepEqual((await request(ws, { op: 'alarm', action: 'list' })).result, [], 'nothing raised by the bad requests');
    assert.equal((await request(ws, { op: 'status' })).ok, true, 'the server keeps serving after bad input');
  }));

test('control API refuses WebSockets from foreign web pages but accepts its own dashboard origin', async () => {
  const { manager, stop } = await startCluster({ nodes: 1 });
  const server = await ControlServer.start(manager, { port: 0 });
  try {
    await assert.rejects(connect(server.url, 'http://evil.example'), /refused with HTTP 401|refused with HTTP 403/);
    await assert.rejects(connect(server.url, 'http://127.0.0.1:1'), /refused/);
    const own = await connect(server.url, `http://127.0.0.1:${server.port}`);
    assert.equal((await request(own, { op: 'status' })).ok, true);
    own.close();
  } finally {
    await server.close();
    await stop();
  }
});

test('control API: add a learner, which stays one until promote', () =>
  withControl(async (manager, ws) => {
    const badFlag = await request(ws, { op: 'add', learner: 'yes' });
    assert.match(badFlag.error.message, /"learner" must be true or false/);
    const added = await request(ws, { op: 'add', learner: true });
    assert.equal(added.ok, true, JSON.stringify(added));
    const name = added.result.name as string;
    const learnerOf = () => manager.status().peers.find((p) => p.name === name);
    await waitFor(() => learnerOf()?.isLearner && learnerOf()!.applied === manager.status().peers[0]!.applied, `${name} to be a caught-up learner`);
    assert.equal(manager.status().quorum.members, 3, 'a learner does not count toward quorum');
    const promoted = await request(ws, { op: 'promote', peer: name });
    assert.equal(promoted.ok, true, JSON.stringify(promoted));
    await waitFor(() => learnerOf()?.isLearner === false, `${name} to be a voter`);
    assert.equal(manager.status().quorum.members, 4);
    const again = await request(ws, { op: 'promote', peer: name });
    assert.match(again.error.message, /can only promote a learner member/);
  }));
