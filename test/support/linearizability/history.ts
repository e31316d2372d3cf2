// Records a history while a test runs: `invoke` when a client sends a request, then `ok` with the response, or
// `unknown` (or nothing at all) when the outcome is not known. Operations still pending when `operations()` is
// called count as unknown outcomes (return = Infinity).
import type { Operation } from './types.ts';

export interface PendingOperation {
  readonly index: number;
}

export class HistoryRecorder<I, O> {
  private readonly ops: Operation<I, O>[] = [];
  private readonly open = new Set<number>();
  private logical = 0;

  /**
   * `now` gives the time of each event (e.g. the simulator's clock). Without it a logical clock is used that
   * advances at every event, so the order in which `invoke` and `ok` are called is the real-time order.
   */
  constructor(private readonly now: () => number = () => ++this.logical) {}

  invoke(clientId: number | string, input: I): PendingOperation {
    const index = this.ops.length;
    this.ops.push({ clientId, input, call: this.now(), return: Infinity });
    this.open.add(index);
    return { index };
  }

  /** The response arrived. */
  ok(pending: PendingOperation, output: O): void {
    const op = this.take(pending);
    op.output = output;
    op.return = this.now();
  }

  /** The request timed out or failed in a way that leaves its effect unknown: it may or may not have happened. */
  unknown(pending: PendingOperation): void {
    this.take(pending);
  }

  /**
   * The request failed with an error that proves it had no effect: the operation is left out of the history.
   * (Only for errors raised before the request could be proposed, e.g. rejected by validation.)
   */
  failed(pending: PendingOperation): void {
    const op = this.take(pending);
    op.call = NaN; // marked for removal
  }

  /** The history so far; pending operations are included with unknown outcome. */
  operations(): Operation<I, O>[] {
    return this.ops.filter((op) => !Number.isNaN(op.call)).map((op) => ({ ...op }));
  }

  private take(pending: PendingOperation): Operation<I, O> {
    if (!this.open.delete(pending.index)) throw new Error(`operation ${pending.index} already completed`);
    return this.ops[pending.index]!;
  }
}
