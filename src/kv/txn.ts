// Write transactions: Put, DeleteRange and Txn, each applied as one MVCC write txn (one revision at most).
//
// As in etcd's applier, everything that can fail is checked before the first write, so a failed request
// leaves no trace: a Txn first evaluates every compare (nested ones too) against the state before the txn,
// then checks the puts and ranges of the branches it will run, and only then executes them in order.
// Reads inside a txn see the txn's earlier writes.

import { boundsOf, compareBytes, EMPTY_BYTES, toKeyString } from './bytes.ts';
import { KvError } from './errors.ts';
import type { LeaseTable } from './lease.ts';
import type { MvccStore, WriteTxn } from './mvcc-store.ts';
import { executeRange } from './range.ts';
import {
  NO_LEASE,
  type Compare,
  type DeleteRangeRequest,
  type DeleteRangeResponse,
  type KeyValue,
  type KvEvent,
  type PutRequest,
  type PutResponse,
  type RequestOp,
  type ResponseOp,
  type Revision,
  type TxnRequest,
  type TxnResponse,
} from './types.ts';

export interface WriteContext {
  store: MvccStore;
  leases: LeaseTable;
}

export interface WriteOutcome<R> {
  response: R;
  /** The revision's events (empty if nothing was written), each with its prevKv. */
  events: KvEvent[];
}

export function applyPut(ctx: WriteContext, request: PutRequest): WriteOutcome<PutResponse> {
  // etcd checks a standalone put's lease before its ignore_* flags (inside a txn it is the other way).
  checkLeaseExists(ctx, request);
  checkPreviousExists(ctx, request, ctx.store.currentRevision);
  const txn = ctx.store.beginWrite();
  const response = putInTxn(ctx, txn, request);
  const events = finishWrite(ctx, txn);
  response.header.revision = ctx.store.currentRevision;
  return { response, events };
}

export function applyDeleteRange(ctx: WriteContext, request: DeleteRangeRequest): WriteOutcome<DeleteRangeResponse> {
  const txn = ctx.store.beginWrite();
  const response = deleteInTxn(txn, request);
  const events = finishWrite(ctx, txn);
  response.header.revision = ctx.store.currentRevision;
  return { response, events };
}

export function applyTxn(ctx: WriteContext, request: TxnRequest): WriteOutcome<TxnResponse> {
  const before = ctx.store.currentRevision;
  const plan = planTxn(ctx.store, request, before);
  checkPlan(ctx, plan, before, checkPut);
  checkPlan(ctx, plan, before, checkRange);
  const txn = ctx.store.beginWrite();
  const response = executePlan(ctx, txn, plan);
  const events = finishWrite(ctx, txn);
  response.header = { revision: ctx.store.currentRevision };
  return { response, events };
}

/** True when no branch (nested ones included) writes: etcd answers such a txn as a read, without the log. */
export function isReadOnlyTxn(request: TxnRequest): boolean {
  const readOnly = (op: RequestOp) => 'requestRange' in op || ('requestTxn' in op && isReadOnlyTxn(op.requestTxn));
  return (request.success ?? []).every(readOnly) && (request.failure ?? []).every(readOnly);
}

/**
 * True when every op of both branches is a serializable range (nested txns are not). Unlike etcd, a txn of
 * compares alone is not: its answer would otherwise come from this member's store as it is, possibly stale.
 */
export function isSerializableTxn(request: TxnRequest): boolean {
  const ops = [...(request.success ?? []), ...(request.failure ?? [])];
  return ops.length > 0 && ops.every((op) => 'requestRange' in op && op.requestRange.serializable === true);
}

/**
 * A read-only txn (see isReadOnlyTxn) evaluated against the store as it is: the same branches, checks and
 * responses as applyTxn gives it, and no revision.
 */
