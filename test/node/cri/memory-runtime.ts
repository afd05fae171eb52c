/**
 * A small in-memory CriRuntime for the gRPC edge tests: it keeps sandboxes,
 * containers and images in maps, records every request it sees, and can be told to
 * fail, delay, or answer with a planted response once.
 */
import { CriError, CriErrorCode } from '../../../node/cri/errors.js';
import type { CriRuntime } from '../../../node/cri/runtime.js';
import type * as cri from '../../../proto/cri/types.js';

export const POD_CONFIG: cri.PodSandboxConfig = {
  metadata: { name: 'web-0', uid: 'uid-1', namespace: 'default', attempt: 0 },
  hostname: 'web-0',
  log_directory: '/var/log/pods/default_web-0_uid-1',
  dns_config: { servers: ['127.0.0.1'], searches: ['svc.local'], options: ['ndots:5'] },
  port_mappings: [{ protocol: 'UDP', container_port: 53, host_port: 29053, host_ip: '127.0.0.1' }],
  labels: { app: 'web' },
  annotations: { note: 'x' },
  linux: {
    cgroup_parent: '/strake/pod-uid-1',
    sysctls: { 'net.ipv4.ip_forward': '0' },
    security_context: {
      namespace_options: { network: 'NODE', pid: 'CONTAINER', ipc: 'POD', target_id: '' },
      run_as_user: { value: 1000 },
      readonly_rootfs: false,
      supplemental_groups: [],
      privileged: false,
    },
  },
};

export function containerConfig(name: string): cri.ContainerConfig {
  return {
    metadata: { name, attempt: 0 },
    image: { image: 'docker.io/library/busybox:latest', annotations: {} },
    command: ['sleep'],
    args: ['3600'],
    working_dir: '/',
    envs: [{ key: 'GREETING', value: 'hello wörld' }],
    mounts: [{ container_path: '/data', host_path: '/srv/data', readonly: true, selinux_relabel: false, propagation: 'PROPAGATION_HOST_TO_CONTAINER' }],
    devices: [],
    labels: { container: name },
    annotations: {},
    log_path: `${name}/0.log`,
    stdin: false,
    stdin_once: false,
    tty: false,
    linux: {
      resources: {
        cpu_period: 100_000, cpu_quota: 20_000, cpu_shares: 204, memory_limit_in_bytes: 32 * 1024 * 1024,
        oom_score_adj: 0, cpuset_cpus: '', cpuset_mems: '', unified: {}, memory_swap_limit_in_bytes: 0,
      },
      security_context: {
        privileged: false, run_as_username: '', readonly_rootfs: false, supplemental_groups: [], no_new_privs: true,
      },
    },
  };
}

const CREATED_AT_NS = 1_700_000_000_123_456_000;
const IMAGE_ID = 'sha256:' + 'b'.repeat(64);

export class MemoryRuntime implements CriRuntime {
  readonly requests: { method: string; request: unknown }[] = [];
  failNext: Error | undefined;
  delayNextMs = 0;
  answerNext: unknown;
  private readonly sandboxes = new Map<string, cri.PodSandboxStatus>();
  private readonly containers = new Map<string, cri.ContainerStatus & { pod_sandbox_id: string }>();
  private readonly images = new Map<string, cri.Image>();
  private nextId = 1;

  lastRequest(method: string): unknown {
    return this.requests.filter((r) => r.method === method).at(-1)?.request;
  }

  /** Records the request, then applies a planted failure, delay or answer, else runs `fn`. */
  private async handle<T>(method: string, request: unknown, fn: () => T): Promise<T> {
    this.requests.push({ method, request });
    const delayMs = this.delayNextMs;
    this.delayNextMs = 0;
    if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
    const fail = this.failNext;
    this.failNext = undefined;
    if (fail !== undefined) throw fail;
    if (this.answerNext !== undefined) {
      const answer = this.answerNext as T;
      this.answerNext = undefined;
      return answer;
    }
    return fn();
  }

  version(r: cri.VersionRequest) {
    return this.handle('version', r, () => ({ version: '0.1.0', runtime_name: 'memory', runtime_version: '1.0', runtime_api_version: 'v1' }));
  }

