/**
 * `strake master`: runs one control-plane member. Flags mirror etcd's where they
 * overlap (DESIGN.md). This version serves the replicated store (etcd v3 gRPC);
 * the HTTP API on --listen-api comes with the API server.
 */
import type { Command } from 'commander';
import { AutoCompactionConfigError, parseAutoCompaction } from '../store/replica/compaction-config.js';
import type { AutoCompactionConfig } from '../store/replica/compaction-schedule.js';
import { JoinError } from '../store/replica/join.js';
import { startMember, type RunningMember } from '../store/replica/member.js';
import type { ExitCodeSink } from './main.js';
import { parseIntegerOption } from './options.js';

interface MasterFlags {
  name: string;
  dataDir: string;
  listenPeer: string;
  listenClient: string;
  listenApi?: string;
  initialCluster?: string;
  initialClusterState: string;
  clusterToken: string;
  electionTicks: number;
  heartbeatMs: number;
  snapshotCount: number;
  snapshotCatchupEntries: number;
  quotaBackendBytes: number;
  autoCompactionMode: string;
  autoCompactionRetention: string;
  autoCompactionInterval?: string;
}

export function registerMasterCommand(program: Command, setExitCode: ExitCodeSink): void {
  program
    .command('master')
    .description('run one master: a Raft member with the replicated store and its etcd v3 endpoint')
    .requiredOption('--name <name>', 'member name, unique in the cluster')
    .requiredOption('--data-dir <dir>', 'where the member keeps its log and snapshots')
    .option('--listen-peer <url>', 'URL for Raft peer traffic', 'http://127.0.0.1:24000')
    .option('--listen-client <host:port>', 'etcd v3 gRPC endpoint', '127.0.0.1:24001')
    .option('--listen-api <url>', 'HTTP API (served once the API server is built)')
    .option('--initial-cluster <spec>', 'name=peerURL,... of the initial members (default: this member alone)')
    .option('--initial-cluster-state <state>', 'new | existing', 'new')
    .option('--cluster-token <token>', 'distinguishes clusters sharing hosts', 'strake')
    .option('--election-ticks <n>', 'election timeout in heartbeats', (v) => parseIntegerOption('--election-ticks', v, 2, 1000), 10)
    .option('--heartbeat-ms <ms>', 'heartbeat interval', (v) => parseIntegerOption('--heartbeat-ms', v, 10, 10_000), 100)
    .option('--snapshot-count <n>', 'applied entries between state snapshots', (v) => parseIntegerOption('--snapshot-count', v, 10, 10_000_000), 10_000)
    .option(
      '--snapshot-catchup-entries <n>',
      'log entries kept below a snapshot for slow followers; one further behind gets the snapshot (etcd 3.5: --experimental-snapshot-catchup-entries)',
      (v) => parseIntegerOption('--snapshot-catchup-entries', v, 1, 10_000_000),
      5_000,
    )
    .option(
      '--quota-backend-bytes <bytes>',
      'space quota; writes past it raise the NOSPACE alarm (0 = 2 GiB, negative = none)',
      (v) => parseIntegerOption('--quota-backend-bytes', v, -Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER),
      0,
    )
    .option('--auto-compaction-mode <mode>', 'periodic | revision', 'periodic')
    .option('--auto-compaction-retention <r>', 'periodic: history to keep (1h, 30m; a bare number is hours); revision: revisions to keep; 0 = off', '0')
    .option('--auto-compaction-interval <duration>', 'how often revision mode compacts (default 5m, as etcd)')
    .action(async (flags: MasterFlags) => {
      setExitCode(await runMaster(flags));
    });
}

async function runMaster(f: MasterFlags): Promise<number> {
  if (f.initialClusterState !== 'new' && f.initialClusterState !== 'existing') {
    process.stderr.write(`--initial-cluster-state must be "new" or "existing", got "${f.initialClusterState}"\n`);
    return 2;
  }
  const autoCompaction = autoCompactionOf(f);
  if (autoCompaction instanceof AutoCompactionConfigError) {
    process.stderr.write(`${autoCompaction.message}\n`);
    return 2;
  }
  const log = (line: string): void => void process.stderr.write(`${new Date().toISOString()} ${f.name} ${line}\n`);
  const member = await startOrExplain({
    name: f.name,
    dataDir: f.dataDir,
    listenPeer: f.listenPeer,
    listenClient: f.listenClient,
    initialCluster: f.initialCluster ?? `${f.name}=${f.listenPeer}`,
    initialClusterState: f.initialClusterState,
    clusterToken: f.clusterToken,
    electionTicks: f.electionTicks,
    heartbeatMs: f.heartbeatMs,
    snapshotEveryEntries: f.snapshotCount,
    snapshotCatchUpEntries: f.snapshotCatchupEntries,
    quotaBackendBytes: f.quotaBackendBytes,
    ...(autoCompaction === undefined ? {} : { autoCompaction }),
    log,
  });
  if (member instanceof JoinError) {
    process.stderr.write(`error: ${member.message}\n`);
    return 1;
  }
  if (f.listenApi !== undefined) log(`note: the HTTP API (${f.listenApi}) is not served by this version`);
  await new Promise<void>((resolve) => {
    const onSignal = (sig: string): void => {
      log(`received ${sig}; stopping`);
      resolve();
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    // Like etcd, a member removed from the cluster stops on its own, with exit code 0.
    void member.removed.then(() => {
      log('stopping: removed from the cluster');
      resolve();
    });
  });
  await member.stop();
  return 0;
}

/** The member, or the reason it cannot join its cluster (said to the user without a stack trace). */
async function startOrExplain(o: Parameters<typeof startMember>[0]): Promise<RunningMember | JoinError> {
  try {
    return await startMember(o);
  } catch (err) {
    if (err instanceof JoinError) return err;
    throw err;
  }
}

function autoCompactionOf(f: MasterFlags): AutoCompactionConfig | undefined | AutoCompactionConfigError {
  try {
    const interval = f.autoCompactionInterval === undefined ? {} : { interval: f.autoCompactionInterval };
    return parseAutoCompaction({ mode: f.autoCompactionMode, retention: f.autoCompactionRetention, ...interval });
  } catch (err) {
    if (err instanceof AutoCompactionConfigError) return err;
    throw err;
  }
}
