/**
 * Real multi-process clusters on loopback for the proof tests: N `strake master`
 * processes started directly (not through `strake up`), so that a test can
 * SIGKILL one member and restart it later with the same flags and data dir; or
 * N real `etcd` processes with the same layout, for side-by-side checks.
 *
 *   const cluster = await ProcessCluster.start({ basePort: 32_100, snapshotCount: 100 });
 *   await cluster.waitReady();
 *   const leader = await cluster.leaderIndex();
 *   await cluster.kill(leader);            // SIGKILL, waits for the exit
 *   await cluster.restart(leader);
 *   await cluster.stopAll();               // SIGTERM, then SIGKILL after a bound
 *
 * Ports follow DESIGN.md: member i listens on basePort+10i (Raft peers) and
 * basePort+10i+1 (etcd v3 gRPC). Each test file owns a range of base ports
 * (test/README.md) and the ports are checked to be free before anything starts,
 * so a leftover process from an earlier run fails the test instead of being
 * talked to. Each member's stdout and stderr go to <rootDir>/<name>.log;
 * `logTails()` prints their ends when a test fails. Every process is signalled
 * by its PID, never by name.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, closeSync, existsSync, fstatSync, mkdirSync, mkdtempSync, openSync, readSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Etcd3, type IStatusResponse } from 'etcd3';
import { onTestFinished } from 'vitest';
import { masterPorts } from '../../cli/ports.js';

export const ClusterKind = { Strake: 'strake', Etcd: 'etcd' } as const;
export type ClusterKind = (typeof ClusterKind)[keyof typeof ClusterKind];

export const ReadyProbe = {
  /** A put through each member's own endpoint: proves a leader that commits. */
  Put: 'put',
  /** A linearizable get through each member: proves a leader without writing, so revisions stay untouched. */
  Read: 'read',
} as const;
export type ReadyProbe = (typeof ReadyProbe)[keyof typeof ReadyProbe];

/** More members than this is not a test of a Raft cluster on one machine. */
export const MAX_MEMBERS = 7;
/** A loopback cluster elects in about 2 s; a loaded two-core CI machine may take several times that. */
export const READY_TIMEOUT_MS = 30_000;
/** Bound on one readiness or status probe; loopback answers in milliseconds. */
export const PROBE_DEADLINE_MS = 2_000;
/** Pause between probes of a member that is not ready yet. */
const PROBE_INTERVAL_MS = 100;
/** Bound on one call of the clients this harness hands out (etcd's own request timeout is 7 s). */
export const CALL_DEADLINE_MS = 10_000;
/** A member gets this long to exit on SIGTERM before SIGKILL (strake waits up to 2 s for calls in flight). */
export const STOP_GRACE_MS = 5_000;
/** The kernel ends a SIGKILLed process at once; this only bounds a wait that should never be long. */
const KILL_EXIT_WAIT_MS = 5_000;
/** Lines of each member's log printed for a failing test. */
export const LOG_TAIL_LINES = 40;
/** Each member's log is read back from its end only; bounds the memory a runaway log can take. */
const LOG_TAIL_BYTES = 64 * 1024;

const STRAKE_BIN = fileURLToPath(new URL('../../bin/strake.js', import.meta.url));
const STRAKE_BUILT_MAIN = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

export interface ProcessClusterOptions {
  readonly basePort: number;
  readonly kind?: ClusterKind;
  /** Default 3. */
  readonly size?: number;
  /** --snapshot-count of every member (strake's default is 10 000, etcd's 100 000). */
  readonly snapshotCount?: number;
  /** Default 100 ms, as etcd. */
  readonly heartbeatMs?: number;
  /** Election timeout in heartbeats; default 10, as etcd. */
  readonly electionTicks?: number;
  /** --cluster-token / --initial-cluster-token. */
  readonly token?: string;
}

export interface MemberSpec {
  readonly index: number;
  readonly name: string;
  readonly peerUrl: string;
  /** etcd v3 gRPC endpoint, host:port. */
  readonly endpoint: string;
  readonly dataDir: string;
  readonly logFile: string;
}

interface Running {
  readonly child: ChildProcess;
  readonly pid: number;
  /** Resolves when the process has exited; never rejects. */
  readonly exited: Promise<void>;
  exit?: string;
}

/** Every child this module started and that has not exited; killed if the test process exits first. */
const liveChildren = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of liveChildren) child.kill('SIGKILL');
});

/** The named executable on PATH, if any. */
export function findOnPath(name: string): string | undefined {
  for (const dir of (process.env['PATH'] ?? '').split(delimiter)) {
    const candidate = join(dir, name);
    if (dir !== '' && existsSync(candidate)) return candidate;
  }
  return undefined;
}

