/**
 * The CRI gRPC edge on its own: CriClient -> unix socket -> serveCri -> a small
 * in-memory CriRuntime. Every RPC makes the round trip with its fields intact (enums
 * as names, maps, int64s, bytes, absent messages as null); errors keep their code in
 * both directions; deadlines and an absent runtime surface as typed errors; the
 * server replaces a dead socket file but never a live one.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { lstat, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { credentials, status as grpcStatus } from '@grpc/grpc-js';
import { CriClient } from '../../../node/cri/client.js';
import { criPackage } from '../../../node/cri/cri-package.js';
import { CriError, CriErrorCode } from '../../../node/cri/errors.js';
import { serveCri, type CriServer } from '../../../node/cri/server.js';
import type { CriRuntime } from '../../../node/cri/runtime.js';
import type * as cri from '../../../proto/cri/types.js';
import { MemoryRuntime, POD_CONFIG, containerConfig } from './memory-runtime.js';

let dir: string;
let endpoint: string;
let runtime: MemoryRuntime;
let server: CriServer;
let client: CriClient;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'strake-cri-'));
  endpoint = `unix://${join(dir, 'cri.sock')}`;
  runtime = new MemoryRuntime();
  server = await serveCri(runtime, { endpoint });
  client = new CriClient({ endpoint, timeoutMs: 5_000 });
});

afterAll(async () => {
  client?.close();
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

/** Starts a process listening on `path`, SIGKILLs it, and returns once only its socket file is left. */
async function leaveStaleSocket(path: string): Promise<void> {
  const script = `require('net').createServer().listen(${JSON.stringify(path)}, () => console.log('up'))`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the listener child did not start within 5000 ms')), 5_000);
      child.stdout.once('data', () => {
        clearTimeout(timer);
        resolve();
      });
    });
  } finally {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await exited;
    }
  }
  expect((await lstat(path)).isSocket()).toBe(true);
}

async function rejection(p: Promise<unknown>): Promise<CriError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(CriError);
  return err as CriError;
}

