/**
 * An in-memory CRI runtime for the agent's tests: sandboxes and containers
 * with CRI's states and timestamps (from the test's clock), labels and
 * annotations kept as given, list filters, exits the test scripts (a
 * container's `behaviour` decides when it exits and with what code, or the
 * test calls `exit`), ExecSync answered by a handler, images present or
 * failing to pull. Every call is recorded in `calls`.
 */
import type { Clock } from '../../../control-plane/client/clock.js';
import type * as cri from '../../../proto/cri/types.js';
import { CriError } from '../../../node/cri/errors.js';
import type { CriRuntime } from '../../../node/cri/runtime.js';

const NS_PER_MS = 1_000_000;

export interface ContainerBehaviour {
  /** Exit on its own this long after starting (never when undefined). */
  readonly exitAfterMs?: number;
  readonly exitCode?: number;
}

interface FakeSandbox {
  readonly id: string;
  readonly config: cri.PodSandboxConfig;
  state: cri.PodSandboxState;
  readonly createdAtNs: number;
  readonly ip: string;
  readonly pid: number;
}

interface FakeContainer {
  readonly id: string;
  readonly sandboxId: string;
  readonly config: cri.ContainerConfig;
  state: cri.ContainerState;
  readonly createdAtNs: number;
  startedAtNs: number;
  finishedAtNs: number;
  exitCode: number;
  reason: string;
  cancelExit: (() => void) | undefined;
}

export class FakeRuntime implements CriRuntime {
  readonly calls: string[] = [];
  readonly sandboxes = new Map<string, FakeSandbox>();
  readonly containers = new Map<string, FakeContainer>();
  readonly images = new Set<string>(['busybox']);
  /** Images whose pull fails. */
  readonly unpullable = new Set<string>();
  behaviour: (config: cri.ContainerConfig) => ContainerBehaviour = () => ({});
  execHandler: (containerId: string, cmd: readonly string[]) => { exitCode: number; stdout?: string } = () => ({ exitCode: 0 });
  runtimeReady = true;
  networkReady = true;
  private seq = 0;
  /** Strictly increasing creation times, so "newest" is never a tie. */
  private lastNs = 0;

  constructor(private readonly clock: Clock) {}

  private nowNs(): number {
    this.lastNs = Math.max(this.lastNs + 1, this.clock.nowMs() * NS_PER_MS);
    return this.lastNs;
  }

  private rec(name: string): void {
    this.calls.push(name);
  }

  /** Containers (not removed) by their spec name. */
  containersNamed(name: string): FakeContainer[] {
    return [...this.containers.values()].filter((c) => c.config.metadata.name === name);
  }

  running(name: string): FakeContainer[] {
    return this.containersNamed(name).filter((c) => c.state === 'CONTAINER_RUNNING');
  }

  /** Makes a running container exit now. */
  exit(id: string, exitCode: number, reason = exitCode === 0 ? 'Completed' : 'Error'): void {
    const c = this.containers.get(id);
    if (c === undefined || c.state !== 'CONTAINER_RUNNING') return;
    c.cancelExit?.();
    c.state = 'CONTAINER_EXITED';
    c.exitCode = exitCode;
    c.reason = reason;
    c.finishedAtNs = this.nowNs();
  }

  private sandbox(id: string): FakeSandbox {
    const s = this.sandboxes.get(id);
    if (s === undefined) throw new CriError('NotFound', `sandbox ${id} not found`);
    return s;
  }

  private container(id: string): FakeContainer {
    const c = this.containers.get(id);
    if (c === undefined) throw new CriError('NotFound', `container ${id} not found`);
    return c;
  }

  async version(): Promise<cri.VersionResponse> {
    this.rec('version');
    return { version: '0.1.0', runtime_name: 'fake', runtime_version: '1.0', runtime_api_version: 'v1' };
  }

  async status(): Promise<cri.StatusResponse> {
    this.rec('status');
    return {
      status: {
        conditions: [
          { type: 'RuntimeReady', status: this.runtimeReady, reason: this.runtimeReady ? '' : 'RuntimeDown', message: this.runtimeReady ? '' : 'the fake runtime is down' },
          { type: 'NetworkReady', status: this.networkReady, reason: this.networkReady ? '' : 'NetworkPluginNotReady', message: this.networkReady ? '' : 'no network' },
        ],
      },
      info: {},
    };
  }