export function readTxn(store: MvccStore, request: TxnRequest): TxnResponse {
  const revision = store.currentRevision;
  const plan = planTxn(store, request, revision);
  checkPlan({ store }, plan, revision, checkRange);
  const response = executeReads(store, plan, revision);
  response.header = { revision };
  return response;
}

function executeReads(store: MvccStore, plan: TxnPlan, revision: Revision): TxnResponse {
  const responses = plan.ops.map((op, index): ResponseOp => {
    if ('requestRange' in op) return { responseRange: executeRange(store, op.requestRange, revision) };
    if ('requestTxn' in op) return { responseTxn: executeReads(store, plan.nested.get(index)!, revision) };
    throw new Error('txn: a write in a read-only txn');
  });
  return { header: { revision: 0 }, succeeded: plan.succeeded, responses };
}

/** Ends the write txn and keeps lease attachments in step with what was written. */
function finishWrite(ctx: WriteContext, txn: WriteTxn): KvEvent[] {
  const events = txn.end();
  for (const event of events) {
    const prevLease = event.prevKv === undefined ? NO_LEASE : event.prevKv.lease;
    const lease = event.type === 'PUT' ? event.kv.lease : NO_LEASE;
    if (prevLease === NO_LEASE && lease === NO_LEASE) continue;
    const key = toKeyString(event.kv.key);
    if (prevLease !== NO_LEASE) ctx.leases.detach(prevLease, key);
    if (lease !== NO_LEASE) ctx.leases.attach(lease, key);
  }
  return events;
}

// ---- compares ------------------------------------------------------------------------------------------

/** etcd's applyCompare: every key in the range must satisfy it; no key compares as all zeros (VALUE fails). */
export function evaluateCompare(store: MvccStore, compare: Compare, revision: Revision): boolean {
  const kvs: KeyValue[] = [];
  store.scan(boundsOf(compare.key, compare.rangeEnd), revision, (history, record) => kvs.push(history.toKeyValue(record)));
  if (kvs.length === 0) {
    if (compare.target === 'VALUE') return false;
    return compareOne(compare, { key: compare.key, createRevision: 0, modRevision: 0, version: 0, value: EMPTY_BYTES, lease: NO_LEASE });
  }
  return kvs.every((kv) => compareOne(compare, kv));
}

function compareOne(compare: Compare, kv: KeyValue): boolean {
  let order: number;
  switch (compare.target) {
    case 'VALUE':
      order = compareBytes(kv.value, compare.value ?? EMPTY_BYTES);
      break;
    case 'VERSION':
      order = Math.sign(kv.version - (compare.version ?? 0));
      break;
    case 'CREATE':
      order = Math.sign(kv.createRevision - (compare.createRevision ?? 0));
      break;
    case 'MOD':
      order = Math.sign(kv.modRevision - (compare.modRevision ?? 0));
      break;
    case 'LEASE': {
      const lease = compare.lease ?? NO_LEASE;
      order = kv.lease < lease ? -1 : kv.lease > lease ? 1 : 0;
      break;
    }
  }
  switch (compare.result) {
    case 'EQUAL':
      return order === 0;
    case 'NOT_EQUAL':
      return order !== 0;
    case 'GREATER':
      return order > 0;
    case 'LESS':
      return order < 0;
  }
}

// ---- txn planning and checks ----------------------------------------------------------------------------

/** Which branch each (nested) txn takes, decided before any write, as etcd's compareToPath does. */
interface TxnPlan {
  succeeded: boolean;
  ops: RequestOp[];
  /** Plans of the nested txns among `ops`, by op index. */
  nested: Map<number, TxnPlan>;
}

function planTxn(store: MvccStore, request: TxnRequest, revision: Revision): TxnPlan {
  const succeeded = (request.compare ?? []).every((c) => evaluateCompare(store, c, revision));
  const ops = (succeeded ? request.success : request.failure) ?? [];
  const nested = new Map<number, TxnPlan>();
  ops.forEach((op, index) => {
    if ('requestTxn' in op) nested.set(index, planTxn(store, op.requestTxn, revision));
  });
  return { succeeded, ops, nested };
}

