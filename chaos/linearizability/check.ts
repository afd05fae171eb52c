/**
 * Entry point: `checkLinearizable(history, model, { timeoutMs })`.
 *
 * Failed operations are dropped (they certainly did not take effect), as are
 * ambiguous operations that cannot change state. The rest is split by the
 * model's partition key and each partition is searched on its own, all under
 * one deadline. The first partition found illegal (in key order) is reported.
 */
import { performance } from 'node:perf_hooks';
import { explainIllegal, type IllegalExplanation } from './explain.js';
import { OpStatus, validateHistory, type History, type Operation } from './history.js';
import type { Model } from './models.js';
import { searchLinearization, type SearchOp, type UnknownReason } from './search.js';

/**
 * The memo is the only structure of the search that grows with its running time.
 * Half a GiB fits a default Node heap next to a chaos run and holds a million or
 * more configurations: searches that need more rarely finish in minutes anyway.
 */
export const MEMO_BYTES_MAX_DEFAULT = 512 * 1024 * 1024;

/** Partition key used when the model does not partition. */
export const WHOLE_HISTORY_KEY = '*';

export interface CheckOptions {
  /** Budget for the whole check, all partitions together. */
  readonly timeoutMs: number;
  /** Clock in milliseconds; default performance.now. */
  readonly now?: () => number;
  /** Bound on the (estimated) memory of one partition's memo; default MEMO_BYTES_MAX_DEFAULT. */
  readonly memoBytesMax?: number;
}

export interface CheckStats {
  readonly partitions: number;
  /** Operations searched (failed operations and ambiguous reads excluded). */
  readonly operations: number;
  /** Search steps over all partitions checked. */
  readonly steps: number;
  readonly elapsedMs: number;
}

export type CheckResult<I, O> =
  | { readonly result: 'ok'; readonly stats: CheckStats }
  | {
      readonly result: 'illegal';
      readonly key: string;
      readonly explanation: IllegalExplanation<I, O>;
      readonly stats: CheckStats;
    }
  | {
      readonly result: 'unknown';
      readonly reason: UnknownReason;
      /** Partitions whose search did not finish; the others were linearizable. */
      readonly keys: readonly string[];
      readonly stats: CheckStats;
    };

export function checkLinearizable<S, I, O>(
  history: History<I, O>,
  model: Model<S, I, O>,
  options: CheckOptions,
): CheckResult<I, O> {
  validateHistory(history);
  const now = options.now ?? (() => performance.now());
  const startMs = now();
  const limits = {
    deadlineMs: startMs + options.timeoutMs,
    now,
    memoBytesMax: options.memoBytesMax ?? MEMO_BYTES_MAX_DEFAULT,
  };
  const partitions = partitionHistory(history, model);
  let operations = 0;
  let steps = 0;
  let unknownReason: UnknownReason | undefined;
  const unknownKeys: string[] = [];
  const stats = (): CheckStats => ({ partitions: partitions.size, operations, steps, elapsedMs: now() - startMs });

  for (const [key, ops] of [...partitions].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    operations += ops.length;
    const outcome = searchLinearization(model, ops.map(toSearchOp), limits);
    steps += outcome.steps;
    if (outcome.kind === 'illegal') {
      const explanation = explainIllegal({ key, model, ops, longestPrefix: outcome.longestPrefix, stuck: outcome.stuck });
      return { result: 'illegal', key, explanation, stats: stats() };
    }
    if (outcome.kind === 'unknown') {
      unknownReason ??= outcome.reason;
      unknownKeys.push(key);
    }
  }
  if (unknownReason !== undefined) {
    return { result: 'unknown', reason: unknownReason, keys: unknownKeys, stats: stats() };
  }
  return { result: 'ok', stats: stats() };
}

/** The operations the search must place, grouped by partition key, each group in history order. */
export function partitionHistory<S, I, O>(
  history: History<I, O>,
  model: Model<S, I, O>,
): Map<string, Operation<I, O>[]> {
  const partitions = new Map<string, Operation<I, O>[]>();
  for (const op of history) {
    if (op.status === OpStatus.Fail) continue;
    if (op.status === OpStatus.Info && model.isReadOnly?.(op.input) === true) continue;
    const key = model.partitionKey?.(op.input) ?? WHOLE_HISTORY_KEY;
    let ops = partitions.get(key);
    if (ops === undefined) {
      ops = [];
      partitions.set(key, ops);
    }
    ops.push(op);
  }
  return partitions;
}

function toSearchOp<I, O>(op: Operation<I, O>): SearchOp<I, O> {
  return {
    input: op.input,
    ambiguous: op.status === OpStatus.Info,
    output: op.status === OpStatus.Ok ? op.output : undefined,
    callTime: op.callTime,
    returnTime: op.returnTime,
  };
}
