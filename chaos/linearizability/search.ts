/**
 * The Wing & Gong search with Lowe's memoization, over one partition.
 *
 * Walk the event list from the front. At a call entry, try to linearize that
 * operation now: if the model accepts it and the resulting (linearized set,
 * state) is new, push it on the undo stack, lift its entries and restart from the
 * front. At a return entry, the operation returning there should already have
 * been linearized, so the current choice is a dead end: pop the last choice and
 * try the call after it. The history is linearizable when every definite
 * operation is placed, and not when a dead end has nothing left to pop.
 *
 * Ambiguous operations return at +Infinity, so they are never forced: the search
 * may place them anywhere after their call, or after everything else, which is
 * the same as "never took effect" because nothing observes them there. Hence the
 * search succeeds as soon as every definite operation is placed, and it never
 * places an ambiguous operation that leaves the state unchanged (whatever follows
 * could follow without it). memo.ts adds a cut for configurations that differ
 * only in which ambiguous operations are placed.
 */
import { EntryList, NONE } from './entry-list.js';
import { assert } from './errors.js';
import { LinearizedSet, Memo, type MemoEntry } from './memo.js';
import { ILLEGAL, type Model } from './models.js';

/** One operation of a partition, as the search sees it. */
export interface SearchOp<I, O> {
  readonly input: I;
  /** The outcome is unknown: it may or may not take effect, and returns at +Infinity. */
  readonly ambiguous: boolean;
  /** undefined when ambiguous. */
  readonly output: O | undefined;
  readonly callTime: number;
  readonly returnTime: number;
}

export interface SearchLimits {
  /** Absolute time, on `now`'s clock, after which the search gives up. */
  readonly deadlineMs: number;
  readonly now: () => number;
  readonly memoBytesMax: number;
}

/**
 * Reading the clock costs far more than one step; a few thousand steps take well
 * under a millisecond, so the deadline is overshot by less than that.
 */
export const DEADLINE_CHECK_INTERVAL_STEPS = 4096;

export const UnknownReason = { Timeout: 'timeout', MemoLimit: 'memo-limit' } as const;
export type UnknownReason = (typeof UnknownReason)[keyof typeof UnknownReason];

/** Where the deepest search path got stuck. */
export interface StuckPoint {
  /** The operation whose return entry ended the deepest path (it had to come before). */
  readonly blockingOp: number;
  /** Every operation that could have come next there (none of them leads to a linearization). */
  readonly candidates: readonly number[];
}

export type SearchOutcome =
  | { readonly kind: 'ok'; readonly steps: number }
  | { readonly kind: 'illegal'; readonly longestPrefix: readonly number[]; readonly stuck: StuckPoint; readonly steps: number }
  | { readonly kind: 'unknown'; readonly reason: UnknownReason; readonly steps: number };

export function searchLinearization<S, I, O>(
  model: Model<S, I, O>,
  ops: readonly SearchOp<I, O>[],
  limits: SearchLimits,
): SearchOutcome {
  return new WglSearch(model, ops, limits).run();
}

class WglSearch<S, I, O> {
  private readonly list: EntryList;
  private readonly linearized: LinearizedSet;
  private readonly memo = new Memo();
  /** Undo stack: the call entries linearized so far, the state before each, and the configuration after. */
  private readonly stackEntries: number[] = [];
  private readonly stackStates: S[] = [];
  private readonly stackMemo: MemoEntry[] = [];
  private state: S;
  private stateKey: string;
  private definiteRemaining: number;
  private steps = 0;

  // The longest linearizable prefix seen. Invariant: the first agreeDepth entries
  // of the stack are the operations of bestOps; while bestPending, the stack is
  // exactly the best prefix and bestOps has not caught up with it yet.
  private bestOps: number[] = [];
  private bestDepth = 0;
  private agreeDepth = 0;
  private bestPending = true;
  private stuck: StuckPoint | undefined;

  constructor(
    private readonly model: Model<S, I, O>,
    private readonly ops: readonly SearchOp<I, O>[],
    private readonly limits: SearchLimits,
  ) {
    this.list = new EntryList(ops);
    this.linearized = new LinearizedSet(ops.map((op) => op.ambiguous));
    this.state = model.init();
    this.stateKey = model.stateKey(this.state);
    this.definiteRemaining = ops.filter((op) => !op.ambiguous).length;
  }

