/**
 * KvBackends for tests: the embedded store (one strake member started in this
 * process) and a real etcd (one member, a child process), behind one factory
 * shape, so a suite can run unchanged against both (DESIGN.md: the same API
 * tests run on the embedded store and on etcd).
 *
 * etcd runs with a 1 s progress-notify interval: its timed notifications are
 * where the etcd3 backend's progress comes from (etcd's default is 10 minutes).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KvBackend } from '../../store/kv-backend.js';
import { EmbeddedKvBackend } from '../../store/kv-backend/embedded.js';
import { Etcd3KvBackend } from '../../store/kv-backend/etcd3.js';
import { startMember, type RunningMember } from '../../store/replica/member.js';
import { ClusterKind, findOnPath, ProcessCluster, ReadyProbe, retryOnError } from './process-cluster.js';

export interface BackendFactory {
  readonly name: string;
  start(): Promise<KvBackend>;
  /** `failed`: some test failed (keep the data, print logs). */
  stop(failed: boolean): Promise<void>;
  /** Kills the store's process and starts it again on the same data; absent when the store lives in this process. */
  restartStore?(): Promise<void>;
}

/** Starting a store: an election of about a second, more on a loaded two-core machine. */
export const BACKEND_START_MS = 60_000;

/** A single strake member in this process, on basePort (peer) and basePort+1 (client). */
export function embeddedBackendFactory(basePort: number): BackendFactory {
  let member: RunningMember | undefined;
  let dataDir: string | undefined;
  return {
    name: 'embedded store',
    async start() {
      dataDir = mkdtempSync(join(tmpdir(), 'strake-kv-'));
      const peer = `http://127.0.0.1:${basePort}`;
      member = await startMember({
        name: 'kv0',
        dataDir,
        listenPeer: peer,
        listenClient: `127.0.0.1:${basePort + 1}`,
        initialCluster: `kv0=${peer}`,
        initialClusterState: 'new',
      });
      const kv = new EmbeddedKvBackend(member.backend);
      await retryOnError('the in-process member to elect itself', () => kv.currentRevision(), BACKEND_START_MS);
      return kv;
    },
    async stop(failed) {
      await member?.stop();
      if (dataDir === undefined) return;
      if (failed) process.stderr.write(`embedded store: data kept in ${dataDir}\n`);
      else rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** A one-member etcd, or undefined (with the reason) when etcd is not installed. */
export function etcdBackendFactory(basePort: number): BackendFactory | undefined {
  if (findOnPath('etcd') === undefined) return undefined;
  let cluster: ProcessCluster | undefined;
  return {
    name: 'etcd',
    async start() {
      cluster = await ProcessCluster.start({ kind: ClusterKind.Etcd, basePort, size: 1, extraArgs: ['--experimental-watch-progress-notify-interval', '1s'] });
      await cluster.waitReady({ probe: ReadyProbe.Read });
      return new Etcd3KvBackend({ endpoints: cluster.endpoints() });
    },
    async restartStore() {
      await cluster!.kill(0);
      await cluster!.restart(0);
      await cluster!.waitReady({ probe: ReadyProbe.Read });
    },
    async stop(failed) {
      if (cluster === undefined) return;
      if (failed) process.stderr.write(`etcd logs (kept in ${cluster.rootDir}):\n${cluster.logTails()}\n`);
      await cluster.stopAll();
      if (!failed) cluster.removeData();
    },
  };
}

export const ETCD_MISSING_REASON = 'etcd is not installed (Debian package etcd-server); the etcd-backed run is skipped';
