/**
 * The container half of the built-in runtime: CRI's container state machine
 * (CREATED -> RUNNING -> EXITED, removed at any point after a forced stop) over
 * an Isolator, with the exit handling that turns a supervisor's status into
 * exit_code / reason / finished_at.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type * as cri from '../../proto/cri/types.js';
import { CriError, CriErrorCode } from '../cri/errors.js';
import { CriLogWriter } from './cri-log-writer.js';
import { openFifoReader, readExit, STDERR_FIFO, STDOUT_FIFO, supervisorAlive, type Launched } from './container-process.js';
import { ExitReason, UNKNOWN_EXIT_CODE, exitReason } from './cri-views.js';
import { criErrorOfImageError } from './image-service.js';
import { StartError } from './isolation.js';
import { containerSpec, type OciMount } from './oci-spec.js';
import { sleep } from './runc-isolation.js';
import type { RuntimeContext } from './runtime-context.js';
import type { ContainerRecord, SandboxRecord } from './state-store.js';

/** After the supervisor ended, the log pipes drain within milliseconds; a grandchild holding them must not stall exit handling. */
const LOG_DRAIN_TIMEOUT_MS = 2_000;
/** A restarted runtime checks adopted containers' supervisors this often. */
const ADOPT_POLL_MS = 250;
/** After SIGKILL a container is gone within milliseconds; a stuck one (D state, runc hang) is reported after this. */
const KILL_WAIT_MS = 30_000;

export function nowNs(): number {
  return Date.now() * 1_000_000;
}

export function mustContainer(ctx: RuntimeContext, id: string): ContainerRecord {
  const c = ctx.containers.get(id) ?? [...ctx.containers.values()].find((x) => id.length >= 6 && x.id.startsWith(id));
  if (c === undefined) throw new CriError(CriErrorCode.NotFound, `container "${id}" not found`);
  return c;
}

export async function createContainer(ctx: RuntimeContext, r: cri.CreateContainerRequest): Promise<string> {
  const sandbox = ctx.sandboxes.get(r.pod_sandbox_id);
  if (sandbox === undefined) throw new CriError(CriErrorCode.NotFound, `sandbox "${r.pod_sandbox_id}" not found`);
  if (sandbox.state !== 'SANDBOX_READY' || sandbox.process === undefined || !supervisorAlive(sandbox.process)) {
    throw new CriError(CriErrorCode.FailedPrecondition, `sandbox ${sandbox.id} is not ready (its pause process is not running)`);
  }
  const meta = r.config.metadata;
  if (meta.name === '') throw new CriError(CriErrorCode.InvalidArgument, 'container metadata.name is empty');
  for (const other of ctx.containers.values()) {
    if (other.sandboxId === sandbox.id && other.config.metadata.name === meta.name && other.config.metadata.attempt === meta.attempt) {
      throw new CriError(CriErrorCode.AlreadyExists, `container "${meta.name}" attempt ${meta.attempt} exists in sandbox ${sandbox.id} as ${other.id}`);
    }
  }
  const info = await ctx.images.status(r.config.image.image).catch((e: unknown) => Promise.reject(criErrorOfImageError(e)));
  if (info === undefined) throw new CriError(CriErrorCode.NotFound, `image "${r.config.image.image}" not found`);
  const imageConfig = await ctx.images.config(info.id);
  const id = randomBytes(32).toString('hex');
  const dir = ctx.store.containerDir(id);
  await mkdir(dir, { recursive: true });
  try {
    const prepared = await ctx.images.prepareRootfs(info.id, dir).catch((e: unknown) => Promise.reject(criErrorOfImageError(e)));
    ctx.rootfsCleanups.set(id, () => prepared.cleanup());
    const rec: ContainerRecord = {
      id,
      dir,
      sandboxId: sandbox.id,
      config: r.config,
      imageId: info.id,
      createdAtNs: nowNs(),
      startedAtNs: 0,
      finishedAtNs: 0,
      state: 'CONTAINER_CREATED',
      exitCode: 0,
      reason: '',
      message: '',
      logFile: sandbox.config.log_directory !== '' && r.config.log_path !== '' ? join(sandbox.config.log_directory, r.config.log_path) : '',
      cgroupsPath: `${sandbox.cgroupParent}/${id}`,
      process: undefined,
      rootfs: { path: prepared.rootfs, mode: prepared.mode },
    };
    const spec = containerSpec({
      config: r.config,
      image: imageConfig,
      rootfs: prepared.rootfs,
      cgroupsPath: rec.cgroupsPath,
      sandboxNamespaces: sandboxNamespaces(sandbox),
      extraMounts: sandboxFileMounts(sandbox),
      swapAccounting: ctx.swapAccounting,
      pidsMax: ctx.pidsMax,
      lookupUser: (name) => lookupPasswd(prepared.rootfs, name),
    });
    await ctx.isolator.prepareContainer(rec, spec);
    await ctx.store.saveContainer(rec);
    ctx.containers.set(id, rec);
    return id;
  } catch (err) {
    await ctx.rootfsCleanups.get(id)?.().catch(() => undefined);
    ctx.rootfsCleanups.delete(id);
    await rm(dir, { recursive: true, force: true });
    throw err instanceof CriError ? err : new CriError(CriErrorCode.Internal, `create container "${meta.name}" in sandbox ${sandbox.id}: ${(err as Error).message}`);
  }
}

