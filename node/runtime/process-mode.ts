/**
 * Process isolation, for hosts without root or runc: sandboxes and containers are
 * plain processes of the host (each in a session of its own), with the same CRI
 * behaviour — state machine, logs, exit codes, stop grace, exec — but NONE of the
 * isolation: no namespaces (containers see the host's network, PIDs, hostname and
 * filesystem; all pods share the host's localhost), no cgroup limits (memory and
 * CPU limits are not applied, so no OOMKilled), no user switch. The image rootfs
 * is prepared and used as the working directory base, and a command is looked up
 * in the rootfs's PATH first, then the host's.
 */
import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import type { CgroupUsage } from './cgroups.js';
import { launch, readExit, signal, supervisorAlive } from './container-process.js';
import { StartError, type Isolator, type Started } from './isolation.js';
import type { OciSpec } from './oci-spec.js';
import { captureProcess, type ExecResult } from './runc.js';
import { sleep, waitForPid } from './runc-isolation.js';
import type { ContainerRecord, SandboxRecord } from './state-store.js';

export const PROCESS_MODE_MISSING =
  'process isolation: no namespaces (pods share the host network, PID space and hostname), no cgroup limits (memory/CPU limits are not enforced, no OOMKilled), no user switch';

/** After SIGKILL of a container's process, its supervisor writes the exit status within milliseconds. */
const KILL_SETTLE_MS = 2_000;
/** Linux's USER_HZ: /proc/<pid>/stat times are in these ticks. */
const CLOCK_TICKS_PER_SECOND = 100;

interface ProcessPlan {
  args: string[];
  env: string[];
  cwd: string;
  rootfs: string;
}

export class ProcessIsolation implements Isolator {
  readonly kind = 'process' as const;
  readonly missing = PROCESS_MODE_MISSING;

  async startSandbox(s: SandboxRecord): Promise<Started> {
    const dir = join(s.dir, 'pause');
    await mkdir(dir, { recursive: true });
    const pidFile = join(dir, 'pid');
    await rm(pidFile, { force: true });
    const launched = await launch({ dir, argv: ['/bin/sh', '-c', 'echo $$ > "$0"; exec sleep 2147483647', pidFile], pidFile });
    const pid = await waitForPid(launched, pidFile, async (code) => `the pause process exited with ${code ?? 'no status'}`);
    launched.handle.pid = pid;
    return { launched, pid };
  }

  async stopSandbox(s: SandboxRecord): Promise<void> {
    if (s.process === undefined) return;
    signal(s.process.pid, 'SIGKILL');
    killGroup(s.process.supervisorPid);
  }

  async cleanupSandbox(): Promise<void> {}

  async prepareContainer(c: ContainerRecord, spec: OciSpec): Promise<void> {
    const plan: ProcessPlan = { args: spec.process.args, env: spec.process.env, cwd: spec.process.cwd, rootfs: c.rootfs.path };
    await writeFile(join(c.dir, 'process.json'), JSON.stringify(plan));
  }

  async startContainer(c: ContainerRecord): Promise<Started> {
    const plan = JSON.parse(await readFile(join(c.dir, 'process.json'), 'utf8')) as ProcessPlan;
    const env = envObject(plan.env);
    const [cmd, ...rest] = plan.args;
    const exe = resolveCommand(plan.rootfs, cmd ?? '', env['PATH'] ?? '');
    if (exe === undefined) throw new StartError(`executable "${cmd}" not found in the image's PATH or the host's`, 128);
    const cwd = join(plan.rootfs, plan.cwd);
    const pidFile = join(c.dir, 'pid');
    await rm(pidFile, { force: true });
    const launched = await launch({
      dir: c.dir,
      argv: ['/bin/sh', '-c', 'echo $$ > "$0"; exec "$@"', pidFile, exe, ...rest],
      cwd: existsSync(cwd) ? cwd : plan.rootfs,
      env,
      pidFile,
    });
    const pid = await waitForPid(launched, pidFile, async (code) => `the process exited with ${code ?? 'no status'} before it started`);
    launched.handle.pid = pid;
    return { launched, pid };
  }

