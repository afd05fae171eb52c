/**
 * Real multi-process clusters on loopback, for chaos runs and the proof tests:
 * N `strake master` processes started directly (not through `strake up`), so
 * that a nemesis or a test can SIGKILL one member and restart it later with the
 * same flags and data dir; or N real `etcd` processes with the same layout, for
 * side-by-side checks.
 *
 *   const cluster = await ProcessCluster.start({ basePort: 32_100, snapshotCount: 100 });
 *   await cluster.waitReady();
 *   const leader = await cluster.leaderIndex();
 *   await cluster.kill(leader);            // SIGKILL, waits for the exit
 *   await cluster.restart(leader);
 *   await cluster.stopAll();               // SIGTERM, then SIGKILL after a bound
 *
 * Ports follow the DESIGN.md contract (member-spec.ts). They are checked to be
 * free before a member starts, so a leftover process from an earlier run fails
 * the run instead of being talked to. Each member's stdout and stderr go to
 * <rootDir>/<name>.log; `logTails()` shows their ends for a failure report.
 * Every process is signalled by its PID, never by name.
 */
import { appendFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Etcd3, type IStatusResponse } from 'etcd3';
import { chaosClient } from './etcd-client.js';
import { KILL_EXIT_WAIT_MS, MemberProcess, mustBeFreePorts, readTail, STOP_GRACE_MS, type MemberCommand } from './member-process.js';
import { ClusterKind, faultsFileOf, memberCommandOf, memberPorts, memberSpecs, type ApiFlags, type ClusterFlags, type MemberSpec } from './member-spec.js';
import { errorMessage, eventually, POLL_INTERVAL_MS, sleep } from './poll.js';

export { STOP_GRACE_MS } from './member-process.js';
export { ClusterKind, findOnPath, type MemberSpec } from './member-spec.js';

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
/** Bound on one call of the clients this harness hands out (etcd's own request timeout is 7 s). */
export const CALL_DEADLINE_MS = 10_000;
/** The longest `stopAll()` takes: the SIGTERM grace, then the wait after SIGKILL. */
export const STOP_ALL_MAX_MS = STOP_GRACE_MS + KILL_EXIT_WAIT_MS;
/** Lines of each member's log shown in a failure report. */
export const LOG_TAIL_LINES = 40;
/** Each member's log is read back from its end only; bounds the memory a runaway log can take. */
const LOG_TAIL_BYTES = 64 * 1024;

export interface ProcessClusterOptions {
  readonly basePort: number;
  readonly kind?: ClusterKind;
  /** Default 3. */
  readonly size?: number;
  /** Where the members keep their data and logs; created if missing. Default: a new temporary directory. */
  readonly dir?: string;
  /** --snapshot-count of every member (strake's default is 10 000, etcd's 100 000). */
  readonly snapshotCount?: number;
  /** Default 100 ms, as etcd. */
  readonly heartbeatMs?: number;
  /** Election timeout in heartbeats; default 10, as etcd. */
  readonly electionTicks?: number;
  /** --cluster-token / --initial-cluster-token. */
  readonly token?: string;
  /** Appended to every member's command line (strake master or etcd flags, by kind). */
  readonly extraArgs?: readonly string[];
  /** Members are named <prefix>0, <prefix>1, …; default "m" for strake, "e" for etcd. */
  readonly namePrefix?: string;
  /** Serve the HTTP API on P+10i+2 too (strake only), with these credentials files. */
  readonly api?: ApiFlags;
  /** Let `partition`/`heal` cut links between members (strake only: a failpoint file per member). */
  readonly networkFaults?: boolean;
}

export class ProcessCluster {
  private readonly procs: Array<MemberProcess | undefined>;
  private readonly clients = new Set<Etcd3>();

  private constructor(
    readonly kind: ClusterKind,
    readonly rootDir: string,
    readonly members: readonly MemberSpec[],
    private readonly commandOf: (m: MemberSpec) => MemberCommand,
  ) {
    this.procs = members.map(() => undefined);
  }