  status(r: cri.StatusRequest) {
    return this.handle('status', r, () => ({
      status: {
        conditions: [
          { type: 'RuntimeReady', status: true, reason: '', message: '' },
          { type: 'NetworkReady', status: false, reason: 'NoCni', message: 'no pod network' },
        ],
      },
      info: (r.verbose ? { config: '{}' } : {}) as cri.StringMap,
    }));
  }

  runPodSandbox(r: cri.RunPodSandboxRequest) {
    return this.handle('runPodSandbox', r, () => {
      const id = `sb-${this.nextId++}`;
      this.sandboxes.set(id, {
        id,
        metadata: r.config.metadata,
        state: 'SANDBOX_READY',
        created_at: CREATED_AT_NS,
        network: { ip: '10.77.0.2', additional_ips: [{ ip: 'fd00::2' }] },
        linux: { namespaces: { options: r.config.linux?.security_context?.namespace_options ?? null } },
        labels: r.config.labels,
        annotations: r.config.annotations,
        runtime_handler: r.runtime_handler || 'runc',
      });
      return { pod_sandbox_id: id };
    });
  }

  stopPodSandbox(r: cri.StopPodSandboxRequest) {
    return this.handle('stopPodSandbox', r, () => {
      this.sandbox(r.pod_sandbox_id).state = 'SANDBOX_NOTREADY';
      return {};
    });
  }

  removePodSandbox(r: cri.RemovePodSandboxRequest) {
    return this.handle('removePodSandbox', r, () => {
      this.sandboxes.delete(r.pod_sandbox_id);
      for (const [id, c] of this.containers) if (c.pod_sandbox_id === r.pod_sandbox_id) this.containers.delete(id);
      return {};
    });
  }

  podSandboxStatus(r: cri.PodSandboxStatusRequest) {
    return this.handle('podSandboxStatus', r, () => ({
      status: this.sandbox(r.pod_sandbox_id),
      info: (r.verbose ? { info: JSON.stringify({ pid: 4242 }) } : {}) as cri.StringMap,
    }));
  }

  listPodSandbox(r: cri.ListPodSandboxRequest) {
    return this.handle('listPodSandbox', r, () => {
      const f = r.filter;
      const items = [...this.sandboxes.values()].filter(
        (s) => (!f?.id || s.id === f.id) && (!f?.state || s.state === f.state.state) && matches(s.labels, f?.label_selector),
      );
      return { items: items.map(({ network: _n, linux: _l, ...rest }) => rest) };
    });
  }

  createContainer(r: cri.CreateContainerRequest) {
    return this.handle('createContainer', r, () => {
      this.sandbox(r.pod_sandbox_id);
      const id = `c-${this.nextId++}`;
      this.containers.set(id, {
        id, pod_sandbox_id: r.pod_sandbox_id, metadata: r.config.metadata, state: 'CONTAINER_CREATED',
        created_at: CREATED_AT_NS, started_at: 0, finished_at: 0, exit_code: 0, image: r.config.image,
        image_ref: IMAGE_ID, reason: '', message: '', labels: r.config.labels, annotations: r.config.annotations,
        mounts: r.config.mounts, log_path: r.config.log_path,
      });
      return { container_id: id };
    });
  }

  startContainer(r: cri.StartContainerRequest) {
    return this.handle('startContainer', r, () => {
      const c = this.container(r.container_id);
      if (c.state !== 'CONTAINER_CREATED') throw new CriError(CriErrorCode.FailedPrecondition, `container "${c.id}" is ${c.state}`);
      Object.assign(c, { state: 'CONTAINER_RUNNING', started_at: CREATED_AT_NS + 1_000_000 });
      return {};
    });
  }

  stopContainer(r: cri.StopContainerRequest) {
    return this.handle('stopContainer', r, () => {
      Object.assign(this.container(r.container_id), {
        state: 'CONTAINER_EXITED', finished_at: CREATED_AT_NS + 2_000_000_000, exit_code: 137, reason: 'Error',
      });
      return {};
    });
  }

  removeContainer(r: cri.RemoveContainerRequest) {
    return this.handle('removeContainer', r, () => {
      this.containers.delete(r.container_id);
      return {};
    });
  }

