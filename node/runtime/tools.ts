/** Running the host tools the runtime drives (runc, ip, nsenter, mount, mkfifo), each with a deadline. */
import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

export interface ToolResult {
  /** Exit code; -1 when the tool could not run or was killed at its deadline. */
  code: number;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

/** Output kept per stream: tools answer in a few KiB; anything past this is cut. */
const TOOL_OUTPUT_BYTES_MAX = 1024 * 1024;

export function runTool(cmd: string, args: readonly string[], o: { timeoutMs: number; env?: NodeJS.ProcessEnv }): Promise<ToolResult> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: o.env ?? process.env });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.on('data', (d: Buffer) => {
      if (stdout.length < TOOL_OUTPUT_BYTES_MAX) stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      if (stderr.length < TOOL_OUTPUT_BYTES_MAX) stderr += d.toString();
    });
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, o.timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      resolve({ code: -1, stdout, stderr: stderr + err.message, timedOut });
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: timedOut ? -1 : code ?? -1, stdout, stderr, timedOut });
    });
  });
}

/** The first executable named `name` on PATH, or undefined. */
export function which(name: string, pathEnv = process.env['PATH'] ?? ''): string | undefined {
  for (const dir of [...pathEnv.split(delimiter), '/usr/local/sbin', '/usr/sbin', '/sbin', '/usr/bin', '/bin'].filter((d) => d !== '')) {
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // next
    }
  }
  return undefined;
}
