/**
 * Sequential specifications that histories are checked against, and the
 * key-value register model (get, put, delete, compare-and-set) partitioned by key.
 */
import { HistoryError, HistoryErrorCode, assertNever } from './errors.js';

/** Returned by `Model.step` when the operation cannot have produced its output in that state. */
export const ILLEGAL: unique symbol = Symbol('illegal');
export type Illegal = typeof ILLEGAL;

/**
 * A deterministic sequential object. States are immutable values: `step` returns
 * a new state and never changes the one it was given.
 */
export interface Model<S, I, O> {
  readonly name: string;
  init(): S;
  /**
   * The state after `input` takes effect in `state`, or ILLEGAL when it could not
   * have returned `output` there. `output` undefined means the outcome is unknown
   * (an ambiguous operation, supposed to take effect here): return the state
   * after it, or ILLEGAL if it cannot take effect in this state at all.
   */
  step(state: S, input: I, output: O | undefined): S | Illegal;
  /** Canonical text of a state. Invariant: equal states have equal keys and vice versa. */
  stateKey(state: S): string;
  /**
   * Operations with different partition keys commute and touch disjoint state, so
   * each partition is checked on its own (linearizability is compositional).
   * Absent: the whole history is one partition.
   */
  partitionKey?(input: I): string;
  /** True when the operation never changes the state: ambiguous ones are dropped. */
  isReadOnly?(input: I): boolean;
  describeOperation(input: I, output: O | undefined): string;
  describeState(state: S): string;
}

// ---------------------------------------------------------------------------
// Key-value register per key.

export type KvValue = string;

export type KvInput =
  | { readonly type: 'get'; readonly key: string }
  | { readonly type: 'put'; readonly key: string; readonly value: KvValue }
  | { readonly type: 'delete'; readonly key: string }
  /** Transaction `if value(key) == expected then put(key, value)`; expected null means "key absent". */
  | { readonly type: 'cas'; readonly key: string; readonly expected: KvValue | null; readonly value: KvValue };

export type KvOutput =
  | { readonly type: 'get'; readonly value: KvValue | null }
  | { readonly type: 'put' }
  /** `deleted` is the number of keys removed (etcd's DeleteRangeResponse.deleted); checked when present. */
  | { readonly type: 'delete'; readonly deleted?: number }
  | { readonly type: 'cas'; readonly succeeded: boolean };

/** The value of one key; null when absent. */
export type KvState = KvValue | null;

function mismatched(input: KvInput, output: KvOutput): HistoryError {
  return new HistoryError(
    HistoryErrorCode.MismatchedOutput,
    `output of type ${output.type} answers a ${input.type} on key ${JSON.stringify(input.key)}`,
  );
}

function stepKv(state: KvState, input: KvInput, output: KvOutput | undefined): KvState | Illegal {
  if (output !== undefined && output.type !== input.type) throw mismatched(input, output);
  // After the check above, a defined output has the input's type; the narrowing
  // below only restates it for the compiler.
  switch (input.type) {
    case 'get':
      if (output?.type !== 'get') return state;
      return output.value === state ? state : ILLEGAL;
    case 'put':
      return input.value;
    case 'delete':
      if (output?.type === 'delete' && output.deleted !== undefined && output.deleted !== (state === null ? 0 : 1)) {
        return ILLEGAL;
      }
      return null;
    case 'cas': {
      const matches = state === input.expected;
      if (output?.type === 'cas' && output.succeeded !== matches) return ILLEGAL;
      return matches ? input.value : state;
    }
    default:
      return assertNever(input, 'kv input');
  }
}

function show(value: KvValue | null): string {
  return value === null ? 'nil' : JSON.stringify(value);
}

function describeKv(input: KvInput, output: KvOutput | undefined): string {
  const key = JSON.stringify(input.key);
  const unknown = output === undefined ? ' → ?' : '';
  switch (input.type) {
    case 'get':
      return `get(${key})${output?.type === 'get' ? ` → ${show(output.value)}` : unknown}`;
    case 'put':
      return `put(${key}, ${show(input.value)})${unknown}`;
    case 'delete':
      return `delete(${key})${output?.type === 'delete' && output.deleted !== undefined ? ` → ${output.deleted}` : unknown}`;
    case 'cas':
      return `cas(${key}, ${show(input.expected)} → ${show(input.value)})${output?.type === 'cas' ? ` → ${output.succeeded}` : unknown}`;
    default:
      return assertNever(input, 'kv input');
  }
}

/** One register per key: get(key) → value|null, put, delete, compare-and-set → succeeded. */
export const kvModel: Model<KvState, KvInput, KvOutput> = {
  name: 'kv-register',
  init: () => null,
  step: stepKv,
  // The prefix keeps "absent" distinct from every value, including the empty string.
  stateKey: (state) => (state === null ? '-' : `=${state}`),
  partitionKey: (input) => input.key,
  isReadOnly: (input) => input.type === 'get',
  describeOperation: describeKv,
  describeState: show,
};
