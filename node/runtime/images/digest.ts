/** sha256 content digests in their OCI spelling, `sha256:<64 hex>`. */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { ImageError, ImageErrorCode } from './errors.js';
import { isDigest } from './reference.js';

export function sha256Digest(data: Buffer | string): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

/** The hex part; throws on anything but a sha256 digest (which keeps digests out of path tricks). */
export function digestHex(digest: string): string {
  if (!isDigest(digest)) throw new ImageError(ImageErrorCode.Unsupported, `digest "${digest}" is not sha256:<64 lowercase hex>`);
  return digest.slice('sha256:'.length);
}

/** Where a blob lives inside an OCI image layout. */
export function blobPath(layoutDir: string, digest: string): string {
  return join(layoutDir, 'blobs', 'sha256', digestHex(digest));
}
