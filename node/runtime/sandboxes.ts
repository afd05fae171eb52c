/**
 * The sandbox half of the built-in runtime: a pause process holding the pod's
 * namespaces, its network attachment and its cgroup parent. A sandbox is READY
 * while its pause process runs; StopPodSandbox kills its containers and the pause
 * process and releases the network; RemovePodSandbox removes everything.
 */
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import type * as cri from '../../proto/cri/types.js';
import { CriError, CriErrorCode } from '../cri/errors.js';
import { supervisorAlive } from './container-process.js';
import { nowNs, removeContainer, stopContainer, writeSandboxFiles } from './containers.js';
import type { RuntimeContext } from './runtime-context.js';
import type { SandboxRecord } from './state-store.js';

export function mustSandbox(ctx: RuntimeContext, id: string): SandboxRecord {
  const s = ctx.sandboxes.get(id) ?? [...ctx.sandboxes.values()].find((x) => id.length >= 6 && x.id.startsWith(id));
  if (s === undefined) throw new CriError(CriErrorCode.NotFound, `sandbox "${id}" not found`);
  return s;
}

/** READY only while the pause process runs: a dead pause process makes the sandbox NOTREADY, as containerd reports it. */
export function sandboxState(s: SandboxRecord): cri.PodSandboxState {
  return s.state === 'SANDBOX_READY' && s.process !== undefined && supervisorAlive(s.process) ? 'SANDBOX_READY' : 'SANDBOX_NOTREADY';
}

export async function runPodSandbox(ctx: RuntimeContext, r: cri.RunPodSandboxRequest): Promise<string> {
  const m = r.config.metadata;
  if (m.name === '' || m.namespace === '' || m.uid === '') throw new CriError(CriErrorCode.InvalidArgument, 'sandbox metadata needs name, namespace and uid');
  for (const other of ctx.sandboxes.values()) {
    const o = other.config.metadata;
    if (o.name === m.name && o.namespace === m.namespace && o.uid === m.uid && o.attempt === m.attempt) {
      throw new CriError(CriErrorCode.AlreadyExists, `sandbox ${m.namespace}/${m.name} (uid ${m.uid}) attempt ${m.attempt} exists as ${other.id}`);
    }
  }
  const id = randomBytes(32).toString('hex');
  const hostNetwork = r.config.linux?.security_context?.namespace_options?.network === 'NODE';
  const s: SandboxRecord = {
    id,
    dir: ctx.store.sandboxDir(id),
    config: r.config,
    runtimeHandler: r.runtime_handler,
    createdAtNs: nowNs(),
    state: 'SANDBOX_NOTREADY',
    isolation: ctx.isolator.kind,
    process: undefined,
    network: { mode: 'host', ip: '' },
    cgroupParent: `/${ctx.cgroupRoot}/${id}`,
  };
  try {
    await writeSandboxFiles(s);
    ctx.sandboxes.set(id, s);
    await ctx.store.saveSandbox(s);
    const isolated = ctx.isolator.kind === 'runc' && !hostNetwork;
    const started = await ctx.isolator.startSandbox(s, { network: isolated ? 'new' : 'host' });
    s.process = started.launched.handle;
    // The pause process prints nothing; drain its pipes so nothing can block it.
    for (const x of [started.launched.stdout, started.launched.stderr]) {
      x.resume();
      ctx.sandboxSources.add(x);
      x.once('close', () => ctx.sandboxSources.delete(x));
    }
    await ctx.store.saveSandbox(s);
    s.network = isolated ? await ctx.network.attach(id, started.pid) : { mode: 'host', ip: ctx.isolator.kind === 'process' ? '127.0.0.1' : '' };
    s.state = 'SANDBOX_READY';
    await ctx.store.saveSandbox(s);
    return id;
  } catch (err) {
    await teardownSandbox(ctx, s).catch((e: unknown) => ctx.log(`sandbox ${id}: cleanup after a failed start: ${(e as Error).message}`));
    throw err instanceof CriError ? err : new CriError(CriErrorCode.Internal, `run sandbox ${m.namespace}/${m.name}: ${(err as Error).message}`);
  }
}

/** Kills the sandbox's containers (no grace, as containerd does) and its pause process, and releases its network. */
export async function stopPodSandbox(ctx: RuntimeContext, s: SandboxRecord): Promise<void> {
  const containers = [...ctx.containers.values()].filter((c) => c.sandboxId === s.id);
  await Promise.all(containers.map((c) => ctx.mutex.run(c.id, () => stopContainer(ctx, c, 0))));
  if (s.process !== undefined) await ctx.isolator.stopSandbox(s);
  await ctx.network.detach(s.network);
  s.state = 'SANDBOX_NOTREADY';
  await ctx.store.saveSandbox(s);
}

export async function removePodSandbox(ctx: RuntimeContext, s: SandboxRecord): Promise<void> {
  await stopPodSandbox(ctx, s);
  const containers = [...ctx.containers.values()].filter((c) => c.sandboxId === s.id);
  for (const c of containers) await ctx.mutex.run(c.id, () => removeContainer(ctx, c));
  await teardownSandbox(ctx, s);
}

async function teardownSandbox(ctx: RuntimeContext, s: SandboxRecord): Promise<void> {
  if (s.process !== undefined && supervisorAlive(s.process)) await ctx.isolator.stopSandbox(s);
  await ctx.network.detach(s.network);
  await ctx.isolator.cleanupSandbox(s);
  ctx.sandboxes.delete(s.id);
  await rm(s.dir, { recursive: true, force: true });
}

export function podSandboxStatus(s: SandboxRecord, verbose: boolean): cri.StringMap {
  if (!verbose) return {};
  const info = {
    pid: s.process?.pid ?? 0,
    processStatus: sandboxState(s) === 'SANDBOX_READY' ? 'running' : 'stopped',
    isolation: s.isolation,
    network: s.network,
    cgroupParent: s.cgroupParent,
    runtimeHandler: s.runtimeHandler,
  };
  return { info: JSON.stringify(info) };
}
