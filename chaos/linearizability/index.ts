/** Public surface of the linearizability checker; see README.md. */
export { checkLinearizable, partitionHistory, MEMO_BYTES_MAX_DEFAULT, WHOLE_HISTORY_KEY } from './check.js';
export type { CheckOptions, CheckResult, CheckStats } from './check.js';
export { describeOp, type IllegalExplanation, type PlacedOperation, type UnplaceableOperation } from './explain.js';
export { HistoryError, HistoryErrorCode } from './errors.js';
export {
  HistoryRecorder,
  OpStatus,
  validateHistory,
  OPERATIONS_MAX_DEFAULT,
  type AmbiguousOperation,
  type FailedOperation,
  type FailureKind,
  type History,
  type HistoryRecorderOptions,
  type OkOperation,
  type OpHandle,
  type Operation,
} from './history.js';
export { ILLEGAL, kvModel, type Illegal, type KvInput, type KvOutput, type KvState, type KvValue, type Model } from './models.js';
export { UnknownReason } from './search.js';