function sandboxNamespaces(s: SandboxRecord): { network?: string; ipc?: string; uts?: string } {
  const pid = s.process?.pid ?? 0;
  const ns = s.config.linux?.security_context?.namespace_options;
  const hostNet = ns?.network === 'NODE';
  return {
    ...(hostNet ? {} : { network: `/proc/${pid}/ns/net`, uts: `/proc/${pid}/ns/uts` }),
    ...(ns?.ipc === 'NODE' ? {} : { ipc: `/proc/${pid}/ns/ipc` }),
  };
}

/** /etc/hostname and /etc/resolv.conf of the pod, written by the sandbox half. */
function sandboxFileMounts(s: SandboxRecord): OciMount[] {
  const out: OciMount[] = [];
  for (const [file, dest] of [['hostname', '/etc/hostname'], ['resolv.conf', '/etc/resolv.conf']] as const) {
    const src = join(s.dir, file);
    if (existsSync(src)) out.push({ destination: dest, type: 'bind', source: src, options: ['rbind', 'rprivate', 'ro'] });
  }
  return out;
}

function lookupPasswd(rootfs: string, name: string): { uid: number; gid: number } | undefined {
  try {
    for (const line of readFileSync(join(rootfs, 'etc', 'passwd'), 'utf8').split('\n')) {
      const f = line.split(':');
      if (f[0] === name && f[2] !== undefined && f[3] !== undefined) return { uid: Number(f[2]), gid: Number(f[3]) };
    }
  } catch {
    // no passwd file: unknown user
  }
  return undefined;
}