  /** Checks the ports, creates the root dir and starts every member; does not wait for readiness. */
  static async start(o: ProcessClusterOptions): Promise<ProcessCluster> {
    const kind = o.kind ?? ClusterKind.Strake;
    const size = o.size ?? 3;
    if (!Number.isInteger(size) || size < 1 || size > MAX_MEMBERS) throw new Error(`cluster size ${size} is outside 1..${MAX_MEMBERS}`);
    const commandOf = memberCommandOf(kind);
    for (let i = 0; i < size; i++) {
      const ports = memberPorts(o.basePort, i);
      await mustBeFreePorts(o.api === undefined ? [ports.peer, ports.client] : [ports.peer, ports.client, ports.api]);
    }
    const rootDir = o.dir ?? mkdtempSync(join(tmpdir(), `${kind}-proc-${o.basePort}-`));
    if (o.dir !== undefined) mkdirSync(rootDir, { recursive: true });
    const members = memberSpecs({ basePort: o.basePort, size, namePrefix: o.namePrefix ?? (kind === ClusterKind.Strake ? 'm' : 'e'), rootDir });
    const flags: ClusterFlags = { ...o, token: o.token ?? `${kind}-cluster-${o.basePort}`, initialCluster: members.map((m) => `${m.name}=${m.peerUrl}`).join(',') };
    const cluster = new ProcessCluster(kind, rootDir, members, (m) => commandOf(m, flags));
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
    return this.procs[i]?.isRunning() ?? false;
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

  /**
   * An etcd3 client for the given members (default: all), with a deadline on
   * every call and etcd3's own retries; closed by stopAll. Where one request per
   * call matters (a history, a probe), use `chaosClient` instead.
   */
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
      await sleep(POLL_INTERVAL_MS);
    }
  }

  /**
   * Cuts the Raft links between the given groups of members (indices): each
   * member drops all traffic with members outside its group, both ways; a
   * member in no group is cut off from everyone. Needs `networkFaults`.
   * Clients still reach every member (the etcd endpoints are not cut).
   */
  partition(groups: ReadonlyArray<readonly number[]>): void {
    if (this.kind !== ClusterKind.Strake) throw new Error('partition needs a strake cluster started with networkFaults');
    for (const m of this.members) {
      const group = groups.find((g) => g.includes(m.index)) ?? [m.index];
      const blocked = this.members.filter((o) => !group.includes(o.index)).map((o) => `127.0.0.1:${o.ports.peer}`);
      writeFileSync(faultsFileOf(m), JSON.stringify({ blocked }));
    }
  }

  /** Restores every link cut by `partition`. */
  heal(): void {
    for (const m of this.members) writeFileSync(faultsFileOf(m), JSON.stringify({ blocked: [] }));
  }

  /** Maintenance.Status of one member, through its own endpoint. */
  status(i: number): Promise<IStatusResponse> {
    return this.probeCall(i, (c) => c.maintenance.status());
  }

  /** The index of a running member that names itself leader right now, or undefined if none does. */
  async maybeLeaderIndex(): Promise<number | undefined> {
    for (const i of this.runningIndices()) {
      try {
        const s = await this.status(i);
        if (s.leader === s.header.member_id) return i;
      } catch {
        // not answering (yet, or any more); the others may
      }
    }
    return undefined;
  }

  /** The index of the member that leads, waiting (bounded) through an election. */
  async leaderIndex(timeoutMs = READY_TIMEOUT_MS): Promise<number> {
    try {
      return await eventually('a leader', () => this.maybeLeaderIndex(), timeoutMs);
    } catch (err) {
      throw new Error(`${errorMessage(err)}\n${this.logTails()}`);
    }
  }

  /** Sends `signal` to member i by PID and waits (bounded) for it to exit; SIGTERM escalates to SIGKILL. */
  async kill(i: number, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    await this.procs[i]?.stop(signal);
  }

  /** Starts member i again with the same flags and data dir; the caller waits for readiness. */
  async restart(i: number): Promise<void> {
    if (this.isRunning(i)) throw new Error(`${this.member(i).name} is still running (pid ${this.pid(i)})`);
    const m = this.member(i);
    await mustBeFreePorts([m.ports.peer, m.ports.client]);
    appendFileSync(m.logFile, `--- restarted at ${new Date().toISOString()} ---\n`);
    this.spawnMember(i);
  }

  /** Closes the clients, then SIGTERM to every member (SIGKILL after STOP_GRACE_MS), in parallel. */
  async stopAll(): Promise<void> {
    for (const c of this.clients) c.close();
    this.clients.clear();
    await Promise.all(this.members.map((m) => this.kill(m.index, 'SIGTERM')));
  }

  /** Removes the root dir; only after stopAll. */
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
    this.procs[i] = MemberProcess.spawn(m.name, this.commandOf(m), m.logFile);
  }

  /**
   * One call through member i's own endpoint on a fresh single-attempt client,
   * bounded by PROBE_DEADLINE_MS: a member that is down fails the call at once
   * instead of being retried or shut out by a circuit breaker.
   */
  private async probeCall<T>(i: number, fn: (c: Etcd3) => Promise<T>): Promise<T> {
    const c = chaosClient([this.endpoint(i)], { dialTimeoutMs: PROBE_DEADLINE_MS, callTimeoutMs: PROBE_DEADLINE_MS });
    try {
      return await fn(c);
    } finally {
      c.close();
    }
  }

  /** undefined when member i answered the probe, else why not. */
  private async probe(i: number, probe: ReadyProbe): Promise<string | undefined> {
    try {
      await this.probeCall(i, async (c) => {
        if (probe === ReadyProbe.Put) await c.put(`harness/ready/${this.member(i).name}`).value('1').exec();
        else await c.get('harness/ready').exec();
      });
      return undefined;
    } catch (err) {
      return errorMessage(err);
    }
  }
}
