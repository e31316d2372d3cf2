// A linearizability checker for histories of concurrent operations, after Wing & Gong's search with Lowe's
// memoisation (the same design as Porcupine).
//
// The history becomes a doubly linked list of call and return events sorted by time. The search walks the list
// from the front: at a call event it tries to linearize that operation now (the model must accept its output in
// the current state); if so, both of its events are unlinked ("lifted") and the walk restarts from the front. At
// a return event, the operation that returns there was not linearized yet, and every operation still listed
// before it has been tried, so the search backtracks: it pops the last linearized operation, relinks its events
// ("unlift", in exact reverse order so the list is restored) and tries the next event after that operation's
// call. A cache of (set of linearized operations, model state) pairs already visited prunes repeated work: the
// same set reached in a different order with an equal state has the same future.
//
// Operations with an unknown outcome (return = Infinity) have their return event at the end of the list, so they
// never force a backtrack; they can be linearized at any point after their call. "Never took effect" is covered
// by stopping as soon as every completed operation is linearized (the model accepts an unknown operation in any
// state, so the leftovers could always be appended). The cache also treats a visited entry as covering any later
// one with the same completed operations and state but a superset of unknown-outcome operations linearized (the
// later one has fewer options left): this keeps histories with many unknown outcomes from blowing up.
//
// Two more prunings, both enabled by optional model hooks: a read (`isRead`) that fits at the current node
// without changing the state is linearized at once with no alternatives tried (any completion can be reordered
// to start with it), and unknown-outcome operations with identical inputs (`inputKey`) are only tried in call
// order (they are interchangeable).
import type { CheckOptions, CheckResult, LinearizabilityFailure, Model, Operation } from './types.ts';

type SearchResult = { kind: 'ok' } | { kind: 'timeout' } | { kind: 'fail'; prefix: number[] };

interface CacheEntry<S> {
  bits: Uint32Array;
  state: S;
}

/** Checks whether `history` is linearizable with respect to `model`. */
export function checkOperations<S, I, O>(
  model: Model<S, I, O>,
  history: readonly Operation<I, O>[],
  options: CheckOptions = {},
): CheckResult<S, I, O> {
  const start = Date.now();
  const deadline = options.timeoutMs === undefined ? Infinity : start + options.timeoutMs;
  history.forEach(validate);
  const parts = model.partition ? model.partition(history) : [history.slice()];
  const done = (ok: boolean | 'unknown', explanation: string, failure?: LinearizabilityFailure<S, I, O>) => {
    const result: CheckResult<S, I, O> = {
      ok,
      explanation,
      partitions: parts.length,
      operations: history.length,
      elapsedMs: Date.now() - start,
    };
    if (failure) result.failure = failure;
    return result;
  };
  for (let p = 0; p < parts.length; p++) {
    const ops = parts[p]!;
    const r = search(model, ops, deadline);
    if (r.kind === 'timeout') {
      return done(
        'unknown',
        `timed out after ${Date.now() - start} ms while checking sub-history ${p + 1} of ${parts.length} ` +
          `(${ops.length} operations); ${p} sub-histories were linearizable`,
      );
    }
    if (r.kind === 'fail') {
      const failure = buildFailure(model, ops, p, r.prefix);
      return done(false, explain(model, history, parts.length, failure), failure);
    }
  }
  return done(true, '');
}

function validate<I, O>(op: Operation<I, O>, index: number): void {
  if (!Number.isFinite(op.call)) throw new Error(`operation #${index}: call time ${op.call} is not finite`);
  if (Number.isNaN(op.return) || op.return < op.call) {
    throw new Error(`operation #${index}: return time ${op.return} is before its call time ${op.call}`);
  }
  if (op.return !== Infinity && op.output === undefined) {
    throw new Error(`operation #${index}: completed (return ${op.return}) but has no output`);
  }
}

