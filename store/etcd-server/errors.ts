/**
 * The one registry of errors the etcd v3 edge can return.
 *
 * Backends and validators throw typed errors that carry a stable `code`
 * (EtcdErrorCode; the MVCC errors of store/mvcc/errors.ts use the same code
 * strings); only this file knows how a code looks on the wire: a gRPC status
 * and etcd's exact message text. The text must match etcd byte for
 * byte, because clients compare it: etcdctl's client turns known strings back
 * into typed errors (and e.g. stops retrying a compacted watch), the etcd3
 * client picks its error classes by substring. The human detail ("revision 12
 * is compacted; the compact revision is 40", from the error's `detail` or else
 * its message) travels beside it in the trailer `strake-error-detail`, so
 * clients that match strings are not disturbed.
 */
import * as grpc from '@grpc/grpc-js';

export const EtcdErrorCode = {
  EmptyKey: 'EMPTY_KEY',
  KeyNotFound: 'KEY_NOT_FOUND',
  ValueProvided: 'VALUE_PROVIDED',
  LeaseProvided: 'LEASE_PROVIDED',
  TooManyOps: 'TOO_MANY_OPS',
  DuplicateKey: 'DUPLICATE_KEY',
  Compacted: 'COMPACTED',
  FutureRevision: 'FUTURE_REVISION',
  NoSpace: 'NO_SPACE',
  LeaseNotFound: 'LEASE_NOT_FOUND',
  LeaseExists: 'LEASE_EXISTS',
  LeaseTtlTooLarge: 'LEASE_TTL_TOO_LARGE',
  MemberExists: 'MEMBER_EXISTS',
  PeerUrlExists: 'PEER_URL_EXISTS',
  MemberNotEnoughStarted: 'MEMBER_NOT_ENOUGH_STARTED',
  MemberBadUrls: 'MEMBER_BAD_URLS',
  MemberNotFound: 'MEMBER_NOT_FOUND',
  MemberNotLearner: 'MEMBER_NOT_LEARNER',
  LearnerNotReady: 'LEARNER_NOT_READY',
  TooManyLearners: 'TOO_MANY_LEARNERS',
  RequestTooLarge: 'REQUEST_TOO_LARGE',
  TooManyRequests: 'TOO_MANY_REQUESTS',
  PermissionDenied: 'PERMISSION_DENIED',
  NoLeader: 'NO_LEADER',
  NotLeader: 'NOT_LEADER',
  LeaderChanged: 'LEADER_CHANGED',
  NotCapable: 'NOT_CAPABLE',
  Stopped: 'STOPPED',
  Timeout: 'TIMEOUT',
  TimeoutDueToLeaderFail: 'TIMEOUT_DUE_TO_LEADER_FAIL',
  TimeoutDueToConnectionLost: 'TIMEOUT_DUE_TO_CONNECTION_LOST',
  Unhealthy: 'UNHEALTHY',
  Corrupt: 'CORRUPT',
  NotSupportedForLearner: 'NOT_SUPPORTED_FOR_LEARNER',
  BadLeaderTransferee: 'BAD_LEADER_TRANSFEREE',
  /** Not an etcd error: a request the edge could not decode or that breaks a wire rule. */
  InvalidRequest: 'INVALID_REQUEST',
  /** Not an etcd error: a stream client stopped reading; it may reconnect and resume. */
  SlowConsumer: 'SLOW_CONSUMER',
} as const;
export type EtcdErrorCode = (typeof EtcdErrorCode)[keyof typeof EtcdErrorCode];

interface WireError {
  readonly status: grpc.status;
  /** etcd's text; empty = use the thrown error's own message. */
  readonly message: string;
}

const S = grpc.status;

