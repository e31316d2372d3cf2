// Between the wire objects that @grpc/proto-loader produces (int64 as decimal strings, enums by name, bytes as
// Buffers, every field present) and the KV store's types (numbers, bigint lease ids, Uint8Arrays). Field names
// already agree: both are the camelCase of etcd's proto names.
import type {
  Compare,
  CompareResult,
  CompareTarget,
  DeleteRangeRequest,
  DeleteRangeResponse,
  KeyValue,
  KvEvent,
  PutRequest,
  PutResponse,
  RangeRequest,
  RangeResponse,
  RequestOp,
  ResponseOp,
  SortOrder,
  SortTarget,
  TxnRequest,
  TxnResponse,
} from '../../kv/types.ts';
import type { WatchFilter } from '../../kv/watch-hub.ts';
import type { ProtoHeader } from './header.ts';

/** A wire message as proto-loader hands it over: loosely typed, so every read goes through a helper below. */
export type Wire = Record<string, unknown>;

const EMPTY = new Uint8Array(0);

export function bytes(value: unknown): Uint8Array {
  return value instanceof Uint8Array ? value : EMPTY;
}

/** int64 fields: decimal strings on the wire. A value beyond 2^53 loses precision, as types.ts accepts. */
export function num(value: unknown): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'string' && value !== '') return Number(value);
  return 0;
}

/** Lease ids: int64 kept exact. */
export function leaseId(value: unknown): bigint {
  if (typeof value === 'bigint') return value;
  if (typeof value === 'string' && /^-?\d+$/.test(value)) return BigInt(value);
  if (typeof value === 'number' && Number.isInteger(value)) return BigInt(value);
  return 0n;
}

function oneOf<T extends string>(value: unknown, names: readonly T[], fallback: T): T {
  if (typeof value === 'string' && (names as readonly string[]).includes(value)) return value as T;
  if (typeof value === 'number' && names[value] !== undefined) return names[value]!;
  return fallback;
}

const SORT_ORDERS = ['NONE', 'ASCEND', 'DESCEND'] as const satisfies readonly SortOrder[];
const SORT_TARGETS = ['KEY', 'VERSION', 'CREATE', 'MOD', 'VALUE'] as const satisfies readonly SortTarget[];
const COMPARE_RESULTS = ['EQUAL', 'GREATER', 'LESS', 'NOT_EQUAL'] as const satisfies readonly CompareResult[];
const COMPARE_TARGETS = ['VERSION', 'CREATE', 'MOD', 'VALUE', 'LEASE'] as const satisfies readonly CompareTarget[];
const FILTERS = ['NOPUT', 'NODELETE'] as const satisfies readonly WatchFilter[];

// ---------------------------------------------------------------- requests

export function rangeRequest(w: Wire): RangeRequest {
  return {
    key: bytes(w.key),
    rangeEnd: bytes(w.rangeEnd),
    limit: num(w.limit),
    revision: num(w.revision),
    sortOrder: oneOf(w.sortOrder, SORT_ORDERS, 'NONE'),
    sortTarget: oneOf(w.sortTarget, SORT_TARGETS, 'KEY'),
    serializable: w.serializable === true,
    keysOnly: w.keysOnly === true,
    countOnly: w.countOnly === true,
    minModRevision: num(w.minModRevision),
    maxModRevision: num(w.maxModRevision),
    minCreateRevision: num(w.minCreateRevision),
    maxCreateRevision: num(w.maxCreateRevision),
  };
}

export function putRequest(w: Wire): PutRequest {
  return {
    key: bytes(w.key),
    value: bytes(w.value),
    lease: leaseId(w.lease),
    prevKv: w.prevKv === true,
    ignoreValue: w.ignoreValue === true,
    ignoreLease: w.ignoreLease === true,
  };
}

export function deleteRangeRequest(w: Wire): DeleteRangeRequest {
  return { key: bytes(w.key), rangeEnd: bytes(w.rangeEnd), prevKv: w.prevKv === true };
}

