/**
 * Applies layer tars, bottom first, onto a directory: OCI whiteouts
 * (`.wh.<name>` deletes a lower entry, `.wh..wh..opq` empties a directory of
 * lower entries), ownership when running as root, modes and mtimes.
 *
 * Safety: an entry name with a `..` component is refused (UnsafePath); parent
 * directories are resolved inside the root, so a symlink in the tree (absolute
 * or relative) can never carry a later entry outside it; the last component
 * is replaced, never followed. Device nodes and fifos are skipped (a runtime
 * mounts /dev itself).
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { chmod, lchown, link, lstat, lutimes, mkdir, readdir, readlink, rm, symlink, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { ImageError, ImageErrorCode, errnoCode } from './errors.js';
import { readTar, type TarEntry } from './tar-reader.js';

const WHITEOUT_PREFIX = '.wh.';
const OPAQUE_WHITEOUT = '.wh..wh..opq';
/** Linux's own bound on symlinks followed while resolving one path. */
const SYMLINK_HOPS_MAX = 40;

export interface LayerSource {
  file: string;
  compression: 'none' | 'gzip';
  /** The config's diff_id: sha256 of the uncompressed tar, checked as it streams. */
  diffId: string;
  what: string;
}

export interface UnpackStats {
  entries: number;
  /** Device nodes, fifos and unknown entry types left out. */
  skipped: number;
}

export async function applyLayer(rootDir: string, layer: LayerSource): Promise<UnpackStats> {
  const isRoot = process.getuid?.() === 0;
  const written = new Set<string>();
  const dirs: { path: string; mode: number; mtimeSec: number }[] = [];
  const stats: UnpackStats = { entries: 0, skipped: 0 };
  const hash = createHash('sha256');
  const hasher = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      hash.update(chunk);
      cb(null, chunk);
    },
  });
  const raw = createReadStream(layer.file);
  const decoded = layer.compression === 'gzip' ? raw.pipe(createGunzip()) : raw;
  if (decoded !== raw) raw.on('error', (err) => decoded.destroy(err));
  decoded.on('error', (err: Error) => hasher.destroy(err));
  const stream = decoded.pipe(hasher);
  try {
    await readTar(
      stream,
      async (e, body) => {
        stats.entries++;
        if (!(await applyEntry({ rootDir, e, body, isRoot, written, dirs }))) stats.skipped++;
      },
      layer.what,
    );
    // Hash what follows the end-of-archive block too (tar pads to its record size).
    for await (const _ of stream) {
      // drained into the hash
    }
  } finally {
    stream.destroy();
    decoded.destroy();
  }
  const diffId = `sha256:${hash.digest('hex')}`;
  if (diffId !== layer.diffId) throw new ImageError(ImageErrorCode.DigestMismatch, `${layer.what}: uncompressed content is ${diffId}, the config's diff_id is ${layer.diffId}`);
  for (const d of dirs.reverse()) {
    await chmod(d.path, d.mode);
    await utimes(d.path, d.mtimeSec, d.mtimeSec);
  }
  return stats;
}

/** The path's components; `..` anywhere is refused. */
export function safeParts(path: string, what: string): string[] {
  const parts = path.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) throw new ImageError(ImageErrorCode.UnsafePath, `${what}: entry "${path}" has a ".." component`);
  return parts;
}

interface EntryContext {
  rootDir: string;
  e: TarEntry;
  body: AsyncIterable<Buffer>;
  isRoot: boolean;
  written: Set<string>;
  dirs: { path: string; mode: number; mtimeSec: number }[];
}