describe('every RPC round-trips through a unix socket', () => {
  it('Version and Status', async () => {
    const v = await client.version({ version: 'v1' });
    expect(v).toEqual({ version: '0.1.0', runtime_name: 'memory', runtime_version: '1.0', runtime_api_version: 'v1' });
    expect(runtime.requests.at(-1)).toEqual({ method: 'version', request: { version: 'v1' } });
    const s = await client.status({ verbose: true });
    expect(s.status?.conditions).toEqual([
      { type: 'RuntimeReady', status: true, reason: '', message: '' },
      { type: 'NetworkReady', status: false, reason: 'NoCni', message: 'no pod network' },
    ]);
    expect(s.info).toEqual({ config: '{}' });
  });

  it('pod sandboxes: run, status (verbose info), list with filters, stop, remove', async () => {
    const { pod_sandbox_id: id } = await client.runPodSandbox({ config: POD_CONFIG, runtime_handler: '' });
    expect(id).toMatch(/^sb-/);
    // The server sees the request with the loader's defaults and enums as names.
    const seen = runtime.lastRequest('runPodSandbox') as cri.RunPodSandboxRequest;
    expect(seen.config.linux?.security_context?.namespace_options).toEqual({ network: 'NODE', pid: 'CONTAINER', ipc: 'POD', target_id: '' });
    expect(seen.config.linux?.security_context?.run_as_user).toEqual({ value: 1000 });
    expect(seen.config.linux?.security_context?.run_as_group).toBeNull();
    expect(seen.config.port_mappings).toEqual([{ protocol: 'UDP', container_port: 53, host_port: 29053, host_ip: '127.0.0.1' }]);
    expect(seen.config.dns_config).toEqual({ servers: ['127.0.0.1'], searches: ['svc.local'], options: ['ndots:5'] });
    expect(seen.config.linux?.sysctls).toEqual({ 'net.ipv4.ip_forward': '0' });

    const st = await client.podSandboxStatus({ pod_sandbox_id: id, verbose: true });
    expect(st.status.id).toBe(id);
    expect(st.status.metadata).toEqual(POD_CONFIG.metadata);
    expect(st.status.state).toBe('SANDBOX_READY');
    expect(st.status.created_at).toBe(1_700_000_000_123_456_000);
    expect(st.status.network).toEqual({ ip: '10.77.0.2', additional_ips: [{ ip: 'fd00::2' }] });
    expect(st.status.linux?.namespaces?.options?.network).toBe('NODE');
    expect(st.status.labels).toEqual({ app: 'web' });
    expect(JSON.parse(st.info['info'] ?? '{}')).toEqual({ pid: 4242 });

    const quiet = await client.podSandboxStatus({ pod_sandbox_id: id, verbose: false });
    expect(quiet.info).toEqual({});

    expect((await client.listPodSandbox({})).items.map((p) => p.id)).toEqual([id]);
    const byLabel = await client.listPodSandbox({ filter: { id: '', label_selector: { app: 'db' } } });
    expect(byLabel.items).toEqual([]);
    await client.stopPodSandbox({ pod_sandbox_id: id });
    const notReady = await client.listPodSandbox({ filter: { id: '', state: { state: 'SANDBOX_NOTREADY' }, label_selector: {} } });
    expect(notReady.items.map((p) => [p.id, p.state, p.runtime_handler])).toEqual([[id, 'SANDBOX_NOTREADY', 'runc']]);
    await client.removePodSandbox({ pod_sandbox_id: id });
    expect((await client.listPodSandbox({})).items).toEqual([]);
  });

  it('containers: create, start, status, list, exec, stats, stop, remove', async () => {
    const { pod_sandbox_id: pod } = await client.runPodSandbox({ config: POD_CONFIG, runtime_handler: 'runc' });
    const { container_id: id } = await client.createContainer({ pod_sandbox_id: pod, config: containerConfig('app'), sandbox_config: POD_CONFIG });
    const seen = runtime.lastRequest('createContainer') as cri.CreateContainerRequest;
    expect(seen.config.mounts).toEqual([
      { container_path: '/data', host_path: '/srv/data', readonly: true, selinux_relabel: false, propagation: 'PROPAGATION_HOST_TO_CONTAINER' },
    ]);
    expect(seen.config.envs).toEqual([{ key: 'GREETING', value: 'hello wörld' }]);
    expect(seen.config.linux?.resources?.memory_limit_in_bytes).toBe(32 * 1024 * 1024);
    expect(seen.config.linux?.security_context?.privileged).toBe(false);
    expect(seen.config.devices).toEqual([]);

    expect((await client.containerStatus({ container_id: id, verbose: false })).status.state).toBe('CONTAINER_CREATED');
    await client.startContainer({ container_id: id });
    const running = (await client.containerStatus({ container_id: id, verbose: false })).status;
    expect(running.state).toBe('CONTAINER_RUNNING');
    expect(running.image).toEqual({ image: 'docker.io/library/busybox:latest', annotations: {} });
    expect(running.mounts).toHaveLength(1);

    const listed = await client.listContainers({ filter: { id: '', pod_sandbox_id: pod, label_selector: {}, state: { state: 'CONTAINER_RUNNING' } } });
    expect(listed.containers.map((c) => [c.id, c.pod_sandbox_id, c.metadata.name])).toEqual([[id, pod, 'app']]);
    expect((await client.listContainers({ filter: { id: '', pod_sandbox_id: 'other', label_selector: {} } })).containers).toEqual([]);

    const exec = await client.execSync({ container_id: id, cmd: ['echo', 'hi'], timeout: 2 });
    expect(Buffer.isBuffer(exec.stdout)).toBe(true);
    expect(exec.stdout.toString()).toBe('hi\n');
    expect(exec.stderr).toEqual(Buffer.from([0, 255, 1]));
    expect(exec.exit_code).toBe(3);

    const stats = await client.containerStats({ container_id: id });
    expect(stats.stats?.memory?.working_set_bytes).toEqual({ value: 2 ** 40 });
    expect(stats.stats?.memory?.available_bytes).toBeNull();
    expect(stats.stats?.cpu?.usage_core_nano_seconds).toEqual({ value: 123_456_789 });
    expect(stats.stats?.writable_layer?.fs_id).toEqual({ mountpoint: '/var/lib/strake' });
    const all = await client.listContainerStats({ filter: { id: '', pod_sandbox_id: pod, label_selector: {} } });
    expect(all.stats.map((s) => s.attributes?.id)).toEqual([id]);

    await client.stopContainer({ container_id: id, timeout: 1 });
    const exited = (await client.containerStatus({ container_id: id, verbose: false })).status;
    expect([exited.state, exited.exit_code, exited.reason]).toEqual(['CONTAINER_EXITED', 137, 'Error']);
    expect(exited.finished_at).toBeGreaterThan(exited.started_at);
    await client.removeContainer({ container_id: id });
    await client.removePodSandbox({ pod_sandbox_id: pod });
    expect((await client.listContainers({})).containers).toEqual([]);
  });

  it('images: pull, list, status (absent image = null, not an error), remove, fs info', async () => {
    const pulled = await client.pullImage({
      image: { image: 'busybox', annotations: {} },
      auth: { username: 'u', password: 'p', auth: '', server_address: 'images.example.invalid', identity_token: '', registry_token: '' },
    });
    expect(pulled.image_ref).toBe('sha256:' + 'b'.repeat(64));
    expect((runtime.lastRequest('pullImage') as cri.PullImageRequest).sandbox_config).toBeNull();
    const list = await client.listImages({});
    expect(list.images).toEqual([
      {
        id: 'sha256:' + 'b'.repeat(64),
        repo_tags: ['docker.io/library/busybox:latest'],
        repo_digests: [],
        size: 1_234_567,
        uid: { value: 0 },
        username: '',
        spec: null,
        pinned: false,
      },
    ]);
    const st = await client.imageStatus({ image: { image: 'busybox', annotations: {} }, verbose: false });
    expect(st.image?.repo_tags).toEqual(['docker.io/library/busybox:latest']);
    const absent = await client.imageStatus({ image: { image: 'nginx', annotations: {} }, verbose: false });
    expect(absent.image).toBeNull();
    const fs = await client.imageFsInfo({});
    expect(fs.image_filesystems[0]?.used_bytes).toEqual({ value: 4096 });
    expect(fs.container_filesystems).toEqual([]);
    await client.removeImage({ image: { image: 'busybox', annotations: {} } });
    expect((await client.listImages({})).images).toEqual([]);
  });
});

