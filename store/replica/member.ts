/**
 * One serving store member: durable Raft storage, the peer transport, the Raft
 * driver, the replicated state (MVCC + membership + alarms), the etcd v3 gRPC
 * endpoint, the lease keeper and the auto compactor, wired together and
 * started. `strake master` runs one.
 */
import { randomInt } from 'node:crypto';
import type * as grpc from '@grpc/grpc-js';
import { SeededRng } from '../../raft/core/rng.js';
import { StateRole } from '../../raft/core/types.js';
import { RaftDriver } from '../../raft/driver/raft-driver.js';
import { LevelStorage } from '../../raft/storage/level-storage.js';
import { etcdError, EtcdErrorCode } from '../etcd-server/errors.js';
import { closeEtcdGrpcServer, createEtcdGrpcServer, listenEtcdGrpcServer } from '../etcd-server/server.js';
import { AutoCompactor } from './auto-compactor.js';
import { scheduleFor, type AutoCompactionConfig } from './compaction-schedule.js';
import { settleIdentity } from './identity.js';
import { InitialClusterError, parseInitialCluster } from './initial-cluster.js';
import { LeaseKeeper } from './lease-keeper.js';
import {
  DEFAULT_ELECTION_TICKS,
  DEFAULT_HEARTBEAT_MS,
  DEFAULT_SNAPSHOT_CATCH_UP_ENTRIES,
  DEFAULT_SNAPSHOT_EVERY_ENTRIES,
} from './limits.js';
import { clusterId as clusterIdOf, formatId } from './member-id.js';
import { resolveQuotaBytes } from './quota.js';
import { RaftBackend } from './raft-backend.js';
import { MemberPeers, loggingSnapshots } from './member-peers.js';
import { RemovalWatch } from './removal.js';
import { ReplicatedState } from './replicated-state.js';

export interface MemberOptions {
  readonly name: string;
  readonly dataDir: string;
  /** Where peers reach this member, e.g. http://127.0.0.1:24000. */
  readonly listenPeer: string;
  /** etcd v3 gRPC endpoint, host:port. */
  readonly listenClient: string;
  readonly initialCluster: string;
  readonly initialClusterState: 'new' | 'existing';
  readonly clusterToken?: string;
  readonly electionTicks?: number;
  readonly heartbeatMs?: number;
  readonly snapshotEveryEntries?: number;
  readonly snapshotCatchUpEntries?: number;
  /** --quota-backend-bytes: 0 or absent = etcd's default of 2 GiB; negative = no quota, as in etcd. */
  readonly quotaBackendBytes?: number;
  /** Automatic compaction (compaction-config.ts); absent = off, etcd's default. */
  readonly autoCompaction?: AutoCompactionConfig;
  readonly log?: (line: string) => void;
  /** Chaos failpoint (raft/transport/network-faults.ts): a file listing peer addresses to cut off. */
  readonly networkFaultsFile?: string;
}

export interface RunningMember {
  readonly id: number;
  readonly clusterId: number;
  readonly backend: RaftBackend;
  readonly driver: RaftDriver;
  readonly clientPort: number;
  /** Resolves once this member learned it was removed from the cluster (and waited a moment): it should stop. */
  readonly removed: Promise<void>;
  stop(): Promise<void>;
}

/** How often a starting member retries publishing its name and client URL. */
const PUBLISH_RETRY_MS = 500;
/** Longest a starting member waits for its publish before serving clients anyway. */
const PUBLISH_WAIT_MAX_MS = 10_000;