export async function startContainer(ctx: RuntimeContext, id: string): Promise<void> {
  const c = mustContainer(ctx, id);
  if (c.state !== 'CONTAINER_CREATED') throw new CriError(CriErrorCode.FailedPrecondition, `container ${c.id} is ${c.state}, not CONTAINER_CREATED`);
  const sandbox = ctx.sandboxes.get(c.sandboxId);
  if (sandbox === undefined || sandbox.state !== 'SANDBOX_READY') throw new CriError(CriErrorCode.FailedPrecondition, `sandbox ${c.sandboxId} of container ${c.id} is not ready`);
  let launched: Launched;
  try {
    launched = (await ctx.isolator.startContainer(c, sandbox)).launched;
  } catch (err) {
    // Whatever got as far as runc (or a process group) goes: a failed start leaves nothing running.
    await ctx.isolator.cleanupContainer(c).catch(() => undefined);
    c.state = 'CONTAINER_EXITED';
    c.exitCode = err instanceof StartError ? err.exitCode : 128;
    c.reason = ExitReason.StartError;
    c.message = (err as Error).message;
    c.finishedAtNs = nowNs();
    await ctx.store.saveContainer(c);
    throw new CriError(CriErrorCode.Internal, `start container ${c.id}: ${c.message}`);
  }
  c.process = launched.handle;
  c.state = 'CONTAINER_RUNNING';
  c.startedAtNs = nowNs();
  await ctx.store.saveContainer(c);
  const log = c.logFile === '' ? undefined : new CriLogWriter(c.logFile);
  if (log === undefined) {
    launched.stdout.resume();
    launched.stderr.resume();
  } else {
    log.attach('stdout', launched.stdout);
    log.attach('stderr', launched.stderr);
  }
  const finalized = launched.exited.then((e) => finalize(ctx, c, e.code));
  ctx.live.set(c.id, { log, finalized, sources: [launched.stdout, launched.stderr] });
}

/** Records the exit: reads the OOM counter before the cgroup goes, then frees the runc state. Runs once per container. */
async function finalize(ctx: RuntimeContext, c: ContainerRecord, code: number | undefined): Promise<void> {
  if (ctx.lifecycle.closed) return;
  const live = ctx.live.get(c.id);
  live?.stopPolling?.();
  if (live?.log !== undefined) await Promise.race([live.log.closed(), sleep(LOG_DRAIN_TIMEOUT_MS)]);
  let oomKilled = false;
  try {
    oomKilled = (await ctx.isolator.afterExit(c)).oomKilled;
  } catch (err) {
    ctx.log(`container ${c.id}: exit cleanup failed: ${(err as Error).message}`);
  }
  c.state = 'CONTAINER_EXITED';
  c.exitCode = code ?? UNKNOWN_EXIT_CODE;
  c.reason = exitReason({ code, oomKilled });
  c.message = code === undefined ? 'the exit status was not recorded (the container ended while its supervisor was gone)' : '';
  c.finishedAtNs = nowNs();
  if (ctx.containers.has(c.id)) await ctx.store.saveContainer(c);
}

/**
 * After a runtime restart: a RUNNING record whose supervisor still runs is
 * watched again (log pipes reopened, supervisor polled); one whose supervisor is
 * gone is finalized with the status it left (or 255 / Unknown), and anything of
 * it still running is killed so nothing leaks.
 */
export async function adoptContainer(ctx: RuntimeContext, c: ContainerRecord): Promise<void> {
  if (c.state !== 'CONTAINER_RUNNING' || c.process === undefined) return;
  const h = c.process;
  if (supervisorAlive(h)) {
    let log: CriLogWriter | undefined;
    const sources = [openFifoReader(join(h.dir, STDOUT_FIFO)), openFifoReader(join(h.dir, STDERR_FIFO))];
    if (c.logFile !== '') {
      log = new CriLogWriter(c.logFile);
      log.attach('stdout', sources[0]!);
      log.attach('stderr', sources[1]!);
    } else for (const x of sources) x.resume();
    let timer: NodeJS.Timeout | undefined;
    const finalized = new Promise<void>((resolve) => {
      timer = setInterval(() => {
        if (supervisorAlive(h)) return;
        clearInterval(timer);
        void readExit(h.dir).then((e) => finalize(ctx, c, e.code)).then(resolve, resolve);
      }, ADOPT_POLL_MS);
    });
    ctx.live.set(c.id, { log, finalized, sources, stopPolling: () => clearInterval(timer) });
    return;
  }
  const exit = await readExit(h.dir);
  if (exit.code === undefined) await ctx.isolator.signalContainer(c, 'KILL').catch(() => false);
  const finalized = finalize(ctx, c, exit.code);
  ctx.live.set(c.id, { log: undefined, finalized, sources: [] });
  await finalized;
}