  async runPodSandbox(r: cri.RunPodSandboxRequest): Promise<cri.RunPodSandboxResponse> {
    this.rec('runPodSandbox');
    const id = `sb${++this.seq}`;
    const host = r.config.linux?.security_context?.namespace_options?.network === 'NODE';
    this.sandboxes.set(id, { id, config: r.config, state: 'SANDBOX_READY', createdAtNs: this.nowNs(), ip: host ? '' : `10.244.0.${this.seq % 250}`, pid: 1000 + this.seq });
    return { pod_sandbox_id: id };
  }

  async stopPodSandbox(r: cri.StopPodSandboxRequest): Promise<cri.StopPodSandboxResponse> {
    this.rec('stopPodSandbox');
    const s = this.sandbox(r.pod_sandbox_id);
    for (const c of this.containers.values()) if (c.sandboxId === s.id) this.exit(c.id, 137);
    s.state = 'SANDBOX_NOTREADY';
    return {};
  }

  async removePodSandbox(r: cri.RemovePodSandboxRequest): Promise<cri.RemovePodSandboxResponse> {
    this.rec('removePodSandbox');
    const s = this.sandbox(r.pod_sandbox_id);
    for (const c of [...this.containers.values()]) if (c.sandboxId === s.id) {
      c.cancelExit?.();
      this.containers.delete(c.id);
    }
    this.sandboxes.delete(s.id);
    return {};
  }

  async podSandboxStatus(r: cri.PodSandboxStatusRequest): Promise<cri.PodSandboxStatusResponse> {
    this.rec('podSandboxStatus');
    const s = this.sandbox(r.pod_sandbox_id);
    const status: cri.PodSandboxStatus = {
      id: s.id,
      metadata: s.config.metadata,
      state: s.state,
      created_at: s.createdAtNs,
      network: { ip: s.ip, additional_ips: [] },
      linux: { namespaces: { options: s.config.linux?.security_context?.namespace_options ?? null } },
      labels: s.config.labels,
      annotations: s.config.annotations,
      runtime_handler: '',
    };
    return { status, info: r.verbose ? { info: JSON.stringify({ pid: s.pid }) } : {} };
  }

  async listPodSandbox(r: cri.ListPodSandboxRequest): Promise<cri.ListPodSandboxResponse> {
    this.rec('listPodSandbox');
    const f = r.filter;
    const items = [...this.sandboxes.values()]
      .filter((s) => !f?.id || s.id === f.id)
      .filter((s) => !f?.state || s.state === f.state.state)
      .filter((s) => Object.entries(f?.label_selector ?? {}).every(([k, v]) => s.config.labels[k] === v))
      .map((s) => ({ id: s.id, metadata: s.config.metadata, state: s.state, created_at: s.createdAtNs, labels: s.config.labels, annotations: s.config.annotations, runtime_handler: '' }));
    return { items };
  }

  async createContainer(r: cri.CreateContainerRequest): Promise<cri.CreateContainerResponse> {
    this.rec('createContainer');
    const s = this.sandbox(r.pod_sandbox_id);
    if (s.state !== 'SANDBOX_READY') throw new CriError('FailedPrecondition', `sandbox ${s.id} is not ready`);
    if (!this.images.has(r.config.image.image)) throw new CriError('NotFound', `image ${r.config.image.image} not found`);
    const id = `c${++this.seq}`;
    this.containers.set(id, { id, sandboxId: s.id, config: r.config, state: 'CONTAINER_CREATED', createdAtNs: this.nowNs(), startedAtNs: 0, finishedAtNs: 0, exitCode: 0, reason: '', cancelExit: undefined });
    return { container_id: id };
  }

  async startContainer(r: cri.StartContainerRequest): Promise<cri.StartContainerResponse> {
    this.rec('startContainer');
    const c = this.container(r.container_id);
    if (c.state !== 'CONTAINER_CREATED') throw new CriError('FailedPrecondition', `container ${c.id} is ${c.state}`);
    c.state = 'CONTAINER_RUNNING';
    c.startedAtNs = this.nowNs();
    const b = this.behaviour(c.config);
    if (b.exitAfterMs !== undefined) c.cancelExit = this.clock.after(b.exitAfterMs, () => this.exit(c.id, b.exitCode ?? 0));
    return {};
  }

