/**
 * Operating errors of the MVCC state machine: typed, with a stable `code`.
 *
 * `message` is etcd's exact text, because clients match on it (the etcd3 npm
 * client picks its error class from the message; etcdctl prints it). The values
 * involved are in typed fields and in `detail`, which names them for logs.
 *
 * At the gRPC edge etcd prefixes the two mvcc errors: ErrCompacted and
 * ErrFutureRev travel as "etcdserver: mvcc: required revision ..." with status
 * OUT_OF_RANGE; the others travel with their message unchanged.
 *
 * Errors are returned as values from the apply path, never thrown: every
 * replica must reach the same result for the same entry.
 */

export const MvccErrorCode = {
  Compacted: 'COMPACTED',
  FutureRevision: 'FUTURE_REVISION',
  EmptyKey: 'EMPTY_KEY',
  KeyNotFound: 'KEY_NOT_FOUND',
  ValueProvided: 'VALUE_PROVIDED',
  LeaseProvided: 'LEASE_PROVIDED',
  TooManyOps: 'TOO_MANY_OPS',
  DuplicateKey: 'DUPLICATE_KEY',
  LeaseNotFound: 'LEASE_NOT_FOUND',
  LeaseExists: 'LEASE_EXISTS',
  LeaseTtlTooLarge: 'LEASE_TTL_TOO_LARGE',
  RequestTooLarge: 'REQUEST_TOO_LARGE',
  SnapshotCorrupt: 'SNAPSHOT_CORRUPT',
  MalformedCommand: 'MALFORMED_COMMAND',
} as const;
export type MvccErrorCode = (typeof MvccErrorCode)[keyof typeof MvccErrorCode];

export abstract class MvccError extends Error {
  abstract readonly code: MvccErrorCode;

  protected constructor(
    message: string,
    /** The values involved, for logs; `message` stays etcd's fixed text. */
    readonly detail: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export class CompactedError extends MvccError {
  readonly code = MvccErrorCode.Compacted;
  constructor(
    readonly requestedRevision: number,
    readonly compactRevision: number,
  ) {
    super(
      'mvcc: required revision has been compacted',
      `revision ${requestedRevision} is compacted; the compact revision is ${compactRevision}`,
    );
  }
}

export class FutureRevisionError extends MvccError {
  readonly code = MvccErrorCode.FutureRevision;
  constructor(
    readonly requestedRevision: number,
    readonly currentRevision: number,
  ) {
    super(
      'mvcc: required revision is a future revision',
      `revision ${requestedRevision} is after the current revision ${currentRevision}`,
    );
  }
}

export class EmptyKeyError extends MvccError {
  readonly code = MvccErrorCode.EmptyKey;
  constructor(readonly where: string) {
    super('etcdserver: key is not provided', `${where} has an empty key`);
  }
}

/** Also etcd's answer to an empty RequestOp inside a txn. */
export class KeyNotFoundError extends MvccError {
  readonly code = MvccErrorCode.KeyNotFound;
  constructor(readonly key: Uint8Array | undefined, reason: string) {
    super('etcdserver: key not found', key === undefined ? reason : `key ${showKey(key)}: ${reason}`);
  }
}

export class ValueProvidedError extends MvccError {
  readonly code = MvccErrorCode.ValueProvided;
  constructor(readonly key: Uint8Array) {
    super('etcdserver: value is provided', `put ${showKey(key)} sets ignore_value but carries a value`);
  }
}

export class LeaseProvidedError extends MvccError {
  readonly code = MvccErrorCode.LeaseProvided;
  constructor(readonly key: Uint8Array, readonly lease: number) {
    super('etcdserver: lease is provided', `put ${showKey(key)} sets ignore_lease but carries lease ${lease}`);
  }
}

export class TooManyOpsError extends MvccError {
  readonly code = MvccErrorCode.TooManyOps;
  constructor(
    readonly ops: number,
    readonly limit: number,
  ) {
    super('etcdserver: too many operations in txn request', `txn has ${ops} operations in one list; the limit here is ${limit}`);
  }
}

export class DuplicateKeyError extends MvccError {
  readonly code = MvccErrorCode.DuplicateKey;
  constructor(readonly key: Uint8Array) {
    super('etcdserver: duplicate key given in txn request', `txn writes key ${showKey(key)} more than once`);
  }
}

export class LeaseNotFoundError extends MvccError {
  readonly code = MvccErrorCode.LeaseNotFound;
  constructor(readonly leaseId: number) {
    super('etcdserver: requested lease not found', `lease ${formatLeaseId(leaseId)} does not exist`);
  }
}

export class LeaseExistsError extends MvccError {
  readonly code = MvccErrorCode.LeaseExists;
  constructor(readonly leaseId: number) {
    super('etcdserver: lease already exists', `lease ${formatLeaseId(leaseId)} already exists`);
  }
}

export class LeaseTtlTooLargeError extends MvccError {
  readonly code = MvccErrorCode.LeaseTtlTooLarge;
  constructor(
    readonly ttlSeconds: number,
    readonly limitSeconds: number,
  ) {
    super('etcdserver: too large lease TTL', `lease TTL ${ttlSeconds}s exceeds the limit of ${limitSeconds}s`);
  }
}

export class RequestTooLargeError extends MvccError {
  readonly code = MvccErrorCode.RequestTooLarge;
  constructor(
    readonly requestBytes: number,
    readonly limitBytes: number,
  ) {
    super('etcdserver: request is too large', `request of ${requestBytes} bytes exceeds the limit of ${limitBytes} bytes`);
  }
}

export const SnapshotCorruptReason = {
  Truncated: 'TRUNCATED',
  BadMagic: 'BAD_MAGIC',
  UnsupportedVersion: 'UNSUPPORTED_VERSION',
  LengthMismatch: 'LENGTH_MISMATCH',
  ChecksumMismatch: 'CHECKSUM_MISMATCH',
  MalformedPayload: 'MALFORMED_PAYLOAD',
} as const;
export type SnapshotCorruptReason = (typeof SnapshotCorruptReason)[keyof typeof SnapshotCorruptReason];

/** Not an etcd error: restoring a state-machine snapshot found it damaged. */
export class SnapshotCorruptError extends MvccError {
  readonly code = MvccErrorCode.SnapshotCorrupt;
  constructor(
    readonly reason: SnapshotCorruptReason,
    what: string,
  ) {
    super(`mvcc snapshot is corrupt: ${what}`, `${reason}: ${what}`);
  }
}

/** Not an etcd error: a log entry did not decode to a valid command. */
export class MalformedCommandError extends MvccError {
  readonly code = MvccErrorCode.MalformedCommand;
  constructor(readonly what: string) {
    super(`malformed mvcc command: ${what}`, what);
  }
}

/** Key for messages: printable ASCII as is, anything else as hex. Bounded so logs stay readable. */
const SHOWN_KEY_BYTES_MAX = 64; // enough to identify a Kubernetes object key
export function showKey(key: Uint8Array): string {
  const shown = key.subarray(0, SHOWN_KEY_BYTES_MAX);
  const printable = shown.every((b) => b >= 0x20 && b < 0x7f);
  const text = printable ? JSON.stringify(Buffer.from(shown).toString('latin1')) : `0x${Buffer.from(shown).toString('hex')}`;
  return key.length > SHOWN_KEY_BYTES_MAX ? `${text}… (${key.length} bytes)` : text;
}

/** Lease ids print as hex, like etcdctl does. */
export function formatLeaseId(id: number): string {
  return id < 0 ? `-${(-id).toString(16)}` : id.toString(16);
}
