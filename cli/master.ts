/**
 * `strake master`: runs one control-plane member. Flags mirror etcd's where they
 * overlap (DESIGN.md). This version serves the replicated store (etcd v3 gRPC);
 * the HTTP API on --listen-api comes with the API server.
 */
import type { Command } from 'commander';
import { startMember } from '../store/replica/member.js';
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
    .action(async (flags: MasterFlags) => {
      setExitCode(await runMaster(flags));
    });
}

async function runMaster(f: MasterFlags): Promise<number> {
  if (f.initialClusterState !== 'new' && f.initialClusterState !== 'existing') {
    process.stderr.write(`--initial-cluster-state must be "new" or "existing", got "${f.initialClusterState}"\n`);
    return 2;
  }
  const log = (line: string): void => void process.stderr.write(`${new Date().toISOString()} ${f.name} ${line}\n`);
  const member = await startMember({
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
    log,
  });
  if (f.listenApi !== undefined) log(`note: the HTTP API (${f.listenApi}) is not served by this version`);
  await new Promise<void>((resolve) => {
    const onSignal = (sig: string): void => {
      log(`received ${sig}; stopping`);
      resolve();
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  });
  await member.stop();
  return 0;
}