describe('errors keep their code in both directions', () => {
  it('each CriError code thrown by the runtime reaches the client with its message', async () => {
    for (const code of Object.values(CriErrorCode)) {
      runtime.failNext = new CriError(code, `planted ${code} for container "c1"`);
      const err = await rejection(client.containerStatus({ container_id: 'c1', verbose: false }));
      expect(err.code).toBe(code);
      expect(err.message).toContain(`planted ${code} for container "c1"`);
    }
  });

  it('a not-found object is NotFound', async () => {
    const err = await rejection(client.startContainer({ container_id: 'nope' }));
    expect([err.code, err.message]).toEqual([CriErrorCode.NotFound, 'container "nope" not found']);
  });

  it('any other thrown error becomes Internal with its message', async () => {
    runtime.failNext = new TypeError('runc exploded');
    const err = await rejection(client.version({ version: '' }));
    expect([err.code, err.message]).toEqual([CriErrorCode.Internal, 'runc exploded']);
  });

  it('a method the runtime lacks is Unimplemented', async () => {
    const partial = Object.assign(Object.create(null) as object, { version: runtime.version.bind(runtime) }) as CriRuntime;
    const ep = `unix://${join(dir, 'partial.sock')}`;
    const s = await serveCri(partial, { endpoint: ep });
    const c = new CriClient({ endpoint: ep, timeoutMs: 5_000 });
    try {
      expect((await c.version({ version: '' })).runtime_name).toBe('memory');
      const err = await rejection(c.imageFsInfo({}));
      expect(err.code).toBe(CriErrorCode.Unimplemented);
      expect(err.message).toContain('ImageFsInfo');
    } finally {
      c.close();
      await s.close();
    }
  });

  it('a request without a required message is InvalidArgument, at the client and at the server', async () => {
    const before = runtime.requests.length;
    const err = await rejection(client.runPodSandbox({ runtime_handler: '' } as unknown as cri.RunPodSandboxRequest));
    expect([err.code, err.message]).toEqual([CriErrorCode.InvalidArgument, 'RunPodSandbox request lacks config']);
    const noImage = { pod_sandbox_id: 'x', config: { ...containerConfig('a'), image: undefined }, sandbox_config: POD_CONFIG };
    const err2 = await rejection(client.createContainer(noImage as unknown as cri.CreateContainerRequest));
    expect(err2.message).toBe('CreateContainer request lacks config.image');
    const noSandboxConfig = { pod_sandbox_id: 'x', config: containerConfig('a') };
    const err3 = await rejection(client.createContainer(noSandboxConfig as unknown as cri.CreateContainerRequest));
    expect(err3.message).toBe('CreateContainer request lacks sandbox_config');

    // A client that does not check (another language's kubelet) meets the server's check.
    const raw = new (criPackage().RuntimeService)(endpoint, credentials.createInsecure());
    try {
      const status = await new Promise<{ code: number; details: string }>((resolve) => {
        const call = (raw as unknown as Record<string, (r: unknown, o: object, cb: (e: { code: number; details: string } | null) => void) => void>)['CreateContainer']!;
        call.call(raw, noSandboxConfig, { deadline: Date.now() + 5_000 }, (e) => resolve(e ?? { code: 0, details: '' }));
      });
      expect(status).toMatchObject({ code: grpcStatus.INVALID_ARGUMENT, details: 'CreateContainer request lacks sandbox_config' });
    } finally {
      raw.close();
    }
    expect(runtime.requests.length).toBe(before);
  });

  it('a response without its status is rejected by the client', async () => {
    runtime.answerNext = { info: {} };
    const err = await rejection(client.containerStatus({ container_id: 'c1', verbose: false }));
    expect(err.code).toBe(CriErrorCode.Internal);
    expect(err.message).toMatch(/ContainerStatus on unix:.* answered without status/);
  });
});

