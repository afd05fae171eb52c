/**
 * Supervised processes that outlive the runtime process.
 *
 * Each sandbox or container process runs under a tiny shell supervisor in its own
 * session:
 *
 *   sh -c '"$@"; echo $? > EXIT.tmp && mv EXIT.tmp EXIT' EXIT <argv...>
 *
 * where argv is `runc run --keep ...` (runc isolation) or the command itself
 * (process isolation). Its stdout and stderr are named pipes (FIFOs) in the
 * object's directory, opened read-write for the child, so the child never gets
 * SIGPIPE: when the runtime process stops, output waits in the pipe (up to the
 * pipe's 64 KiB, then the writer blocks) until a restarted runtime reopens the
 * read side and copies it on into the CRI log. The exit status lands in EXIT
 * whether or not a runtime is running, so a restarted runtime still learns it.
 */
import { spawn } from 'node:child_process';
import { closeSync, constants, existsSync, openSync, readFileSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { Socket } from 'node:net';
import { join } from 'node:path';
import { runTool } from './tools.js';

export interface ProcessHandle {
  /** Host PID of the supervisor shell. */
  supervisorPid: number;
  /** Its start time (clock ticks since boot, /proc/PID/stat field 22), so a reused PID is not mistaken for it. */
  supervisorStartTicks: number;
  /** Host PID of the supervised process (the container's init), once known. */
  pid: number;
  dir: string;
}

export interface LaunchOptions {
  dir: string;
  argv: string[];
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Where the child writes its own PID (runc's --pid-file, or the process-mode prologue). */
  pidFile: string;
}

export interface Exit {
  /** The exit status `sh` saw: the code, or 128 + signal. Undefined when the supervisor died before writing it. */
  code: number | undefined;
}

export const STDOUT_FIFO = 'stdout.fifo';
export const STDERR_FIFO = 'stderr.fifo';
export const EXIT_FILE = 'exit';

/** mkfifo is quick; a hung one means a broken filesystem. */
const MKFIFO_TIMEOUT_MS = 10_000;

export async function makeFifos(dir: string): Promise<void> {
  for (const name of [STDOUT_FIFO, STDERR_FIFO]) {
    const path = join(dir, name);
    if (existsSync(path)) continue;
    const r = await runTool('mkfifo', ['-m', '0600', path], { timeoutMs: MKFIFO_TIMEOUT_MS });
    if (r.code !== 0) throw new Error(`mkfifo ${path} failed: ${r.stderr.trim()}`);
  }
}

/** Opens the read side of a FIFO without blocking, as a readable stream (EOF when every writer closed). */
export function openFifoReader(path: string): Socket {
  const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  return new Socket({ fd, readable: true, writable: false });
}

export interface Launched {
  handle: ProcessHandle;
  /** Resolves when the supervisor exits (only while this runtime process is its parent). */
  exited: Promise<Exit>;
  stdout: Socket;
  stderr: Socket;
}

export async function launch(o: LaunchOptions): Promise<Launched> {
  await makeFifos(o.dir);
  await rm(join(o.dir, EXIT_FILE), { force: true });
  const stdout = openFifoReader(join(o.dir, STDOUT_FIFO));
  const stderr = openFifoReader(join(o.dir, STDERR_FIFO));
  const wOut = openSync(join(o.dir, STDOUT_FIFO), constants.O_RDWR);
  const wErr = openSync(join(o.dir, STDERR_FIFO), constants.O_RDWR);
  const exitFile = join(o.dir, EXIT_FILE);
  const script = '"$@"; code=$?; echo $code > "$0.tmp" && mv "$0.tmp" "$0"';
  let child;
  try {
    child = spawn('/bin/sh', ['-c', script, exitFile, ...o.argv], {
      cwd: o.cwd ?? o.dir,
      env: o.env ?? process.env,
      stdio: ['ignore', wOut, wErr],
      detached: true,
    });
  } finally {
    closeSync(wOut);
    closeSync(wErr);
  }
  const exited = new Promise<Exit>((resolve) => {
    child.once('error', () => resolve({ code: undefined }));
    child.once('exit', () => void readExit(o.dir).then(resolve));
  });
  child.unref();
  const pid = child.pid;
  if (pid === undefined) {
    stdout.destroy();
    stderr.destroy();
    throw new Error(`cannot start ${o.argv[0] ?? 'process'}`);
  }
  return { handle: { supervisorPid: pid, supervisorStartTicks: startTicks(pid) ?? 0, pid: 0, dir: o.dir }, exited, stdout, stderr };
}

/** The recorded exit status, or undefined when there is none (yet). */
export async function readExit(dir: string): Promise<Exit> {
  try {
    const text = (await readFile(join(dir, EXIT_FILE), 'utf8')).trim();
    const code = Number(text);
    return { code: text !== '' && Number.isInteger(code) ? code : undefined };
  } catch {
    return { code: undefined };
  }
}

/** Field 22 of /proc/PID/stat (start time in clock ticks), or undefined when the process is gone. */
export function startTicks(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: count from the last ')'.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const v = Number(rest[19]);
    return Number.isFinite(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

/** True while the supervisor of `h` runs (same PID and the same start time). A zombie counts as gone. */
export function supervisorAlive(h: ProcessHandle): boolean {
  const t = startTicks(h.supervisorPid);
  if (t === undefined || t !== h.supervisorStartTicks) return false;
  try {
    const stat = readFileSync(`/proc/${h.supervisorPid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** The PID the child wrote, or 0 when not (yet) written. */
export async function readPidFile(file: string): Promise<number> {
  try {
    const n = Number((await readFile(file, 'utf8')).trim());
    return Number.isInteger(n) && n > 0 ? n : 0;
  } catch {
    return 0;
  }
}

/** Sends a signal, ignoring a process that is already gone. */
export function signal(pid: number, sig: NodeJS.Signals): boolean {
  if (pid <= 0) return false;
  try {
    process.kill(pid, sig);
    return true;
  } catch {
    return false;
  }
}
