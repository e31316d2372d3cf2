// Range reads with etcd's exact semantics (etcdserver's applier Range over mvcc's rangeKeys):
// - count is the number of keys in the range at the revision, before limit and revision filters;
// - with no sort order and no revision filter, at most limit + 1 keys are fetched and `more` says whether
//   the limit cut the result; otherwise everything is fetched, filtered, sorted, then cut;
// - sort target KEY with order ASCEND is the natural order; any other target with order NONE sorts ASCEND;
//   target KEY with order NONE is unsorted, i.e. ascending by key as well;
// - keys_only empties values after sorting (so sorting by VALUE still works); count_only returns no kvs.

import { boundsOf, compareBytes, EMPTY_BYTES } from './bytes.ts';
import type { MvccReadView } from './mvcc-store.ts';
import type { KeyValue, RangeRequest, RangeResponse, Revision, SortOrder, SortTarget } from './types.ts';

/**
 * Serves a range at `request.revision` (or at `latest` when it is <= 0). `latest` is the store revision,
 * or inside a write txn the txn's read revision. Throws KvError for future or compacted revisions.
 */
export function executeRange(store: MvccReadView & RangeRevisionResolver, request: RangeRequest, latest?: Revision): RangeResponse {
  const headerRevision = latest ?? store.currentRevision;
  const revision = store.resolveReadRevision(request.revision, headerRevision);
  const limit = request.limit ?? 0;
  const filtered = hasRevisionFilters(request);
  const sortOrder = request.sortOrder ?? 'NONE';
  // etcd fetches everything when it has to sort or filter; otherwise one more than the limit, for `more`.
  const fetchLimit = sortOrder !== 'NONE' || filtered || limit <= 0 ? Infinity : limit + 1;

  let count = 0;
  let kvs: KeyValue[] = [];
  store.scan(boundsOf(request.key, request.rangeEnd), revision, (history, record) => {
    count++;
    if (request.countOnly || kvs.length >= fetchLimit) return;
    kvs.push(history.toKeyValue(record));
  });

  if (filtered) kvs = kvs.filter((kv) => passesRevisionFilters(request, kv));
  sortKeyValues(kvs, request.sortTarget ?? 'KEY', sortOrder);
  let more = false;
  if (limit > 0 && kvs.length > limit) {
    kvs = kvs.slice(0, limit);
    more = true;
  }
  if (request.keysOnly) kvs = kvs.map((kv) => ({ ...kv, value: EMPTY_BYTES }));
  // etcd's header carries the store's current revision even for a read at a past revision.
  return { header: { revision: headerRevision }, kvs, more, count };
}

/** The part of MvccStore that validates read revisions. */
export interface RangeRevisionResolver {
  resolveReadRevision(requested: Revision | undefined, latest?: Revision): Revision;
}

function hasRevisionFilters(request: RangeRequest): boolean {
  return Boolean(request.minModRevision || request.maxModRevision || request.minCreateRevision || request.maxCreateRevision);
}

/** etcd's pruneKVs: a zero bound is no bound. */
function passesRevisionFilters(request: RangeRequest, kv: KeyValue): boolean {
  if (request.maxModRevision && kv.modRevision > request.maxModRevision) return false;
  if (request.minModRevision && kv.modRevision < request.minModRevision) return false;
  if (request.maxCreateRevision && kv.createRevision > request.maxCreateRevision) return false;
  if (request.minCreateRevision && kv.createRevision < request.minCreateRevision) return false;
  return true;
}

/** Sorts in place. The store yields key order, so ties keep key order (JS sort is stable). */
function sortKeyValues(kvs: KeyValue[], target: SortTarget, requestedOrder: SortOrder): void {
  let order = requestedOrder;
  if (target !== 'KEY' && order === 'NONE') order = 'ASCEND';
  else if (target === 'KEY' && order === 'ASCEND') order = 'NONE'; // already in key order
  if (order === 'NONE') return;
  const compare = comparatorFor(target);
  const sign = order === 'DESCEND' ? -1 : 1;
  kvs.sort((a, b) => sign * compare(a, b));
}

function comparatorFor(target: SortTarget): (a: KeyValue, b: KeyValue) => number {
  switch (target) {
    case 'KEY':
      return (a, b) => compareBytes(a.key, b.key);
    case 'VERSION':
      return (a, b) => a.version - b.version;
    case 'CREATE':
      return (a, b) => a.createRevision - b.createRevision;
    case 'MOD':
      return (a, b) => a.modRevision - b.modRevision;
    case 'VALUE':
      return (a, b) => compareBytes(a.value, b.value);
  }
}
