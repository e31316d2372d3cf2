// A sequential model of an etcd-like key-value store for the linearizability checker.
//
// Keys and values are JavaScript strings. etcd's keys and values are bytes: convert them with a one-to-one
// encoding whose code-unit order is the byte order, e.g. `Buffer.from(bytes).toString('latin1')` or 'hex'
// (not 'utf8', which is not one-to-one for invalid sequences). Prefix ranges compare strings with `startsWith`,
// which for latin1 is a byte-prefix test (for hex, only even-length prefixes are meaningful).
//
// Revisions (optional): when an output carries `revision` (etcd's response header revision), the model also
// checks that revisions agree with the linearization order: a write (put, delete that deleted something,
// successful CAS) must return a revision greater than any revision seen before it in the order, a read (get,
// range, delete of nothing, failed CAS) one at least as great. `checkRevisionOrder` checks the same rule across
// the whole history in real-time order, since splitting by key loses the order between keys.
import { checkOperations } from './checker.ts';
import type { CheckOptions, CheckResult, Model, Operation } from './types.ts';

export type KvInput =
  | { type: 'put'; key: string; value: string }
  /** A linearizable read of one key. */
  | { type: 'get'; key: string }
  | { type: 'delete'; key: string }
  /** Txn: if the key's value equals `expected` (`null`: the key is missing) then put `value`. */
  | { type: 'cas'; key: string; expected: string | null; value: string }
  /** A linearizable read of every key that starts with `prefix` ('' = all keys). */
  | { type: 'range'; prefix: string };

export type KvOutput =
  | { type: 'put'; revision?: number }
  | { type: 'get'; value: string | null; revision?: number }
  | { type: 'delete'; deleted: number; revision?: number }
  | { type: 'cas'; succeeded: boolean; revision?: number }
  /** The keys and values found, in any order. */
  | { type: 'range'; kvs: [string, string][]; revision?: number };

export type KvOperation = Operation<KvInput, KvOutput>;

export interface KvState {
  readonly kv: ReadonlyMap<string, string>;
  /** XOR of the entries' hashes, kept up to date on every write. */
  readonly h: number;
  /** The highest revision the operations so far prove the store has reached (0: none seen). */
  readonly rev: number;
}

export interface KvModelOptions {
  /** Check `revision` fields where outputs carry them. Default true. */
  revisions?: boolean;
}

/** 32-bit FNV-1a over UTF-16 code units. */
export function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h | 0;
}

function hashEntry(key: string, value: string): number {
  let x = hashString(key) ^ Math.imul(hashString(value), 0x9e3779b1);
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return (x ^ (x >>> 16)) | 0;
}

const EMPTY: KvState = { kv: new Map(), h: 0, rev: 0 };

function withValue(s: KvState, key: string, value: string | null): KvState {
  const old = s.kv.get(key);
  if (old === (value ?? undefined)) return s;
  const kv = new Map(s.kv);
  let h = s.h;
  if (old !== undefined) h ^= hashEntry(key, old);
  if (value === null) kv.delete(key);
  else {
    kv.set(key, value);
    h ^= hashEntry(key, value);
  }
  return { kv, h, rev: s.rev };
}

function isReadOnly(input: KvInput): boolean {
  return input.type === 'get' || input.type === 'range';
}

/** Does this completed operation's output say it wrote (and so got a new revision)? */
function isWrite(output: KvOutput): boolean {
  switch (output.type) {
    case 'put':
      return true;
    case 'delete':
      return output.deleted > 0;
    case 'cas':
      return output.succeeded;
    default:
      return false;
  }
}

const sortedKvs = new WeakMap<object, [string, string][]>();

function sortKvs(output: { kvs: [string, string][] }): [string, string][] {
  let s = sortedKvs.get(output);
  if (!s) {
    s = output.kvs.slice().sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    sortedKvs.set(output, s);
  }
  return s;
}

function rangeMatches(state: KvState, prefix: string, found: [string, string][]): boolean {
  let count = 0;
  for (const k of state.kv.keys()) {
    if (!k.startsWith(prefix)) continue;
    count++;
    if (count > found.length) return false;
  }
  if (count !== found.length) return false;
  for (let i = 0; i < found.length; i++) {
    const [k, v] = found[i]!;
    if (!k.startsWith(prefix) || state.kv.get(k) !== v) return false;
    if (i > 0 && found[i - 1]![0] === k) return false; // duplicate key
  }
  return true;
}

function effect(state: KvState, input: KvInput): KvState {
  switch (input.type) {
    case 'put':
      return withValue(state, input.key, input.value);
    case 'delete':
      return withValue(state, input.key, null);
    case 'cas':
      return (state.kv.get(input.key) ?? null) === input.expected ? withValue(state, input.key, input.value) : state;
    default:
      return state;
  }
}

