/**
 * Operating errors of the patch functions: one class, a stable `code` per
 * cause, and a message that names the path and the value at fault.
 *
 * The codes are what callers match on; the HTTP status each one becomes is
 * decided at the API server's edge, from `PatchErrorHttpStatus` below. The
 * table lives here, next to the codes, so a new code cannot be added without
 * deciding its status. The statuses are the ones Kubernetes answers with, so
 * kubectl prints the same kind of error it prints against a real cluster.
 */

export const PatchErrorCode = {
  /** The body is not a well-formed patch of its type: bad operation, bad pointer, bad directive. */
  InvalidPatch: 'INVALID_PATCH',
  /** The request's Content-Type names no patch type this server applies. */
  UnsupportedMediaType: 'UNSUPPORTED_MEDIA_TYPE',
  /** A JSON patch with more operations than `JSON_PATCH_OPERATIONS_MAX`. */
  TooManyOperations: 'TOO_MANY_OPERATIONS',
  /** The patch nests deeper than `PATCH_NESTING_DEPTH_MAX`. */
  NestingTooDeep: 'NESTING_TOO_DEEP',
  /** A JSON patch's `copy` operations together copy more than `JSON_PATCH_COPIED_CHARS_MAX`. */
  CopyLimitExceeded: 'COPY_LIMIT_EXCEEDED',
  /** A JSON patch names a location that does not exist in the target. */
  PathNotFound: 'PATH_NOT_FOUND',
  /** A JSON patch `test` operation found a different value. */
  TestFailed: 'TEST_FAILED',
  /** A strategic merge patch list element lacks the list's merge key. */
  MissingMergeKey: 'MISSING_MERGE_KEY',
  /** A strategic merge patch sets a field that its own `$retainKeys` would clear. */
  RetainKeysMismatch: 'RETAIN_KEYS_MISMATCH',
  /** A merged list holds lists, or maps next to primitives: no merge rule applies. */
  MixedListElements: 'MIXED_LIST_ELEMENTS',
} as const;
export type PatchErrorCode = (typeof PatchErrorCode)[keyof typeof PatchErrorCode];

/**
 * The HTTP status of each code, as Kubernetes answers: a malformed body
 * (including a `$retainKeys` that contradicts its own patch) is 400
 * BadRequest; a well-formed patch that cannot apply to this object is 422
 * Unprocessable Entity; too many JSON patch operations is 413, with
 * Kubernetes' own message text. Two choices of ours: a missing merge key and
 * mixed list elements are 422 (Kubernetes lets those fall through to 500).
 */
export const PatchErrorHttpStatus = {
  [PatchErrorCode.InvalidPatch]: 400,
  [PatchErrorCode.UnsupportedMediaType]: 415,
  [PatchErrorCode.TooManyOperations]: 413,
  [PatchErrorCode.NestingTooDeep]: 400,
  [PatchErrorCode.CopyLimitExceeded]: 422,
  [PatchErrorCode.PathNotFound]: 422,
  [PatchErrorCode.TestFailed]: 422,
  [PatchErrorCode.MissingMergeKey]: 422,
  [PatchErrorCode.RetainKeysMismatch]: 400,
  [PatchErrorCode.MixedListElements]: 422,
} as const satisfies Record<PatchErrorCode, number>;

export class PatchError extends Error {
  override readonly name = 'PatchError';

  constructor(
    readonly code: PatchErrorCode,
    message: string,
    /** Where in the target or patch the fault is: a JSON pointer or a dotted field path; '' for the whole body. */
    readonly path = '',
  ) {
    super(message);
  }
}

/**
 * Error messages quote the offending value; a patch can carry megabytes, and
 * the message travels back to kubectl and into logs, so the quote is cut here.
 */
const DESCRIBED_VALUE_CHARS_MAX = 200;

/** A short rendering of a JSON value for error messages: long values are cut, never the whole object. */
export function describeValue(value: unknown): string {
  const text = value === undefined ? 'undefined' : JSON.stringify(value);
  return text.length <= DESCRIBED_VALUE_CHARS_MAX ? text : `${text.slice(0, DESCRIBED_VALUE_CHARS_MAX)}…`;
}
