/**
 * Where each member of a loopback cluster listens and keeps its data, and the
 * command line that starts it: `strake master`, or a real `etcd` given the same
 * layout and timing, for side-by-side checks.
 */
import { existsSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { MemberCommand } from './member-process.js';

export const ClusterKind = { Strake: 'strake', Etcd: 'etcd' } as const;
export type ClusterKind = (typeof ClusterKind)[keyof typeof ClusterKind];

/**
 * The port contract of DESIGN.md: with base port P, member i listens on P+10i
 * (Raft peers), P+10i+1 (etcd v3 gRPC) and, when the cluster serves the HTTP
 * API, P+10i+2. cli/ports.ts states the same contract for `strake up`; chaos/ may not
 * import cli/, so the arithmetic is repeated here and the two must agree.
 */
const PORTS_PER_MEMBER = 10;

export interface MemberPorts {
  readonly peer: number;
  readonly client: number;
  readonly api: number;
}

export function memberPorts(basePort: number, index: number): MemberPorts {
  const peer = basePort + PORTS_PER_MEMBER * index;
  return { peer, client: peer + 1, api: peer + 2 };
}

export interface MemberSpec {
  readonly index: number;
  readonly name: string;
  readonly ports: MemberPorts;
  readonly peerUrl: string;
  /** etcd v3 gRPC endpoint, host:port. */
  readonly endpoint: string;
  /** The HTTP API's URL (served only by strake clusters started with `api`). */
  readonly apiUrl: string;
  readonly dataDir: string;
  readonly logFile: string;
}

/** Members named <prefix>0, <prefix>1, …, each with <rootDir>/<name> for data and <rootDir>/<name>.log. */
export function memberSpecs(o: { readonly basePort: number; readonly size: number; readonly namePrefix: string; readonly rootDir: string }): MemberSpec[] {
  return Array.from({ length: o.size }, (_, index): MemberSpec => {
    const name = `${o.namePrefix}${index}`;
    const ports = memberPorts(o.basePort, index);
    return {
      index,
      name,
      ports,
      peerUrl: `http://127.0.0.1:${ports.peer}`,
      endpoint: `127.0.0.1:${ports.client}`,
      apiUrl: `http://127.0.0.1:${ports.api}`,
      dataDir: join(o.rootDir, name),
      logFile: join(o.rootDir, `${name}.log`),
    };
  });
}

/** Flags every member of one cluster shares. */
export interface ClusterFlags {
  readonly initialCluster: string;
  readonly token: string;
  /** Default 100 ms, as etcd. */
  readonly heartbeatMs?: number;
  /** Election timeout in heartbeats; default 10, as etcd. */
  readonly electionTicks?: number;
  /** --snapshot-count (strake's default is 10 000, etcd's 100 000). */
  readonly snapshotCount?: number;
  /** Appended to every member's command line, e.g. ['--quota-backend-bytes', '65536']. */
  readonly extraArgs?: readonly string[];
  /** Serve the HTTP API too (strake only), with these credentials files. */
  readonly api?: ApiFlags;
  /** Give each member a network-faults file (strake only; see ProcessCluster.partition). */
  readonly networkFaults?: boolean;
}

export interface ApiFlags {
  readonly tokenFile: string;
  readonly serviceAccountKeyFile?: string;
}

/** The named executable on PATH, if any. */
export function findOnPath(name: string): string | undefined {
  for (const dir of (process.env['PATH'] ?? '').split(delimiter)) {
    const candidate = join(dir, name);
    if (dir !== '' && existsSync(candidate)) return candidate;
  }
  return undefined;
}

/**
 * How to start a member of a `kind` cluster; throws at once if that cannot work
 * (no etcd on PATH, or strake not built), before any process starts.
 */
export function memberCommandOf(kind: ClusterKind): (m: MemberSpec, flags: ClusterFlags) => MemberCommand {
  if (kind === ClusterKind.Etcd) {
    const etcd = findOnPath('etcd');
    if (etcd === undefined) throw new Error('etcd is not on PATH');
    return (m, flags) => ({ command: etcd, args: etcdArgs(m, flags) });
  }
  const bin = strakeBin();
  // bin/strake.js runs the build output; a missing build would look like a member that never answers.
  const builtMain = join(dirname(dirname(bin)), 'dist', 'cli', 'main.js');
  if (!existsSync(builtMain)) throw new Error(`${builtMain} is missing: run \`npm run build\` first (\`npm test\` does)`);
  return (m, flags) => ({ command: process.execPath, args: [bin, ...strakeArgs(m, flags)] });
}

/** Directories between this file and the checkout's root, in the source tree or the build output. */
const CHECKOUT_DEPTH_MAX = 6;

/** bin/strake.js of this checkout, found by walking up from this file. */
function strakeBin(): string {
  const here = fileURLToPath(import.meta.url);
  let dir = dirname(here);
  for (let i = 0; i < CHECKOUT_DEPTH_MAX; i++) {
    const candidate = join(dir, 'bin', 'strake.js');
    if (existsSync(candidate)) return candidate;
    dir = dirname(dir);
  }
  throw new Error(`cannot find bin/strake.js within ${CHECKOUT_DEPTH_MAX} directories above ${here}`);
}

function strakeArgs(m: MemberSpec, f: ClusterFlags): string[] {
  return [
    'master',
    '--name', m.name,
    '--data-dir', m.dataDir,
    '--listen-peer', m.peerUrl,
    '--listen-client', m.endpoint,
    '--initial-cluster', f.initialCluster,
    '--initial-cluster-state', 'new',
    '--cluster-token', f.token,
    '--heartbeat-ms', String(f.heartbeatMs ?? 100),
    '--election-ticks', String(f.electionTicks ?? 10),
    ...(f.snapshotCount === undefined ? [] : ['--snapshot-count', String(f.snapshotCount)]),
    ...(f.api === undefined ? [] : apiArgs(m, f.api)),
    ...(f.networkFaults === true ? ['--experimental-network-faults-file', faultsFileOf(m)] : []),
    ...(f.extraArgs ?? []),
  ];
}

/** Where a member reads the peers it must cut off (raft/transport/network-faults.ts). */
export function faultsFileOf(m: MemberSpec): string {
  return `${m.dataDir}.faults.json`;
}

function apiArgs(m: MemberSpec, a: ApiFlags): string[] {
  return [
    '--listen-api', m.apiUrl,
    '--token-auth-file', a.tokenFile,
    ...(a.serviceAccountKeyFile === undefined ? [] : ['--service-account-key-file', a.serviceAccountKeyFile]),
  ];
}

function etcdArgs(m: MemberSpec, f: ClusterFlags): string[] {
  const heartbeatMs = f.heartbeatMs ?? 100;
  return [
    '--name', m.name,
    '--data-dir', m.dataDir,
    '--listen-peer-urls', m.peerUrl,
    '--initial-advertise-peer-urls', m.peerUrl,
    '--listen-client-urls', `http://${m.endpoint}`,
    '--advertise-client-urls', `http://${m.endpoint}`,
    '--initial-cluster', f.initialCluster,
    '--initial-cluster-state', 'new',
    '--initial-cluster-token', f.token,
    '--heartbeat-interval', String(heartbeatMs),
    '--election-timeout', String(heartbeatMs * (f.electionTicks ?? 10)),
    '--logger', 'zap',
    '--log-level', 'error',
    ...(f.snapshotCount === undefined ? [] : ['--snapshot-count', String(f.snapshotCount)]),
    ...(f.extraArgs ?? []),
  ];
}
