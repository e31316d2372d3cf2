// Types shared by the linearizability checker and its models.
//
// A history is a list of operations, each with the time it was invoked (`call`) and the time its response
// arrived (`return`). Times are any numbers that are consistent across all clients of one history (a simulated
// clock, or a logical counter bumped at every call and response event). An operation whose response never
// arrived (timed out, crashed client, cluster shut down first) has `return: Infinity`: it may have taken effect
// at any point after its call, or never, and its `output` is ignored (the checker passes `undefined` to the
// model for it).

/** One operation of a history. */
export interface Operation<I, O> {
  /** Who issued it; used only to describe operations in explanations. */
  clientId: number | string;
  input: I;
  /** The response: required when `return` is finite, ignored (treated as unknown) when `return === Infinity`. */
  output?: O;
  /** Invocation time (finite). */
  call: number;
  /** Response time (>= call), or `Infinity` when the outcome is unknown. */
  return: number;
}

/** The `return` time of an operation whose outcome is unknown. */
export const UNKNOWN_RETURN = Infinity;

export interface StepResult<S> {
  ok: boolean;
  state: S;
}

/**
 * A sequential specification. States must be immutable: `step` returns a new state and never modifies the one it
 * is given (the search keeps old states around to backtrack).
 */
export interface Model<S, I, O> {
  init(): S;
  /**
   * Applies `input` to `state`. `ok` says whether `output` is what the sequential object would have answered.
   * `output` is `undefined` for an operation with an unknown outcome: the model must then accept (`ok: true`) in
   * every state and return the state the operation would produce if it took effect.
   */
  step(state: S, input: I, output: O | undefined): StepResult<S>;
  /** State equality, for memoisation. */
  equal(a: S, b: S): boolean;
  /** A 32-bit hash consistent with `equal`. */
  hash(state: S): number;
  /**
   * Splits a history into independent sub-histories that are checked separately (sound when they touch
   * disjoint parts of the state: Herlihy & Wing's locality). May also drop operations that cannot constrain
   * anything. Without it the history is checked as a whole.
   */
  partition?(history: readonly Operation<I, O>[]): Operation<I, O>[][];
  /**
   * Optional pruning hint for read-like operations (given a completed operation's input and output). Return
   * true only when this holds: if `step` accepts the operation in a state and returns an equal state, then in
   * any linearization that places it later, moving it to that earlier point keeps the linearization valid.
   * Pure reads qualify. The checker then linearizes such an operation as soon as it fits without trying
   * alternatives, which avoids exploring every interleaving of the writes around it.
   */
  isRead?(input: I, output: O | undefined): boolean;
  /**
   * Optional: a string that is equal for two inputs exactly when they have the same effect in every state.
   * Unknown-outcome operations with equal keys are interchangeable, and the checker then only tries them in
   * call order, which keeps many pending timed-out writes from multiplying the search.
   */
  inputKey?(input: I): string;
  /** One-line description of an operation, for explanations. */
  describeOperation?(input: I, output: O | undefined): string;
  /** One-line description of a state, for explanations. */
  describeState?(state: S): string;
}

export interface CheckOptions {
  /** Gives up after this long with `ok: 'unknown'`. Default: no limit. */
  timeoutMs?: number;
}

/** Why a history is not linearizable: the search's best attempt at the failing sub-history. */
export interface LinearizabilityFailure<S, I, O> {
  /** Index of the failing sub-history in the model's partition (0 when not partitioned). */
  partitionIndex: number;
  /** The failing sub-history. */
  partition: Operation<I, O>[];
  /** The longest linearizable prefix found (most completed operations), in linearization order. */
  prefix: Operation<I, O>[];
  /** The model state after `prefix`. */
  stateAfterPrefix: S;
  /**
   * The completed operation, not in `prefix`, that returned first: it (or an operation concurrent with it) had
   * to be linearized next, and none could be.
   */
  blocking: Operation<I, O>;
  /** The operations that could have been linearized right after `prefix`, and whether the model accepted them. */
  candidates: { op: Operation<I, O>; accepted: boolean }[];
}

export interface CheckResult<S, I, O> {
  /** true: linearizable; false: not; 'unknown': the time limit ran out first. */
  ok: boolean | 'unknown';
  /** Empty when ok; otherwise a human-readable account of the failure or the time-out. */
  explanation: string;
  failure?: LinearizabilityFailure<S, I, O>;
  /** Number of sub-histories the history was split into. */
  partitions: number;
  /** Number of operations in the history given. */
  operations: number;
  elapsedMs: number;
}