  listContainers(r: cri.ListContainersRequest) {
    return this.handle('listContainers', r, () => {
      const f = r.filter;
      const containers = [...this.containers.values()]
        .filter((c) => (!f?.id || c.id === f.id) && (!f?.pod_sandbox_id || c.pod_sandbox_id === f.pod_sandbox_id))
        .filter((c) => (!f?.state || c.state === f.state.state) && matches(c.labels, f?.label_selector))
        .map((c) => ({
          id: c.id, pod_sandbox_id: c.pod_sandbox_id, metadata: c.metadata, image: c.image, image_ref: c.image_ref,
          state: c.state, created_at: c.created_at, labels: c.labels, annotations: c.annotations,
        }));
      return { containers };
    });
  }

  containerStatus(r: cri.ContainerStatusRequest) {
    return this.handle('containerStatus', r, () => {
      const { pod_sandbox_id: _p, ...status } = this.container(r.container_id);
      return { status, info: {} };
    });
  }

  execSync(r: cri.ExecSyncRequest) {
    return this.handle('execSync', r, () => {
      this.container(r.container_id);
      return { stdout: Buffer.from(r.cmd.slice(1).join(' ') + '\n'), stderr: Buffer.from([0, 255, 1]), exit_code: 3 };
    });
  }

  containerStats(r: cri.ContainerStatsRequest) {
    return this.handle('containerStats', r, () => ({ stats: this.stats(this.container(r.container_id)) }));
  }

  listContainerStats(r: cri.ListContainerStatsRequest) {
    return this.handle('listContainerStats', r, () => ({
      stats: [...this.containers.values()]
        .filter((c) => !r.filter?.pod_sandbox_id || c.pod_sandbox_id === r.filter.pod_sandbox_id)
        .map((c) => this.stats(c)),
    }));
  }

  listImages(r: cri.ListImagesRequest) {
    return this.handle('listImages', r, () => ({ images: [...this.images.values()] }));
  }

  imageStatus(r: cri.ImageStatusRequest) {
    return this.handle('imageStatus', r, () => ({ image: this.images.get(normalize(r.image.image)) ?? null, info: {} }));
  }

  pullImage(r: cri.PullImageRequest) {
    return this.handle('pullImage', r, () => {
      const ref = normalize(r.image.image);
      this.images.set(ref, { id: IMAGE_ID, repo_tags: [ref], repo_digests: [], size: 1_234_567, uid: { value: 0 }, username: '', pinned: false });
      return { image_ref: IMAGE_ID };
    });
  }

  removeImage(r: cri.RemoveImageRequest) {
    return this.handle('removeImage', r, () => {
      this.images.delete(normalize(r.image.image));
      return {};
    });
  }

  imageFsInfo(r: cri.ImageFsInfoRequest) {
    return this.handle('imageFsInfo', r, () => ({
      image_filesystems: [{ timestamp: CREATED_AT_NS, fs_id: { mountpoint: '/var/lib/strake/images' }, used_bytes: { value: 4096 }, inodes_used: { value: 12 } }],
      container_filesystems: [],
    }));
  }

  private stats(c: cri.ContainerStatus): cri.ContainerStats {
    return {
      attributes: { id: c.id, metadata: c.metadata, labels: c.labels, annotations: c.annotations },
      cpu: { timestamp: CREATED_AT_NS, usage_core_nano_seconds: { value: 123_456_789 } },
      // 2^40: beyond 32 bits, to prove uint64 survives as a number.
      memory: { timestamp: CREATED_AT_NS, working_set_bytes: { value: 2 ** 40 } },
      writable_layer: { timestamp: CREATED_AT_NS, fs_id: { mountpoint: '/var/lib/strake' }, used_bytes: { value: 8192 } },
    };
  }

  private sandbox(id: string): cri.PodSandboxStatus {
    const s = this.sandboxes.get(id);
    if (s === undefined) throw new CriError(CriErrorCode.NotFound, `pod sandbox "${id}" not found`);
    return s;
  }

  private container(id: string): cri.ContainerStatus & { pod_sandbox_id: string } {
    const c = this.containers.get(id);
    if (c === undefined) throw new CriError(CriErrorCode.NotFound, `container "${id}" not found`);
    return c;
  }
}

function matches(labels: cri.StringMap, selector: cri.StringMap | undefined): boolean {
  return Object.entries(selector ?? {}).every(([k, v]) => labels[k] === v);
}

function normalize(ref: string): string {
  return ref.includes('/') ? ref : `docker.io/library/${ref}:latest`;
}
