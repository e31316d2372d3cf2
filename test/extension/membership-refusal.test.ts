// A membership change refused while a voter is down says which voter and why, against a real cluster.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { explainMembershipRefusal } from '../../src/extension/membership-refusal.ts';
import type { LocalCluster } from '../../src/extension/runtime.ts';
import { startLocal } from './support.ts';

let cluster: LocalCluster;
before(async () => {
  cluster = await startLocal(3);
});
after(async () => cluster?.stop());

test('with a voter down, adding and removing are refused naming it', async () => {
  const m = cluster.manager;
  const lead = await m.waitForLeader();
  const [down, other] = [1, 2, 3].filter((id) => id !== lead) as [number, number];
  await m.kill(down);
  const downName = `n${down}`;

  const addErr = await m.addPeer().then(() => assert.fail('adding a voter should be refused'), (err: unknown) => err);
  const added = explainMembershipRefusal(addErr, 'add', m.status()) as Error;
  assert.equal(added.message, `${downName} is down: etcd changes membership only when every voter is connected. Restart or remove ${downName} first.`);

  const removing = m.status().peers.find((p) => p.id === other)!;
  const removeErr = await m.removePeer(other).then(() => assert.fail('removing should be refused'), (err: unknown) => err);
  const removed = explainMembershipRefusal(removeErr, 'remove', m.status(), removing) as Error;
  assert.equal(removed.message, `${downName} is down: etcd removes a member only when the rest keep a quorum. Restart or remove ${downName} first.`);
});

test('other errors pass through unchanged', () => {
  const err = new Error('etcdserver: no leader');
  assert.equal(explainMembershipRefusal(err, 'add', cluster.manager.status()), err);
});