/** code → gRPC status and etcd's exact text (etcd v3.4 rpctypes). */
export const WIRE_ERRORS: Readonly<Record<EtcdErrorCode, WireError>> = {
  EMPTY_KEY: { status: S.INVALID_ARGUMENT, message: 'etcdserver: key is not provided' },
  KEY_NOT_FOUND: { status: S.INVALID_ARGUMENT, message: 'etcdserver: key not found' },
  VALUE_PROVIDED: { status: S.INVALID_ARGUMENT, message: 'etcdserver: value is provided' },
  LEASE_PROVIDED: { status: S.INVALID_ARGUMENT, message: 'etcdserver: lease is provided' },
  TOO_MANY_OPS: { status: S.INVALID_ARGUMENT, message: 'etcdserver: too many operations in txn request' },
  DUPLICATE_KEY: { status: S.INVALID_ARGUMENT, message: 'etcdserver: duplicate key given in txn request' },
  COMPACTED: { status: S.OUT_OF_RANGE, message: 'etcdserver: mvcc: required revision has been compacted' },
  FUTURE_REVISION: { status: S.OUT_OF_RANGE, message: 'etcdserver: mvcc: required revision is a future revision' },
  NO_SPACE: { status: S.RESOURCE_EXHAUSTED, message: 'etcdserver: mvcc: database space exceeded' },
  LEASE_NOT_FOUND: { status: S.NOT_FOUND, message: 'etcdserver: requested lease not found' },
  LEASE_EXISTS: { status: S.FAILED_PRECONDITION, message: 'etcdserver: lease already exists' },
  LEASE_TTL_TOO_LARGE: { status: S.OUT_OF_RANGE, message: 'etcdserver: too large lease TTL' },
  MEMBER_EXISTS: { status: S.FAILED_PRECONDITION, message: 'etcdserver: member ID already exist' },
  PEER_URL_EXISTS: { status: S.FAILED_PRECONDITION, message: 'etcdserver: Peer URLs already exists' },
  MEMBER_NOT_ENOUGH_STARTED: {
    status: S.FAILED_PRECONDITION,
    message: 'etcdserver: re-configuration failed due to not enough started members',
  },
  MEMBER_BAD_URLS: { status: S.INVALID_ARGUMENT, message: 'etcdserver: given member URLs are invalid' },
  MEMBER_NOT_FOUND: { status: S.NOT_FOUND, message: 'etcdserver: member not found' },
  MEMBER_NOT_LEARNER: { status: S.FAILED_PRECONDITION, message: 'etcdserver: can only promote a learner member' },
  LEARNER_NOT_READY: {
    status: S.FAILED_PRECONDITION,
    message: 'etcdserver: can only promote a learner member which is in sync with leader',
  },
  TOO_MANY_LEARNERS: { status: S.FAILED_PRECONDITION, message: 'etcdserver: too many learner members in cluster' },
  REQUEST_TOO_LARGE: { status: S.INVALID_ARGUMENT, message: 'etcdserver: request is too large' },
  TOO_MANY_REQUESTS: { status: S.RESOURCE_EXHAUSTED, message: 'etcdserver: too many requests' },
  PERMISSION_DENIED: { status: S.PERMISSION_DENIED, message: 'etcdserver: permission denied' },
  NO_LEADER: { status: S.UNAVAILABLE, message: 'etcdserver: no leader' },
  NOT_LEADER: { status: S.FAILED_PRECONDITION, message: 'etcdserver: not leader' },
  LEADER_CHANGED: { status: S.UNAVAILABLE, message: 'etcdserver: leader changed' },
  NOT_CAPABLE: { status: S.UNAVAILABLE, message: 'etcdserver: not capable' },
  STOPPED: { status: S.UNAVAILABLE, message: 'etcdserver: server stopped' },
  TIMEOUT: { status: S.UNAVAILABLE, message: 'etcdserver: request timed out' },
  TIMEOUT_DUE_TO_LEADER_FAIL: {
    status: S.UNAVAILABLE,
    message: 'etcdserver: request timed out, possibly due to previous leader failure',
  },
  TIMEOUT_DUE_TO_CONNECTION_LOST: {
    status: S.UNAVAILABLE,
    message: 'etcdserver: request timed out, possibly due to connection lost',
  },
  UNHEALTHY: { status: S.UNAVAILABLE, message: 'etcdserver: unhealthy cluster' },
  CORRUPT: { status: S.DATA_LOSS, message: 'etcdserver: corrupt cluster' },
  NOT_SUPPORTED_FOR_LEARNER: { status: S.UNAVAILABLE, message: 'etcdserver: rpc not supported for learner' },
  BAD_LEADER_TRANSFEREE: { status: S.FAILED_PRECONDITION, message: 'etcdserver: bad leader transferee' },
  INVALID_REQUEST: { status: S.INVALID_ARGUMENT, message: '' },
  SLOW_CONSUMER: { status: S.UNAVAILABLE, message: '' },
};