/** SIGTERM, then SIGKILL after `timeoutSec` (0: SIGKILL at once); resolves when the exit is recorded. */
export async function stopContainer(ctx: RuntimeContext, c: ContainerRecord, timeoutSec: number): Promise<void> {
  if (c.state !== 'CONTAINER_RUNNING') return;
  const live = ctx.live.get(c.id);
  const finalized = live?.finalized ?? Promise.resolve();
  let done = false;
  void finalized.then(() => (done = true));
  if (timeoutSec > 0) {
    await ctx.isolator.signalContainer(c, 'TERM');
    await Promise.race([finalized, sleep(timeoutSec * 1000)]);
  }
  if (!done) {
    await ctx.isolator.signalContainer(c, 'KILL');
    await Promise.race([finalized, sleep(KILL_WAIT_MS)]);
  }
  if (!done) throw new CriError(CriErrorCode.Internal, `container ${c.id} did not exit within ${KILL_WAIT_MS} ms of SIGKILL`);
}

/** Force-stops, then removes the container's runc state, rootfs and directory. A missing container is fine. */
export async function removeContainer(ctx: RuntimeContext, c: ContainerRecord): Promise<void> {
  await stopContainer(ctx, c, 0);
  await ctx.isolator.cleanupContainer(c);
  const cleanup = ctx.rootfsCleanups.get(c.id) ?? (() => ctx.images.releaseRootfs(c.imageId, c.dir));
  await cleanup();
  ctx.rootfsCleanups.delete(c.id);
  ctx.containers.delete(c.id);
  ctx.live.delete(c.id);
  await rm(c.dir, { recursive: true, force: true });
}

export async function execSync(ctx: RuntimeContext, r: cri.ExecSyncRequest): Promise<cri.ExecSyncResponse> {
  const c = mustContainer(ctx, r.container_id);
  if (c.state !== 'CONTAINER_RUNNING') throw new CriError(CriErrorCode.FailedPrecondition, `container ${c.id} is ${c.state}, not running`);
  if (r.cmd.length === 0) throw new CriError(CriErrorCode.InvalidArgument, 'exec command is empty');
  const res = await ctx.isolator.exec(c, r.cmd, r.timeout * 1000);
  if (res.timedOut) throw new CriError(CriErrorCode.DeadlineExceeded, `command ${JSON.stringify(r.cmd)} in container ${c.id} timed out after ${r.timeout}s`);
  return { stdout: res.stdout, stderr: res.stderr, exit_code: res.exitCode };
}

export async function containerStats(ctx: RuntimeContext, c: ContainerRecord): Promise<cri.ContainerStats> {
  const timestamp = nowNs();
  const u = c.state === 'CONTAINER_RUNNING' ? await ctx.isolator.usage(c) : undefined;
  const v = (n: number | undefined): cri.UInt64Value | null => (n === undefined ? null : { value: n });
  return {
    attributes: { id: c.id, metadata: c.config.metadata, labels: c.config.labels, annotations: c.config.annotations },
    cpu: { timestamp, usage_core_nano_seconds: v(u?.cpuNs) },
    memory: { timestamp, working_set_bytes: v(u?.workingSetBytes), usage_bytes: v(u?.usageBytes), rss_bytes: v(u?.rssBytes) },
    writable_layer: null,
  };
}

/** Sandbox files containers bind (hostname, resolv.conf). */
export async function writeSandboxFiles(s: SandboxRecord): Promise<void> {
  await mkdir(s.dir, { recursive: true });
  if (s.config.hostname !== '') await writeFile(join(s.dir, 'hostname'), `${s.config.hostname}\n`);
  const dns = s.config.dns_config;
  if (dns && dns.servers.length > 0) {
    const lines = [...dns.servers.map((x) => `nameserver ${x}`), ...(dns.searches.length > 0 ? [`search ${dns.searches.join(' ')}`] : []), ...(dns.options.length > 0 ? [`options ${dns.options.join(' ')}`] : [])];
    await writeFile(join(s.dir, 'resolv.conf'), `${lines.join('\n')}\n`);
  }
}
