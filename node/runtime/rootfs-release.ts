/**
 * Releasing a container rootfs made by an earlier runtime process, whose
 * `PreparedRootfs.cleanup` closure is gone: unmount the overlay (if mounted),
 * remove rootfs/upper/work, and drop the container's user marker of the image's
 * unpacked lower dir (named as `images/rootfs.ts` names it) so the image store
 * may delete that dir once the image is removed.
 */
import { createHash } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { ImageStore } from './images/image-store.js';
import { usersDir } from './images/rootfs.js';
import type { ContainerRecord } from './state-store.js';
import { runTool } from './tools.js';

const UMOUNT_TIMEOUT_MS = 30_000;

async function isMounted(path: string): Promise<boolean> {
  const mounts = await readFile('/proc/self/mountinfo', 'utf8').catch(() => '');
  return mounts.split('\n').some((l) => l.split(' ')[4] === path);
}

export async function releaseRootfs(images: ImageStore, c: ContainerRecord): Promise<void> {
  const rootfs = c.rootfs.path;
  if (await isMounted(rootfs)) {
    const r = await runTool('umount', [rootfs], { timeoutMs: UMOUNT_TIMEOUT_MS });
    if (r.code !== 0) {
      const lazy = await runTool('umount', ['-l', rootfs], { timeoutMs: UMOUNT_TIMEOUT_MS });
      if (lazy.code !== 0) throw new Error(`umount ${rootfs} failed: ${r.stderr.trim()}`);
    }
  }
  for (const d of [rootfs, join(c.dir, 'upper'), join(c.dir, 'work')]) await rm(d, { recursive: true, force: true });
  const lower = join(images.dir, 'unpacked', c.imageId.replace(/^sha256:/, ''));
  const marker = join(usersDir(lower), createHash('sha256').update(c.dir).digest('hex').slice(0, 32));
  await rm(marker, { force: true });
}
