/**
 * Reading a saved snapshot file: the whole file is read (reporting progress),
 * its trailing SHA-256 checked, the image found behind the header, and the
 * MVCC state decoded and validated, before anyone may act on it. Nothing here
 * writes.
 */
import { createHash } from 'node:crypto';
import { constants as bufferConstants } from 'node:buffer';
import { open, type FileHandle } from 'node:fs/promises';
import { crc32 } from 'node:zlib';
import type { Member } from '../etcd-server/types.js';
import { MvccStateMachine } from '../mvcc/state-machine.js';
import { SnapshotImageError, decodeImage } from '../replica/replicated-state.js';
import { BackupErrorCode, BackupFileError } from './errors.js';
import { BACKUP_ALIGNMENT_BYTES, BACKUP_DIGEST_BYTES, locateImage, type LocatedImage } from './frame.js';

/** Bytes per read: large enough for disk throughput, small enough for smooth progress. */
export const READ_CHUNK_BYTES = 4 * 1024 * 1024;
/**
 * The largest file read: etcd's suggested maximum space quota (8 GiB), or less
 * where one Buffer cannot hold that much. A member keeps its whole state in
 * memory, so no state it could save is larger.
 */
export const BACKUP_FILE_BYTES_MAX = Math.min(8 * 1024 ** 3, bufferConstants.MAX_LENGTH);

export const ProgressPhase = {
  /** Reading and verifying the snapshot file. */
  Read: 'read',
  /** Writing the restored member's data. */
  Write: 'write',
} as const;
export type ProgressPhase = (typeof ProgressPhase)[keyof typeof ProgressPhase];

export type BackupProgress = (phase: ProgressPhase, doneBytes: number, totalBytes: number) => void;

/** A snapshot file that passed every check. */
export interface VerifiedBackup {
  readonly file: string;
  readonly sizeBytes: number;
  /**
   * CRC-32 (IEEE) of the snapshot data: header and image, without the zero
   * padding and the digest. Two saves of the same state have the same hash.
   */
  readonly hash: number;
  /** The store revision the snapshot captures. */
  readonly revision: number;
  readonly compactRevision: number;
  /** Keys that exist at `revision` (deleted ones are not counted). */
  readonly totalKeys: number;
  readonly leaseCount: number;
  /** The MVCC snapshot bytes, validated. */
  readonly mvcc: Uint8Array;
  /** The membership table of the cluster that saved it. */
  readonly members: readonly Member[];
  /** False for a file saved before the backup header existed. */
  readonly framed: boolean;
}

/** Reads, verifies and decodes a saved snapshot; throws BackupFileError naming what is wrong. */
export async function readBackupFile(file: string, onProgress?: BackupProgress): Promise<VerifiedBackup> {
  const contents = await readVerifiedContents(file, onProgress);
  const located = locateImage(contents, file);
  return decodeBackup(file, contents.byteLength + BACKUP_DIGEST_BYTES, contents, located);
}

function decodeBackup(file: string, sizeBytes: number, contents: Uint8Array, located: LocatedImage): VerifiedBackup {
  let image: { mvcc: Uint8Array; members: Member[] };
  try {
    image = decodeImage(located.image);
  } catch (err) {
    if (!(err instanceof SnapshotImageError)) throw err;
    throw new BackupFileError(BackupErrorCode.Malformed, file, `is malformed: ${err.message}`);
  }
  const mvcc = MvccStateMachine.restore(image.mvcc);
  if (!(mvcc instanceof MvccStateMachine)) throw new BackupFileError(BackupErrorCode.Malformed, file, `is malformed: ${mvcc.message}`);
  const status = mvcc.status();
  return {
    file,
    sizeBytes,
    hash: crc32(contents.subarray(0, located.dataBytes)),
    revision: status.revision,
    compactRevision: status.compactRevision,
    totalKeys: status.keyCount,
    leaseCount: status.leaseCount,
    mvcc: image.mvcc,
    members: image.members,
    framed: located.framed,
  };
}

