// The file `etcdctl snapshot save` writes from Raft Lab: the KV store's snapshot (kv/snapshot.ts) zero-padded to
// a multiple of 512 bytes and followed by the SHA-256 of what precedes it — the framing etcdctl checks on a bbolt
// file. `raftlab up --restore <file>` reads it back into a new cluster.
import { createHash } from 'node:crypto';
import { decodeSnapshot } from '../../kv/snapshot.ts';

const PAGE = 512;
const HASH_BYTES = 32;
const MAGIC = 'RLKV';

/** The snapshot as etcd frames it: etcdctl checks that the size is 32 more than a multiple of 512, then the hash. */
export function framedSnapshot(data: Uint8Array): Buffer {
  const padded = Buffer.alloc(Math.ceil(data.length / PAGE) * PAGE);
  padded.set(data);
  return Buffer.concat([padded, createHash('sha256').update(padded).digest()]);
}

export class SnapshotFileError extends Error {}

/**
 * The KV snapshot inside a saved file, checked whole: the framing, the hash and the snapshot's own encoding.
 * Returns the snapshot bytes and the applied index they were taken at.
 */
export function readSnapshotFile(file: Uint8Array, name: string): { data: Uint8Array; appliedIndex: number } {
  if (file.length < PAGE + HASH_BYTES || (file.length - HASH_BYTES) % PAGE !== 0) {
    throw new SnapshotFileError(`${name} is not a snapshot saved from Raft Lab (its size, ${file.length} bytes, is not 32 more than a multiple of 512)`);
  }
  const body = file.subarray(0, file.length - HASH_BYTES);
  const hash = createHash('sha256').update(body).digest();
  if (!hash.equals(file.subarray(file.length - HASH_BYTES))) throw new SnapshotFileError(`${name} is corrupt: its SHA-256 does not match its contents`);
  if (Buffer.from(body.subarray(0, 4)).toString('latin1') !== MAGIC) {
    throw new SnapshotFileError(`${name} is not a Raft Lab snapshot (a real etcd's snapshot is a bbolt database: restore it with \`etcdctl snapshot restore\` and run etcd)`);
  }
  try {
    const state = decodeSnapshot(body, 1, true);
    return { data: body.slice(0, state.byteLength), appliedIndex: state.appliedIndex };
  } catch (err) {
    throw new SnapshotFileError(`${name} could not be read as a Raft Lab snapshot: ${(err as Error).message}`);
  }
}
