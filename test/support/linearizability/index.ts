// The linearizability checker: a generic Wing & Gong / Porcupine-style search plus an etcd-like KV model.
export * from './types.ts';
export { checkOperations, describeOperation } from './checker.ts';
export * from './kv-model.ts';
export * from './history.ts';
