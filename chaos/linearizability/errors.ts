/**
 * Errors of the linearizability checker. A malformed history or a misused
 * recorder is an operating error (typed, with a stable code); a broken invariant
 * inside the search is a programmer error (`assert`, which stays on).
 *
 * chaos/ may not import raft/, so the assertion helpers are this module's own.
 */

export const HistoryErrorCode = {
  /** An operation's fields are inconsistent (times, status, output). */
  InvalidOperation: 'INVALID_OPERATION',
  /** The recorder was handed an id it never issued. */
  UnknownOperation: 'UNKNOWN_OPERATION',
  /** ok/fail/info was called twice for one operation. */
  OperationCompleted: 'OPERATION_COMPLETED',
  /** A client called again while its previous operation was still outstanding. */
  ClientBusy: 'CLIENT_BUSY',
  /** The recorder holds its maximum number of operations. */
  HistoryFull: 'HISTORY_FULL',
  /** An operation's output does not belong to its input (e.g. a get answered like a put). */
  MismatchedOutput: 'MISMATCHED_OUTPUT',
} as const;
export type HistoryErrorCode = (typeof HistoryErrorCode)[keyof typeof HistoryErrorCode];

export class HistoryError extends Error {
  constructor(
    readonly code: HistoryErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'HistoryError';
  }
}

export { AssertionError, assert, assertNever } from '../../raft/core/assert.js';