export class ProcessCluster {
  private readonly procs: Array<Running | undefined>;
  private readonly clients = new Set<Etcd3>();

  private constructor(
    readonly kind: ClusterKind,
    readonly rootDir: string,
    readonly members: readonly MemberSpec[],
    private readonly argvOf: (m: MemberSpec) => { command: string; args: string[] },
  ) {
    this.procs = members.map(() => undefined);
  }

  /** Checks the ports, creates a temp root and starts every member; does not wait for readiness. */
  static async start(o: ProcessClusterOptions): Promise<ProcessCluster> {
    const kind = o.kind ?? ClusterKind.Strake;
    const size = o.size ?? 3;
    if (!Number.isInteger(size) || size < 1 || size > MAX_MEMBERS) throw new Error(`cluster size ${size} is outside 1..${MAX_MEMBERS}`);
    const command = kind === ClusterKind.Strake ? process.execPath : findOnPath('etcd');
    if (command === undefined) throw new Error('etcd is not on PATH');
    if (kind === ClusterKind.Strake && !existsSync(STRAKE_BUILT_MAIN)) {
      throw new Error(`${STRAKE_BUILT_MAIN} is missing: run \`npm run build\` first (\`npm test\` does)`);
    }
    const prefix = kind === ClusterKind.Strake ? 'm' : 'e';
    const ports = Array.from({ length: size }, (_, index) => masterPorts(o.basePort, index));
    for (const p of ports) await mustBeFreePorts(p.peerUrl, p.kvEndpoint);
    const rootDir = mkdtempSync(join(tmpdir(), `${kind}-proc-${o.basePort}-`));
    const members = ports.map((p, index): MemberSpec => {
      const name = `${prefix}${index}`;
      return { index, name, peerUrl: p.peerUrl, endpoint: p.kvEndpoint, dataDir: join(rootDir, name), logFile: join(rootDir, `${name}.log`) };
    });
    const flags = { ...o, token: o.token ?? `${kind}-test-${o.basePort}`, initialCluster: members.map((m) => `${m.name}=${m.peerUrl}`).join(',') };
    const argvOf = kind === ClusterKind.Strake ? (m: MemberSpec) => ({ command, args: strakeArgs(m, flags) }) : (m: MemberSpec) => ({ command, args: etcdArgs(m, flags) });
    const cluster = new ProcessCluster(kind, rootDir, members, argvOf);
    // Owner-only, as etcd recommends for its data dirs (it warns otherwise).
    for (const m of members) mkdirSync(m.dataDir, { recursive: true, mode: 0o700 });
    for (const m of members) cluster.spawnMember(m.index);
    return cluster;
  }

  endpoint(i: number): string {
    return this.member(i).endpoint;
  }

  /** host:port of the given members (default: all), in index order. */
  endpoints(indices: readonly number[] = this.members.map((m) => m.index)): string[] {
    return indices.map((i) => this.endpoint(i));
  }

  isRunning(i: number): boolean {
    const p = this.procs[i];
    return p !== undefined && p.exit === undefined;
  }

  runningIndices(): number[] {
    return this.members.map((m) => m.index).filter((i) => this.isRunning(i));
  }

  pid(i: number): number | undefined {
    return this.procs[i]?.pid;
  }

  /** How the member's last process ended ("code 1", "signal SIGKILL"), or undefined while it runs. */
  exitOf(i: number): string | undefined {
    return this.procs[i]?.exit;
  }

  /** An etcd3 client for the given members (default: all), with a deadline on every call; closed by stopAll. */
  client(indices: readonly number[] = this.members.map((m) => m.index)): Etcd3 {
    const c = new Etcd3({
      hosts: this.endpoints(indices).map((ep) => `http://${ep}`),
      dialTimeout: PROBE_DEADLINE_MS,
      defaultCallOptions: () => ({ deadline: Date.now() + CALL_DEADLINE_MS }),
    });
    this.clients.add(c);
    return c;
  }

  /**
   * Runs `fn` with a fresh client for the given members and closes it after. The
   * etcd3 client stops calling a host for 5 s after three failures in a row, so
   * a loop that retries through an election wants a new client per attempt.
   */
  async withClient<T>(indices: readonly number[], fn: (c: Etcd3) => Promise<T>): Promise<T> {
    const c = this.client(indices);
    try {
      return await fn(c);
    } finally {
      this.closeClient(c);
    }
  }

  closeClient(c: Etcd3): void {
    c.close();
    this.clients.delete(c);
  }

