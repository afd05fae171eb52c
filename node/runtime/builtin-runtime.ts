/**
 * Strake's built-in CRI runtime: CRI's RuntimeService over runc (or plain
 * processes when there is no root or no runc) and CRI's ImageService over the
 * node's ImageStore.
 *
 *   const runtime = await BuiltinRuntime.open({ rootDir, images });
 *   const server = await serveCri(runtime, { endpoint: 'unix:///run/strake/runtime.sock' });
 *
 * State lives under rootDir (records, runc state, container dirs), so a new
 * BuiltinRuntime over the same rootDir lists, stops and removes what an earlier
 * process created; containers keep running across that restart (see README.md).
 */
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type * as cri from '../../proto/cri/types.js';
import { CriError, CriErrorCode } from '../cri/errors.js';
import { CRI_API_VERSION, type CriRuntime } from '../cri/runtime.js';
import { swapAccounting } from './cgroups.js';
import { adoptContainer, containerStats, createContainer, execSync, mustContainer, removeContainer, startContainer, stopContainer } from './containers.js';
import { containerStatusView, containerView, idMatches, labelsMatch, sandboxStatusView, sandboxView } from './cri-views.js';
import { StoreImageService } from './image-service.js';
import { findBusybox } from './images/busybox-image.js';
import type { ImageStore } from './images/image-store.js';
import type { Isolator } from './isolation.js';
import { BridgeNetwork, LoopbackNetwork, type PodNetwork } from './pod-network.js';
import { ProcessIsolation } from './process-mode.js';
import { Runc } from './runc.js';
import { RuncIsolation } from './runc-isolation.js';
import { KeyedMutex, type LiveContainer, type RuntimeContext } from './runtime-context.js';
import { mustSandbox, podSandboxStatus, removePodSandbox, runPodSandbox, sandboxState, stopPodSandbox } from './sandboxes.js';
import { StateStore, type ContainerRecord, type Isolation, type SandboxRecord } from './state-store.js';
import { which } from './tools.js';

export const RUNTIME_NAME = 'strake';
export const RUNTIME_VERSION = '0.1.0';

export interface BuiltinRuntimeOptions {
  rootDir: string;
  images: ImageStore;
  /** Default: 'runc' when running as root with runc on PATH, else 'process'. */
  isolation?: Isolation;
  /** Pods get addresses of this IPv4 CIDR on a bridge inside the runtime's own network namespace; without it pods are loopback-only. */
  podCidr?: string;
  /** Names the bridge namespace `strake-<nodeName>` (bridge mode). Default: 'node'. */
  nodeName?: string;
  /** Top cgroup under which every pod's cgroups live (runc isolation). Default 'strake'. */
  cgroupRoot?: string;
  runcPath?: string;
  /** A static busybox for the pause process (runc isolation). Default: the first static busybox on PATH. */
  busyboxPath?: string;
  /** pids.max of every container (runc isolation); unset = no limit. */
  pidsMax?: number;
  log?: (line: string) => void;
}

export function defaultIsolation(): Isolation {
  return process.getuid?.() === 0 && which('runc') !== undefined ? 'runc' : 'process';
}

export class BuiltinRuntime extends StoreImageService implements CriRuntime {
  private closed = false;

  private constructor(
    private readonly ctx: RuntimeContext,
    readonly podNetwork: PodNetwork,
  ) {
    super(ctx.images);
  }

  static async open(o: BuiltinRuntimeOptions): Promise<BuiltinRuntime> {
    const rootDir = resolve(o.rootDir);
    await mkdir(rootDir, { recursive: true });
    const isolation = o.isolation ?? defaultIsolation();
    const isolator = await makeIsolator(isolation, rootDir, o);
    const network: PodNetwork = o.podCidr !== undefined && isolation === 'runc' ? new BridgeNetwork(o.podCidr, `strake-${o.nodeName ?? 'node'}`) : new LoopbackNetwork();
    const store = new StateStore(rootDir);
    const ctx: RuntimeContext = {
      store,
      images: o.images,
      isolator,
      network,
      sandboxes: new Map<string, SandboxRecord>(),
      containers: new Map<string, ContainerRecord>(),
      live: new Map<string, LiveContainer>(),
      rootfsCleanups: new Map(),
      cgroupRoot: (o.cgroupRoot ?? 'strake').replace(/^\/+|\/+$/g, ''),
      swapAccounting: isolation === 'runc' && swapAccounting(),
      pidsMax: o.pidsMax,
      mutex: new KeyedMutex(),
      sandboxSources: new Set(),
      lifecycle: { closed: false },
      log: o.log ?? (() => undefined),
    };
    const rt = new BuiltinRuntime(ctx, network);
    await rt.recover();
    // A failure here shows again, with its reason, on the first pod that needs the network.
    await network.prepare().catch((err: unknown) => ctx.log(`setting up the pod network: ${(err as Error).message}`));
    return rt;
  }