/** Deterministic 32-bit values for the incremental (Zobrist) hash of the linearized set. */
function zobristValues(n: number): Int32Array {
  const z = new Int32Array(n);
  let s = 0x2545f491;
  for (let i = 0; i < n; i++) {
    s = (s + 0x9e3779b9) | 0;
    let x = s;
    x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
    x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
    z[i] = x ^ (x >>> 16);
  }
  return z;
}

const DEADLINE_CHECK_EVERY = 1024;

/** Searches one sub-history. Node ids: 2i = call of op i, 2i+1 = its return, 2n = list head. */
function search<S, I, O>(model: Model<S, I, O>, ops: readonly Operation<I, O>[], deadline: number): SearchResult {
  const n = ops.length;
  const unknown = ops.map((op) => op.return === Infinity);
  let knownLeft = unknown.reduce((c, u) => (u ? c : c + 1), 0);
  if (knownLeft === 0) return { kind: 'ok' };

  // The event list, sorted by time; a call sorts before a return at the same time (they overlap).
  const events: number[] = [];
  for (let i = 0; i < 2 * n; i++) events.push(i);
  const time = (e: number) => ((e & 1) === 0 ? ops[e >> 1]!.call : ops[e >> 1]!.return);
  events.sort((a, b) => {
    const ta = time(a);
    const tb = time(b);
    return ta < tb ? -1 : ta > tb ? 1 : (a & 1) - (b & 1);
  });
  const HEAD = 2 * n;
  const next = new Int32Array(2 * n + 1).fill(-1);
  const prev = new Int32Array(2 * n + 1).fill(-1);
  let last = HEAD;
  for (const e of events) {
    next[last] = e;
    prev[e] = last;
    last = e;
  }
  const unlink = (e: number) => {
    next[prev[e]!] = next[e]!;
    if (next[e] !== -1) prev[next[e]!] = prev[e]!;
  };
  const relink = (e: number) => {
    next[prev[e]!] = e;
    if (next[e] !== -1) prev[next[e]!] = e;
  };
  const lift = (i: number) => {
    unlink(2 * i);
    unlink(2 * i + 1);
  };
  const unlift = (i: number) => {
    relink(2 * i + 1);
    relink(2 * i);
  };

  // For each unknown-outcome operation, the closest earlier-called interchangeable one (or -1): it is only tried
  // once that twin is linearized (swapping the two in any linearization gives another one).
  const twinBefore = new Int32Array(n).fill(-1);
  if (model.inputKey) {
    const lastByKey = new Map<string, number>();
    const byCall = [...ops.keys()].filter((i) => unknown[i]).sort((a, b) => ops[a]!.call - ops[b]!.call);
    for (const i of byCall) {
      const k = model.inputKey(ops[i]!.input);
      const t = lastByKey.get(k);
      if (t !== undefined) twinBefore[i] = t;
      lastByKey.set(k, i);
    }
  }
  const words = (n + 31) >>> 5;
  const bits = new Uint32Array(words);
  const knownMask = new Uint32Array(words);
  for (let i = 0; i < n; i++) if (!unknown[i]) knownMask[i >>> 5]! |= 1 << (i & 31);
  const zobrist = zobristValues(n);
  let zob = 0; // hash of the completed operations linearized so far
  const cache = new Map<number, CacheEntry<S>[]>();

  /** True if an entry already visited covers (bits, state); otherwise records it and returns false. */
  const seenOrRecord = (state: S): boolean => {
    const key = (zob ^ Math.imul(model.hash(state), 0x9e3779b1)) | 0;
    let bucket = cache.get(key);
    if (bucket) {
      outer: for (const entry of bucket) {
        const c = entry.bits;
        for (let w = 0; w < words; w++) {
          const x = bits[w]!;
          // Covered when entry ⊆ current and they differ only in unknown-outcome operations.
          if ((c[w]! & ~x) !== 0 || (x & ~c[w]! & knownMask[w]!) !== 0) continue outer;
        }
        if (model.equal(entry.state, state)) return true;
      }
    } else {
      bucket = [];
      cache.set(key, bucket);
    }
    bucket.push({ bits: bits.slice(), state });
    return false;
  };

  const opStack: number[] = [];
  const stateStack: S[] = [];
  const forcedStack: boolean[] = [];
  let state = model.init();
  let knownDone = 0;
  let bestKnown = -1;
  let best: number[] = [];
  const outputOf = (i: number) => (unknown[i] ? undefined : ops[i]!.output);
  const setBit = (i: number) => {
    bits[i >>> 5]! |= 1 << (i & 31);
    if (!unknown[i]) zob ^= zobrist[i]!;
  };
  const clearBit = (i: number) => {
    bits[i >>> 5]! &= ~(1 << (i & 31));
    if (!unknown[i]) zob ^= zobrist[i]!;
  };
  /** Linearizes op i next, reaching `to`, unless that node is covered by the cache (then returns false). */
  const tryPush = (i: number, to: S, forced: boolean): boolean => {
    setBit(i);
    if (seenOrRecord(to)) {
      clearBit(i);
      return false;
    }
    opStack.push(i);
    stateStack.push(state);
    forcedStack.push(forced);
    state = to;
    lift(i);
    if (!unknown[i]) {
      knownDone++;
      knownLeft--;
      if (knownDone > bestKnown) {
        bestKnown = knownDone;
        best = opStack.slice();
      }
    }
    return true;
  };
  /**
   * The current node has no completion: undo choices until one with untried alternatives, returning the event
   * to resume from, or -1 when the stack is exhausted. A forced choice had no alternatives worth trying, so its
   * parent is undone as well.
   */
  const backtrack = (): number => {
    while (true) {
      const i = opStack.pop();
      if (i === undefined) return -1;
      state = stateStack.pop()!;
      const forced = forcedStack.pop()!;
      clearBit(i);
      if (!unknown[i]) {
        knownDone--;
        knownLeft++;
      }
      unlift(i);
      if (!forced) return next[2 * i]!;
    }
  };
  /**
   * At a new node: linearize right away a read that the model accepts without changing the state, if any is a
   * candidate. Any completion could be reordered to start with it, so no alternative is tried here.
   * Returns 'pushed', 'none', or 'dead' (the forced node was covered by the cache, so this node fails).
   */
  const forceRead = (): 'pushed' | 'none' | 'dead' => {
    if (!model.isRead) return 'none';
    for (let f = next[HEAD]!; f !== -1 && (f & 1) === 0; f = next[f]!) {
      const i = f >> 1;
      if (unknown[i] || !model.isRead(ops[i]!.input, ops[i]!.output)) continue;
      const r = model.step(state, ops[i]!.input, outputOf(i));
      if (!r.ok || !model.equal(r.state, state)) continue;
      return tryPush(i, r.state, true) ? 'pushed' : 'dead';
    }
    return 'none';
  };

  let steps = 0;
  let fresh = true; // at a node not yet expanded
  let e = next[HEAD]!;
  while (true) {
    if (++steps % DEADLINE_CHECK_EVERY === 0 && Date.now() > deadline) return { kind: 'timeout' };
    if (knownLeft === 0) return { kind: 'ok' };
    if (fresh) {
      fresh = false;
      const forced = forceRead();
      if (forced === 'pushed') {
        fresh = true;
        continue;
      }
      e = forced === 'dead' ? backtrack() : next[HEAD]!;
    } else if ((e & 1) === 0) {
      // Candidates are tried in call order, unknown-outcome ones included (trying completed ones first was
      // measured to be much slower: a timed-out write that took effect is usually needed soon after its call).
      const i = e >> 1;
      const t = twinBefore[i]!;
      if (t === -1 || (bits[t >>> 5]! & (1 << (t & 31))) !== 0) {
        const r = model.step(state, ops[i]!.input, outputOf(i));
        if (r.ok && tryPush(i, r.state, false)) {
          fresh = true;
          continue;
        }
      }
      e = next[e]!;
    } else {
      // An operation returns here without having been linearized: undo the last choice.
      e = backtrack();
    }
    if (e === -1) return { kind: 'fail', prefix: best };
  }
}

