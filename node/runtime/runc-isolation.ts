/**
 * runc isolation: the pause process is a runc container (new PID, mount, IPC, UTS
 * and network namespaces; root = a read-only dir holding a static busybox); each
 * container is a runc container with its own PID and mount namespaces that joins
 * the pause process's network, IPC and UTS namespaces through /proc/<pid>/ns/*.
 * Every one runs as `runc run --keep` under the supervisor shell: runc stays in
 * the foreground, copies the container's output into the supervisor's FIFOs and
 * exits with the container's status; `--keep` leaves the stopped container (and
 * its cgroup) in place, so the OOM-kill counter is read before `runc delete`.
 */
import { chmod, copyFile, mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { oomKills, removeCgroupTree, usage, type CgroupUsage } from './cgroups.js';
import { launch, readPidFile, type Launched } from './container-process.js';
import { StartError, type Isolator, type Started } from './isolation.js';
import { sandboxSpec, type OciSpec } from './oci-spec.js';
import { Runc, lastRuncError, type ExecResult } from './runc.js';
import type { ContainerRecord, SandboxRecord } from './state-store.js';

/** runc create+start takes 30-50 ms; a loaded 2-core machine may need seconds. */
export const START_TIMEOUT_MS = 60_000;
/** How often a start waits for the pid file. */
const START_POLL_MS = 10;
/** After SIGKILL of the pause process, its runc exits within milliseconds. */
const PAUSE_STOP_TIMEOUT_MS = 10_000;

export class RuncIsolation implements Isolator {
  readonly kind = 'runc' as const;
  readonly missing = '';

  constructor(
    readonly runc: Runc,
    /** A dir with bin/busybox (static), the pause process's root. */
    readonly pauseRootfs: string,
  ) {}

  /** Makes the pause rootfs from a static busybox binary (once). */
  static async preparePauseRootfs(dir: string, busybox: string): Promise<void> {
    if (existsSync(join(dir, 'bin', 'busybox'))) return;
    for (const d of ['bin', 'proc', 'dev', 'sys', 'etc', 'tmp']) await mkdir(join(dir, d), { recursive: true });
    await copyFile(busybox, join(dir, 'bin', 'busybox.tmp'));
    await chmod(join(dir, 'bin', 'busybox.tmp'), 0o755);
    await rename(join(dir, 'bin', 'busybox.tmp'), join(dir, 'bin', 'busybox'));
  }

  async startSandbox(s: SandboxRecord, o: { network: 'new' | 'host' }): Promise<Started> {
    const dir = sandboxProcessDir(s);
    const bundle = join(dir, 'bundle');
    await mkdir(bundle, { recursive: true });
    const ns = s.config.linux?.security_context?.namespace_options;
    const spec = sandboxSpec({
      rootfs: this.pauseRootfs,
      hostname: s.config.hostname,
      cgroupsPath: `${s.cgroupParent}/pause`,
      network: o.network,
      hostIpc: ns?.ipc === 'NODE',
      sysctls: s.config.linux?.sysctls ?? {},
    });
    await writeFile(join(bundle, 'config.json'), JSON.stringify(spec));
    return this.run(runcId(s.id), dir, bundle);
  }

  private async run(id: string, dir: string, bundle: string): Promise<Started> {
    const pidFile = join(dir, 'pid');
    const logFile = join(dir, 'runc.log');
    await rm(pidFile, { force: true });
    const launched = await launch({ dir, argv: this.runc.runArgv({ id, bundle, pidFile, logFile }), pidFile });
    const pid = await waitForPid(launched, pidFile, async (code) => (await lastRuncError(logFile)) ?? `runc run exited with ${code ?? 'no status'} before the process started`);
    launched.handle.pid = pid;
    return { launched, pid };
  }

  async stopSandbox(s: SandboxRecord): Promise<void> {
    const id = runcId(s.id);
    await this.runc.kill(id, 'KILL');
    const deadline = Date.now() + PAUSE_STOP_TIMEOUT_MS;
    while (Date.now() < deadline) {
      const st = await this.runc.state(id);
      if (st === undefined || st.status === 'stopped') break;
      await sleep(20);
    }
    await this.runc.delete(id);
  }

  async cleanupSandbox(s: SandboxRecord): Promise<void> {
    await this.runc.delete(runcId(s.id));
    const left = await removeCgroupTree(s.cgroupParent);
    if (left.length > 0) throw new Error(`cgroups of sandbox ${s.id} still hold processes: ${left.join(', ')}`);
  }

  async prepareContainer(c: ContainerRecord, spec: OciSpec): Promise<void> {
    const bundle = join(containerProcessDir(c), 'bundle');
    await mkdir(bundle, { recursive: true });
    await writeFile(join(bundle, 'config.json'), JSON.stringify(spec));
  }

  async startContainer(c: ContainerRecord): Promise<Started> {
    const dir = containerProcessDir(c);
    return this.run(c.id, dir, join(dir, 'bundle'));
  }

  async signalContainer(c: ContainerRecord, sig: 'TERM' | 'KILL'): Promise<boolean> {
    return this.runc.kill(c.id, sig);
  }

  async afterExit(c: ContainerRecord): Promise<{ oomKilled: boolean }> {
    const oomKilled = (await oomKills(c.cgroupsPath)) > 0;
    await this.runc.delete(c.id);
    return { oomKilled };
  }

  exec(c: ContainerRecord, cmd: string[], timeoutMs: number): Promise<ExecResult> {
    const pidFile = join(containerProcessDir(c), `exec-${process.hrtime.bigint()}.pid`);
    return this.runc.exec({ id: c.id, cmd, timeoutMs, pidFile }).finally(() => void rm(pidFile, { force: true }));
  }

  usage(c: ContainerRecord): Promise<CgroupUsage> {
    return usage(c.cgroupsPath);
  }

  async cleanupContainer(c: ContainerRecord): Promise<void> {
    await this.runc.delete(c.id);
  }
}

/** runc ids: a sandbox's pause container is named after the sandbox id (containers have ids of their own). */
export function runcId(sandboxId: string): string {
  return sandboxId;
}

export function sandboxProcessDir(s: SandboxRecord): string {
  return join(s.dir, 'pause');
}

export function containerProcessDir(c: ContainerRecord): string {
  return c.dir;
}

/** Waits until the started process wrote its PID, or fails when the supervisor ended first. */
export async function waitForPid(l: Launched, pidFile: string, why: (code: number | undefined) => Promise<string>): Promise<number> {
  let ended: { code: number | undefined } | undefined;
  void l.exited.then((e) => (ended = e));
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    const pid = await readPidFile(pidFile);
    if (pid > 0) return pid;
    if (ended !== undefined) throw new StartError(await why(ended.code), ended.code ?? 128);
    if (Date.now() > deadline) throw new StartError(`the process did not start within ${START_TIMEOUT_MS} ms`, 128);
    await sleep(START_POLL_MS);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