/** Returns false when the entry was skipped. */
async function applyEntry(c: EntryContext): Promise<boolean> {
  const { e, rootDir } = c;
  const parts = safeParts(e.path, 'layer');
  if (parts.length === 0) {
    if (e.kind === 'dir') c.dirs.push({ path: rootDir, mode: e.mode, mtimeSec: e.mtimeSec });
    return true;
  }
  const base = parts[parts.length - 1]!;
  const parentParts = parts.slice(0, -1);
  if (base.startsWith(WHITEOUT_PREFIX)) return applyWhiteout(c, parentParts, base);
  const parent = await resolveInRoot(rootDir, parentParts, true);
  const target = join(parent, base);
  const existing = await lstat(target).catch((err: unknown) => (errnoCode(err) === 'ENOENT' ? undefined : Promise.reject(err)));
  if (existing !== undefined && !(e.kind === 'dir' && existing.isDirectory())) await rm(target, { recursive: true, force: true });
  switch (e.kind) {
    case 'file':
      await pipeline(c.body, createWriteStream(target, { mode: 0o600 }));
      break;
    case 'dir':
      if (existing === undefined || !existing.isDirectory()) await mkdir(target, { mode: 0o700 });
      c.dirs.push({ path: target, mode: e.mode, mtimeSec: e.mtimeSec });
      break;
    case 'symlink':
      await symlink(e.linkname, target);
      break;
    case 'hardlink': {
      const src = safeParts(e.linkname, 'layer hard link');
      if (src.length === 0) throw new ImageError(ImageErrorCode.UnsafePath, `layer: hard link ${e.path} points at the root`);
      const srcPath = join(await resolveInRoot(rootDir, src.slice(0, -1), false), src[src.length - 1]!);
      await link(srcPath, target);
      break;
    }
    default:
      return false;
  }
  c.written.add(parts.join('/'));
  if (c.isRoot) await lchown(target, e.uid, e.gid);
  if (e.kind === 'file') await chmod(target, e.mode);
  if (e.kind !== 'dir' && e.kind !== 'hardlink') await lutimes(target, e.mtimeSec, e.mtimeSec);
  return true;
}

async function applyWhiteout(c: EntryContext, parentParts: string[], base: string): Promise<boolean> {
  let parent: string;
  try {
    parent = await resolveInRoot(c.rootDir, parentParts, false);
  } catch (err) {
    if (err instanceof ImageError && err.code === ImageErrorCode.NotFound) return true;
    throw err;
  }
  const prefix = parentParts.length === 0 ? '' : `${parentParts.join('/')}/`;
  if (base === OPAQUE_WHITEOUT) {
    for (const child of await readdir(parent)) {
      if (!c.written.has(prefix + child)) await rm(join(parent, child), { recursive: true, force: true });
    }
    return true;
  }
  const victim = base.slice(WHITEOUT_PREFIX.length);
  if (victim === '' || victim === '.' || victim === '..') throw new ImageError(ImageErrorCode.UnsafePath, `layer: whiteout "${prefix}${base}" names no entry`);
  await rm(join(parent, victim), { recursive: true, force: true });
  return true;
}

/**
 * The real directory `parts` names, resolved as if `root` were `/`: symlinks
 * are followed with absolute targets restarting at root and `..` stopping at
 * root, so the result is always inside root. Missing directories are created
 * when `create`, else NotFound.
 */
export async function resolveInRoot(root: string, parts: readonly string[], create: boolean): Promise<string> {
  let cur: string[] = [];
  const queue = [...parts];
  let hops = 0;
  while (queue.length > 0) {
    const p = queue.shift()!;
    if (p === '' || p === '.') continue;
    if (p === '..') {
      cur.pop();
      continue;
    }
    const abs = join(root, ...cur, p);
    const st = await lstat(abs).catch((err: unknown) => (errnoCode(err) === 'ENOENT' ? undefined : Promise.reject(err)));
    if (st === undefined) {
      if (!create) throw new ImageError(ImageErrorCode.NotFound, `layer: ${[...cur, p].join('/')} does not exist`);
      await mkdir(abs, { mode: 0o755 });
      cur.push(p);
    } else if (st.isSymbolicLink()) {
      if (++hops > SYMLINK_HOPS_MAX) throw new ImageError(ImageErrorCode.UnsafePath, `layer: more than ${SYMLINK_HOPS_MAX} symlinks under ${parts.join('/')}`);
      const target = await readlink(abs);
      if (target.startsWith('/')) cur = [];
      queue.unshift(...target.split('/'));
    } else if (st.isDirectory()) {
      cur.push(p);
    } else {
      throw new ImageError(ImageErrorCode.InvalidArchive, `layer: ${[...cur, p].join('/')} is not a directory but has entries under it`);
    }
  }
  return join(root, ...cur);
}
