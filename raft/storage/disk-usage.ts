/**
 * How many bytes a storage directory takes on disk: what a member reports as
 * its physical size (etcd's dbSize). The raft LevelDB directory and the
 * snapshot directory are flat, so one level is read.
 */
import { lstat, opendir } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Entries one scan looks at. LevelDB keeps a few dozen files (tables of 2 MiB
 * by default, its manifest, log and lock) and the snapshot directory a handful;
 * far more means something else was put there, and the scan stops counting
 * rather than stat an unbounded directory on every status call.
 */
export const DIRECTORY_ENTRIES_MAX = 10_000;

/** Sum of the sizes of the regular files directly in `dir` (0 if it does not exist). */
export async function directoryBytes(dir: string): Promise<number> {
  let handle;
  try {
    handle = await opendir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw err;
  }
  let bytes = 0;
  let seen = 0;
  for await (const entry of handle) {
    if (++seen > DIRECTORY_ENTRIES_MAX) break; // leaving the loop closes the handle
    if (!entry.isFile()) continue;
    bytes += await fileBytes(join(dir, entry.name));
  }
  return bytes;
}

/** A file's size; 0 when it vanished meanwhile (LevelDB deletes tables after a compaction). */
async function fileBytes(path: string): Promise<number> {
  try {
    return (await lstat(path)).size;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw err;
  }
}
