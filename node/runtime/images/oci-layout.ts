/**
 * The on-disk OCI image layout the store keeps: `oci-layout`, `index.json`,
 * `blobs/sha256/<hex>`, plus `tmp/` for staging (same filesystem, so a
 * verified blob enters with one rename) and `index.lock`.
 *
 * Invariants: a file under blobs/ always has the content its name says (it is
 * written and verified in tmp/ first); index.json is replaced atomically
 * (write temp, fsync, rename); blobs are committed and index.json changed only
 * under the layout lock, so garbage collection never races a commit.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, open, readFile, readdir, rename, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';
import { blobPath, sha256Digest } from './digest.js';
import { ImageError, ImageErrorCode, errnoCode, errorText } from './errors.js';
import { MediaType, type ImageIndex } from './media-types.js';

/** Waiting this long for another process's lock means it is stuck; a clear error beats a hang. */
const LOCK_TIMEOUT_MS = 60_000;
const LOCK_RETRY_MS = 10;
/** index.json of a node store lists images, a few hundred bytes each. */
const INDEX_BYTES_MAX = 16 * 1024 * 1024;
/** Manifests, indexes and configs are small JSON documents (registries cap manifests at 4 MiB). */
export const JSON_BLOB_BYTES_MAX = 4 * 1024 * 1024;

const inProcessLocks = new Map<string, Promise<void>>();

export async function initLayout(dir: string): Promise<void> {
  await mkdir(join(dir, 'blobs', 'sha256'), { recursive: true });
  await mkdir(join(dir, 'tmp'), { recursive: true });
  const layoutFile = join(dir, 'oci-layout');
  if (!(await exists(layoutFile))) await writeAtomic(dir, layoutFile, '{"imageLayoutVersion":"1.0.0"}');
  if (!(await exists(join(dir, 'index.json')))) await writeIndex(dir, { schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: [] });
  await removeStaleTmp(dir);
}

export async function readIndex(dir: string): Promise<ImageIndex> {
  const file = join(dir, 'index.json');
  const st = await stat(file);
  if (st.size > INDEX_BYTES_MAX) throw new ImageError(ImageErrorCode.TooLarge, `${file} is ${st.size} bytes, limit ${INDEX_BYTES_MAX}`);
  const index = parseJson<ImageIndex>(await readFile(file), file);
  if (!Array.isArray(index.manifests)) throw new ImageError(ImageErrorCode.InvalidArchive, `${file} has no manifests array`);
  return index;
}

export async function writeIndex(dir: string, index: ImageIndex): Promise<void> {
  await writeAtomic(dir, join(dir, 'index.json'), JSON.stringify(index, null, 1));
}

async function writeAtomic(dir: string, file: string, text: string): Promise<void> {
  const tmp = join(dir, 'tmp', `${process.pid}-${randomBytes(6).toString('hex')}.json`);
  const fh = await open(tmp, 'w');
  try {
    await fh.writeFile(text);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, file);
}

/** Runs fn holding the layout lock: one holder per process (a promise chain) and per machine (an O_EXCL lock file). */
export async function withLayoutLock<T>(dir: string, fn: () => Promise<T>): Promise<T> {
  const prev = inProcessLocks.get(dir) ?? Promise.resolve();
  let release!: () => void;
  const mine = new Promise<void>((r) => (release = r));
  const chained = prev.then(() => mine);
  inProcessLocks.set(dir, chained);
  await prev;
  try {
    await acquireFileLock(dir);
    try {
      return await fn();
    } finally {
      await unlink(join(dir, 'index.lock')).catch(() => undefined);
    }
  } finally {
    release();
    if (inProcessLocks.get(dir) === chained) inProcessLocks.delete(dir);
  }
}

async function acquireFileLock(dir: string): Promise<void> {
  const file = join(dir, 'index.lock');
  const deadline = Date.now() + LOCK_TIMEOUT_MS;
  for (;;) {
    try {
      await writeFile(file, String(process.pid), { flag: 'wx' });
      return;
    } catch (err) {
      if (errnoCode(err) !== 'EEXIST') throw err;
    }
    const holder = Number((await readFile(file, 'utf8').catch(() => '')).trim());
    if (Number.isInteger(holder) && holder > 0 && !processAlive(holder)) {
      await unlink(file).catch(() => undefined);
      continue;
    }
    if (Date.now() > deadline) throw new ImageError(ImageErrorCode.DeadlineExceeded, `image store ${dir} is locked by pid ${holder} for more than ${LOCK_TIMEOUT_MS} ms`);
    await new Promise((r) => setTimeout(r, LOCK_RETRY_MS));
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return errnoCode(err) === 'EPERM';
  }
}

