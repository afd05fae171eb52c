/**
 * CriClient against a real containerd 1.6 (bench/local-containerd.ts): the subset
 * of CRI v1 in proto/cri/api.proto is what containerd answers, and containerd's
 * behaviour is what Strake's own runtime copies — host-network pods, busybox
 * containers that run and exit with their code, ExecSync, a 32 MiB limit that ends
 * in OOMKilled, the sandbox PID in verbose status, and nothing left behind.
 * Needs root, containerd, ctr, runc and a static busybox; fails (never skips)
 * without them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { CriClient } from '../../../node/cri/client.js';
import { CriError, CriErrorCode } from '../../../node/cri/errors.js';
import type * as cri from '../../../proto/cri/types.js';
import { BUSYBOX_IMAGE_REF, type BuiltImage } from '../../../node/runtime/images/busybox-image.js';
import { shimSocketPath, startContainerd, type Containerd } from '../../../bench/local-containerd.js';

/** Bound on waiting for a container to reach a state (exit, OOM kill) on a loaded machine. */
const UNTIL_MS = 20_000;

let ctd: Containerd;
let client: CriClient;
let busybox: BuiltImage;
let logRoot: string;

beforeAll(async () => {
  ctd = await startContainerd();
  client = new CriClient({ endpoint: ctd.endpoint, timeoutMs: 30_000 });
  busybox = await ctd.importBusyboxImage(BUSYBOX_IMAGE_REF);
  logRoot = join(ctd.dir, 'pod-logs');
}, 120_000);

afterAll(async () => {
  client?.close();
  await ctd?.stop();
}, 120_000);

function podConfig(name: string): cri.PodSandboxConfig {
  const logDirectory = join(logRoot, name);
  mkdirSync(logDirectory, { recursive: true });
  return {
    metadata: { name, uid: `uid-${name}`, namespace: 'default', attempt: 0 },
    // runc refuses a hostname without a private UTS namespace, and a host-network pod shares the node's.
    hostname: '',
    log_directory: logDirectory,
    port_mappings: [],
    labels: { app: name },
    annotations: {},
    linux: {
      cgroup_parent: '',
      sysctls: {},
      security_context: {
        namespace_options: { network: 'NODE', pid: 'POD', ipc: 'POD', target_id: '' },
        readonly_rootfs: false,
        supplemental_groups: [],
        privileged: false,
      },
    },
  };
}

function containerConfig(name: string, script: string, memoryLimitBytes = 0): cri.ContainerConfig {
  return {
    metadata: { name, attempt: 0 },
    image: { image: BUSYBOX_IMAGE_REF, annotations: {} },
    command: ['sh', '-c'],
    args: [script],
    working_dir: '',
    envs: [{ key: 'GREETING', value: 'hello' }],
    mounts: [],
    devices: [],
    labels: { container: name },
    annotations: {},
    log_path: `${name}/0.log`,
    stdin: false,
    stdin_once: false,
    tty: false,
    linux: {
      resources: {
        cpu_period: 0, cpu_quota: 0, cpu_shares: 2, memory_limit_in_bytes: memoryLimitBytes, oom_score_adj: 0,
        cpuset_cpus: '', cpuset_mems: '', unified: {}, memory_swap_limit_in_bytes: memoryLimitBytes,
      },
      security_context: {
        privileged: false, run_as_username: '', readonly_rootfs: false, supplemental_groups: [], no_new_privs: false,
      },
    },
  };
}

async function runPod(name: string): Promise<{ id: string; config: cri.PodSandboxConfig }> {
  const config = podConfig(name);
  const { pod_sandbox_id: id } = await client.runPodSandbox({ config, runtime_handler: '' });
  return { id, config };
}

async function startContainer(pod: { id: string; config: cri.PodSandboxConfig }, config: cri.ContainerConfig): Promise<string> {
  const { container_id: id } = await client.createContainer({ pod_sandbox_id: pod.id, config, sandbox_config: pod.config });
  await client.startContainer({ container_id: id });
  return id;
}

