/**
 * The runc command line, always with our own `--root` (runc's state dir) so the
 * runtime never sees or touches containers of another runc user, and with the
 * cgroupfs driver (there is no systemd to ask).
 */
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { constants as osConstants } from 'node:os';
import { runTool, type ToolResult } from './tools.js';

/** runc state/kill/delete answer in tens of milliseconds; under load give them seconds. */
const RUNC_CALL_TIMEOUT_MS = 30_000;
/** ExecSync output kept per stream (containerd's exec sync limit is of this order). */
export const EXEC_OUTPUT_BYTES_MAX = 16 * 1024 * 1024;

export interface RuncState {
  id: string;
  pid: number;
  status: 'creating' | 'created' | 'running' | 'paused' | 'stopped';
  bundle: string;
}

export interface ExecResult {
  stdout: Buffer;
  stderr: Buffer;
  exitCode: number;
  timedOut: boolean;
}

export class Runc {
  constructor(
    readonly bin: string,
    readonly root: string,
  ) {}

  /** argv (after the binary) of a foreground `runc run --keep`, used under the supervisor shell. */
  runArgv(o: { id: string; bundle: string; pidFile: string; logFile: string }): string[] {
    return [this.bin, '--root', this.root, '--log', o.logFile, '--log-format', 'json', 'run', '--keep', '--bundle', o.bundle, '--pid-file', o.pidFile, o.id];
  }

  private call(args: string[]): Promise<ToolResult> {
    return runTool(this.bin, ['--root', this.root, ...args], { timeoutMs: RUNC_CALL_TIMEOUT_MS });
  }

  /** The container's state, or undefined when runc does not know it. */
  async state(id: string): Promise<RuncState | undefined> {
    const r = await this.call(['state', id]);
    if (r.code !== 0) return undefined;
    return JSON.parse(r.stdout) as RuncState;
  }

  async list(): Promise<RuncState[]> {
    const r = await this.call(['list', '--format', 'json']);
    if (r.code !== 0) throw new Error(`runc list failed: ${r.stderr.trim()}`);
    const parsed = JSON.parse(r.stdout || 'null') as RuncState[] | null;
    return parsed ?? [];
  }

  /** Signals the container's init; false when it is not running (already stopped or unknown). */
  async kill(id: string, signal: 'TERM' | 'KILL' | 'INT'): Promise<boolean> {
    const r = await this.call(['kill', id, signal]);
    return r.code === 0;
  }

  /** Removes the container (its cgroup and state); a missing container is fine. */
  async delete(id: string): Promise<void> {
    const r = await this.call(['delete', '--force', id]);
    if (r.code !== 0 && !/does not exist|not exist/.test(r.stderr)) throw new Error(`runc delete ${id} failed: ${r.stderr.trim()}`);
  }

  /**
   * `runc exec` in the container (its env, cwd and user from config.json), output
   * captured. At the deadline the exec'd process is SIGKILLed through its pid file.
   */
  exec(o: { id: string; cmd: string[]; timeoutMs: number; pidFile: string }): Promise<ExecResult> {
    const args = ['--root', this.root, 'exec', '--pid-file', o.pidFile, o.id, ...o.cmd];
    return captureProcess(this.bin, args, { timeoutMs: o.timeoutMs, onTimeout: () => killFromPidFile(o.pidFile) });
  }
}

async function killFromPidFile(file: string): Promise<void> {
  const pid = Number((await readFile(file, 'utf8').catch(() => '')).trim());
  if (Number.isInteger(pid) && pid > 0) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone already
    }
  }
}

/** Runs a command to completion capturing bounded stdout/stderr; timeoutMs 0 = no deadline. */
export function captureProcess(cmd: string, args: string[], o: { timeoutMs: number; onTimeout: () => Promise<void> | void; onSpawn?: (pid: number) => void; cwd?: string; env?: NodeJS.ProcessEnv }): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...(o.cwd === undefined ? {} : { cwd: o.cwd }), env: o.env ?? process.env });
    if (child.pid !== undefined) o.onSpawn?.(child.pid);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let outBytes = 0;
    let errBytes = 0;
    let timedOut = false;
    child.stdout.on('data', (d: Buffer) => {
      if (outBytes + d.length <= EXEC_OUTPUT_BYTES_MAX) out.push(d);
      outBytes += d.length;
    });
    child.stderr.on('data', (d: Buffer) => {
      if (errBytes + d.length <= EXEC_OUTPUT_BYTES_MAX) err.push(d);
      errBytes += d.length;
    });
    let timer: NodeJS.Timeout | undefined;
    if (o.timeoutMs > 0) {
      timer = setTimeout(() => {
        timedOut = true;
        void Promise.resolve(o.onTimeout()).finally(() => {
          // The killer had its chance; make sure the child itself goes too.
          setTimeout(() => child.kill('SIGKILL'), 2_000).unref();
        });
      }, o.timeoutMs);
    }
    child.on('error', (e) => {
      if (timer) clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, sig) => {
      if (timer) clearTimeout(timer);
      resolve({ stdout: Buffer.concat(out), stderr: Buffer.concat(err), exitCode: code ?? 128 + signalNumber(sig), timedOut });
    });
  });
}

function signalNumber(sig: NodeJS.Signals | null): number {
  return sig === null ? 0 : osConstants.signals[sig] ?? 0;
}

/** The last error runc logged (its --log file, JSON lines), for StartError messages. */
export async function lastRuncError(logFile: string): Promise<string | undefined> {
  const text = await readFile(logFile, 'utf8').catch(() => '');
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  for (let i = lines.length - 1; i >= 0; i--) {
    try {
      const e = JSON.parse(lines[i]!) as { level?: string; msg?: string };
      if (e.level === 'error' || e.level === 'fatal') return e.msg;
    } catch {
      return lines[i];
    }
  }
  return undefined;
}