  run(): SearchOutcome {
    let entry = this.list.first();
    while (this.definiteRemaining > 0) {
      if (this.steps++ % DEADLINE_CHECK_INTERVAL_STEPS === 0 && this.limits.now() >= this.limits.deadlineMs) {
        return this.unknown(UnknownReason.Timeout);
      }
      // An unplaced definite operation returns before every ambiguous one (at
      // +Infinity), so the walk meets a definite return entry first.
      assert(entry !== NONE, 'the search walked past the last return entry');
      if (this.list.isCall[entry] === 0) {
        assert(!this.ops[this.list.opOf[entry]!]!.ambiguous, 'the walk reached an ambiguous return entry');
        this.noteDeadEnd(entry);
        if (this.stackEntries.length === 0) {
          assert(this.stuck !== undefined, 'a failed search recorded where it got stuck');
          return { kind: 'illegal', longestPrefix: this.bestOps, stuck: this.stuck, steps: this.steps };
        }
        entry = this.list.next[this.backtrack()]!;
      } else if (this.tryLinearize(entry)) {
        if (this.memo.bytes > this.limits.memoBytesMax) return this.unknown(UnknownReason.MemoLimit);
        entry = this.list.first();
      } else {
        entry = this.list.next[entry]!;
      }
    }
    return { kind: 'ok', steps: this.steps };
  }

  /** Linearizes the call at `entry` now if the model allows it and the configuration is new. */
  private tryLinearize(entry: number): boolean {
    const op = this.list.opOf[entry]!;
    const { input, output, ambiguous } = this.ops[op]!;
    const next = this.model.step(this.state, input, output);
    if (next === ILLEGAL) return false;
    const nextKey = this.model.stateKey(next);
    if (ambiguous && nextKey === this.stateKey) return false;
    this.linearized.add(op);
    const memoEntry = this.memo.tryAdd(this.linearized, nextKey);
    if (memoEntry === undefined) {
      this.linearized.remove(op);
      return false;
    }
    this.stackEntries.push(entry);
    this.stackStates.push(this.state);
    this.stackMemo.push(memoEntry);
    this.state = next;
    this.stateKey = nextKey;
    if (!ambiguous) this.definiteRemaining--;
    this.list.lift(entry);
    if (this.stackEntries.length > this.bestDepth) {
      this.bestDepth = this.stackEntries.length;
      this.bestPending = true;
    }
    return true;
  }

  /** Undoes the last linearization; returns its call entry, back in the list. */
  private backtrack(): number {
    const entry = this.stackEntries.pop()!;
    this.state = this.stackStates.pop()!;
    this.stateKey = this.model.stateKey(this.state);
    this.memo.markFailed(this.stackMemo.pop()!);
    const op = this.list.opOf[entry]!;
    this.linearized.remove(op);
    if (!this.ops[op]!.ambiguous) this.definiteRemaining++;
    this.list.unlift(entry);
    this.agreeDepth = Math.min(this.agreeDepth, this.stackEntries.length);
    return entry;
  }

  /** The first dead end at a new maximum depth is the one the report explains. */
  private noteDeadEnd(returnEntry: number): void {
    if (!this.bestPending) return;
    this.captureBest();
    const candidates: number[] = [];
    for (let e = this.list.first(); e !== returnEntry; e = this.list.next[e]!) {
      assert(e !== NONE, 'a return entry is reachable from the head');
      if (this.list.isCall[e] === 1) candidates.push(this.list.opOf[e]!);
    }
    this.stuck = { blockingOp: this.list.opOf[returnEntry]!, candidates };
  }

  /** Copies the stack into bestOps; amortized O(1) per push because of agreeDepth. */
  private captureBest(): void {
    assert(this.stackEntries.length === this.bestDepth, 'the stack holds the best prefix while it is pending');
    this.bestOps.length = this.agreeDepth;
    for (let i = this.agreeDepth; i < this.stackEntries.length; i++) {
      this.bestOps.push(this.list.opOf[this.stackEntries[i]!]!);
    }
    this.agreeDepth = this.stackEntries.length;
    this.bestPending = false;
  }

  private unknown(reason: UnknownReason): SearchOutcome {
    return { kind: 'unknown', reason, steps: this.steps };
  }
}
