/**
 * State-machine snapshots on disk: one file per snapshot under <data-dir>/snap,
 * named <term>-<index>.snap, written atomically (temp file, fsync, rename,
 * fsync of the directory) and checksummed.
 *
 * File layout: magic "STRKSNP1" | u32 crc32(body) | body, where body is the
 * msgpack encoding of { index, term, confState, data }.
 */
import { open, readdir, readFile, rename, rm, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { unpack } from 'msgpackr';
import { packWithBytesParts } from '../../proto/msgpack.js';
import { assert } from '../core/assert.js';
import type { Snapshot } from '../core/types.js';
import { CorruptStorageError } from './errors.js';

const MAGIC = Buffer.from('STRKSNP1');
const HEADER_BYTES = MAGIC.byteLength + 4;
/** Older snapshot files kept besides the newest, for a manual rollback. */
export const RETAINED_SNAPSHOT_FILES = 2;
/** Bytes per write of a snapshot file: progress can be reported between writes of a large one. */
const WRITE_CHUNK_BYTES = 4 * 1024 * 1024;

/** Called after each write with the bytes written so far and the file's total. */
export type WriteProgress = (writtenBytes: number, totalBytes: number) => void;

export function snapshotFileName(s: Snapshot): string {
  const { term, index } = s.metadata;
  return `${term.toString(16).padStart(16, '0')}-${index.toString(16).padStart(16, '0')}.snap`;
}

export async function writeSnapshotFile(dir: string, s: Snapshot, onProgress?: WriteProgress): Promise<string> {
  // The body is written in two parts so that the image (most of it) is never copied.
  const body = packWithBytesParts({ index: s.metadata.index, term: s.metadata.term, confState: s.metadata.confState }, 'data', s.data);
  const header = Buffer.allocUnsafe(HEADER_BYTES);
  MAGIC.copy(header, 0);
  header.writeUInt32BE(body.reduce((crc, part) => crc32(part, crc), 0), MAGIC.byteLength);
  const name = snapshotFileName(s);
  const tmp = join(dir, `${name}.tmp`);
  const fh = await open(tmp, 'w');
  try {
    await writeChunked(fh, [header, ...body], onProgress);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, join(dir, name));
  await syncDir(dir);
  return name;
}

async function writeChunked(fh: FileHandle, parts: readonly Uint8Array[], onProgress: WriteProgress | undefined): Promise<void> {
  const totalBytes = parts.reduce((n, p) => n + p.byteLength, 0);
  let writtenBytes = 0;
  for (const part of parts) {
    for (let at = 0; at < part.byteLength; at += WRITE_CHUNK_BYTES) {
      const chunk = part.subarray(at, Math.min(at + WRITE_CHUNK_BYTES, part.byteLength));
      // One write(2) may take less than asked; it takes at least a byte or fails, so this ends.
      for (let done = 0; done < chunk.byteLength; ) {
        const { bytesWritten } = await fh.write(chunk, done);
        assert(bytesWritten > 0, () => `write(2) took no bytes at byte ${writtenBytes + done} of ${totalBytes}`);
        done += bytesWritten;
      }
      writtenBytes += chunk.byteLength;
      onProgress?.(writtenBytes, totalBytes);
    }
  }
}

export async function readSnapshotFile(path: string): Promise<Snapshot> {
  const buf = await readFile(path);
  if (buf.byteLength < HEADER_BYTES || !buf.subarray(0, MAGIC.byteLength).equals(MAGIC)) {
    throw new CorruptStorageError(path, 'not a snapshot file (bad magic or truncated header)');
  }
  const body = buf.subarray(HEADER_BYTES);
  if (buf.readUInt32BE(MAGIC.byteLength) !== crc32(body)) {
    throw new CorruptStorageError(path, `checksum mismatch over ${body.byteLength} bytes`);
  }
  const o = unpack(body) as { index: number; term: number; confState: Snapshot['metadata']['confState']; data: Uint8Array };
  // A view into the file's buffer, whose only other content is the small header.
  return { metadata: { index: o.index, term: o.term, confState: o.confState }, data: new Uint8Array(o.data.buffer, o.data.byteOffset, o.data.byteLength) };
}

/** Deletes all but the newest `keep` snapshot files and any leftover temp files. */
export async function pruneSnapshotFiles(dir: string, keep: number): Promise<void> {
  const names = (await readdir(dir)).sort();
  for (const n of names) if (n.endsWith('.tmp')) await rm(join(dir, n), { force: true });
  const snaps = names.filter((n) => n.endsWith('.snap'));
  for (const n of snaps.slice(0, Math.max(0, snaps.length - keep))) await rm(join(dir, n), { force: true });
}

export async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
