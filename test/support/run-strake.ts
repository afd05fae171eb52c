/**
 * Runs the built `strake` command as a child process and collects its output:
 * how the CLI and multi-process suites drive the product from outside. Each run
 * is bounded; a run that overstays is SIGKILLed and reported with status null.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const STRAKE_BIN = fileURLToPath(new URL('../../bin/strake.js', import.meta.url));
export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** A Node start plus a few loopback round trips takes about a second; generous for a loaded machine. */
export const STRAKE_RUN_TIMEOUT_MS = 20_000;

export interface RunResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface RunOptions {
  readonly input?: string;
  readonly env?: Readonly<Record<string, string>>;
  readonly timeoutMs?: number;
}

export function runStrake(args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [STRAKE_BIN, ...args], {
      cwd: REPO_ROOT,
      env: { ...process.env, NO_COLOR: '1', ...opts.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? STRAKE_RUN_TIMEOUT_MS);
    child.once('error', reject);
    child.once('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
    child.stdin.end(opts.input ?? '');
  });
}