function compare(w: Wire): Compare {
  const c: Compare = {
    result: oneOf(w.result, COMPARE_RESULTS, 'EQUAL'),
    target: oneOf(w.target, COMPARE_TARGETS, 'VERSION'),
    key: bytes(w.key),
    rangeEnd: bytes(w.rangeEnd),
  };
  // Only the member of target_union that was sent is present on the wire object.
  if (w.version !== undefined) c.version = num(w.version);
  if (w.createRevision !== undefined) c.createRevision = num(w.createRevision);
  if (w.modRevision !== undefined) c.modRevision = num(w.modRevision);
  if (w.value !== undefined) c.value = bytes(w.value);
  if (w.lease !== undefined) c.lease = leaseId(w.lease);
  return c;
}

function requestOp(w: Wire): RequestOp | undefined {
  if (w.requestRange) return { requestRange: rangeRequest(w.requestRange as Wire) };
  if (w.requestPut) return { requestPut: putRequest(w.requestPut as Wire) };
  if (w.requestDeleteRange) return { requestDeleteRange: deleteRangeRequest(w.requestDeleteRange as Wire) };
  if (w.requestTxn) return { requestTxn: txnRequest(w.requestTxn as Wire) };
  return undefined; // an empty RequestOp: etcd skips it too
}

function list(value: unknown): Wire[] {
  return Array.isArray(value) ? (value as Wire[]) : [];
}

export function txnRequest(w: Wire): TxnRequest {
  const ops = (v: unknown) => list(v).map(requestOp).filter((op): op is RequestOp => op !== undefined);
  return { compare: list(w.compare).map(compare), success: ops(w.success), failure: ops(w.failure) };
}

export function watchFilters(value: unknown): WatchFilter[] {
  return Array.isArray(value) ? value.map((f) => oneOf(f, FILTERS, 'NOPUT')) : [];
}

// ---------------------------------------------------------------- responses

export interface WireKeyValue {
  key: Uint8Array;
  createRevision: number;
  modRevision: number;
  version: number;
  value: Uint8Array;
  lease: string;
}

export function keyValue(kv: KeyValue): WireKeyValue {
  return {
    key: kv.key,
    createRevision: kv.createRevision,
    modRevision: kv.modRevision,
    version: kv.version,
    value: kv.value,
    lease: kv.lease.toString(),
  };
}

export function event(e: KvEvent): Wire {
  return { type: e.type, kv: keyValue(e.kv), ...(e.prevKv ? { prevKv: keyValue(e.prevKv) } : {}) };
}

/** A header maker: fills cluster/member ids and term around a store revision. */
export type MakeHeader = (revision?: number) => Partial<ProtoHeader>;

export function rangeResponse(r: RangeResponse, header: MakeHeader): Wire {
  return { header: header(r.header.revision), kvs: r.kvs.map(keyValue), more: r.more, count: r.count };
}

export function putResponse(r: PutResponse, header: MakeHeader): Wire {
  return { header: header(r.header.revision), ...(r.prevKv ? { prevKv: keyValue(r.prevKv) } : {}) };
}

export function deleteRangeResponse(r: DeleteRangeResponse, header: MakeHeader): Wire {
  return { header: header(r.header.revision), deleted: r.deleted, prevKvs: r.prevKvs.map(keyValue) };
}

export function txnResponse(r: TxnResponse, header: MakeHeader): Wire {
  return { header: header(r.header.revision), succeeded: r.succeeded, responses: r.responses.map((op) => responseOp(op, revisionOnly)) };
}

/** etcd fills in only the revision of the headers inside a txn's responses. */
const revisionOnly: MakeHeader = (revision) => ({ revision: revision ?? 0 });

function responseOp(op: ResponseOp, header: MakeHeader): Wire {
  if ('responseRange' in op) return { responseRange: rangeResponse(op.responseRange, header) };
  if ('responsePut' in op) return { responsePut: putResponse(op.responsePut, header) };
  if ('responseDeleteRange' in op) return { responseDeleteRange: deleteRangeResponse(op.responseDeleteRange, header) };
  return { responseTxn: txnResponse(op.responseTxn, header) };
}