function buildFailure<S, I, O>(
  model: Model<S, I, O>,
  ops: Operation<I, O>[],
  partitionIndex: number,
  prefixIdx: number[],
): LinearizabilityFailure<S, I, O> {
  const out = (op: Operation<I, O>) => (op.return === Infinity ? undefined : op.output);
  let state = model.init();
  for (const i of prefixIdx) state = model.step(state, ops[i]!.input, out(ops[i]!)).state;
  const inPrefix = new Set(prefixIdx);
  const rest = ops.filter((_, i) => !inPrefix.has(i));
  let blocking: Operation<I, O> | undefined;
  for (const op of rest) if (op.return !== Infinity && (!blocking || op.return < blocking.return)) blocking = op;
  // The search only fails while some completed operation is left, so `blocking` exists.
  const limit = blocking!.return;
  const candidates = rest
    .filter((op) => op.call <= limit)
    .sort((a, b) => a.call - b.call)
    .map((op) => ({ op, accepted: model.step(state, op.input, out(op)).ok }));
  return {
    partitionIndex,
    partition: ops,
    prefix: prefixIdx.map((i) => ops[i]!),
    stateAfterPrefix: state,
    blocking: blocking!,
    candidates,
  };
}

const SHOWN_PREFIX = 20;

function explain<S, I, O>(
  model: Model<S, I, O>,
  history: readonly Operation<I, O>[],
  partitions: number,
  f: LinearizabilityFailure<S, I, O>,
): string {
  const index = new Map<Operation<I, O>, number>();
  history.forEach((op, i) => index.set(op, i));
  const fmt = (op: Operation<I, O>) => describeOperation(model, op, index.get(op));
  const lines: string[] = [];
  const completed = f.partition.filter((op) => op.return !== Infinity).length;
  lines.push(
    `not linearizable: sub-history ${f.partitionIndex + 1} of ${partitions} ` +
      `(${f.partition.length} operations, ${completed} completed)`,
  );
  lines.push(`longest linearizable prefix found: ${f.prefix.length} operations`);
  const skipped = Math.max(0, f.prefix.length - SHOWN_PREFIX);
  if (skipped > 0) lines.push(`  ... ${skipped} earlier operations`);
  f.prefix.slice(skipped).forEach((op, k) => lines.push(`  ${skipped + k + 1}. ${fmt(op)}`));
  lines.push(`state after the prefix: ${model.describeState ? model.describeState(f.stateAfterPrefix) : safeJson(f.stateAfterPrefix)}`);
  lines.push(`then ${fmt(f.blocking)}`);
  lines.push('had to take effect before it returned, but no operation that could go next fits:');
  for (const c of f.candidates) {
    lines.push(`  ${c.accepted ? 'accepted, but leads to a dead end:' : 'rejected:'} ${fmt(c.op)}`);
  }
  return lines.join('\n');
}

/** "#12 client 3 [10, 14] put("k", "v") -> rev 5" */
export function describeOperation<S, I, O>(model: Model<S, I, O>, op: Operation<I, O>, index?: number): string {
  const unknown = op.return === Infinity;
  const output = unknown ? undefined : op.output;
  const what = model.describeOperation
    ? model.describeOperation(op.input, output)
    : `${safeJson(op.input)} -> ${unknown ? '?' : safeJson(output)}`;
  const id = index === undefined ? '' : `#${index} `;
  return `${id}client ${String(op.clientId)} [${op.call}, ${unknown ? 'unknown outcome' : op.return}] ${what}`;
}

function safeJson(v: unknown): string {
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}