  async signalContainer(c: ContainerRecord, sig: 'TERM' | 'KILL'): Promise<boolean> {
    const p = c.process;
    if (p === undefined || !supervisorAlive(p)) return false;
    const sent = signal(p.pid, sig === 'TERM' ? 'SIGTERM' : 'SIGKILL');
    if (sig === 'KILL') {
      // Let the supervisor record 137 first, then take the rest of the group.
      const deadline = Date.now() + KILL_SETTLE_MS;
      while (Date.now() < deadline && (await readExit(p.dir)).code === undefined) await sleep(10);
      killGroup(p.supervisorPid);
    }
    return sent;
  }

  async afterExit(c: ContainerRecord): Promise<{ oomKilled: boolean }> {
    if (c.process !== undefined) killGroup(c.process.supervisorPid);
    return { oomKilled: false };
  }

  async exec(c: ContainerRecord, cmd: string[], timeoutMs: number): Promise<ExecResult> {
    const plan = JSON.parse(await readFile(join(c.dir, 'process.json'), 'utf8')) as ProcessPlan;
    const env = envObject(plan.env);
    const [first, ...rest] = cmd;
    const exe = resolveCommand(plan.rootfs, first ?? '', env['PATH'] ?? '');
    if (exe === undefined) return { stdout: Buffer.alloc(0), stderr: Buffer.from(`exec: "${first}": executable file not found\n`), exitCode: 127, timedOut: false };
    const cwd = join(plan.rootfs, plan.cwd);
    let childPid = 0;
    return captureProcess(exe, rest, {
      timeoutMs,
      cwd: existsSync(cwd) ? cwd : plan.rootfs,
      env,
      onTimeout: () => void signal(childPid, 'SIGKILL'),
      onSpawn: (pid) => (childPid = pid),
    });
  }

  async usage(c: ContainerRecord): Promise<CgroupUsage> {
    const pid = c.process?.pid ?? 0;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const ticks = Number(f[11]) + Number(f[12]);
      const rssKb = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
      const rss = rssKb === undefined ? undefined : Number(rssKb) * 1024;
      return { cpuNs: (ticks * 1e9) / CLOCK_TICKS_PER_SECOND, workingSetBytes: rss, usageBytes: rss, rssBytes: rss };
    } catch {
      return { cpuNs: undefined, workingSetBytes: undefined, usageBytes: undefined, rssBytes: undefined };
    }
  }

  async cleanupContainer(c: ContainerRecord): Promise<void> {
    if (c.process !== undefined && supervisorAlive(c.process)) killGroup(c.process.supervisorPid);
  }
}

function killGroup(supervisorPid: number): void {
  if (supervisorPid > 0) signal(-supervisorPid, 'SIGKILL');
}

function envObject(env: readonly string[]): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  for (const kv of env) {
    const eq = kv.indexOf('=');
    if (eq > 0) out[kv.slice(0, eq)] = kv.slice(eq + 1);
  }
  return out;
}

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** A command inside the rootfs first (by the container's PATH), then the host's; undefined when neither has it. */
export function resolveCommand(rootfs: string, cmd: string, pathEnv: string): string | undefined {
  if (cmd === '') return undefined;
  if (cmd.includes('/')) {
    if (isAbsolute(cmd) && executable(join(rootfs, cmd))) return join(rootfs, cmd);
    return executable(isAbsolute(cmd) ? cmd : join(rootfs, cmd)) ? cmd : undefined;
  }
  const dirs = pathEnv.split(':').filter((d) => d !== '');
  for (const d of dirs) if (executable(join(rootfs, d, cmd))) return join(rootfs, d, cmd);
  for (const d of dirs) if (executable(join(d, cmd))) return join(d, cmd);
  return undefined;
}
