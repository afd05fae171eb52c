/**
 * Turns a failed search into a report a person can act on: the longest
 * linearizable prefix found, the state it leaves, and the operations none of
 * which could take effect next before the blocking operation had to return.
 * Ambiguous operations that could come next are left out: placing one there is
 * always allowed and the search found it did not help.
 */
import { assert } from './errors.js';
import type { Operation } from './history.js';
import { ILLEGAL, type Model } from './models.js';
import type { StuckPoint } from './search.js';

/** The message lists the tail of the prefix only; the full prefix is in the result. */
export const EXPLAIN_PREFIX_TAIL_OPS = 8;
/** At most this many unplaceable operations are spelled out in the message. */
export const EXPLAIN_CANDIDATES_MAX = 16;

export interface PlacedOperation<I, O> {
  readonly op: Operation<I, O>;
  /** The model state right after this operation, as the model describes it. */
  readonly stateAfter: string;
}

export interface UnplaceableOperation<I, O> {
  readonly op: Operation<I, O>;
  /**
   * True when the model refuses it in the state after the prefix (e.g. a read of
   * another value); false when it is allowed there but every continuation fails.
   */
  readonly refused: boolean;
}

export interface IllegalExplanation<I, O> {
  readonly key: string;
  /** Operations the checker considered in this partition (failed and ambiguous reads excluded). */
  readonly partitionOperations: number;
  /** The longest order of operations found that respects real time and the model. */
  readonly longestPrefix: readonly PlacedOperation<I, O>[];
  readonly stateAfterPrefix: string;
  /** The operation that returned before any of `unplaceable` could take effect. */
  readonly blocking: Operation<I, O>;
  /** Every definite operation that could have come next after the prefix. */
  readonly unplaceable: readonly UnplaceableOperation<I, O>[];
  readonly message: string;
}

export function explainIllegal<S, I, O>(options: {
  readonly key: string;
  readonly model: Model<S, I, O>;
  readonly ops: readonly Operation<I, O>[];
  readonly longestPrefix: readonly number[];
  readonly stuck: StuckPoint;
}): IllegalExplanation<I, O> {
  const { key, model, ops, stuck } = options;
  const outputOf = (op: Operation<I, O>): O | undefined => (op.status === 'ok' ? op.output : undefined);
  let state = model.init();
  const longestPrefix = options.longestPrefix.map((index): PlacedOperation<I, O> => {
    const op = ops[index]!;
    const next = model.step(state, op.input, outputOf(op));
    // The search accepted this very step; a refusal now means the model is not deterministic.
    assert(next !== ILLEGAL, () => `model ${model.name} refused on replay a step it accepted: operation ${op.id}`);
    state = next;
    return { op, stateAfter: model.describeState(state) };
  });
  const partial = {
    key,
    partitionOperations: ops.length,
    longestPrefix,
    stateAfterPrefix: model.describeState(state),
    blocking: ops[stuck.blockingOp]!,
    unplaceable: stuck.candidates
      .map((index) => ops[index]!)
      .filter((op) => op.status === 'ok')
      .map((op) => ({ op, refused: model.step(state, op.input, outputOf(op)) === ILLEGAL })),
  };
  return { ...partial, message: formatMessage(model, partial) };
}

export function describeOp<S, I, O>(model: Model<S, I, O>, op: Operation<I, O>): string {
  const output = op.status === 'ok' ? op.output : undefined;
  const end = op.returnTime === Infinity ? 'open' : String(op.returnTime);
  return `#${op.id} client ${op.clientId} [${op.callTime}, ${end}] ${model.describeOperation(op.input, output)}`;
}

function formatMessage<S, I, O>(model: Model<S, I, O>, e: Omit<IllegalExplanation<I, O>, 'message'>): string {
  const lines = [
    `key ${JSON.stringify(e.key)} is not linearizable: the longest linearizable prefix places ` +
      `${e.longestPrefix.length} of ${e.partitionOperations} operations and leaves state ${e.stateAfterPrefix}.`,
    `Next, ${describeOp(model, e.blocking)} must take effect (it has returned), ` +
      'but the model refuses every operation that may come next:',
  ];
  for (const { op, refused } of e.unplaceable.slice(0, EXPLAIN_CANDIDATES_MAX)) {
    lines.push(`  ${describeOp(model, op)}  (${refused ? 'refused in this state' : 'allowed, but every continuation fails'})`);
  }
  if (e.unplaceable.length > EXPLAIN_CANDIDATES_MAX) {
    lines.push(`  … and ${e.unplaceable.length - EXPLAIN_CANDIDATES_MAX} more`);
  }
  if (e.longestPrefix.length > 0) {
    const tail = e.longestPrefix.slice(-EXPLAIN_PREFIX_TAIL_OPS);
    lines.push(`Last ${tail.length} operations of the prefix (state after each):`);
    for (const placed of tail) lines.push(`  ${describeOp(model, placed.op)}  ⇒ ${placed.stateAfter}`);
  }
  return lines.join('\n');
}
