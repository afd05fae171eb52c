/**
 * A cluster of `strake master` processes on loopback that a chaos run (or a
 * test) can kill and restart member by member, with the same flags and data
 * directories, so a restarted member recovers from its own disk.
 *
 * Every process is tracked by PID and stopped by `stop()`; each member's output
 * goes to <dir>/<name>.log so a failure can show what the member said.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, open, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chaosClient } from './etcd-client.js';

/** SIGTERM grace before SIGKILL when stopping. */
export const STOP_GRACE_MS = 10_000;
/** Poll interval while waiting for a condition on the cluster. */
const POLL_MS = 100;

export interface ProcessClusterOptions {
  readonly dir: string;
  readonly basePort: number;
  readonly size: number;
  readonly heartbeatMs?: number;
  readonly electionTicks?: number;
  readonly snapshotCount?: number;
}

export interface MemberProcess {
  readonly name: string;
  readonly peerUrl: string;
  readonly kvEndpoint: string;
  readonly dataDir: string;
  readonly logFile: string;
  child: ChildProcess | undefined;
}

/** bin/strake.js of this checkout, found by walking up from this file (source or build output). */
export function strakeBin(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const candidate = join(dir, 'bin', 'strake.js');
    if (existsSync(candidate)) return candidate;
    dir = dirname(dir);
  }
  throw new Error(`cannot find bin/strake.js above ${fileURLToPath(import.meta.url)}`);
}

export class ProcessCluster {
  readonly members: MemberProcess[];

  constructor(private readonly o: ProcessClusterOptions) {
    this.members = Array.from({ length: o.size }, (_, i) => {
      const port = o.basePort + 10 * i;
      const name = `m${i}`;
      return {
        name,
        peerUrl: `http://127.0.0.1:${port}`,
        kvEndpoint: `127.0.0.1:${port + 1}`,
        dataDir: join(o.dir, name),
        logFile: join(o.dir, `${name}.log`),
        child: undefined,
      };
    });
  }

  get endpoints(): string[] {
    return this.members.map((m) => m.kvEndpoint);
  }

  async start(): Promise<void> {
    await mkdir(this.o.dir, { recursive: true });
    for (let i = 0; i < this.members.length; i++) await this.startMember(i);
  }

  isRunning(i: number): boolean {
    const c = this.members[i]!.child;
    return c !== undefined && c.exitCode === null && c.signalCode === null;
  }

  async startMember(i: number): Promise<void> {
    const m = this.members[i]!;
    if (this.isRunning(i)) return;
    await mkdir(m.dataDir, { recursive: true });
    const log = await open(m.logFile, 'a');
    const initialCluster = this.members.map((x) => `${x.name}=${x.peerUrl}`).join(',');
    const args = [
      strakeBin(), 'master',
      '--name', m.name,
      '--data-dir', m.dataDir,
      '--listen-peer', m.peerUrl,
      '--listen-client', m.kvEndpoint,
      '--initial-cluster', initialCluster,
      '--initial-cluster-state', 'new',
      '--heartbeat-ms', String(this.o.heartbeatMs ?? 100),
      '--election-ticks', String(this.o.electionTicks ?? 10),
      ...(this.o.snapshotCount === undefined ? [] : ['--snapshot-count', String(this.o.snapshotCount)]),
    ];
    const child = spawn(process.execPath, args, { stdio: ['ignore', log.fd, log.fd] });
    child.once('exit', () => void log.close());
    m.child = child;
  }

  /** Sends `signal` and waits for the process to exit. */
  async kill(i: number, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const c = this.members[i]!.child;
    if (c === undefined || !this.isRunning(i)) return;
    const exited = new Promise<void>((resolve) => c.once('exit', () => resolve()));
    c.kill(signal);
    const timer = setTimeout(() => c.kill('SIGKILL'), STOP_GRACE_MS);
    await exited;
    clearTimeout(timer);
  }

  async stop(): Promise<void> {
    await Promise.all(this.members.map((_, i) => this.kill(i, 'SIGTERM')));
  }

  /** Index of the running member that reports itself leader, or undefined. */
  async leaderIndex(timeoutMs = 2000): Promise<number | undefined> {
    for (let i = 0; i < this.members.length; i++) {
      if (!this.isRunning(i)) continue;
      const client = chaosClient([this.members[i]!.kvEndpoint], { dialTimeoutMs: timeoutMs, callTimeoutMs: timeoutMs });
      try {
        const status = await client.maintenance.status();
        if (String(status.leader) !== '0' && String(status.leader) === String(status.header.member_id)) return i;
      } catch {
        // this member is not answering; ask another
      } finally {
        client.close();
      }
    }
    return undefined;
  }

  /** Waits until a linearizable write through every running member succeeds. */
  async waitReady(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (let i = 0; i < this.members.length; i++) {
      if (!this.isRunning(i)) continue;
      const client = chaosClient([this.members[i]!.kvEndpoint], { callTimeoutMs: 2000 });
      try {
        for (;;) {
          try {
            await client.put('strake/chaos/ready').value(String(i)).exec();
            break;
          } catch (err) {
            if (Date.now() > deadline) throw new Error(`member ${this.members[i]!.name} not ready within ${timeoutMs} ms: ${String(err)}`);
            await new Promise((r) => setTimeout(r, POLL_MS));
          }
        }
      } finally {
        client.close();
      }
    }
  }

  /** The last `lines` lines of each member's log, for failure reports. */
  async logTails(lines = 20): Promise<string> {
    const parts: string[] = [];
    for (const m of this.members) {
      const text = await readFile(m.logFile, 'utf8').catch(() => '');
      parts.push(`--- ${m.name} ---\n${text.split('\n').slice(-lines).join('\n')}`);
    }
    return parts.join('\n');
  }
}
