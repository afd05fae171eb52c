/**
 * A `strake up` cluster for tests: the real command as a child process, on a
 * base port the test file owns (test/README.md), with its data in a temporary
 * directory. `startUpForTest` waits for "cluster is ready", reads the cluster
 * file, and stops everything by PID when the test file ends.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ClusterFile } from '../../cli/up.js';

/** `strake up` of three masters on a loaded two-core machine: elections, API caches, bootstrap objects. */
export const UP_READY_MS = 90_000;
/** After SIGTERM, `up` stops its masters (10 s grace each, in parallel). */
const UP_STOP_MS = 15_000;

export interface UpCluster {
  readonly dataDir: string;
  readonly file: ClusterFile;
  readonly kubeconfig: string;
  /** The admin bearer token from the cluster's token file. */
  readonly adminToken: string;
  readonly output: () => string;
  /** Stops `up` and whatever it started; removes the data dir unless keepData. */
  stop(o?: { keepData?: boolean }): Promise<void>;
}

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export async function startUp(o: { basePort: number; masters?: number; nodes?: number; args?: readonly string[] }): Promise<UpCluster> {
  const dataDir = mkdtempSync(join(tmpdir(), 'strake-up-'));
  const bin = join(repoRoot, 'bin', 'strake.js');
  const args = [bin, 'up', '--masters', String(o.masters ?? 3), '--nodes', String(o.nodes ?? 0), '--base-port', String(o.basePort), '--data-dir', dataDir, ...(o.args ?? [])];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (out += b.toString()));
  const stop = (so: { keepData?: boolean } = {}) => stopUp(child, dataDir, so.keepData ?? false);
  try {
    await waitForOutput(child, () => out.includes('cluster is ready'), UP_READY_MS);
  } catch (err) {
    await stop();
    throw new Error(`${(err as Error).message}\n--- strake up output ---\n${out}`);
  }
  const file = JSON.parse(readFileSync(join(dataDir, 'cluster.json'), 'utf8')) as ClusterFile;
  const adminToken = readFileSync(join(dataDir, 'tokens.csv'), 'utf8').split(',')[0]!;
  return { dataDir, file, kubeconfig: file.kubeconfig, adminToken, output: () => out, stop };
}

function waitForOutput(child: ChildProcess, done: () => boolean, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => finish(new Error(`strake up not ready within ${timeoutMs} ms`)), timeoutMs);
    const poll = setInterval(() => (done() ? finish() : undefined), 100);
    const onExit = (code: number | null) => finish(new Error(`strake up exited early (code ${code})`));
    child.once('exit', onExit);
    function finish(err?: Error): void {
      clearTimeout(timer);
      clearInterval(poll);
      child.off('exit', onExit);
      if (err === undefined) resolve();
      else reject(err);
    }
  });
}

async function stopUp(child: ChildProcess, dataDir: string, keepData: boolean): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) {
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), UP_STOP_MS);
    await exited;
    clearTimeout(timer);
  }
  // Masters outlive a SIGKILLed `up`: stop any that are left, by the PIDs in the cluster file.
  try {
    const file = JSON.parse(readFileSync(join(dataDir, 'cluster.json'), 'utf8')) as ClusterFile;
    for (const m of [...file.masters, ...file.nodes]) {
      try {
        process.kill(m.pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
  } catch {
    // No cluster file: nothing was started.
  }
  if (!keepData) rmSync(dataDir, { recursive: true, force: true });
}