  /**
   * Waits until every given member (default: all running ones) answers the probe
   * through its own endpoint. Fails early, with the log tail, if a member exits.
   */
  async waitReady(o: { indices?: readonly number[]; probe?: ReadyProbe; timeoutMs?: number } = {}): Promise<void> {
    const pending = new Set(o.indices ?? this.runningIndices());
    const timeoutMs = o.timeoutMs ?? READY_TIMEOUT_MS;
    const deadline = Date.now() + timeoutMs;
    const lastError = new Map<number, string>();
    while (pending.size > 0) {
      for (const i of [...pending]) {
        if (!this.isRunning(i)) throw new Error(`${this.member(i).name} is not running (${this.exitOf(i) ?? 'never started'})\n${this.logTail(i)}`);
        const failure = await this.probe(i, o.probe ?? ReadyProbe.Put);
        if (failure === undefined) pending.delete(i);
        else lastError.set(i, failure);
      }
      if (pending.size === 0) return;
      if (Date.now() >= deadline) {
        const names = [...pending].map((i) => `${this.member(i).name} (${lastError.get(i) ?? 'no answer'})`);
        throw new Error(`not ready within ${timeoutMs} ms: ${names.join(', ')}\n${this.logTails()}`);
      }
      await sleep(PROBE_INTERVAL_MS);
    }
  }

  /** Maintenance.Status of one member, through its own endpoint. */
  status(i: number): Promise<IStatusResponse> {
    return this.withClient([i], (c) => c.maintenance.status({ deadline: Date.now() + PROBE_DEADLINE_MS }));
  }

  /**
   * The index of the member that leads: one that a running member names as
   * leader and that names itself. Waits (bounded) through an election.
   */
  async leaderIndex(timeoutMs = READY_TIMEOUT_MS): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const seen = new Map<string, { index: number; leader: string }>();
      for (const i of this.runningIndices()) {
        try {
          const s = await this.status(i);
          seen.set(s.header.member_id, { index: i, leader: s.leader });
        } catch {
          // not answering yet; the others may
        }
      }
      for (const [memberId, s] of seen) {
        if (s.leader === memberId) return s.index;
      }
      if (Date.now() >= deadline) throw new Error(`no leader within ${timeoutMs} ms\n${this.logTails()}`);
      await sleep(PROBE_INTERVAL_MS);
    }
  }

  /** Sends `signal` to member i by PID and waits (bounded) for it to exit. */
  async kill(i: number, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const p = this.procs[i];
    if (p === undefined || p.exit !== undefined) return;
    p.child.kill(signal);
    const waitMs = signal === 'SIGKILL' ? KILL_EXIT_WAIT_MS : STOP_GRACE_MS;
    if (await exitsWithin(p, waitMs)) return;
    if (signal === 'SIGKILL') throw new Error(`${this.member(i).name} (pid ${p.pid}) did not exit within ${waitMs} ms of SIGKILL`);
    p.child.kill('SIGKILL');
    if (!(await exitsWithin(p, KILL_EXIT_WAIT_MS))) throw new Error(`${this.member(i).name} (pid ${p.pid}) survived SIGKILL`);
  }

  /** Starts member i again with the same flags and data dir; the caller waits for readiness. */
  async restart(i: number): Promise<void> {
    if (this.isRunning(i)) throw new Error(`${this.member(i).name} is still running (pid ${this.pid(i)})`);
    const m = this.member(i);
    await mustBeFreePorts(m.peerUrl, m.endpoint);
    appendFileSync(m.logFile, `--- restarted at ${new Date().toISOString()} ---\n`);
    this.spawnMember(i);
  }

  /** Closes the clients, then SIGTERM to every member (SIGKILL after STOP_GRACE_MS), in parallel. */
  async stopAll(): Promise<void> {
    for (const c of this.clients) c.close();
    this.clients.clear();
    await Promise.all(this.members.map((m) => this.kill(m.index, 'SIGTERM')));
  }

  /** Removes the temp root; only after stopAll. */
  removeData(): void {
    if (this.runningIndices().length > 0) throw new Error('removeData while members run');
    rmSync(this.rootDir, { recursive: true, force: true });
  }

  logTail(i: number, lines = LOG_TAIL_LINES): string {
    const m = this.member(i);
    const text = readTail(m.logFile, LOG_TAIL_BYTES);
    const tail = text.split('\n').slice(-lines - 1).join('\n');
    return `----- ${m.name} (${m.logFile}, ${this.exitOf(i) ?? 'running'}) -----\n${tail}`;
  }

  logTails(lines = LOG_TAIL_LINES): string {
    return this.members.map((m) => this.logTail(m.index, lines)).join('\n');
  }

  private member(i: number): MemberSpec {
    const m = this.members[i];
    if (m === undefined) throw new Error(`no member ${i} in a cluster of ${this.members.length}`);
    return m;
  }

  private spawnMember(i: number): void {
    const m = this.member(i);
    const { command, args } = this.argvOf(m);
    const fd = openSync(m.logFile, 'a');
    let child: ChildProcess;
    try {
      child = spawn(command, args, { stdio: ['ignore', fd, fd] });
    } finally {
      closeSync(fd); // the child holds its own copy
    }
    if (child.pid === undefined) throw new Error(`could not start ${m.name}: ${command}`);
    liveChildren.add(child);
    const running: Running = {
      child,
      pid: child.pid,
      exited: new Promise((resolve) => {
        child.once('exit', (code, signal) => {
          running.exit = signal !== null ? `signal ${signal}` : `code ${code}`;
          liveChildren.delete(child);
          resolve();
        });
      }),
    };
    this.procs[i] = running;
  }

  /** undefined when member i answered the probe, else why not. */
  private async probe(i: number, probe: ReadyProbe): Promise<string | undefined> {
    const deadline = Date.now() + PROBE_DEADLINE_MS;
    try {
      await this.withClient([i], async (c) => {
        if (probe === ReadyProbe.Put) await c.put(`harness/ready/${this.member(i).name}`).value('1').options({ deadline }).exec();
        else await c.get('harness/ready').options({ deadline }).exec();
      });
      return undefined;
    } catch (err) {
      return err instanceof Error ? err.message : String(err);
    }
  }
}

