/**
 * Operating errors of the CRI edge. A runtime throws `CriError`; `serveCri` sends its
 * code as the gRPC status of the same name, and `CriClient` turns a gRPC status back
 * into a `CriError`, so callers branch on `code` alike for remote and in-process
 * runtimes. Codes mirror the gRPC status codes CRI runtimes answer with.
 */

export const CriErrorCode = {
  /** The sandbox, container or image named does not exist. */
  NotFound: 'NotFound',
  /** A sandbox or container with that name (metadata + attempt) exists already. */
  AlreadyExists: 'AlreadyExists',
  /** The request is malformed: a required field is missing or a value is out of range. */
  InvalidArgument: 'InvalidArgument',
  /** The object is in the wrong state for the call (e.g. starting a container twice, removing a running sandbox's container). */
  FailedPrecondition: 'FailedPrecondition',
  /** The call's deadline passed before the runtime answered. */
  DeadlineExceeded: 'DeadlineExceeded',
  /** The runtime cannot be reached (socket missing, connection refused, runtime shutting down). */
  Unavailable: 'Unavailable',
  /** The runtime failed for a reason of its own (a runc, mount or filesystem error). */
  Internal: 'Internal',
  /** The runtime does not implement this RPC. */
  Unimplemented: 'Unimplemented',
} as const;
export type CriErrorCode = (typeof CriErrorCode)[keyof typeof CriErrorCode];

export class CriError extends Error {
  override readonly name = 'CriError';
  constructor(
    readonly code: CriErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export function isCriError(err: unknown, code?: CriErrorCode): err is CriError {
  return err instanceof CriError && (code === undefined || err.code === code);
}

/** gRPC status numbers (grpc/status.h) of each code; the only mapping between the two. */
export const GRPC_STATUS_OF_CODE = {
  NotFound: 5,
  AlreadyExists: 6,
  InvalidArgument: 3,
  FailedPrecondition: 9,
  DeadlineExceeded: 4,
  Unavailable: 14,
  Internal: 13,
  Unimplemented: 12,
} as const satisfies Record<CriErrorCode, number>;

/**
 * The CriErrorCode of a gRPC status number. Statuses without a CRI meaning of their
 * own fold into the nearest one: CANCELLED and UNKNOWN and the rest become Internal,
 * RESOURCE_EXHAUSTED / ABORTED / OUT_OF_RANGE likewise.
 */
export function criCodeOfGrpcStatus(status: number): CriErrorCode {
  for (const [code, n] of Object.entries(GRPC_STATUS_OF_CODE)) {
    if (n === status) return code as CriErrorCode;
  }
  return CriErrorCode.Internal;
}
