/**
 * `strake kv snapshot status FILE` and `strake kv snapshot restore FILE ...`:
 * like etcdctl's, they work on a saved file alone and talk to no endpoint.
 * Reading, verifying and restoring belong to store/backup; this file turns
 * flags into options, results into etcdctl's output, and shows progress on
 * stderr for large files.
 */
import { statSync } from 'node:fs';
import type { Command } from 'commander';
import { readBackupFile, ProgressPhase, type BackupProgress, type VerifiedBackup } from '../../store/backup/backup-file.js';
import { RestoreFlagError } from '../../store/backup/errors.js';
import { restoreMember, type RestoredMember } from '../../store/backup/restore.js';
import { InitialClusterError } from '../../store/replica/initial-cluster.js';
import { formatId } from '../../store/replica/member-id.js';
import type { ExitCodeSink } from '../main.js';
import { KV_EXIT_CODE, KvErrorCode, KvUsageError, assertNever } from './errors.js';
import { humanBytes, renderTable, writeLines, type OutputFormat } from './output.js';
import { PROGRESS_MIN_BYTES, ProgressBar } from './progress.js';
import { globalFlags, kvAction } from './session.js';

/** Master's default --cluster-token; a restore must use the token the members will start with. */
const DEFAULT_CLUSTER_TOKEN = 'strake';

const PHASE_LABELS: Readonly<Record<ProgressPhase, string>> = {
  [ProgressPhase.Read]: 'verifying',
  [ProgressPhase.Write]: 'writing  ',
};

interface RestoreFlags {
  dataDir: string;
  name: string;
  initialCluster: string;
  initialClusterToken: string;
  initialAdvertisePeerUrls?: string;
}

export function registerSnapshotFileCommands(snapshot: Command, setExitCode: ExitCodeSink): void {
  snapshot
    .command('status')
    .description('verify a saved snapshot file and print its hash, revision, total keys and total size')
    .argument('<file>')
    .action(kvAction(setExitCode, (file: string, _f: object, cmd: Command) => snapshotStatus(file, globalFlags(cmd).writeOut)));
  snapshot
    .command('restore')
    .description("verify a saved snapshot file and build one new member's data directory from it")
    .argument('<file>')
    .requiredOption('--data-dir <dir>', 'the new data directory (must be missing or empty)')
    .requiredOption('--name <name>', "this member's name in --initial-cluster")
    .requiredOption('--initial-cluster <spec>', 'name=peerURL,... of every member of the new cluster')
    .option('--initial-cluster-token <token>', "the new cluster's token: pass the same value to `strake master --cluster-token`", DEFAULT_CLUSTER_TOKEN)
    .option('--initial-advertise-peer-urls <url>', "this member's peer URL; must match its --initial-cluster entry")
    .action(kvAction(setExitCode, (file: string, flags: RestoreFlags) => snapshotRestore(file, flags)));
}

/** A progress callback drawing on stderr when the file is large enough to need one. */
function progressFor(file: string): { onProgress?: BackupProgress; finish(): void } {
  let sizeBytes = 0;
  try {
    sizeBytes = statSync(file).size;
  } catch {
    // the reader reports a missing or unreadable file
  }
  if (sizeBytes < PROGRESS_MIN_BYTES) return { finish: () => undefined };
  const bar = new ProgressBar(process.stderr);
  return { onProgress: (phase, done, total) => bar.update(PHASE_LABELS[phase], done, total), finish: () => bar.finish() };
}

async function snapshotStatus(file: string, format: OutputFormat): Promise<number> {
  const progress = progressFor(file);
  let backup: VerifiedBackup;
  try {
    backup = await readBackupFile(file, progress.onProgress);
  } finally {
    progress.finish();
  }
  writeLines(statusLines(backup, format));
  return KV_EXIT_CODE.ok;
}

/** etcdctl's DBStatus output: hash in hex, revision, total keys, size like go-humanize. */
export function statusLines(b: VerifiedBackup, format: OutputFormat): string[] {
  const row = [b.hash.toString(16), String(b.revision), String(b.totalKeys), humanBytes(b.sizeBytes)];
  switch (format) {
    case 'simple':
      return [row.join(', ')];
    case 'json':
      return [JSON.stringify({ hash: b.hash, revision: b.revision, totalKey: b.totalKeys, totalSize: b.sizeBytes })];
    case 'table':
      return renderTable(['HASH', 'REVISION', 'TOTAL KEYS', 'TOTAL SIZE'], [row]);
    default:
      return assertNever(format, 'output format');
  }
}

async function snapshotRestore(file: string, f: RestoreFlags): Promise<number> {
  const progress = progressFor(file);
  let restored: RestoredMember;
  try {
    restored = await restoreMember({
      file,
      dataDir: f.dataDir,
      name: f.name,
      initialCluster: f.initialCluster,
      clusterToken: f.initialClusterToken,
      initialAdvertisePeerUrls: f.initialAdvertisePeerUrls,
      onProgress: progress.onProgress,
    });
  } catch (err) {
    if (err instanceof RestoreFlagError || err instanceof InitialClusterError) throw new KvUsageError(KvErrorCode.BadFlag, err.message);
    throw err;
  } finally {
    progress.finish();
  }
  writeLines(restoreLines(file, f, restored));
  return KV_EXIT_CODE.ok;
}

function restoreLines(file: string, f: RestoreFlags, r: RestoredMember): string[] {
  const self = r.members.find((m) => m.name === f.name);
  return [
    `Restored snapshot ${file} (revision ${r.backup.revision}, ${r.backup.totalKeys} keys) into ${f.dataDir} ` +
      `as member ${f.name} (${formatId(r.memberId)}) of a new cluster of ${r.members.length}`,
    `Start it with: strake master --name ${f.name} --data-dir ${f.dataDir} --listen-peer ${self?.peerUrl ?? '<peer URL>'} ` +
      `--listen-client <host:port> --initial-cluster ${f.initialCluster} --initial-cluster-state new --cluster-token ${f.initialClusterToken}`,
  ];
}
