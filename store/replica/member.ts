/**
 * One serving store member: durable Raft storage, the peer transport, the Raft
 * driver, the replicated state (MVCC + membership), the etcd v3 gRPC endpoint
 * and the lease keeper, wired together and started. `strake master` runs one.
 */
import { randomInt } from 'node:crypto';
import type * as grpc from '@grpc/grpc-js';
import { bootstrapEntries } from '../../raft/core/conf-change.js';
import { SeededRng } from '../../raft/core/rng.js';
import { RaftDriver } from '../../raft/driver/raft-driver.js';
import { LevelStorage } from '../../raft/storage/level-storage.js';
import { GrpcTransport } from '../../raft/transport/grpc-transport.js';
import { etcdError, EtcdErrorCode } from '../etcd-server/errors.js';
import { closeEtcdGrpcServer, createEtcdGrpcServer, listenEtcdGrpcServer } from '../etcd-server/server.js';
import type { Member } from '../etcd-server/types.js';
import { InitialClusterError, parseInitialCluster } from './initial-cluster.js';
import { LeaseKeeper } from './lease-keeper.js';
import {
  DEFAULT_ELECTION_TICKS,
  DEFAULT_HEARTBEAT_MS,
  DEFAULT_SNAPSHOT_CATCH_UP_ENTRIES,
  DEFAULT_SNAPSHOT_EVERY_ENTRIES,
} from './limits.js';
import { clusterId as clusterIdOf, formatId } from './member-id.js';
import { encodeMemberContext } from './members.js';
import { RaftBackend } from './raft-backend.js';
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
  readonly log?: (line: string) => void;
}

export interface RunningMember {
  readonly id: number;
  readonly clusterId: number;
  readonly backend: RaftBackend;
  readonly driver: RaftDriver;
  readonly clientPort: number;
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
  if (storage.lastIndex() === 0 && storage.initialState().hardState.term === 0 && o.initialClusterState === 'new') {
    const contexts = new Map(initial.map((m) => [m.id, encodeMemberContext({ name: m.name, peerUrls: [m.peerUrl], clientUrls: [] })]));
    const entries = bootstrapEntries(initial.map((m) => m.id), contexts);
    await storage.persist({ entries, hardState: { term: 1, vote: 0, commit: entries.length }, readStates: [], committedEntries: [], messages: [], mustSync: true });
    log(`bootstrapped a new cluster of ${initial.length} members`);
  }

  const transport = new GrpcTransport(self.id, formatId(clusterId));
  let backend: RaftBackend | undefined;
  let driverRef: RaftDriver | undefined;
  // Set before the driver exists: restoring a snapshot at start already syncs peers.
  transport.setHandlers({
    onMessage: (m) => driverRef?.receive(m),
    onUnreachable: (id) => driverRef?.reportUnreachable(id),
    onSnapshotStatus: (id, ok) => driverRef?.reportSnapshot(id, ok),
  });
  const syncPeers = (members: readonly Member[]): void => {
    const wanted = new Map(members.filter((m) => m.id !== self.id && m.peerUrls[0] !== undefined).map((m) => [m.id, m.peerUrls[0]!]));
    for (const m of initial) if (m.id !== self.id && !wanted.has(m.id) && members.length === 0) wanted.set(m.id, m.peerUrl);
    transport.syncPeers(wanted);
  };
  const state = new ReplicatedState({
    onResult: (id, outcome) => backend?.onResult(id, outcome),
    onMembersChanged: (members) => {
      syncPeers(members);
      backend?.onMembersChanged();
    },
  });
  const driver = new RaftDriver({
    id: self.id,
    storage,
    stateMachine: state,
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
  backend = new RaftBackend({ driver, state, memberId: self.id, clusterId, clusterToken: token, requestTimeoutMs: 5000 + 2 * heartbeatMs * electionTicks });
  driverRef = driver;
  syncPeers(state.members.list());
  await transport.listen(o.listenPeer);

  driver.start();
  const keeper = new LeaseKeeper(driver, state, backend, heartbeatMs * electionTicks);
  keeper.start();
  const publisher = publishAttributes(backend, state, self.id, { name: o.name, clientUrls: [`http://${o.listenClient}`] });
  // Like etcd, serve clients once this member's name and client URL are in the
  // replicated membership; without a quorum, serve anyway after a bound.
  await Promise.race([publisher.published, new Promise((r) => setTimeout(r, PUBLISH_WAIT_MAX_MS).unref())]);
  const server: grpc.Server = createEtcdGrpcServer(backend);
  const clientPort = await listenEtcdGrpcServer(server, o.listenClient);
  log(`member ${o.name} (${formatId(self.id)}) serving etcd v3 on ${o.listenClient}, peers on ${o.listenPeer}`);

  return {
    id: self.id,
    clusterId,
    backend,
    driver,
    clientPort,
    stop: async () => {
      publisher.stop();
      keeper.stop();
      state.watchHub.closeAll(etcdError(EtcdErrorCode.Stopped));
      backend.failAll(etcdError(EtcdErrorCode.Stopped));
      await closeEtcdGrpcServer(server);
      await driver.stop();
      await transport.close();
      await storage.close();
    },
  };
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
