// The checks etcd's gRPC layer makes before a request is proposed (v3rpc/key.go): empty keys, ignore_*
// flags with a value, txn size and overlapping writes. The runtime should call `validateRequest` before
// proposing; the state machine calls it again on apply, so a bad entry fails the same way on every peer.

import { boundsOf, boundsContain, toKeyString, type KeyBounds, type KeyString } from './bytes.ts';
import { KvError } from './errors.ts';
import { DEFAULT_KV_CONFIG, NO_LEASE, type KvRequest, type PutRequest, type RequestOp, type TxnRequest } from './types.ts';

export function validateRequest(request: KvRequest, maxTxnOps: number = DEFAULT_KV_CONFIG.maxTxnOps): void {
  switch (request.type) {
    case 'range':
    case 'deleteRange':
      requireKey(request.key);
      return;
    case 'put':
      validatePut(request);
      return;
    case 'txn':
      validateTxn(request, maxTxnOps);
      checkOverlaps(request.success ?? []);
      checkOverlaps(request.failure ?? []);
      return;
    case 'compaction':
    case 'leaseGrant':
    case 'leaseRevoke':
    case 'leaseExpire':
    case 'alarm':
      return;
  }
}

function requireKey(key: Uint8Array | undefined): void {
  if (key === undefined || key.length === 0) throw new KvError('emptyKey');
}

function validatePut(request: PutRequest): void {
  requireKey(request.key);
  if (request.ignoreValue && request.value !== undefined && request.value.length !== 0) throw new KvError('valueProvided');
  if (request.ignoreLease && request.lease !== undefined && request.lease !== NO_LEASE) throw new KvError('leaseProvided');
}

/**
 * etcd's checkTxnRequest: a txn level may hold at most `maxOps` compares, and at most `maxOps` ops in each
 * branch; a nested txn's allowance is reduced by its parent's size (verified against etcd 3.4.23).
 */
function validateTxn(txn: TxnRequest, maxOps: number): void {
  const compare = txn.compare ?? [];
  const size = Math.max(compare.length, txn.success?.length ?? 0, txn.failure?.length ?? 0);
  if (size > maxOps) throw new KvError('tooManyOps');
  for (const c of compare) requireKey(c.key);
  for (const op of [...(txn.success ?? []), ...(txn.failure ?? [])]) validateOp(op, maxOps - size);
}

function validateOp(op: RequestOp, maxOps: number): void {
  if ('requestRange' in op) requireKey(op.requestRange.key);
  else if ('requestPut' in op) validatePut(op.requestPut);
  else if ('requestDeleteRange' in op) requireKey(op.requestDeleteRange.key);
  else if ('requestTxn' in op) validateTxn(op.requestTxn, maxOps);
  else throw new KvError('keyNotFound'); // an empty RequestOp, as etcd answers it
}

interface BranchWrites {
  puts: Set<KeyString>;
  deletes: KeyBounds[];
}

/**
 * Rejects a branch that could write one key twice: two puts of a key, or a put inside a deleted range,
 * counting nested txns (both of a nested txn's branches count, but they may repeat each other's keys since
 * only one runs). The two top-level branches are checked separately, as etcd does (etcd 3.4.23 accepts
 * `put k` in success and `put k` in failure). Overlapping deletes are allowed, as in etcd.
 *
 * Stricter than etcd in two corners, so that a key is never written twice in one revision: a put followed
 * by a delete of it in a later sibling nested txn, and a delete with range_end `\0` (which etcd's check
 * treats as an empty interval) are rejected too.
 */
function checkOverlaps(ops: RequestOp[]): BranchWrites {
  const writes: BranchWrites = { puts: new Set(), deletes: [] };
  for (const op of ops) {
    if ('requestPut' in op) {
      addPut(writes, toKeyString(op.requestPut.key));
    } else if ('requestDeleteRange' in op) {
      addDelete(writes, boundsOf(op.requestDeleteRange.key, op.requestDeleteRange.rangeEnd));
    } else if ('requestTxn' in op) {
      // A nested txn's branches exclude each other: check each against this branch's earlier writes only.
      const then = checkOverlaps(op.requestTxn.success ?? []);
      const otherwise = checkOverlaps(op.requestTxn.failure ?? []);
      const nestedPuts = new Set([...then.puts, ...otherwise.puts]);
      const nestedDeletes = [...then.deletes, ...otherwise.deletes];
      for (const key of nestedPuts) checkPut(writes, key);
      for (const bounds of nestedDeletes) checkDelete(writes, bounds);
      for (const key of nestedPuts) writes.puts.add(key);
      writes.deletes.push(...nestedDeletes);
    }
  }
  return writes;
}

function addPut(writes: BranchWrites, key: KeyString): void {
  checkPut(writes, key);
  writes.puts.add(key);
}

function addDelete(writes: BranchWrites, bounds: KeyBounds): void {
  checkDelete(writes, bounds);
  writes.deletes.push(bounds);
}

function checkPut(writes: BranchWrites, key: KeyString): void {
  if (writes.puts.has(key)) throw new KvError('duplicateKey');
  if (writes.deletes.some((bounds) => boundsContain(bounds, key))) throw new KvError('duplicateKey');
}

function checkDelete(writes: BranchWrites, bounds: KeyBounds): void {
  for (const key of writes.puts) {
    if (boundsContain(bounds, key)) throw new KvError('duplicateKey');
  }
}
