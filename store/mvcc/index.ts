/** Public surface of the MVCC state machine (see store/README.md). */
export * from './types.js';
export * from './errors.js';
export * from './limits.js';
export { MvccStateMachine, type ApplyResult, type MvccOptions, type ReadResult } from './state-machine.js';
export {
  COMMAND_FORMAT_VERSION,
  applyCommand,
  applyEncodedCommand,
  decodeCommand,
  encodeCommand,
  type Command,
  type CommandOp,
  type CommandResponses,
  type ResponseOf,
} from './commands.js';
export { validateDeleteRange, validatePut, validateRange, validateRequestBytes, validateTxn } from './validate.js';
export { prefixRangeEnd } from './key-range.js';
export { crc32c } from './hash.js';
