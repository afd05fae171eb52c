/**
 * One member's operating-system process: started with stdout and stderr
 * appended to the member's log file, signalled by its PID only, and waited for
 * with a bound. A child that has not exited when this process exits is
 * SIGKILLed, so a crashed test or chaos run leaves no member behind.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, fstatSync, openSync, readSync } from 'node:fs';
import { createServer } from 'node:net';

/** A member gets this long to exit on SIGTERM before SIGKILL (strake waits up to 2 s for calls in flight). */
export const STOP_GRACE_MS = 5_000;
/** The kernel ends a SIGKILLed process at once; this only bounds a wait that should never be long. */
export const KILL_EXIT_WAIT_MS = 5_000;

/** Every child started here that has not exited yet. */
const liveChildren = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of liveChildren) child.kill('SIGKILL');
});

export interface MemberCommand {
  readonly command: string;
  readonly args: readonly string[];
}

export class MemberProcess {
  /** How the process ended ("code 1", "signal SIGKILL"); undefined while it runs. */
  private exitDescription: string | undefined;
  /** Resolves when the process has exited; never rejects. */
  private readonly exited: Promise<void>;

  private constructor(
    readonly name: string,
    private readonly child: ChildProcess,
    readonly pid: number,
  ) {
    liveChildren.add(child);
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.exitDescription = signal !== null ? `signal ${signal}` : `code ${code}`;
        liveChildren.delete(child);
        resolve();
      });
    });
  }

  /** Starts `run` with its output appended to `logFile`. */
  static spawn(name: string, run: MemberCommand, logFile: string): MemberProcess {
    const fd = openSync(logFile, 'a');
    let child: ChildProcess;
    try {
      child = spawn(run.command, run.args, { stdio: ['ignore', fd, fd] });
    } finally {
      closeSync(fd); // the child holds its own copy
    }
    if (child.pid === undefined) throw new Error(`could not start ${name}: ${run.command}`);
    return new MemberProcess(name, child, child.pid);
  }

  get exit(): string | undefined {
    return this.exitDescription;
  }

  isRunning(): boolean {
    return this.exitDescription === undefined;
  }

  /**
   * Sends `signal` and waits for the exit: up to STOP_GRACE_MS for a SIGTERM
   * (then SIGKILL), up to KILL_EXIT_WAIT_MS for a SIGKILL.
   */
  async stop(signal: NodeJS.Signals): Promise<void> {
    if (!this.isRunning()) return;
    this.child.kill(signal);
    const waitMs = signal === 'SIGKILL' ? KILL_EXIT_WAIT_MS : STOP_GRACE_MS;
    if (await this.exitsWithin(waitMs)) return;
    if (signal === 'SIGKILL') throw new Error(`${this.name} (pid ${this.pid}) did not exit within ${waitMs} ms of SIGKILL`);
    this.child.kill('SIGKILL');
    if (!(await this.exitsWithin(KILL_EXIT_WAIT_MS))) throw new Error(`${this.name} (pid ${this.pid}) survived SIGKILL`);
  }

  private exitsWithin(ms: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), ms);
    });
    return Promise.race([this.exited.then(() => true), timeout]).finally(() => clearTimeout(timer));
  }
}

/** Fails if something already listens on one of `ports` on loopback (e.g. a leftover of an earlier run). */
export async function mustBeFreePorts(ports: readonly number[]): Promise<void> {
  for (const port of ports) await mustBeFreePort(port);
}

function mustBeFreePort(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', (err) => reject(new Error(`port 127.0.0.1:${port} is not free (${err.message}); is a process from an earlier run still alive?`)));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve()));
  });
}

/** The last `maxBytes` of `file` (a log may be long; only its end is wanted). */
export function readTail(file: string, maxBytes: number): string {
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