function outputMatches(state: KvState, input: KvInput, output: KvOutput): boolean {
  if (input.type !== output.type) return false;
  switch (output.type) {
    case 'put':
      return true;
    case 'get':
      return (state.kv.get((input as { key: string }).key) ?? null) === output.value;
    case 'delete':
      return output.deleted === (state.kv.has((input as { key: string }).key) ? 1 : 0);
    case 'cas': {
      const i = input as { key: string; expected: string | null };
      return output.succeeded === ((state.kv.get(i.key) ?? null) === i.expected);
    }
    case 'range':
      return rangeMatches(state, (input as { prefix: string }).prefix, sortKvs(output));
  }
}

function touchedKeys(input: KvInput): string | undefined {
  return input.type === 'range' ? undefined : input.key;
}

/**
 * Splits a KV history into independent groups: one per key, except that a range joins every key it covers
 * (among the keys the history mentions) and every other range covering one of them. This is sound by locality:
 * each group's operations read and write only its own keys. Unknown-outcome reads are dropped (they constrain
 * nothing).
 */
export function partitionKv(history: readonly KvOperation[]): KvOperation[][] {
  const ops = renameUnobservedValues(history.filter((op) => !(op.return === Infinity && isReadOnly(op.input))));
  const parent: number[] = [];
  const find = (x: number): number => {
    while (parent[x] !== x) {
      parent[x] = parent[parent[x]!]!;
      x = parent[x]!;
    }
    return x;
  };
  const union = (a: number, b: number) => {
    const ra = find(a);
    const rb = find(b);
    if (ra !== rb) parent[ra] = rb;
  };
  const node = new Map<string, number>(); // 'k:' + key or 'p:' + prefix
  const nodeOf = (name: string) => {
    let id = node.get(name);
    if (id === undefined) {
      id = parent.length;
      parent.push(id);
      node.set(name, id);
    }
    return id;
  };
  const keys = new Set<string>();
  const prefixes = new Set<string>();
  for (const op of ops) {
    const key = touchedKeys(op.input);
    if (key !== undefined) {
      keys.add(key);
      nodeOf('k:' + key);
    } else {
      prefixes.add((op.input as { prefix: string }).prefix);
      nodeOf('p:' + (op.input as { prefix: string }).prefix);
    }
  }
  for (const p of prefixes) for (const k of keys) if (k.startsWith(p)) union(nodeOf('p:' + p), nodeOf('k:' + k));
  const groups = new Map<number, KvOperation[]>();
  for (const op of ops) {
    const key = touchedKeys(op.input);
    const root = find(node.get(key !== undefined ? 'k:' + key : 'p:' + (op.input as { prefix: string }).prefix)!);
    let g = groups.get(root);
    if (!g) groups.set(root, (g = []));
    g.push(op);
  }
  return [...groups.values()];
}

/** The value that unknown-outcome writes of values nobody observed are renamed to (see below). */
export const UNOBSERVED_VALUE = '\uffff<unobserved>';

/**
 * An unknown-outcome put or CAS of a value that no completed read returned for that key and no CAS compared
 * against can only matter through the key's existence, so all such values are renamed to one placeholder
 * (`UNOBSERVED_VALUE`, which must not be a real value). The history's linearizability does not change (the model
 * only ever compares values for equality with observed ones), but the states reached by different timed-out
 * writes become equal, and the writes interchangeable, which memoisation and `inputKey` exploit.
 */
function renameUnobservedValues(ops: KvOperation[]): KvOperation[] {
  const observed = new Set<string>();
  const note = (key: string, value: string) => observed.add(JSON.stringify([key, value]));
  for (const op of ops) {
    if (op.input.type === 'cas' && op.input.expected !== null) note(op.input.key, op.input.expected);
    if (op.return === Infinity || op.output === undefined) continue;
    if (op.output.type === 'get' && op.output.value !== null) note((op.input as { key: string }).key, op.output.value);
    if (op.output.type === 'range') for (const [k, v] of op.output.kvs) note(k, v);
  }
  return ops.map((op) => {
    const i = op.input;
    if (op.return !== Infinity || (i.type !== 'put' && i.type !== 'cas')) return op;
    if (observed.has(JSON.stringify([i.key, i.value]))) return op;
    if (i.value === UNOBSERVED_VALUE) return op;
    return { ...op, input: { ...i, value: UNOBSERVED_VALUE } };
  });
}

function describeInput(input: KvInput): string {
  const j = JSON.stringify;
  switch (input.type) {
    case 'put':
      return `put(${j(input.key)}, ${j(input.value)})`;
    case 'get':
      return `get(${j(input.key)})`;
    case 'delete':
      return `delete(${j(input.key)})`;
    case 'cas':
      return `cas(${j(input.key)}, ${input.expected === null ? 'missing' : j(input.expected)} -> ${j(input.value)})`;
    case 'range':
      return `range(prefix ${j(input.prefix)})`;
  }
}

function describeOutput(output: KvOutput | undefined): string {
  if (output === undefined) return '?';
  const rev = output.revision === undefined ? '' : ` @rev ${output.revision}`;
  switch (output.type) {
    case 'put':
      return `ok${rev}`;
    case 'get':
      return `${JSON.stringify(output.value)}${rev}`;
    case 'delete':
      return `deleted ${output.deleted}${rev}`;
    case 'cas':
      return `${output.succeeded ? 'succeeded' : 'failed'}${rev}`;
    case 'range':
      return `[${sortKvs(output)
        .map(([k, v]) => `${JSON.stringify(k)}=${JSON.stringify(v)}`)
        .join(', ')}]${rev}`;
  }
}

