// Test harness for the KV state machine: applies requests at consecutive log indexes, with short helpers
// for keys given as text, and assertions on etcd errors.
import assert from 'node:assert/strict';
import { fromUtf8, utf8 } from '../../src/kv/bytes.ts';
import { KvError, type KvErrorKind } from '../../src/kv/errors.ts';
import { KvStateMachine, type KvStateMachineOptions } from '../../src/kv/kv-state-machine.ts';
import type { KeyValue, KvRequest, PutRequest, RangeRequest, ResponseFor } from '../../src/kv/types.ts';
import type { WatchBatch, WatchCreateOptions } from '../../src/kv/watch-hub.ts';

export { utf8 };

export class Harness {
  readonly sm: KvStateMachine;
  index = 0;

  constructor(options: KvStateMachineOptions = {}) {
    this.sm = new KvStateMachine(options);
  }

  /** Applies through the log path: prepare (validate, encode, size check), then apply the bytes. */
  apply<R extends KvRequest>(request: R): ResponseFor<R> {
    const data = this.sm.prepareProposal(request);
    return this.sm.apply(data, ++this.index) as ResponseFor<R>;
  }

  put(key: string, value: string, extra: Omit<PutRequest, 'key' | 'value'> = {}) {
    return this.apply({ type: 'put', key: utf8(key), value: utf8(value), ...extra });
  }

  del(key: string, rangeEnd?: string, prevKv = false) {
    return this.apply({ type: 'deleteRange', key: utf8(key), ...(rangeEnd === undefined ? {} : { rangeEnd: utf8(rangeEnd) }), prevKv });
  }

  get(key: string, extra: Omit<RangeRequest, 'key'> = {}) {
    return this.sm.range({ key: utf8(key), ...extra });
  }

  /** The live kv of a key, or undefined. */
  kv(key: string): KeyValue | undefined {
    return this.get(key).kvs[0];
  }

  /** Applies a request that must fail with the given etcd error; the entry still consumes an index. */
  rejects(request: KvRequest, kind: KvErrorKind): void {
    const before = this.sm.hash();
    assert.throws(
      () => this.sm.applyRequest(request, ++this.index),
      (error: unknown) => error instanceof KvError && error.kind === kind,
      `expected ${kind}`,
    );
    assert.equal(this.sm.hash(), before, 'a failed request must not change the state');
  }

  watch(options: Omit<WatchCreateOptions, 'key'> & { key: string; end?: string }): { id: number; batches: WatchBatch[] } {
    const batches: WatchBatch[] = [];
    const { key, end, ...rest } = options;
    const id = this.sm.watches.create(
      { key: utf8(key), ...(end === undefined ? {} : { rangeEnd: utf8(end) }), ...rest },
      (batch) => batches.push(batch),
    );
    return { id, batches };
  }
}

export function keysOf(kvs: readonly KeyValue[]): string[] {
  return kvs.map((kv) => fromUtf8(kv.key));
}

export function text(bytes: Uint8Array | undefined): string | undefined {
  return bytes === undefined ? undefined : fromUtf8(bytes);
}
