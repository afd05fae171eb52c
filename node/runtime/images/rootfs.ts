/**
 * Container root filesystems: each image is unpacked once into
 * `unpacked/<config hex>` (the shared, read-only lower dir); a container gets
 * an overlay mount (lower = that dir, upper/work under its own directory) when
 * running as root, else a private copy. A marker file per user under
 * `unpacked/<config hex>.users/` keeps a removed image's lower dir alive until
 * its last container is cleaned up.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cp, mkdir, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { digestHex } from './digest.js';
import { ImageError, ImageErrorCode, errnoCode, errorText } from './errors.js';
import { exists, makeStagingDir } from './oci-layout.js';
import { applyLayer, type LayerSource } from './unpack.js';

/** mount/umount/cp of a local tree; generous because a copy of a big image is slow on a loaded machine. */
const TOOL_TIMEOUT_MS = 120_000;

export interface PreparedRootfs {
  rootfs: string;
  /** How the rootfs was made: an overlay mount, or a copy (not root, or overlay unavailable). */
  mode: 'overlay' | 'copy';
  cleanup(): Promise<void>;
}

const unpacking = new Map<string, Promise<string>>();

/** The unpacked lower dir of an image, unpacking it first if needed (once per process and per store). */
export function ensureUnpacked(storeDir: string, configDigest: string, layers: () => Promise<LayerSource[]>): Promise<string> {
  const target = lowerDirOf(storeDir, configDigest);
  let p = unpacking.get(target);
  if (p === undefined) {
    p = unpackOnce(storeDir, target, layers).finally(() => unpacking.delete(target));
    unpacking.set(target, p);
  }
  return p;
}

async function unpackOnce(storeDir: string, target: string, layers: () => Promise<LayerSource[]>): Promise<string> {
  if (await exists(target)) return target;
  await mkdir(join(storeDir, 'unpacked'), { recursive: true });
  const staging = await makeStagingDir(storeDir);
  try {
    const root = join(staging, 'rootfs');
    await mkdir(root, { mode: 0o755 });
    for (const layer of await layers()) await applyLayer(root, layer);
    try {
      await rename(root, target);
    } catch (err) {
      // Another process finished the same image first: its copy is as good as ours.
      if (errnoCode(err) !== 'ENOTEMPTY' && errnoCode(err) !== 'EEXIST') throw err;
    }
    return target;
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

/** Where the image with this config digest is unpacked (its shared lower dir). */
export function lowerDirOf(storeDir: string, configDigest: string): string {
  return join(storeDir, 'unpacked', digestHex(configDigest));
}

export function usersDir(lowerDir: string): string {
  return `${lowerDir}.users`;
}

/** The marker saying that the container in `containerDir` uses `lowerDir`. */
function userMarker(lowerDir: string, containerDir: string): string {
  return join(usersDir(lowerDir), createHash('sha256').update(containerDir).digest('hex').slice(0, 32));
}

export async function mountRootfs(lowerDir: string, containerDir: string): Promise<PreparedRootfs> {
  const rootfs = join(containerDir, 'rootfs');
  const upper = join(containerDir, 'upper');
  const work = join(containerDir, 'work');
  await mkdir(rootfs, { recursive: true });
  await mkdir(usersDir(lowerDir), { recursive: true });
  await writeFile(userMarker(lowerDir, containerDir), containerDir);
  let mode: PreparedRootfs['mode'] = 'copy';
  if (process.getuid?.() === 0 && !/[,:]/.test(lowerDir + upper + work)) {
    await mkdir(upper, { recursive: true });
    await mkdir(work, { recursive: true });
    const r = await run('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${lowerDir},upperdir=${upper},workdir=${work}`, rootfs]);
    if (r.code === 0) mode = 'overlay';
    else for (const d of [upper, work]) await rm(d, { recursive: true, force: true });
  }
  if (mode === 'copy') await copyTree(lowerDir, rootfs);
  let cleaned = false;
  return {
    rootfs,
    mode,
    async cleanup() {
      if (cleaned) return;
      await releaseRootfs(lowerDir, containerDir);
      cleaned = true;
    },
  };
}

/**
 * Undoes mountRootfs for `containerDir`: unmounts the rootfs when it is mounted,
 * removes rootfs, upper and work, and drops the container's user marker so the
 * lower dir may go once its image is removed. It needs only the paths, so a later
 * process can release a rootfs an earlier one prepared.
 */
export async function releaseRootfs(lowerDir: string, containerDir: string): Promise<void> {
  const rootfs = join(containerDir, 'rootfs');
  if (await isMounted(rootfs)) {
    const u = await run('umount', [rootfs]);
    if (u.code !== 0) {
      const lazy = await run('umount', ['-l', rootfs]);
      if (lazy.code !== 0) throw new ImageError(ImageErrorCode.Internal, `umount ${rootfs} failed: ${u.stderr.trim()} / ${lazy.stderr.trim()}`);
    }
  }
  for (const d of [rootfs, join(containerDir, 'upper'), join(containerDir, 'work')]) await rm(d, { recursive: true, force: true });
  await rm(userMarker(lowerDir, containerDir), { force: true });
}

async function isMounted(path: string): Promise<boolean> {
  const mounts = await readFile('/proc/self/mountinfo', 'utf8').catch(() => '');
  return mounts.split('\n').some((l) => l.split(' ')[4] === path);
}

async function copyTree(from: string, to: string): Promise<void> {
  const r = await run('cp', ['-a', `${from}/.`, `${to}/`]);
  if (r.code === 0) return;
  // No cp(1) (or it failed): Node's copy keeps modes and symlinks, not owners.
  await cp(from, to, { recursive: true, verbatimSymlinks: true, force: true });
}

/** True while any container still uses the image's lower dir. */
export async function lowerDirInUse(lowerDir: string): Promise<boolean> {
  const users = await readdir(usersDir(lowerDir)).catch(() => [] as string[]);
  return users.length > 0;
}

function run(cmd: string, args: string[]): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], timeout: TOOL_TIMEOUT_MS });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      if (stderr.length < 4096) stderr += d.toString();
    });
    child.on('error', (err) => resolve({ code: -1, stderr: errorText(err) }));
    child.on('close', (code) => resolve({ code: code ?? -1, stderr }));
  });
}
