// Values as files against a real running cluster: read, save with the mod revision check, conflicts
// (changed, deleted, created meanwhile), overwrite, and history back to creation or compaction.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ConflictError, KeyNotFoundError, NotTextError, ValueFiles } from '../../src/keys/value-files.ts';
import { roundTripsAsText } from '../../src/keys/text-round-trip.ts';
import type { LocalCluster } from '../../src/extension/runtime.ts';
import { startLocal, str, text } from './support.ts';

let cluster: LocalCluster;
before(async () => {
  cluster = await startLocal();
});
after(async () => cluster?.stop());

test('read then save writes when nobody else changed the key', async () => {
  const files = new ValueFiles(cluster.source);
  await cluster.source.put(text('/f/a'), text('one'));
  const kv = await files.read(text('/f/a'));
  assert.equal(str(kv.value), 'one');
  const saved = await files.write(text('/f/a'), text('two'));
  assert.ok(saved.modRevision > kv.modRevision);
  // a second save from the same editor is fine too: the base moved with the first
  await files.write(text('/f/a'), text('three'));
  assert.equal(str((await files.get(text('/f/a')))!.value), 'three');
});

test('a save after a change on the cluster fails with a conflict naming both revisions; overwrite wins', async () => {
  const files = new ValueFiles(cluster.source);
  await cluster.source.put(text('/f/b'), text('mine'));
  const kv = await files.read(text('/f/b'));
  const theirs = await cluster.source.put(text('/f/b'), text('theirs'));
  await assert.rejects(files.write(text('/f/b'), text('edited')), (err: unknown) => {
    assert.ok(err instanceof ConflictError);
    assert.equal(err.baseModRevision, kv.modRevision);
    assert.equal(err.current?.modRevision, theirs.revision);
    assert.match(err.message, new RegExp(`mod revision ${kv.modRevision} → ${theirs.revision}`));
    return true;
  });
  assert.equal(str((await files.get(text('/f/b')))!.value), 'theirs');
  await files.overwrite(text('/f/b'), text('edited'));
  assert.equal(str((await files.get(text('/f/b')))!.value), 'edited');
});

test('the files of a connection made again to the same cluster keep their bases: a save is no false conflict', async () => {
  const files = new ValueFiles(cluster.source);
  await cluster.source.put(text('/f/r'), text('one'));
  await files.read(text('/f/r'));
  // Stop and start (or disconnect and connect): a new source, the same editors.
  const again = files.reconnected(cluster.source);
  await again.write(text('/f/r'), text('two'));
  assert.equal(str((await again.get(text('/f/r')))!.value), 'two');
  // Files that had lost their bases took every open file for a conflict ("mod revision 0 → N").
  await assert.rejects(new ValueFiles(cluster.source).write(text('/f/r'), text('three')), ConflictError);
  // A real change elsewhere is still caught after reconnecting.
  await cluster.source.put(text('/f/r'), text('theirs'));
  await assert.rejects(again.write(text('/f/r'), text('mine')), ConflictError);
});

test('deleted meanwhile, created meanwhile, and missing keys', async () => {
  const files = new ValueFiles(cluster.source);
  await cluster.source.put(text('/f/c'), text('1'));
  await files.read(text('/f/c'));
  await cluster.source.deleteRange(text('/f/c'));
  await assert.rejects(files.write(text('/f/c'), text('2')), /was deleted on the cluster/);
  // a new file (never read) creates the key only if nobody did meanwhile
  await files.write(text('/f/new'), text('fresh'));
  const other = new ValueFiles(cluster.source);
  await assert.rejects(other.write(text('/f/new'), text('again')), /was created on the cluster|changed on the cluster/);
  await assert.rejects(files.read(text('/f/missing')), KeyNotFoundError);
});

test('history walks back to the first version, and stops at the compaction point', async () => {
  const files = new ValueFiles(cluster.source);
  for (const v of ['v1', 'v2', 'v3', 'v4']) await cluster.source.put(text('/f/h'), text(v));
  const h = await files.history(text('/f/h'));
  assert.deepEqual(h.entries.map((e) => str(e.kv.value)), ['v4', 'v3', 'v2', 'v1']);
  assert.deepEqual(h.entries.map((e) => e.kv.version), [4, 3, 2, 1]);
  assert.equal(h.compacted, false);
  // compact past v2: history ends at v3 and says older versions were compacted
  const v3 = h.entries[1]!.kv.modRevision;
  await cluster.source.client.kv.compact({ revision: v3 });
  const after = await files.history(text('/f/h'));
  assert.deepEqual(after.entries.map((e) => str(e.kv.value)), ['v4', 'v3']);
  assert.equal(after.compacted, true);
  const limited = await files.history(text('/f/h'), 1);
  assert.equal(limited.truncated, true);
});

test('a value that is not text is never saved from its editor (the editor replaced its bytes)', async () => {
  const files = new ValueFiles(cluster.source);
  const binary = new Uint8Array([0x41, 0x42, 0x00, 0x01, 0xff, 0xfe, 0x43, 0x44]);
  await cluster.source.put(text('/f/bin'), binary);
  const kv = await files.read(text('/f/bin'));
  // what the editor would save: its UTF-8 decoding of the bytes, with a character typed
  const edited = text(`${new TextDecoder().decode(kv.value)}x`);
  await assert.rejects(files.write(text('/f/bin'), edited), (err: unknown) => {
    assert.ok(err instanceof NotTextError);
    assert.match(err.message, /not UTF-8 text.*nothing was written/);
    return true;
  });
  assert.deepEqual((await files.get(text('/f/bin')))!.value, binary);
  // once the key holds text again (written elsewhere) and the file reloads, it saves
  await cluster.source.put(text('/f/bin'), text('text now'));
  await files.read(text('/f/bin'));
  await files.write(text('/f/bin'), text('text again'));
});

test('which values round-trip as text', () => {
  assert.equal(roundTripsAsText(text('plain, ünïcode, \u0000 and all')), true);
  assert.equal(roundTripsAsText(new Uint8Array([0x41, 0x00, 0x01])), true);
  assert.equal(roundTripsAsText(new Uint8Array([0x41, 0xff, 0xfe])), false);
  assert.equal(roundTripsAsText(new Uint8Array([0xef, 0xbb, 0xbf, 0x41])), false);
  assert.equal(roundTripsAsText(new Uint8Array([0xff, 0xfe, 0x41, 0x00])), false);
});