/** Staging leftovers of processes that died mid-import. */
async function removeStaleTmp(dir: string): Promise<void> {
  for (const name of await readdir(join(dir, 'tmp')).catch(() => [] as string[])) {
    const pid = Number(name.split('-')[0]);
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && !processAlive(pid)) await rm(join(dir, 'tmp', name), { recursive: true, force: true });
  }
}

/** A fresh private staging directory under tmp/; the caller removes it. */
export async function makeStagingDir(dir: string): Promise<string> {
  const staging = join(dir, 'tmp', `${process.pid}-${randomBytes(8).toString('hex')}`);
  await mkdir(staging, { recursive: true });
  return staging;
}

export interface StagedBlob {
  file: string;
  digest: string;
  size: number;
}

/** Writes a stream to `file` while hashing it; stops with TooLarge past sizeMax bytes. */
export async function stageStream(source: AsyncIterable<Buffer> | NodeJS.ReadableStream, file: string, o: { sizeMax: number; what: string; onBytes?: (n: number) => void }): Promise<StagedBlob> {
  const hash = createHash('sha256');
  let size = 0;
  const meter = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      size += chunk.length;
      if (size > o.sizeMax) return cb(new ImageError(ImageErrorCode.TooLarge, `${o.what} exceeds ${o.sizeMax} bytes`));
      hash.update(chunk);
      o.onBytes?.(chunk.length);
      cb(null, chunk);
    },
  });
  await pipeline(source, meter, createWriteStream(file));
  return { file, digest: `sha256:${hash.digest('hex')}`, size };
}

/** Moves verified staged blobs into blobs/ (call under the layout lock). */
export async function commitBlobs(dir: string, staged: Iterable<StagedBlob>): Promise<void> {
  for (const b of staged) {
    const target = blobPath(dir, b.digest);
    if (await exists(target)) continue;
    await rename(b.file, target);
  }
}

export async function hasBlob(dir: string, digest: string): Promise<boolean> {
  return exists(blobPath(dir, digest));
}

/** Reads and re-verifies a small JSON blob. */
export async function readJsonBlob<T>(dir: string, digest: string): Promise<T> {
  const file = blobPath(dir, digest);
  let data: Buffer;
  try {
    const st = await stat(file);
    if (st.size > JSON_BLOB_BYTES_MAX) throw new ImageError(ImageErrorCode.TooLarge, `blob ${digest} is ${st.size} bytes, limit ${JSON_BLOB_BYTES_MAX} for JSON`);
    data = await readFile(file);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') throw new ImageError(ImageErrorCode.NotFound, `blob ${digest} is missing from the image store ${dir}`);
    throw err;
  }
  if (sha256Digest(data) !== digest) throw new ImageError(ImageErrorCode.DigestMismatch, `blob ${digest} in ${dir} does not match its digest (corrupt store)`);
  return parseJson<T>(data, `blob ${digest}`);
}

export function parseJson<T>(data: Buffer | string, what: string): T {
  try {
    return JSON.parse(data.toString()) as T;
  } catch (err) {
    throw new ImageError(ImageErrorCode.InvalidArchive, `${what} is not valid JSON: ${errorText(err)}`);
  }
}

/** Deletes blobs not in `keep` (call under the layout lock). Returns how many were removed. */
export async function removeBlobsExcept(dir: string, keep: ReadonlySet<string>): Promise<number> {
  let removed = 0;
  for (const hex of await readdir(join(dir, 'blobs', 'sha256'))) {
    if (keep.has(`sha256:${hex}`)) continue;
    await rm(join(dir, 'blobs', 'sha256', hex), { force: true });
    removed++;
  }
  return removed;
}

export async function exists(file: string): Promise<boolean> {
  try {
    await stat(file);
    return true;
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return false;
    throw err;
  }
}

