/**
 * The backup format: what a member streams from `Maintenance.Snapshot` and
 * what `snapshot save` writes. The member sends a header and its replicated
 * state image; the etcd edge (etcd-server/maintenance-service.ts) pads that to
 * a multiple of 512 bytes with zeros and appends a SHA-256, as etcdctl
 * requires. A saved file is therefore
 *
 *   header (20) | image | zero padding (< 512) | sha256 of all before it (32)
 *   header = magic "STRKBKUP" (8) | format version u32 | image length u64   (big-endian)
 *
 * where the image is ReplicatedState's snapshot image (msgpack {version,
 * mvcc, members}). The header makes the data self-delimiting: the padding is
 * told apart from the image by the length, not by decoding. Files saved before
 * the header existed hold the bare image; their image ends where exactly one
 * msgpack value ends.
 */
import { Unpackr } from 'msgpackr';
import { SNAPSHOT_ALIGNMENT_BYTES } from '../etcd-server/maintenance-service.js';
import { BackupErrorCode, BackupFileError } from './errors.js';

export const BACKUP_MAGIC: Uint8Array = new Uint8Array(Buffer.from('STRKBKUP', 'latin1'));
export const BACKUP_FORMAT_VERSION = 1;
const VERSION_OFFSET = BACKUP_MAGIC.byteLength;
const LENGTH_OFFSET = VERSION_OFFSET + 4;
export const BACKUP_HEADER_BYTES = LENGTH_OFFSET + 8;
/** etcd ends the snapshot stream with the SHA-256 of everything before it. */
export const BACKUP_DIGEST_BYTES = 32;
/** The edge pads data to a multiple of this before the digest (etcdctl checks it). */
export const BACKUP_ALIGNMENT_BYTES = SNAPSHOT_ALIGNMENT_BYTES;

export function encodeBackupHeader(imageBytes: number): Uint8Array {
  if (!Number.isSafeInteger(imageBytes) || imageBytes < 0) throw new RangeError(`image length ${imageBytes} is not a byte count`);
  const header = new Uint8Array(BACKUP_HEADER_BYTES);
  const view = new DataView(header.buffer);
  header.set(BACKUP_MAGIC, 0);
  view.setUint32(VERSION_OFFSET, BACKUP_FORMAT_VERSION);
  view.setBigUint64(LENGTH_OFFSET, BigInt(imageBytes));
  return header;
}

function startsWithMagic(data: Uint8Array): boolean {
  return data.byteLength >= BACKUP_MAGIC.byteLength && BACKUP_MAGIC.every((b, i) => data[i] === b);
}

function hexPrefix(data: Uint8Array): string {
  return `0x${Buffer.from(data.subarray(0, BACKUP_MAGIC.byteLength)).toString('hex')}`;
}

export interface LocatedImage {
  readonly image: Uint8Array;
  /** Bytes of header and image: the data before the zero padding. */
  readonly dataBytes: number;
  /** False for a file saved before the header existed. */
  readonly framed: boolean;
}

/**
 * Finds the image in a file's contents without the trailing digest (already
 * verified), and checks that only zero padding follows it.
 */
export function locateImage(contents: Uint8Array, file: string): LocatedImage {
  const located = startsWithMagic(contents) ? locateFramed(contents, file) : locateBare(contents, file);
  const padding = contents.subarray(located.dataBytes);
  if (padding.byteLength >= BACKUP_ALIGNMENT_BYTES) {
    throw new BackupFileError(BackupErrorCode.Malformed, file, `is malformed: ${padding.byteLength} bytes follow the ${located.dataBytes} bytes of data; padding is always shorter than ${BACKUP_ALIGNMENT_BYTES}`);
  }
  const nonZero = padding.findIndex((b) => b !== 0);
  if (nonZero >= 0) {
    throw new BackupFileError(BackupErrorCode.Malformed, file, `is malformed: the padding after the data holds a non-zero byte at offset ${located.dataBytes + nonZero}`);
  }
  return located;
}

function locateFramed(contents: Uint8Array, file: string): LocatedImage {
  if (contents.byteLength < BACKUP_HEADER_BYTES) {
    throw new BackupFileError(BackupErrorCode.Truncated, file, `is truncated: ${contents.byteLength} bytes of data is shorter than the ${BACKUP_HEADER_BYTES}-byte header`);
  }
  const view = new DataView(contents.buffer, contents.byteOffset, contents.byteLength);
  const version = view.getUint32(VERSION_OFFSET);
  if (version !== BACKUP_FORMAT_VERSION) {
    throw new BackupFileError(BackupErrorCode.UnsupportedVersion, file, `has format version ${version}; this build reads version ${BACKUP_FORMAT_VERSION}`);
  }
  const imageBytes = view.getBigUint64(LENGTH_OFFSET);
  const available = BigInt(contents.byteLength - BACKUP_HEADER_BYTES);
  if (imageBytes > available) {
    throw new BackupFileError(BackupErrorCode.Malformed, file, `is malformed: its header announces an image of ${imageBytes} bytes but only ${available} bytes follow the header`);
  }
  const dataBytes = BACKUP_HEADER_BYTES + Number(imageBytes);
  return { image: contents.subarray(BACKUP_HEADER_BYTES, dataBytes), dataBytes, framed: true };
}

const bareUnpackr = new Unpackr({ useRecords: false });

/** A file without the header: the image is the first msgpack value, a map. */
function locateBare(contents: Uint8Array, file: string): LocatedImage {
  let end = -1;
  let isMap = false;
  try {
    bareUnpackr.unpackMultiple(contents, (value: unknown, _start?: number, stop?: number) => {
      isMap = typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array);
      end = stop ?? -1;
      return false; // only the first value; the padding's zeros would decode as numbers
    });
  } catch (err) {
    throw notASnapshot(contents, file, `does not decode as a snapshot image (${err instanceof Error ? err.message : String(err)})`);
  }
  if (!isMap || end <= 0) throw notASnapshot(contents, file, 'does not hold a snapshot image');
  return { image: contents.subarray(0, end), dataBytes: end, framed: false };
}

function notASnapshot(contents: Uint8Array, file: string, why: string): BackupFileError {
  return new BackupFileError(
    BackupErrorCode.NotASnapshot,
    file,
    `is not a Strake snapshot: it starts with ${hexPrefix(contents)}, not "STRKBKUP", and ${why}; a snapshot saved from a real etcd is a bbolt database, which Strake cannot read`,
  );
}