/**
 * The file's bytes before the digest, after checking its size and the digest.
 * A saved snapshot is whole 512-byte blocks plus the 32-byte digest; any other
 * size means it was cut short (or is not a snapshot).
 */
async function readVerifiedContents(file: string, onProgress: BackupProgress | undefined): Promise<Buffer> {
  const fh = await open(file, 'r').catch((err: unknown) => {
    throw new BackupFileError(BackupErrorCode.Unreadable, file, `cannot be read: ${err instanceof Error ? err.message : String(err)}`);
  });
  try {
    const sizeBytes = (await fh.stat()).size;
    mustHaveSavedSize(file, sizeBytes);
    const contentBytes = sizeBytes - BACKUP_DIGEST_BYTES;
    const buf = Buffer.allocUnsafe(sizeBytes);
    const digest = createHash('sha256');
    await readAll(fh, buf, file, (from, to) => {
      if (from < contentBytes) digest.update(buf.subarray(from, Math.min(to, contentBytes)));
      onProgress?.(ProgressPhase.Read, to, sizeBytes);
    });
    const computed = digest.digest();
    const stored = buf.subarray(contentBytes);
    if (!computed.equals(stored)) {
      throw new BackupFileError(
        BackupErrorCode.ChecksumMismatch,
        file,
        `is corrupt: its last ${BACKUP_DIGEST_BYTES} bytes should be the SHA-256 of the ${contentBytes} bytes before them ` +
          `(${shortHex(computed)}) but are ${shortHex(stored)}; it was damaged or cut short after it was saved, or is not a snapshot`,
      );
    }
    return buf.subarray(0, contentBytes);
  } finally {
    await fh.close();
  }
}

/** Digest prefixes in messages: enough to tell two digests apart by eye. */
const DIGEST_HEX_SHOWN = 16;

function shortHex(digest: Buffer): string {
  return `${digest.toString('hex').slice(0, DIGEST_HEX_SHOWN)}…`;
}

function mustHaveSavedSize(file: string, sizeBytes: number): void {
  if (sizeBytes < BACKUP_ALIGNMENT_BYTES + BACKUP_DIGEST_BYTES) {
    throw new BackupFileError(
      BackupErrorCode.Truncated,
      file,
      `is truncated or not a snapshot: ${sizeBytes} bytes is shorter than the smallest saved snapshot (${BACKUP_ALIGNMENT_BYTES + BACKUP_DIGEST_BYTES} bytes)`,
    );
  }
  if ((sizeBytes - BACKUP_DIGEST_BYTES) % BACKUP_ALIGNMENT_BYTES !== 0) {
    throw new BackupFileError(
      BackupErrorCode.Truncated,
      file,
      `is truncated or not a snapshot: ${sizeBytes} bytes is not a whole number of ${BACKUP_ALIGNMENT_BYTES}-byte blocks ` +
        `plus the ${BACKUP_DIGEST_BYTES}-byte SHA-256, as every saved snapshot is`,
    );
  }
  if (sizeBytes > BACKUP_FILE_BYTES_MAX) {
    throw new BackupFileError(BackupErrorCode.TooLarge, file, `is ${sizeBytes} bytes; the limit is ${BACKUP_FILE_BYTES_MAX} bytes`);
  }
}

/** Fills `buf` from the file, calling `onChunk(from, to)` after each read; a file that shrank meanwhile is truncated. */
async function readAll(fh: FileHandle, buf: Buffer, file: string, onChunk: (from: number, to: number) => void): Promise<void> {
  for (let at = 0; at < buf.byteLength; ) {
    const { bytesRead } = await fh.read(buf, at, Math.min(READ_CHUNK_BYTES, buf.byteLength - at), at);
    if (bytesRead === 0) {
      throw new BackupFileError(BackupErrorCode.Truncated, file, `is truncated: it ended after ${at} of ${buf.byteLength} bytes while being read`);
    }
    onChunk(at, at + bytesRead);
    at += bytesRead;
  }
}