type OpCheck<C> = (ctx: C, op: RequestOp, revision: Revision) => void;

function checkPlan<C>(ctx: C, plan: TxnPlan, revision: Revision, check: OpCheck<C>): void {
  plan.ops.forEach((op, index) => {
    const nested = plan.nested.get(index);
    if (nested !== undefined) checkPlan(ctx, nested, revision, check);
    else check(ctx, op, revision);
  });
}

function checkPut(ctx: WriteContext, op: RequestOp, revision: Revision): void {
  if (!('requestPut' in op)) return;
  checkPreviousExists(ctx, op.requestPut, revision);
  checkLeaseExists(ctx, op.requestPut);
}

/** A txn's range at an explicit revision is checked against the revision before the txn (0 = latest). */
function checkRange(ctx: { store: MvccStore }, op: RequestOp, revision: Revision): void {
  if (!('requestRange' in op)) return;
  const requested = op.requestRange.revision ?? 0;
  if (requested > revision) throw new KvError('futureRevision');
  if (requested !== 0 && requested < ctx.store.compactRevision) throw new KvError('compacted');
}

function checkLeaseExists(ctx: WriteContext, request: PutRequest): void {
  const lease = request.lease ?? NO_LEASE;
  if (lease !== NO_LEASE && !ctx.leases.has(lease)) throw new KvError('leaseNotFound');
}

/** ignore_value and ignore_lease take the previous value or lease, so the key must exist. */
function checkPreviousExists(ctx: WriteContext, request: PutRequest, revision: Revision): void {
  if (!request.ignoreValue && !request.ignoreLease) return;
  if (ctx.store.liveAt(toKeyString(request.key), revision) === undefined) throw new KvError('keyNotFound');
}

// ---- execution -----------------------------------------------------------------------------------------

function executePlan(ctx: WriteContext, txn: WriteTxn, plan: TxnPlan): TxnResponse {
  const responses: ResponseOp[] = plan.ops.map((op, index): ResponseOp => {
    if ('requestRange' in op) {
      return { responseRange: executeRange(ctx.store, op.requestRange, txn.readRevision) };
    }
    if ('requestPut' in op) return { responsePut: putInTxn(ctx, txn, op.requestPut) };
    if ('requestDeleteRange' in op) return { responseDeleteRange: deleteInTxn(txn, op.requestDeleteRange) };
    // A nested txn's own header is left empty (revision 0), as etcd 3.4 answers.
    return { responseTxn: executePlan(ctx, txn, plan.nested.get(index)!) };
  });
  return { header: { revision: 0 }, succeeded: plan.succeeded, responses };
}

function putInTxn(ctx: WriteContext, txn: WriteTxn, request: PutRequest): PutResponse {
  const key = toKeyString(request.key);
  const history = ctx.store.history(key);
  const previous = history?.liveAt(txn.readRevision);
  let value: Uint8Array;
  if (request.ignoreValue) value = previous!.value;
  else if (request.value === undefined) value = EMPTY_BYTES;
  else value = request.value; // the store keeps a copy (the request's array may be a view into a log entry)
  const lease = request.ignoreLease ? previous!.lease : (request.lease ?? NO_LEASE);
  // The key was not written earlier in this txn (validateRequest), so putTo's prevKv is `previous`.
  const prevKv = txn.putTo(history, key, value, lease);
  const response: PutResponse = { header: { revision: txn.revision } };
  if (request.prevKv && prevKv !== undefined) response.prevKv = prevKv;
  return response;
}

function deleteInTxn(txn: WriteTxn, request: DeleteRangeRequest): DeleteRangeResponse {
  const deleted = txn.deleteRange(boundsOf(request.key, request.rangeEnd));
  return {
    header: { revision: txn.readRevision },
    deleted: deleted.length,
    prevKvs: request.prevKv ? deleted : [],
  };
}