describe('deadlines and availability', () => {
  it('a call the runtime answers too late fails DeadlineExceeded at the client deadline', async () => {
    const impatient = new CriClient({ endpoint, timeoutMs: 200 });
    try {
      runtime.delayNextMs = 1_500;
      const started = Date.now();
      const err = await rejection(impatient.listImages({}));
      expect(err.code).toBe(CriErrorCode.DeadlineExceeded);
      expect(err.message).toContain('did not answer within 200 ms');
      expect(Date.now() - started).toBeLessThan(1_400);
    } finally {
      impatient.close();
    }
  });

  it('ExecSync gets at least the command timeout plus a grace period', async () => {
    const impatient = new CriClient({ endpoint, timeoutMs: 200 });
    try {
      const { pod_sandbox_id: pod } = await client.runPodSandbox({ config: POD_CONFIG, runtime_handler: '' });
      const { container_id: id } = await client.createContainer({ pod_sandbox_id: pod, config: containerConfig('slow'), sandbox_config: POD_CONFIG });
      runtime.delayNextMs = 600;
      const exec = await impatient.execSync({ container_id: id, cmd: ['echo', 'late'], timeout: 1 });
      expect(exec.stdout.toString()).toBe('late\n');
      await client.removeContainer({ container_id: id });
      await client.removePodSandbox({ pod_sandbox_id: pod });
    } finally {
      impatient.close();
    }
  });

  it('no runtime behind the socket is Unavailable', async () => {
    const lonely = new CriClient({ endpoint: `unix://${join(dir, 'nobody.sock')}`, timeoutMs: 2_000 });
    try {
      const err = await rejection(lonely.version({ version: '' }));
      expect(err.code).toBe(CriErrorCode.Unavailable);
      expect(err.message).toContain('nobody.sock');
    } finally {
      lonely.close();
    }
  });

  it('a non-unix endpoint is refused', () => {
    expect(() => new CriClient({ endpoint: '127.0.0.1:29000' })).toThrow(CriError);
  });
});

describe('the server socket', () => {
  it('replaces a socket file nobody listens on, refuses a live one and a non-socket', async () => {
    const ep = `unix://${join(dir, 'again.sock')}`;
    const first = await serveCri(runtime, { endpoint: ep });
    const live = await rejection(serveCri(runtime, { endpoint: ep }));
    expect(live.code).toBe(CriErrorCode.AlreadyExists);
    await first.close();

    // A server that was killed leaves its socket file behind.
    const stalePath = join(dir, 'stale.sock');
    await leaveStaleSocket(stalePath);
    const revived = await serveCri(runtime, { endpoint: `unix://${stalePath}` });
    const c = new CriClient({ endpoint: `unix://${stalePath}`, timeoutMs: 5_000 });
    try {
      expect((await c.version({ version: '' })).runtime_name).toBe('memory');
    } finally {
      c.close();
      await revived.close();
    }
    const plain = join(dir, 'plain-file');
    await writeFile(plain, 'x');
    const err = await rejection(serveCri(runtime, { endpoint: `unix://${plain}` }));
    expect(err.code).toBe(CriErrorCode.FailedPrecondition);
  });
});