async function untilExited(id: string): Promise<cri.ContainerStatus> {
  const deadline = Date.now() + UNTIL_MS;
  for (;;) {
    const { status } = await client.containerStatus({ container_id: id, verbose: false });
    if (status.state === 'CONTAINER_EXITED') return status;
    if (Date.now() > deadline) throw new Error(`container ${id} still ${status.state} after ${UNTIL_MS} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function removePod(id: string): Promise<void> {
  await client.stopPodSandbox({ pod_sandbox_id: id });
  await client.removePodSandbox({ pod_sandbox_id: id });
}

describe('containerd answers the CRI subset', () => {
  it('Version and Status', async () => {
    const v = await client.version({ version: 'v1' });
    expect(v.runtime_name).toBe('containerd');
    expect(v.runtime_api_version).toBe('v1');
    expect(v.runtime_version).toMatch(/^1\.6\./);
    const s = await client.status({ verbose: false });
    const ready = s.status?.conditions.find((c) => c.type === 'RuntimeReady');
    expect(ready?.status).toBe(true);
  });

  it('imported images are listed with their config digest as id; an absent image has status null', async () => {
    const { images } = await client.listImages({});
    const mine = images.find((i) => i.repo_tags.includes(BUSYBOX_IMAGE_REF));
    expect(mine?.id).toBe(busybox.configDigest);
    expect(mine?.size).toBeGreaterThan(500_000);
    const st = await client.imageStatus({ image: { image: 'busybox', annotations: {} }, verbose: false });
    expect(st.image?.id).toBe(busybox.configDigest);
    const absent = await client.imageStatus({ image: { image: 'localhost/strake-absent:1', annotations: {} }, verbose: false });
    expect(absent.image).toBeNull();
    const fs = await client.imageFsInfo({});
    // containerd samples usage in the background; the mountpoint is known at once.
    expect(fs.image_filesystems[0]?.fs_id?.mountpoint).toContain(ctd.dir);
  });

  it('a host-network sandbox runs, reports its pid in verbose status, stops and is removed', async () => {
    const pod = await runPod('web');
    const st = await client.podSandboxStatus({ pod_sandbox_id: pod.id, verbose: true });
    expect(st.status.state).toBe('SANDBOX_READY');
    expect(st.status.metadata).toEqual(pod.config.metadata);
    expect(st.status.linux?.namespaces?.options?.network).toBe('NODE');
    const pid = (JSON.parse(st.info['info'] ?? '{}') as { pid?: number }).pid;
    expect(pid).toBeGreaterThan(1);
    expect(readFileSync(`/proc/${pid}/cmdline`, 'utf8')).toContain('sleep');
    // Host network: the sandbox shares the node's network namespace.
    expect(readlinkNs(pid!, 'net')).toBe(readlinkNs(process.pid, 'net'));
    expect(readlinkNs(pid!, 'pid')).not.toBe(readlinkNs(process.pid, 'pid'));

    const listed = await client.listPodSandbox({ filter: { id: '', label_selector: { app: 'web' } } });
    expect(listed.items.map((p) => p.id)).toEqual([pod.id]);
    await client.stopPodSandbox({ pod_sandbox_id: pod.id });
    expect((await client.podSandboxStatus({ pod_sandbox_id: pod.id, verbose: false })).status.state).toBe('SANDBOX_NOTREADY');
    expect(existsSync(`/proc/${pid}`)).toBe(false);
    await client.removePodSandbox({ pod_sandbox_id: pod.id });
    const err = await client.podSandboxStatus({ pod_sandbox_id: pod.id, verbose: false }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CriError);
    expect((err as CriError).code).toBe(CriErrorCode.NotFound);
  });

  it('a busybox container runs, logs, answers ExecSync, and reports its exit code', async () => {
    const pod = await runPod('app');
    try {
      const id = await startContainer(pod, containerConfig('main', 'echo started $GREETING; sleep 3600'));
      const running = (await client.containerStatus({ container_id: id, verbose: false })).status;
      expect(running.state).toBe('CONTAINER_RUNNING');
      expect(running.started_at).toBeGreaterThan(running.created_at - 1);
      expect(running.image_ref).toContain('sha256:');

      const hi = await client.execSync({ container_id: id, cmd: ['sh', '-c', 'echo hi; echo oops >&2; exit 3'], timeout: 10 });
      expect([hi.stdout.toString(), hi.stderr.toString(), hi.exit_code]).toEqual(['hi\n', 'oops\n', 3]);
      const env = await client.execSync({ container_id: id, cmd: ['sh', '-c', 'echo $GREETING'], timeout: 10 });
      expect(env.stdout.toString()).toBe('hello\n');

      const stats = await client.containerStats({ container_id: id });
      expect(stats.stats?.attributes?.id).toBe(id);
      expect(stats.stats?.memory?.working_set_bytes?.value).toBeGreaterThan(0);
      const all = await client.listContainerStats({ filter: { id: '', pod_sandbox_id: pod.id, label_selector: {} } });
      expect(all.stats.map((s) => s.attributes?.id)).toContain(id);

      const log = readFileSync(join(pod.config.log_directory, 'main/0.log'), 'utf8');
      expect(log).toMatch(/^\S+ stdout F started hello$/m);

      const quick = await startContainer(pod, containerConfig('quick', 'exit 7'));
      const exited = await untilExited(quick);
      expect([exited.exit_code, exited.reason]).toEqual([7, 'Error']);
      // containerd stamps started_at after the start call returns, finished_at from the exit
      // event: a command that exits at once can finish "before" it started.
      expect(exited.finished_at).toBeGreaterThan(exited.created_at);
      const done = await untilExited(await startContainer(pod, containerConfig('done', 'true')));
      expect([done.exit_code, done.reason]).toEqual([0, 'Completed']);

      await client.stopContainer({ container_id: id, timeout: 1 });
      const stopped = (await client.containerStatus({ container_id: id, verbose: false })).status;
      expect(stopped.state).toBe('CONTAINER_EXITED');
      // The pod's pause process is PID 1 of the shared pid namespace, so `sleep` dies of SIGTERM.
      expect([stopped.exit_code, stopped.reason]).toEqual([143, 'Error']);
      const { containers } = await client.listContainers({ filter: { id: '', pod_sandbox_id: pod.id, label_selector: {} } });
      expect(containers.map((c) => c.metadata.name).sort()).toEqual(['done', 'main', 'quick']);
      await client.removeContainer({ container_id: quick });
      expect((await client.listContainers({ filter: { id: quick, pod_sandbox_id: '', label_selector: {} } })).containers).toEqual([]);
    } finally {
      await removePod(pod.id);
    }
  });

  it('a container over its 32 MiB memory limit is OOMKilled', async () => {
    const pod = await runPod('hog');
    try {
      const id = await startContainer(pod, containerConfig('hog', 'dd if=/dev/zero of=/dev/null bs=64M count=1', 32 * 1024 * 1024));
      const status = await untilExited(id);
      expect([status.reason, status.exit_code]).toEqual(['OOMKilled', 137]);
    } finally {
      await removePod(pod.id);
    }
  });

  it('unknown ids are NotFound', async () => {
    const err = await client.containerStatus({ container_id: 'no-such-container', verbose: false }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CriError);
    expect((err as CriError).code).toBe(CriErrorCode.NotFound);
  });
});

describe('the harness cleans up', () => {
  /** A pod with a running container on a fresh containerd; returns the host PIDs of both. */
  async function podOn(other: Containerd, c: CriClient): Promise<{ pod: string; sandboxPid: number; containerPid: number }> {
    await other.importBusyboxImage();
    const sandboxConfig = { ...podConfig('left'), log_directory: '' };
    const { pod_sandbox_id: pod } = await c.runPodSandbox({ config: sandboxConfig, runtime_handler: '' });
    const { container_id: id } = await c.createContainer({
      pod_sandbox_id: pod,
      config: { ...containerConfig('left', 'sleep 3600'), log_path: '' },
      sandbox_config: sandboxConfig,
    });
    await c.startContainer({ container_id: id });
    const st = await c.podSandboxStatus({ pod_sandbox_id: pod, verbose: true });
    const sandboxPid = (JSON.parse(st.info['info'] ?? '{}') as { pid: number }).pid;
    const ct = await c.containerStatus({ container_id: id, verbose: true });
    const containerPid = (JSON.parse(ct.info['info'] ?? '{}') as { pid: number }).pid;
    expect(sandboxPid).toBeGreaterThan(1);
    expect(containerPid).toBeGreaterThan(1);
    expect(mountsUnder(other.dir).length).toBeGreaterThan(0);
    expect(existsSync(shimSocketPath(other.socketPath, pod))).toBe(true);
    return { pod, sandboxPid, containerPid };
  }

  async function expectAllGone(other: Containerd, left: { pod: string; sandboxPid: number; containerPid: number }): Promise<void> {
    for (const pid of [left.sandboxPid, left.containerPid, other.pid]) expect(existsSync(`/proc/${pid}`)).toBe(false);
    expect(mountsUnder(other.dir)).toEqual([]);
    expect(existsSync(other.dir)).toBe(false);
    expect(existsSync(shimSocketPath(other.socketPath, left.pod))).toBe(false);
  }

  it('stop() removes sandboxes, containerd, its mounts, shim sockets and dir', async () => {
    const other = await startContainerd();
    const c = new CriClient({ endpoint: other.endpoint, timeoutMs: 30_000 });
    try {
      // runc refuses a hostname for a pod sharing the node's UTS namespace: this sandbox fails half-way.
      const refused = await c.runPodSandbox({ config: { ...podConfig('refused'), hostname: 'refused' }, runtime_handler: '' }).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(CriError);
      expect((refused as CriError).message).toContain('unable to set hostname without a private UTS namespace');
      const left = await podOn(other, c);
      await other.stop();
      await expectAllGone(other, left);
    } finally {
      c.close();
      await other.stop();
    }
  });

  it('stop() after containerd was killed still removes containers, shims, mounts and sockets', async () => {
    const other = await startContainerd();
    const c = new CriClient({ endpoint: other.endpoint, timeoutMs: 30_000 });
    try {
      const left = await podOn(other, c);
      process.kill(other.pid, 'SIGKILL');
      await other.stop();
      await expectAllGone(other, left);
    } finally {
      c.close();
      await other.stop();
    }
  });
});

function readlinkNs(pid: number, ns: string): string {
  return readlinkSync(`/proc/${pid}/ns/${ns}`);
}

function mountsUnder(dir: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4] ?? '')
    .filter((p) => p.startsWith(`${dir}/`));
}