export async function startMember(o: MemberOptions): Promise<RunningMember> {
  const log = o.log ?? (() => undefined);
  const token = o.clusterToken ?? 'strake';
  const initial = parseInitialCluster(o.initialCluster, token);
  const self = initial.find((m) => m.name === o.name);
  if (self === undefined) throw new InitialClusterError(`--initial-cluster does not name this member "${o.name}"`);
  const clusterId = clusterIdOf(token);
  const heartbeatMs = o.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
  const electionTicks = o.electionTicks ?? DEFAULT_ELECTION_TICKS;

  const storage = await LevelStorage.open(o.dataDir);
  const identity = await settleIdentity({ ...o, storage, initial, self, clusterId, log }).catch(async (err: unknown) => {
    await storage.close();
    throw err;
  });
  const selfId = identity.id;
  /** Entries up to this index were committed before this start: applying them replays an earlier run. */
  const replayedIndex = storage.initialState().hardState.commit;
  const removal = new RemovalWatch({ tickMs: heartbeatMs, log });

  const peers = new MemberPeers({
    selfId,
    clusterId,
    fallbackPeers: identity.fallbackPeers,
    removal,
    members: () => state.members,
    log,
    ...(o.networkFaultsFile === undefined ? {} : { networkFaultsFile: o.networkFaultsFile }),
  });
  const transport = peers.transport;
  let backend: RaftBackend | undefined;
  const state = new ReplicatedState({
    onResult: (id, outcome) => backend?.onResult(id, outcome),
    onMembersChanged: () => {
      peers.onMembersChanged(state.members);
      backend?.onMembersChanged();
    },
    onNoSpace: (index) => {
      // A refusal replayed from the log at start was answered by an earlier run; raising
      // it again could undo a disarm that comes later in the same log.
      if (index <= replayedIndex) return;
      if (backend?.raiseNoSpaceAlarm() === true) log('space quota reached: raising the NOSPACE alarm for this member');
    },
  });
  const driver = new RaftDriver({
    id: selfId,
    storage,
    stateMachine: loggingSnapshots(state, log),
    transport,
    rng: new SeededRng(randomInt(0, 2 ** 47)),
    tickMs: heartbeatMs,
    electionTicks,
    heartbeatTicks: 1,
    snapshotEveryEntries: o.snapshotEveryEntries ?? DEFAULT_SNAPSHOT_EVERY_ENTRIES,
    snapshotCatchUpEntries: o.snapshotCatchUpEntries ?? DEFAULT_SNAPSHOT_CATCH_UP_ENTRIES,
    onSoftState: (s) => log(`raft: role ${s.role}, leader ${s.lead === 0 ? 'none' : formatId(s.lead)}`),
    onError: (err) => {
      log(`fatal: raft driver stopped: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
      process.exitCode = 1;
    },
  });
  const quotaBytes = resolveQuotaBytes(o.quotaBackendBytes, log);
  backend = new RaftBackend({
    driver,
    state,
    memberId: selfId,
    clusterId,
    clusterToken: token,
    peerHeardWithinMs: (id, withinMs) => peers.heardWithinMs(id, withinMs),
    requestTimeoutMs: 5000 + 2 * heartbeatMs * electionTicks,
    ...(quotaBytes === undefined ? {} : { quotaBytes }),
    disk: storage,
  });
  peers.driver = driver;
  peers.onMembersChanged(state.members);
  await transport.listen(o.listenPeer);

  driver.start();
  const keeper = new LeaseKeeper(driver, state, backend, heartbeatMs * electionTicks);
  backend.leasePrimary = () => keeper.isPrimary();
  keeper.start();
  const compactor = o.autoCompaction === undefined ? undefined : autoCompactor(o.autoCompaction, driver, state, backend, log);
  compactor?.start();
  const publisher = publishAttributes(backend, state, selfId, { name: o.name, clientUrls: [`http://${o.listenClient}`] });
  // Like etcd, serve clients once this member's name and client URL are in the
  // replicated membership; without a quorum, serve anyway after a bound.
  await Promise.race([publisher.published, new Promise((r) => setTimeout(r, PUBLISH_WAIT_MAX_MS).unref())]);
  const server: grpc.Server = createEtcdGrpcServer(backend);
  const clientPort = await listenEtcdGrpcServer(server, o.listenClient);
  log(`member ${o.name} (${formatId(selfId)}) serving etcd v3 on ${o.listenClient}, peers on ${o.listenPeer}`);

  return {
    id: selfId,
    clusterId,
    backend,
    driver,
    clientPort,
    removed: removal.removed,
    stop: async () => {
      removal.cancel();
      publisher.stop();
      keeper.stop();
      compactor?.stop();
      state.watchHub.closeAll(etcdError(EtcdErrorCode.Stopped));
      backend.failAll(etcdError(EtcdErrorCode.Stopped));
      await closeEtcdGrpcServer(server);
      await driver.stop();
      await transport.close();
      await storage.close();
    },
  };
}

/** Compactions proposed by this member while it leads (auto-compactor.ts). */
function autoCompactor(config: AutoCompactionConfig, driver: RaftDriver, state: ReplicatedState, backend: RaftBackend, log: (line: string) => void): AutoCompactor {
  return new AutoCompactor({
    schedule: scheduleFor(config),
    isLeader: () => driver.node.raft.role === StateRole.Leader,
    currentRevision: () => state.mvcc.currentRevision,
    compactRevision: () => state.mvcc.compactRevision,
    compact: async (revision) => {
      await backend.compact(revision, { signal: new AbortController().signal, physical: false });
    },
    log,
  });
}

/** Records this member's name and client URLs in the replicated membership (like etcd's publish). */
function publishAttributes(
  backend: RaftBackend,
  state: ReplicatedState,
  id: number,
  attrs: { name: string; clientUrls: string[] },
): { stop(): void; published: Promise<void> } {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let markPublished: () => void = () => undefined;
  const published = new Promise<void>((resolve) => (markPublished = resolve));
  const attempt = async (): Promise<void> => {
    const current = state.members.get(id);
    if (current?.name === attrs.name && current.clientUrls.join(',') === attrs.clientUrls.join(',')) {
      markPublished();
      return;
    }
    try {
      const ac = new AbortController();
      await backend.proposeAndWait({ requestId: backend.nextRequestId(), kind: 'memberAttributes', memberId: id, attributes: attrs }, { signal: ac.signal });
    } catch {
      // no leader yet; retry below
    }
    if (!stopped) timer = setTimeout(() => void attempt(), PUBLISH_RETRY_MS);
  };
  timer = setTimeout(() => void attempt(), 0);
  return {
    published,
    stop: () => {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
    },
  };
}
