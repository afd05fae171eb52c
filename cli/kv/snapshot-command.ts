/**
 * `strake kv snapshot save FILE` (status and restore: snapshot-file-commands.ts): streams one member's snapshot into
 * FILE.part, checks the SHA-256 that etcd appends to the stream, fsyncs and
 * renames it into place. Like etcdctl it asks exactly one endpoint, since
 * members' snapshots differ.
 */
import { createHash } from 'node:crypto';
import { closeSync, fsyncSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import type { Command } from 'commander';
import type { ISnapshotResponse } from 'etcd3';
import type { ExitCodeSink } from '../main.js';
import { KV_EXIT_CODE, KvError, KvErrorCode, KvUsageError } from './errors.js';
import { writeLines } from './output.js';
import { registerSnapshotFileCommands } from './snapshot-file-commands.js';
import { globalFlags, kvAction, mustNotBeTable, parseEndpoints, withSession, type KvGlobalFlags } from './session.js';

/** etcd ends the snapshot stream with the SHA-256 of everything before it. */
export const SNAPSHOT_DIGEST_BYTES = 32;

/** What `strake kv snapshot --help` says about the file format and the real etcdctl. */
export const SNAPSHOT_FORMAT_HELP = `
Snapshot files are Strake's own format: a header, the replicated state (every
retained revision, leases, members), zero padding and a SHA-256. The real
etcdctl can save one from a Strake member (\`etcdctl snapshot save\`), but
\`etcdctl snapshot status\` and \`etcdctl snapshot restore\` cannot read it: they
expect etcd's bbolt database. Use \`strake kv snapshot status|restore\` instead;
likewise, Strake cannot restore a snapshot saved from a real etcd.

Restore every member of the new cluster from the same file, each with its own
--name and the same --initial-cluster and --initial-cluster-token, then start
them all with \`strake master ... --initial-cluster-state new\` and the same
--cluster-token.`;

export function registerSnapshotCommand(kv: Command, setExitCode: ExitCodeSink): void {
  const snapshot = kv
    .command('snapshot')
    .description("save a member's snapshot, check a saved file, restore a new cluster from it")
    .addHelpText('after', SNAPSHOT_FORMAT_HELP);
  snapshot
    .command('save')
    .description('store a snapshot of one member (a single --endpoints) into the given file')
    .argument('<file>')
    .action(kvAction(setExitCode, (file: string, _f: object, cmd: Command) => saveSnapshot(file, globalFlags(cmd))));
  registerSnapshotFileCommands(snapshot, setExitCode);
}

async function saveSnapshot(file: string, g: KvGlobalFlags): Promise<number> {
  mustNotBeTable(g.writeOut);
  const endpoints = parseEndpoints(g.endpoints);
  if (endpoints.length !== 1) {
    throw new KvUsageError(KvErrorCode.BadFlag, `snapshot must be requested to one selected node, not multiple [${endpoints.join(' ')}]`);
  }
  const partFile = `${file}.part`;
  const fd = openSync(partFile, 'w', 0o600);
  let saved = false;
  try {
    await withSession(g, async (s) => copySnapshot(await s.client.maintenance.snapshot(), fd, s.commandTimeoutMs));
    fsyncSync(fd);
    closeSync(fd);
    renameSync(partFile, file);
    saved = true;
    // etcdctl prints this line whatever -w says.
    writeLines([`Snapshot saved at ${file}`]);
    return KV_EXIT_CODE.ok;
  } finally {
    if (!saved) {
      closeQuietly(fd);
      unlinkSync(partFile);
    }
  }
}

function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // already closed after the fsync
  }
}

interface SnapshotStream {
  on(event: 'data', fn: (item: ISnapshotResponse) => void): unknown;
  on(event: 'end', fn: () => void): unknown;
  on(event: 'error', fn: (err: Error) => void): unknown;
}

/**
 * Writes each chunk as it comes (synchronously: the stream cannot outrun the
 * disk) while hashing everything but the last 32 bytes; resolves the byte count.
 */
function copySnapshot(stream: SnapshotStream, fd: number, timeoutMs: number): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const hash = createHash('sha256');
    let tail = Buffer.alloc(0);
    let total = 0;
    const timer = setTimeout(() => reject(new KvError(KvErrorCode.NoResponse, `snapshot not complete within ${timeoutMs} ms`)), timeoutMs);
    stream.on('data', (res) => {
      const blob = res.blob ?? Buffer.alloc(0);
      writeSync(fd, blob);
      total += blob.length;
      const joined = Buffer.concat([tail, blob]);
      const keep = Math.min(SNAPSHOT_DIGEST_BYTES, joined.length);
      hash.update(joined.subarray(0, joined.length - keep));
      tail = joined.subarray(joined.length - keep);
    });
    stream.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    stream.on('end', () => {
      clearTimeout(timer);
      if (tail.length !== SNAPSHOT_DIGEST_BYTES || !hash.digest().equals(tail)) {
        reject(new KvError(KvErrorCode.SnapshotCorrupt, `snapshot of ${total} bytes does not end with the SHA-256 of its contents`));
      } else {
        resolve(total);
      }
    });
  });
}