  async stopContainer(r: cri.StopContainerRequest): Promise<cri.StopContainerResponse> {
    this.rec('stopContainer');
    const c = this.container(r.container_id);
    if (c.state === 'CONTAINER_RUNNING') this.exit(c.id, 137);
    else if (c.state === 'CONTAINER_CREATED') {
      c.state = 'CONTAINER_EXITED';
      c.finishedAtNs = this.nowNs();
    }
    return {};
  }

  async removeContainer(r: cri.RemoveContainerRequest): Promise<cri.RemoveContainerResponse> {
    this.rec('removeContainer');
    const c = this.container(r.container_id);
    c.cancelExit?.();
    this.containers.delete(c.id);
    return {};
  }

  private listed(c: FakeContainer): cri.Container {
    return { id: c.id, pod_sandbox_id: c.sandboxId, metadata: c.config.metadata, image: c.config.image, image_ref: `sha256:${c.config.image.image}`, state: c.state, created_at: c.createdAtNs, labels: c.config.labels, annotations: c.config.annotations };
  }

  async listContainers(r: cri.ListContainersRequest): Promise<cri.ListContainersResponse> {
    this.rec('listContainers');
    const f = r.filter;
    const containers = [...this.containers.values()]
      .filter((c) => !f?.id || c.id === f.id)
      .filter((c) => !f?.pod_sandbox_id || c.sandboxId === f.pod_sandbox_id)
      .filter((c) => !f?.state || c.state === f.state.state)
      .filter((c) => Object.entries(f?.label_selector ?? {}).every(([k, v]) => c.config.labels[k] === v))
      .map((c) => this.listed(c));
    return { containers };
  }

  async containerStatus(r: cri.ContainerStatusRequest): Promise<cri.ContainerStatusResponse> {
    this.rec('containerStatus');
    const c = this.container(r.container_id);
    const s = this.sandboxes.get(c.sandboxId);
    return {
      status: {
        ...this.listed(c),
        started_at: c.startedAtNs,
        finished_at: c.finishedAtNs,
        exit_code: c.exitCode,
        reason: c.reason,
        message: '',
        mounts: c.config.mounts,
        log_path: `${s?.config.log_directory ?? ''}/${c.config.log_path}`,
      },
      info: {},
    };
  }

  async execSync(r: cri.ExecSyncRequest): Promise<cri.ExecSyncResponse> {
    this.rec('execSync');
    const c = this.container(r.container_id);
    if (c.state !== 'CONTAINER_RUNNING') throw new CriError('FailedPrecondition', `container ${c.id} is not running`);
    const res = this.execHandler(c.id, r.cmd);
    return { stdout: Buffer.from(res.stdout ?? ''), stderr: Buffer.alloc(0), exit_code: res.exitCode };
  }

  async containerStats(): Promise<cri.ContainerStatsResponse> {
    throw new CriError('Unimplemented', 'containerStats');
  }

  async listContainerStats(): Promise<cri.ListContainerStatsResponse> {
    return { stats: [] };
  }

  async listImages(): Promise<cri.ListImagesResponse> {
    return { images: [...this.images].map((id) => ({ id, repo_tags: [id], repo_digests: [], size: 1, username: '', pinned: false })) };
  }

  async imageStatus(r: cri.ImageStatusRequest): Promise<cri.ImageStatusResponse> {
    this.rec('imageStatus');
    const id = r.image.image;
    return { image: this.images.has(id) ? { id, repo_tags: [id], repo_digests: [], size: 1, username: '', pinned: false } : null, info: {} };
  }

  async pullImage(r: cri.PullImageRequest): Promise<cri.PullImageResponse> {
    this.rec('pullImage');
    const id = r.image.image;
    if (this.unpullable.has(id)) throw new CriError('Unavailable', `pulling ${id}: registry unreachable`);
    this.images.add(id);
    return { image_ref: `sha256:${id}` };
  }

  async removeImage(r: cri.RemoveImageRequest): Promise<cri.RemoveImageResponse> {
    this.images.delete(r.image.image);
    return {};
  }

  async imageFsInfo(): Promise<cri.ImageFsInfoResponse> {
    return { image_filesystems: [], container_filesystems: [] };
  }
}