interface ClusterFlags extends ProcessClusterOptions {
  readonly token: string;
  readonly initialCluster: string;
}

function strakeArgs(m: MemberSpec, f: ClusterFlags): string[] {
  return [
    STRAKE_BIN, 'master',
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
  ];
}

/**
 * Starts a cluster for the running test and stops it (by PID) when the test
 * ends, printing every member's log tail first if the test failed. The data is
 * removed after a pass and kept after a failure.
 */
export async function startClusterForTest(o: ProcessClusterOptions): Promise<ProcessCluster> {
  const cluster = await ProcessCluster.start(o);
  onTestFinished(async (ctx) => {
    const failed = ctx.task.result?.state === 'fail';
    if (failed) process.stderr.write(`\n${ctx.task.name}: member logs (kept in ${cluster.rootDir})\n${cluster.logTails()}\n`);
    await cluster.stopAll();
    if (!failed) cluster.removeData();
  }, STOP_GRACE_MS + KILL_EXIT_WAIT_MS + 1_000);
  return cluster;
}

/** Retries `fn` while it throws, until it returns or `timeoutMs` passes; a returned value is never retried. */
export async function retryOnError<T>(what: string, fn: () => Promise<T>, timeoutMs: number, intervalMs = PROBE_INTERVAL_MS): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (Date.now() >= deadline) throw new Error(`${what}: still failing after ${timeoutMs} ms: ${err instanceof Error ? err.message : String(err)}`);
    }
    await sleep(intervalMs);
  }
}

/** Polls `check` until it returns a value other than undefined, bounded by `timeoutMs`. */
export async function eventually<T>(what: string, check: () => Promise<T | undefined>, timeoutMs: number, intervalMs = PROBE_INTERVAL_MS): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no attempt finished';
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined) return v;
      last = 'condition not met';
    } catch (err) {
      last = err instanceof Error ? err.message : String(err);
    }
    if (Date.now() >= deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${last})`);
    await sleep(intervalMs);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function exitsWithin(p: Running, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  return Promise.race([p.exited.then(() => true), timeout]).finally(() => clearTimeout(timer));
}

/** Fails if something already listens on a member's peer or client port (e.g. a leftover of an earlier run). */
async function mustBeFreePorts(peerUrl: string, endpoint: string): Promise<void> {
  await mustBeFreePort(new URL(peerUrl).port);
  await mustBeFreePort(new URL(`http://${endpoint}`).port);
}

function mustBeFreePort(port: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', (err) => reject(new Error(`port 127.0.0.1:${port} is not free (${err.message}); is a process from an earlier run still alive?`)));
    server.listen(Number(port), '127.0.0.1', () => server.close(() => resolve()));
  });
}

function readTail(file: string, maxBytes: number): string {
  if (!existsSync(file)) return '(no log)';
  const fd = openSync(file, 'r');
  try {
    const size = fstatSync(fd).size;
    const buf = Buffer.alloc(Math.min(size, maxBytes));
    const read = readSync(fd, buf, 0, buf.length, size - buf.length);
    return buf.subarray(0, read).toString('utf8');
  } finally {
    closeSync(fd);
  }
}
