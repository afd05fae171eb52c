/** Operating errors of the image store, with stable codes and messages that name the object, the value and the limit. */

export const ImageErrorCode = {
  /** A reference that does not parse (`Busybox`, `a:b:c`, a bad digest). */
  InvalidReference: 'InvalidReference',
  /** No image by that name in the store, or no such manifest/tag in the registry. */
  NotFound: 'NotFound',
  /** An archive or layer tar that is corrupt, truncated, or not an image at all. */
  InvalidArchive: 'InvalidArchive',
  /** Content whose sha256 differs from the digest that names it. */
  DigestMismatch: 'DigestMismatch',
  /** Something valid but not handled here (zstd layers, a foreign platform only, ...). */
  Unsupported: 'Unsupported',
  /** A layer entry that would land outside the rootfs (`..`, absolute paths through links). */
  UnsafePath: 'UnsafePath',
  /** Content above a named size bound. */
  TooLarge: 'TooLarge',
  /** The registry refused or failed a request (HTTP status other than 404). */
  Registry: 'Registry',
  /** The registry asked for credentials we do not have. */
  Unauthorized: 'Unauthorized',
  /** A deadline passed (pull, request, lock). */
  DeadlineExceeded: 'DeadlineExceeded',
  /** The registry could not be reached. */
  Unavailable: 'Unavailable',
  /** A host tool or filesystem step failed (mount, busybox --list, ...). */
  Internal: 'Internal',
} as const;
export type ImageErrorCode = (typeof ImageErrorCode)[keyof typeof ImageErrorCode];

export class ImageError extends Error {
  override readonly name = 'ImageError';
  constructor(
    readonly code: ImageErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Node's `ENOENT`-style code of a thrown value, if any. */
export function errnoCode(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err && typeof (err as { code: unknown }).code === 'string' ? (err as { code: string }).code : undefined;
}