  get isolation(): Isolation {
    return this.ctx.isolator.kind;
  }

  get rootDir(): string {
    return this.ctx.store.rootDir;
  }

  /** Loads the records an earlier runtime process left and takes its running containers back. */
  private async recover(): Promise<void> {
    const ctx = this.ctx;
    for (const s of await ctx.store.loadSandboxes()) ctx.sandboxes.set(s.id, s);
    ctx.network.reserve([...ctx.sandboxes.values()].filter((s) => s.network.mode === 'bridge').map((s) => s.network.ip));
    const containers = await ctx.store.loadContainers();
    for (const c of containers) ctx.containers.set(c.id, c);
    for (const c of containers) {
      await adoptContainer(ctx, c).catch((err: unknown) => ctx.log(`container ${c.id}: adopting it failed: ${(err as Error).message}`));
    }
  }

  /**
   * Stops watching containers (they keep running; a new runtime over the same
   * rootDir takes them back). With no pod sandbox left, the pod network's node
   * side (the bridge namespace) is removed too.
   */
  async close(): Promise<void> {
    this.closed = true;
    this.ctx.lifecycle.closed = true;
    for (const live of this.ctx.live.values()) {
      live.stopPolling?.();
      for (const s of live.sources) s.destroy();
    }
    for (const s of this.ctx.sandboxSources) s.destroy();
    if (this.ctx.sandboxes.size === 0) {
      await this.ctx.network.destroy().catch((err: unknown) => this.ctx.log(`removing the pod network: ${(err as Error).message}`));
    }
  }

  private guard(): void {
    if (this.closed) throw new CriError(CriErrorCode.Unavailable, 'the runtime is closed');
  }

  async version(): Promise<cri.VersionResponse> {
    return { version: '0.1.0', runtime_name: RUNTIME_NAME, runtime_version: RUNTIME_VERSION, runtime_api_version: CRI_API_VERSION };
  }

  async status(r: cri.StatusRequest): Promise<cri.StatusResponse> {
    const missing = this.ctx.isolator.missing;
    const conditions: cri.RuntimeCondition[] = [
      { type: 'RuntimeReady', status: true, reason: '', message: missing === '' ? `isolation: runc` : missing },
      { type: 'NetworkReady', status: true, reason: '', message: this.ctx.isolator.kind === 'process' ? 'process isolation: pods use the host network' : this.podNetwork.describe() },
    ];
    const info: cri.StringMap = r.verbose ? { config: JSON.stringify({ rootDir: this.rootDir, isolation: this.isolation, cgroupRoot: this.ctx.cgroupRoot }) } : {};
    return { status: { conditions }, info };
  }

  async runPodSandbox(r: cri.RunPodSandboxRequest): Promise<cri.RunPodSandboxResponse> {
    this.guard();
    return { pod_sandbox_id: await runPodSandbox(this.ctx, r) };
  }

  async stopPodSandbox(r: cri.StopPodSandboxRequest): Promise<cri.StopPodSandboxResponse> {
    this.guard();
    const s = this.ctx.sandboxes.get(r.pod_sandbox_id);
    if (s !== undefined) await this.ctx.mutex.run(s.id, () => stopPodSandbox(this.ctx, s));
    return {};
  }

  async removePodSandbox(r: cri.RemovePodSandboxRequest): Promise<cri.RemovePodSandboxResponse> {
    this.guard();
    const s = this.ctx.sandboxes.get(r.pod_sandbox_id);
    if (s !== undefined) await this.ctx.mutex.run(s.id, () => removePodSandbox(this.ctx, s));
    return {};
  }

  async podSandboxStatus(r: cri.PodSandboxStatusRequest): Promise<cri.PodSandboxStatusResponse> {
    const s = mustSandbox(this.ctx, r.pod_sandbox_id);
    return { status: sandboxStatusView(s, sandboxState(s)), info: podSandboxStatus(s, r.verbose) };
  }

