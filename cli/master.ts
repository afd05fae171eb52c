/**
 * `strake master`: runs one control-plane member. Flags mirror etcd's where they
 * overlap (DESIGN.md). It serves the replicated store (etcd v3 gRPC) and, with
 * --listen-api, the Kubernetes-style HTTP API over it. With --store etcd://...
 * it runs the HTTP API alone, over an external etcd cluster.
 */
import type { Command } from 'commander';
import { AutoCompactionConfigError, parseAutoCompaction } from '../store/replica/compaction-config.js';
import type { AutoCompactionConfig } from '../store/replica/compaction-schedule.js';
import { JoinError } from '../store/replica/join.js';
import { startMember, type RunningMember } from '../store/replica/member.js';
import { ApiFlagError, kvBackendOf, parseStoreFlag, serveApi, type LoopbackAccess, type ServingApi } from './api-serving.js';
import { HttpApiClient } from '../control-plane/client/http-client.js';
import { runControllerManager } from '../control-plane/controller-manager/controller-manager.js';
import { runElectedScheduler } from '../control-plane/scheduler/run-elected.js';
import type { KvBackend } from '../store/kv-backend.js';
import type { ExitCodeSink } from './main.js';
import { VERSION } from './version.js';
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
  store: string;
  tokenAuthFile?: string;
  serviceAccountKeyFile?: string;
  serviceClusterIpRange?: string;
  anonymousAuth: boolean;
  tlsCertFile?: string;
  tlsPrivateKeyFile?: string;
  controllers: boolean;
  leaderLeaseMs: number;
  leaderRenewDeadlineMs: number;
  leaderRetryMs: number;
  nodeMonitorGraceMs: number;
  experimentalNetworkFaultsFile?: string;
}

export function registerMasterCommand(program: Command, setExitCode: ExitCodeSink): void {
  program
    .command('master')
    .description('run one master: a Raft member with the replicated store and its etcd v3 endpoint')
    .requiredOption('--name <name>', 'member name, unique in the cluster')
    .requiredOption('--data-dir <dir>', 'where the member keeps its log and snapshots')
    .option('--listen-peer <url>', 'URL for Raft peer traffic', 'http://127.0.0.1:24000')
    .option('--listen-client <host:port>', 'etcd v3 gRPC endpoint', '127.0.0.1:24001')
    .option('--listen-api <url>', 'Kubernetes-style HTTP API, e.g. http://127.0.0.1:24002 (not served when absent)')
    .option('--store <spec>', 'where the HTTP API keeps its objects: embedded (this member) or etcd://host:port,... (runs no Raft member)', 'embedded')
    .option('--token-auth-file <file>', 'static bearer tokens, CSV: token,user,uid,"group1,group2"')
    .option('--service-account-key-file <file>', 'key that signs service-account tokens (32+ bytes, raw or hex)')
    .option('--service-cluster-ip-range <cidr>', 'ClusterIP range of Services', '10.96.0.0/12')
    .option('--tls-cert-file <file>', 'serving certificate (PEM): the API port then speaks HTTPS as well as HTTP')
    .option('--tls-private-key-file <file>', 'private key of --tls-cert-file (PEM)')
    .option('--no-controllers', 'do not run the scheduler and controller manager on this master (they need --listen-api)')
    .option('--leader-lease-ms <ms>', 'leader election: how long others wait before taking over a silent leader\'s lease', (v) => parseIntegerOption('--leader-lease-ms', v, 1_000, 3_600_000), 15_000)
    .option('--leader-renew-deadline-ms <ms>', 'leader election: a leader that could not renew for this long stops acting', (v) => parseIntegerOption('--leader-renew-deadline-ms', v, 500, 3_600_000), 10_000)
    .option('--leader-retry-ms <ms>', 'leader election: time between attempts to acquire or renew', (v) => parseIntegerOption('--leader-retry-ms', v, 100, 600_000), 2_000)
    .option('--node-monitor-grace-ms <ms>', 'a node silent this long is marked NotReady (Unknown)', (v) => parseIntegerOption('--node-monitor-grace-ms', v, 1_000, 3_600_000), 40_000)
    .option('--experimental-network-faults-file <file>', 'chaos testing only: JSON {"blocked": ["host:port", ...]} of peer addresses to cut off, re-read when it changes')
    .option('--anonymous-auth', 'serve requests without credentials as system:anonymous (default: refuse with 401)', false)
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
  let etcdEndpoints: readonly string[] | undefined;
  try {
    etcdEndpoints = parseStoreFlag(f.store);
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    return 2;
  }
  if (etcdEndpoints !== undefined && f.listenApi === undefined) {
    process.stderr.write('--store etcd://... runs the HTTP API only, so --listen-api is required\n');
    return 2;
  }
  const log = (line: string): void => void process.stderr.write(`${new Date().toISOString()} ${f.name} ${line}\n`);
  const member = etcdEndpoints === undefined ? await startOrExplain(memberOptions(f, autoCompaction, log)) : undefined;
  if (member instanceof JoinError) {
    process.stderr.write(`error: ${member.message}\n`);
    return 1;
  }
  let backend: KvBackend | undefined;
  let api: ServingApi | undefined;
  if (f.listenApi !== undefined) {
    backend = kvBackendOf(etcdEndpoints, member?.backend);
    try {
      api = await serveApi(backend, { ...f, listenApi: f.listenApi, version: VERSION }, log);
    } catch (err) {
      if (!(err instanceof ApiFlagError)) throw err;
      process.stderr.write(`${err.message}\n`);
      await backend.close();
      await member?.stop();
      return 2;
    }
  }
  const components = api !== undefined && f.controllers ? startComponents(api.loopback, f, log) : undefined;
  await untilStopped(log, member?.removed);
  await components?.stop();
  await api?.close();
  await backend?.close();
  await member?.stop();
  return 0;
}

