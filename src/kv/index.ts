// The public surface of the KV state machine, for the runtime, the gRPC layer and the simulator.
export * from './bytes.ts';
export * from './errors.ts';
export * from './types.ts';
export { encodeRequest, decodeRequest } from './codec.ts';
export { validateRequest } from './validate.ts';
export { MvccStore, WriteTxn, KeyHistory, type KeyRecord, type MvccReadView } from './mvcc-store.ts';
export { executeRange } from './range.ts';
export { applyPut, applyDeleteRange, applyTxn, evaluateCompare } from './txn.ts';
export { LeaseTable, compareLeaseIds, type Lease } from './lease.ts';
export { Lessor, type LessorOptions, type LeaseTtlSource } from './lessor.ts';
export { WatchHub, type WatchBatch, type WatchCreateOptions, type WatchFilter, type WatchSink, type WatchHistory } from './watch-hub.ts';
export { encodeSnapshot, decodeSnapshot, hashState, SnapshotEncoder } from './snapshot.ts';
export { digest64 } from './hash.ts';
export { KvStateMachine, type KvStateMachineOptions } from './kv-state-machine.ts';