export function createKvModel(options: KvModelOptions = {}): Model<KvState, KvInput, KvOutput> {
  const revisions = options.revisions ?? true;
  return {
    init: () => EMPTY,
    step(state, input, output) {
      if (output === undefined) return { ok: true, state: effect(state, input) };
      if (!outputMatches(state, input, output)) return { ok: false, state };
      let next = effect(state, input);
      if (revisions && output.revision !== undefined) {
        const r = output.revision;
        if (isWrite(output) ? r <= state.rev : r < state.rev) return { ok: false, state };
        if (r !== next.rev) next = { kv: next.kv, h: next.h, rev: r };
      }
      return { ok: true, state: next };
    },
    equal(a, b) {
      if (a === b) return true;
      if (a.h !== b.h || a.rev !== b.rev || a.kv.size !== b.kv.size) return false;
      for (const [k, v] of a.kv) if (b.kv.get(k) !== v) return false;
      return true;
    },
    hash: (s) => s.h ^ Math.imul(s.rev, 0x27d4eb2d),
    partition: partitionKv,
    // Reads, deletes of nothing and failed CASes leave the keys alone; with revisions they only raise the
    // revision floor, which can only make later steps harder, so moving them earlier is always safe.
    isRead: (_input, output) => output !== undefined && !isWrite(output),
    inputKey: (input) =>
      JSON.stringify(
        input.type === 'range'
          ? [input.type, input.prefix]
          : input.type === 'cas'
            ? [input.type, input.key, input.expected, input.value]
            : input.type === 'put'
              ? [input.type, input.key, input.value]
              : [input.type, input.key],
      ),
    describeOperation: (input, output) => `${describeInput(input)} -> ${describeOutput(output)}`,
    describeState(s) {
      const entries = [...s.kv].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
      const body = entries.map(([k, v]) => `${JSON.stringify(k)}: ${JSON.stringify(v)}`).join(', ');
      return `{${body}}${s.rev > 0 ? ` (revision >= ${s.rev})` : ''}`;
    },
  };
}

/** The KV model with revision checks on. */
export const kvModel = createKvModel();

/**
 * Checks that the revisions in a history agree with its real-time order: if A returned before B was invoked,
 * B's revision must exceed A's when B wrote, and be at least A's otherwise; no two writes share a revision.
 * Returns undefined when consistent, else a description of the first violation found.
 */
export function checkRevisionOrder(history: readonly KvOperation[]): string | undefined {
  const ops = history.filter(
    (op): op is KvOperation & { output: KvOutput & { revision: number } } =>
      op.return !== Infinity && op.output !== undefined && op.output.revision !== undefined,
  );
  const index = new Map<KvOperation, number>();
  history.forEach((op, i) => index.set(op, i));
  const fmt = (op: KvOperation) =>
    `#${index.get(op)} client ${String(op.clientId)} [${op.call}, ${op.return}] ` +
    `${describeInput(op.input)} -> ${describeOutput(op.output)}`;
  const writers = new Map<number, KvOperation>();
  for (const op of ops) {
    if (!isWrite(op.output)) continue;
    const other = writers.get(op.output.revision);
    if (other) return `two writes got revision ${op.output.revision}: ${fmt(other)} and ${fmt(op)}`;
    writers.set(op.output.revision, op);
  }
  const byCall = ops.slice().sort((a, b) => a.call - b.call);
  const byReturn = ops.slice().sort((a, b) => a.return - b.return);
  let j = 0;
  let max: (typeof ops)[number] | undefined;
  for (const b of byCall) {
    while (j < byReturn.length && byReturn[j]!.return < b.call) {
      const a = byReturn[j++]!;
      if (!max || a.output.revision > max.output.revision) max = a;
    }
    if (!max) continue;
    const r = b.output.revision;
    const m = max.output.revision;
    if (isWrite(b.output) ? r <= m : r < m) {
      return `revision goes backwards in real time: ${fmt(max)} returned before ${fmt(b)} was invoked`;
    }
  }
  return undefined;
}

export interface KvCheckOptions extends CheckOptions, KvModelOptions {}

/** Checks a KV history: linearizability per independent group, plus `checkRevisionOrder` across groups. */
export function checkKvHistory(
  history: readonly KvOperation[],
  options: KvCheckOptions = {},
): CheckResult<KvState, KvInput, KvOutput> {
  const revisions = options.revisions ?? true;
  const result = checkOperations(revisions ? kvModel : createKvModel({ revisions: false }), history, options);
  if (result.ok !== false && revisions) {
    const violation = checkRevisionOrder(history);
    if (violation !== undefined) return { ...result, ok: false, explanation: `not linearizable: ${violation}` };
  }
  return result;
}
