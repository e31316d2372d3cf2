// cluster.json, the cluster's record on disk: who the cluster is and who its members are, so that a restart
// brings back the same peers; written durably (synced, then renamed into place). Also the store a restored
// cluster was started from, kept beside it.
import { existsSync } from 'node:fs';
import { mkdir, open, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { NodeId } from '../raft/types.ts';
import { ClusterError } from './cluster-error.ts';

export interface MemberRecord {
  id: NodeId;
  name: string;
}

/** cluster.json: who the cluster is, so that a restart brings back the same peers. */
export interface ClusterRecord {
  clusterId: string;
  nextId: number;
  founders: NodeId[];
  members: MemberRecord[];
  /**
   * A cluster restored from a saved store keeps that store in the folder (`file`), so that a founder whose
   * storage is empty (its first start failed, or its folder was deleted) starts from it again, never from an
   * empty log that could outvote the restored data.
   */
  restored?: { index: number; file: string };
}

const RESTORE_FILE = 'restore.snap';

export async function readRestoredStore(dataDir: string, restored: { index: number; file: string }): Promise<{ data: Uint8Array; index: number }> {
  const file = join(dataDir, restored.file);
  try {
    return { data: await readFile(file), index: restored.index };
  } catch (err) {
    throw new ClusterError(`${file}, the store this cluster was restored from, cannot be read (${(err as Error).message}); founders with empty storage need it`);
  }
}

/** Writes a file durably: to a temporary name, synced, then renamed into place. */
async function writeFileSynced(path: string, data: Uint8Array): Promise<void> {
  const handle = await open(`${path}.tmp`, 'w');
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(`${path}.tmp`, path);
}

/** The members a new cluster of `nodes` starts with: n1 … nN, ids 1 … N. */
export function foundingMembers(nodes: number): MemberRecord[] {
  return Array.from({ length: nodes }, (_, i) => ({ id: i + 1, name: `n${i + 1}` }));
}

/** The record in `dataDir`, or undefined when there is none yet; a record that cannot be read is an error that says so. */
async function readRecord(dataDir: string): Promise<ClusterRecord | undefined> {
  const file = join(dataDir, 'cluster.json');
  if (!existsSync(file)) return undefined;
  let parsed: ClusterRecord;
  try {
    parsed = JSON.parse(await readFile(file, 'utf8')) as ClusterRecord;
  } catch (err) {
    throw new ClusterError(`${file} is corrupt (${(err as Error).message}); move the folder ${dataDir} away or delete it to start a new cluster`);
  }
  if (typeof parsed.clusterId !== 'string' || !Array.isArray(parsed.members) || !Array.isArray(parsed.founders)) {
    throw new ClusterError(`${file} is not a Raft Lab cluster record; move the folder ${dataDir} away or delete it to start a new cluster`);
  }
  return parsed;
}

/**
 * The members recorded in `dataDir`, or undefined when there is no record yet (or it cannot be read: starting the
 * cluster then says what is wrong with it). `raftlab up` checks their client ports before starting.
 */
export async function recordedMembers(dataDir: string): Promise<MemberRecord[] | undefined> {
  return (await readRecord(dataDir).catch(() => undefined))?.members;
}

export async function loadOrCreateRecord(dataDir: string | undefined, nodes: number, restore?: { data: Uint8Array; index: number }): Promise<ClusterRecord> {
  const fresh = (): ClusterRecord => {
    const members = foundingMembers(nodes);
    return { clusterId: randomBytes(8).toString('hex'), nextId: nodes + 1, founders: members.map((m) => m.id), members };
  };
  if (dataDir === undefined) return fresh();
  const recorded = await readRecord(dataDir);
  if (recorded) return recorded;
  await mkdir(dataDir, { recursive: true });
  const record = fresh();
  if (restore) {
    // The store first: the record that names it is written only once it is whole on disk.
    await writeFileSynced(join(dataDir, RESTORE_FILE), restore.data);
    record.restored = { index: restore.index, file: RESTORE_FILE };
  }
  await writeRecord(dataDir, record);
  return record;
}

export async function writeRecord(dataDir: string, record: ClusterRecord): Promise<void> {
  await writeFileSynced(join(dataDir, 'cluster.json'), new TextEncoder().encode(JSON.stringify(record, null, 2)));
}