  async listPodSandbox(r: cri.ListPodSandboxRequest): Promise<cri.ListPodSandboxResponse> {
    const f = r.filter;
    const items = [...this.ctx.sandboxes.values()]
      .map((s) => sandboxView(s, sandboxState(s)))
      .filter((s) => idMatches(s.id, f?.id) && (f?.state == null || f.state.state === s.state) && labelsMatch(s.labels, f?.label_selector));
    return { items };
  }

  async createContainer(r: cri.CreateContainerRequest): Promise<cri.CreateContainerResponse> {
    this.guard();
    return { container_id: await this.ctx.mutex.run(r.pod_sandbox_id, () => createContainer(this.ctx, r)) };
  }

  async startContainer(r: cri.StartContainerRequest): Promise<cri.StartContainerResponse> {
    this.guard();
    const c = mustContainer(this.ctx, r.container_id);
    await this.ctx.mutex.run(c.id, () => startContainer(this.ctx, c.id));
    return {};
  }

  async stopContainer(r: cri.StopContainerRequest): Promise<cri.StopContainerResponse> {
    this.guard();
    const c = this.ctx.containers.get(r.container_id);
    if (c !== undefined) await this.ctx.mutex.run(c.id, () => stopContainer(this.ctx, c, r.timeout));
    return {};
  }

  async removeContainer(r: cri.RemoveContainerRequest): Promise<cri.RemoveContainerResponse> {
    this.guard();
    const c = this.ctx.containers.get(r.container_id);
    if (c !== undefined) await this.ctx.mutex.run(c.id, () => removeContainer(this.ctx, c));
    return {};
  }

  async listContainers(r: cri.ListContainersRequest): Promise<cri.ListContainersResponse> {
    const f = r.filter;
    const containers = [...this.ctx.containers.values()]
      .filter((c) => idMatches(c.id, f?.id) && idMatches(c.sandboxId, f?.pod_sandbox_id) && (f?.state == null || f.state.state === c.state) && labelsMatch(c.config.labels, f?.label_selector))
      .map(containerView);
    return { containers };
  }

  async containerStatus(r: cri.ContainerStatusRequest): Promise<cri.ContainerStatusResponse> {
    const c = mustContainer(this.ctx, r.container_id);
    const info: cri.StringMap = r.verbose ? { info: JSON.stringify({ pid: c.process?.pid ?? 0, sandboxID: c.sandboxId, cgroupsPath: c.cgroupsPath, rootfs: c.rootfs }) } : {};
    return { status: containerStatusView(c), info };
  }

  async execSync(r: cri.ExecSyncRequest): Promise<cri.ExecSyncResponse> {
    this.guard();
    return execSync(this.ctx, r);
  }

  async containerStats(r: cri.ContainerStatsRequest): Promise<cri.ContainerStatsResponse> {
    return { stats: await containerStats(this.ctx, mustContainer(this.ctx, r.container_id)) };
  }

  async listContainerStats(r: cri.ListContainerStatsRequest): Promise<cri.ListContainerStatsResponse> {
    const f = r.filter;
    const chosen = [...this.ctx.containers.values()].filter(
      (c) => c.state === 'CONTAINER_RUNNING' && idMatches(c.id, f?.id) && idMatches(c.sandboxId, f?.pod_sandbox_id) && labelsMatch(c.config.labels, f?.label_selector),
    );
    return { stats: await Promise.all(chosen.map((c) => containerStats(this.ctx, c))) };
  }
}

async function makeIsolator(isolation: Isolation, rootDir: string, o: BuiltinRuntimeOptions): Promise<Isolator> {
  if (isolation === 'process') return new ProcessIsolation();
  if (process.getuid?.() !== 0) throw new CriError(CriErrorCode.FailedPrecondition, 'runc isolation needs root; use isolation "process"');
  const runcPath = o.runcPath ?? which('runc');
  if (runcPath === undefined) throw new CriError(CriErrorCode.FailedPrecondition, 'runc isolation needs runc on PATH; use isolation "process"');
  const busybox = o.busyboxPath ?? findBusybox();
  if (busybox === undefined) throw new CriError(CriErrorCode.FailedPrecondition, 'runc isolation needs a static busybox on PATH for the pause process');
  const pauseRootfs = join(rootDir, 'pause-rootfs');
  await RuncIsolation.preparePauseRootfs(pauseRootfs, busybox);
  return new RuncIsolation(new Runc(runcPath, join(rootDir, 'runc')), pauseRootfs);
}