function memberOptions(f: MasterFlags, autoCompaction: AutoCompactionConfig | undefined, log: (line: string) => void): Parameters<typeof startMember>[0] {
  return {
    name: f.name,
    dataDir: f.dataDir,
    listenPeer: f.listenPeer,
    listenClient: f.listenClient,
    initialCluster: f.initialCluster ?? `${f.name}=${f.listenPeer}`,
    initialClusterState: f.initialClusterState as 'new' | 'existing',
    clusterToken: f.clusterToken,
    electionTicks: f.electionTicks,
    heartbeatMs: f.heartbeatMs,
    snapshotEveryEntries: f.snapshotCount,
    snapshotCatchUpEntries: f.snapshotCatchupEntries,
    quotaBackendBytes: f.quotaBackendBytes,
    ...(autoCompaction === undefined ? {} : { autoCompaction }),
    ...(f.experimentalNetworkFaultsFile === undefined ? {} : { networkFaultsFile: f.experimentalNetworkFaultsFile }),
    log,
  };
}

/**
 * The scheduler and the controller manager of this master: both run here and
 * on every other master, each active only while it holds its leader lease.
 * They reach the API over this master's loopback address.
 */
function startComponents(loopback: LoopbackAccess, f: MasterFlags, log: (line: string) => void): { stop(): Promise<void> } {
  const timings = { leaseDurationMs: f.leaderLeaseMs, renewDeadlineMs: f.leaderRenewDeadlineMs, retryPeriodMs: f.leaderRetryMs };
  const schedulerClient = new HttpApiClient({ servers: [loopback.url], token: loopback.schedulerToken, userAgent: `strake-scheduler/${VERSION}` });
  const managerClient = new HttpApiClient({ servers: [loopback.url], token: loopback.controllerManagerToken, userAgent: `strake-controller-manager/${VERSION}` });
  const abort = new AbortController();
  const running = Promise.all([
    runElectedScheduler({ client: schedulerClient, identity: f.name, timings, log }, abort.signal),
    runControllerManager({ client: managerClient, identity: f.name, timings, nodeLifecycle: { nodeMonitorGracePeriodMs: f.nodeMonitorGraceMs }, log }, abort.signal),
  ]).catch((err: unknown) => log(`components stopped with an error: ${err instanceof Error ? err.stack ?? err.message : String(err)}`));
  return {
    stop: async () => {
      abort.abort();
      await running;
      await Promise.all([schedulerClient.close(), managerClient.close()]);
    },
  };
}

/** Resolves on SIGINT/SIGTERM, or once this member was removed from its cluster. */
function untilStopped(log: (line: string) => void, removed: Promise<void> | undefined): Promise<void> {
  return new Promise<void>((resolve) => {
    const onSignal = (sig: string): void => {
      log(`received ${sig}; stopping`);
      resolve();
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    // Like etcd, a member removed from the cluster stops on its own, with exit code 0.
    void removed?.then(() => {
      log('stopping: removed from the cluster');
      resolve();
    });
  });
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