/** Trailer key carrying the detailed message of a mapped error. */
export const ERROR_DETAIL_METADATA_KEY = 'strake-error-detail';
/** Detail strings are cut here: a trailer is a header, and proxies cap header sizes (8 KiB is common). */
export const ERROR_DETAIL_BYTES_MAX = 1024;

/**
 * The typed error of the etcd edge. Backends may throw it directly, or throw
 * their own error classes whose `code` is one of EtcdErrorCode.
 */
export class EtcdServerError extends Error {
  constructor(
    readonly code: EtcdErrorCode,
    /** Names the object, the value and the limit; defaults to etcd's text. */
    detail?: string,
  ) {
    super(detail ?? (WIRE_ERRORS[code].message || code));
    this.name = 'EtcdServerError';
  }
}

export function etcdError(code: EtcdErrorCode, detail?: string): EtcdServerError {
  return new EtcdServerError(code, detail);
}

/** A request the edge refuses before the backend sees it (undecodable, out-of-range number, ...). */
export function invalidRequest(detail: string): EtcdServerError {
  return new EtcdServerError(EtcdErrorCode.InvalidRequest, detail);
}

const KNOWN_CODES: ReadonlySet<string> = new Set(Object.values(EtcdErrorCode));

function codeOf(err: unknown): EtcdErrorCode | undefined {
  if (typeof err !== 'object' || err === null || !('code' in err)) return undefined;
  const code = (err as { code: unknown }).code;
  return typeof code === 'string' && KNOWN_CODES.has(code) ? (code as EtcdErrorCode) : undefined;
}

function isAbort(err: unknown): boolean {
  return err instanceof Error && (err.name === 'AbortError' || err.name === 'TimeoutError');
}

function detailMetadata(detail: string): grpc.Metadata {
  const md = new grpc.Metadata();
  // Header values must be printable ASCII; anything else is escaped.
  const printable = detail.replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  md.set(ERROR_DETAIL_METADATA_KEY, printable.slice(0, ERROR_DETAIL_BYTES_MAX));
  return md;
}

/**
 * Turns anything a handler caught into the status sent to the client. Known
 * codes get etcd's status and text; an aborted call becomes CANCELLED; any
 * other error is a server bug and is reported as UNKNOWN with its message
 * (what etcd does with errors it has no mapping for).
 */
export function toGrpcStatus(err: unknown): Partial<grpc.StatusObject> {
  const code = codeOf(err);
  const ownMessage = err instanceof Error ? err.message : String(err);
  if (code !== undefined) {
    const wire = WIRE_ERRORS[code];
    const details = wire.message === '' ? ownMessage : wire.message;
    const detail = (err as { detail?: unknown }).detail;
    return { code: wire.status, details, metadata: detailMetadata(typeof detail === 'string' ? detail : ownMessage) };
  }
  if (isAbort(err)) return { code: S.CANCELLED, details: 'context canceled' };
  return { code: S.UNKNOWN, details: ownMessage };
}
