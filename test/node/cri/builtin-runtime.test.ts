/**
 * The built-in runtime over gRPC (serveCri + CriClient): the shared CRI suite with
 * runc isolation and with process isolation, a runtime restart over the same
 * rootDir, and bridge pod networking. Needs root, runc and a static busybox (CI
 * installs them); without them the tests fail saying so.
 *
 * Cleanup runs even when a test fails: every runc container under our --root,
 * the test's cgroup tree, overlay mounts below the temp dir, the bridge netns.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, readlinkSync } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { CriClient } from '../../../node/cri/client.js';
import { CriErrorCode, isCriError } from '../../../node/cri/errors.js';
import { serveCri, type CriServer } from '../../../node/cri/server.js';
import { BuiltinRuntime } from '../../../node/runtime/builtin-runtime.js';
import { removeCgroupTree } from '../../../node/runtime/cgroups.js';
import { buildBusyboxImage, findBusybox } from '../../../node/runtime/images/busybox-image.js';
import { ImageStore } from '../../../node/runtime/images/image-store.js';
import type { Isolation } from '../../../node/runtime/state-store.js';
import { IDLE, SUITE_TEST_TIMEOUT_MS, containerConfig, execUntilOk, readCriLog, runSandbox, runtimeSuite, sandboxConfig, startContainer, waitExited, type RuntimeSuiteEnv } from './runtime-suite.js';

/** This file's loopback ports (test/README.md: 29200-29299). */
const PORT_PROCESS_MODE = 29210;
const PORT_RUNC = 29211;

function requireTools(): string {
  if (process.getuid?.() !== 0) throw new Error('the built-in runtime tests need root (runc, cgroups, namespaces)');
  if (spawnSync('runc', ['--version']).status !== 0) throw new Error('the built-in runtime tests need runc on PATH (apt-get install runc)');
  const busybox = findBusybox();
  if (busybox === undefined) throw new Error('the built-in runtime tests need a static busybox on PATH (apt-get install busybox-static)');
  return busybox;
}

interface Harness {
  tmp: string;
  images: ImageStore;
  cgroupRoot: string;
  nodeName: string;
  runtimes: BuiltinRuntime[];
  servers: CriServer[];
  clients: CriClient[];
}

const h: Harness = { tmp: '', images: undefined as unknown as ImageStore, cgroupRoot: `strake-test-${randomBytes(4).toString('hex')}`, nodeName: `t${randomBytes(3).toString('hex')}`, runtimes: [], servers: [], clients: [] };

async function serve(o: { rootDir: string; isolation: Isolation; podCidr?: string }): Promise<{ runtime: BuiltinRuntime; server: CriServer; client: CriClient }> {
  const runtime = await BuiltinRuntime.open({ rootDir: o.rootDir, images: h.images, isolation: o.isolation, cgroupRoot: h.cgroupRoot, nodeName: h.nodeName, ...(o.podCidr === undefined ? {} : { podCidr: o.podCidr }) });
  const endpoint = `unix://${join(h.tmp, `cri-${randomBytes(3).toString('hex')}.sock`)}`;
  const server = await serveCri(runtime, { endpoint });
  const client = new CriClient({ endpoint, timeoutMs: 60_000 });
  h.runtimes.push(runtime);
  h.servers.push(server);
  h.clients.push(client);
  return { runtime, server, client };
}

beforeAll(async () => {
  const busybox = requireTools();
  h.tmp = await mkdtemp(join(tmpdir(), 'strake-rt-'));
  const tar = join(h.tmp, 'busybox.tar');
  buildBusyboxImage({ busyboxPath: busybox, ref: 'busybox', outFile: tar, format: 'oci-archive' });
  h.images = await ImageStore.open(join(h.tmp, 'images'));
  await h.images.importTar(tar);
}, 60_000);

afterAll(async () => {
  for (const c of h.clients) c.close();
  for (const s of h.servers) await s.close().catch(() => undefined);
  // Remove what the runtimes know, then sweep what they may not (a failed test's leftovers).
  for (const rt of h.runtimes) {
    const { items } = await rt.listPodSandbox({ filter: null }).catch(() => ({ items: [] }));
    for (const s of items) await rt.removePodSandbox({ pod_sandbox_id: s.id }).catch(() => undefined);
    await rt.close();
  }
  if (h.tmp === '') return;
  for (const rootDir of ['runc-root', 'process-root', 'restart-root', 'bridge-root', 'dead-root']) {
    const runcRoot = join(h.tmp, rootDir, 'runc');
    if (!existsSync(runcRoot)) continue;
    const list = spawnSync('runc', ['--root', runcRoot, 'list', '-q'], { encoding: 'utf8' });
    for (const id of list.stdout.split('\n').filter((x) => x !== '')) {
      spawnSync('runc', ['--root', runcRoot, 'kill', id, 'KILL']);
      spawnSync('runc', ['--root', runcRoot, 'delete', '--force', id]);
    }
  }
  await removeCgroupTree(`/${h.cgroupRoot}`);
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((l) => l.split(' ')[4] ?? '').filter((m) => m.startsWith(h.tmp));
  for (const m of mounts.reverse()) spawnSync('umount', ['-l', m]);
  if (existsSync(`/run/netns/strake-${h.nodeName}`)) spawnSync('ip', ['netns', 'del', `strake-${h.nodeName}`]);
  await rm(h.tmp, { recursive: true, force: true });
}, 120_000);

function suiteEnv(client: () => CriClient, rootName: string): () => RuntimeSuiteEnv {
  return () => ({ client: client(), image: 'busybox', logDir: join(h.tmp, rootName, 'logs') });
}

describe('runc isolation', () => {
  let client: CriClient;
  beforeAll(async () => {
    client = (await serve({ rootDir: join(h.tmp, 'runc-root'), isolation: 'runc' })).client;
  });
  runtimeSuite({ env: suiteEnv(() => client, 'runc-root'), isolated: true, port: PORT_RUNC });

  it('reports an ExecSync timeout as DeadlineExceeded and a missing container as NotFound', { timeout: SUITE_TEST_TIMEOUT_MS }, async () => {
    const env = suiteEnv(() => client, 'runc-root')();
    const pod = sandboxConfig(env, 'codes');
    const sb = await runSandbox(env, pod);
    try {
      const c = await startContainer(env, sb, pod, containerConfig(env, 'idle', IDLE));
      const err = await client.execSync({ container_id: c, cmd: ['sleep', '30'], timeout: 1 }).catch((e: unknown) => e);
      expect(isCriError(err, CriErrorCode.DeadlineExceeded)).toBe(true);
      const missing = await client.containerStatus({ container_id: 'f'.repeat(64), verbose: false }).catch((e: unknown) => e);
      expect(isCriError(missing, CriErrorCode.NotFound)).toBe(true);
      await client.stopContainer({ container_id: 'f'.repeat(64), timeout: 1 });
      await client.removeContainer({ container_id: 'f'.repeat(64) });
    } finally {
      await client.removePodSandbox({ pod_sandbox_id: sb });
    }
  });

  it('reports a start failure as StartError with runc\'s reason, leaving nothing running', { timeout: SUITE_TEST_TIMEOUT_MS }, async () => {
    const env = suiteEnv(() => client, 'runc-root')();
    const pod = sandboxConfig(env, 'badexec');
    const sb = await runSandbox(env, pod);
    try {
      const { container_id } = await client.createContainer({ pod_sandbox_id: sb, config: containerConfig(env, 'bad', ['/no/such/binary']), sandbox_config: pod });
      await expect(client.startContainer({ container_id })).rejects.toThrow(/no\/such\/binary/);
      const s = await client.containerStatus({ container_id, verbose: false });
      expect([s.status.state, s.status.reason]).toEqual(['CONTAINER_EXITED', 'StartError']);
      expect(s.status.message).toMatch(/no\/such\/binary/);
      const runcState = spawnSync('runc', ['--root', join(h.tmp, 'runc-root', 'runc'), 'state', container_id], { encoding: 'utf8' });
      expect(runcState.status).not.toBe(0);
    } finally {
      await client.removePodSandbox({ pod_sandbox_id: sb });
    }
  });

  it('runs a host-network pod in the node namespaces and reports CPU and memory stats', { timeout: SUITE_TEST_TIMEOUT_MS }, async () => {
    const env = suiteEnv(() => client, 'runc-root')();
    const pod = sandboxConfig(env, 'hostnet', { hostNetwork: true });
    const sb = await runSandbox(env, pod);
    try {
      const c = await startContainer(env, sb, pod, containerConfig(env, 'spin', ['sh', '-c', 'i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done; exec sleep 60'], { labels: { tier: 'x' } }));
      const hn = await client.execSync({ container_id: c, cmd: ['hostname'], timeout: 10 });
      expect(hn.stdout.toString().trim()).toBe(hostname());
      const netns = await client.execSync({ container_id: c, cmd: ['readlink', '/proc/1/ns/net'], timeout: 10 });
      expect(netns.stdout.toString().trim()).toBe(readlinkSync('/proc/self/ns/net'));
      await new Promise((r) => setTimeout(r, 300));
      const { stats } = await client.listContainerStats({ filter: { id: '', pod_sandbox_id: sb, label_selector: { tier: 'x' } } });
      expect(stats.map((s) => s.attributes?.id)).toEqual([c]);
      expect(stats[0]?.cpu?.usage_core_nano_seconds?.value ?? 0).toBeGreaterThan(1_000_000);
      expect(stats[0]?.memory?.working_set_bytes?.value ?? 0).toBeGreaterThan(0);
    } finally {
      await client.removePodSandbox({ pod_sandbox_id: sb });
    }
  });

  it('removes the pod cgroups and runc state with the sandbox', { timeout: SUITE_TEST_TIMEOUT_MS }, async () => {
    const env = suiteEnv(() => client, 'runc-root')();
    const pod = sandboxConfig(env, 'tidy');
    const sb = await runSandbox(env, pod);
    await startContainer(env, sb, pod, containerConfig(env, 'idle', IDLE, { memoryBytes: 64 * 1024 * 1024 }));
    const cg = `/sys/fs/cgroup/memory/${h.cgroupRoot}/${sb}`;
    expect(existsSync(cg)).toBe(true);
    await client.removePodSandbox({ pod_sandbox_id: sb });
    expect(existsSync(cg)).toBe(false);
    const list = spawnSync('runc', ['--root', join(h.tmp, 'runc-root', 'runc'), 'list', '-q'], { encoding: 'utf8' });
    expect(list.stdout.split('\n').filter((x) => x !== '')).toEqual([]);
  });
});

describe('process isolation', () => {
  let client: CriClient;
  beforeAll(async () => {
    client = (await serve({ rootDir: join(h.tmp, 'process-root'), isolation: 'process' })).client;
  });
  runtimeSuite({ env: suiteEnv(() => client, 'process-root'), isolated: false, port: PORT_PROCESS_MODE });

  it('says in Status which isolation is missing', async () => {
    const s = await client.status({ verbose: false });
    const ready = s.status?.conditions.find((c) => c.type === 'RuntimeReady');
    expect(ready?.message).toMatch(/no namespaces/);
    expect(ready?.message).toMatch(/no cgroup limits/);
  });
});

describe('runtime restart', () => {
  it('a new runtime over the same rootDir lists the old sandbox, keeps logging, and stops and removes it', { timeout: 90_000 }, async () => {
    const rootDir = join(h.tmp, 'restart-root');
    const first = await serve({ rootDir, isolation: 'runc' });
    const env: RuntimeSuiteEnv = { client: first.client, image: 'busybox', logDir: join(rootDir, 'logs') };
    const pod = sandboxConfig(env, 'survivor');
    const sb = await runSandbox(env, pod);
    const ticker = await startContainer(env, sb, pod, containerConfig(env, 'ticker', ['sh', '-c', 'trap "exit 5" TERM; i=0; while true; do i=$((i+1)); echo tick-$i; sleep 0.1; done']));
    const done = await startContainer(env, sb, pod, containerConfig(env, 'done', ['sh', '-c', 'exit 4']));
    await waitExited(env, done);
    const pausePid = JSON.parse((await first.client.podSandboxStatus({ pod_sandbox_id: sb, verbose: true })).info['info'] ?? '{}').pid as number;

    await first.server.close();
    await first.runtime.close();
    const logFile = join(pod.log_directory, 'ticker/0.log');
    const sizeAtClose = (await stat(logFile)).size;
    await new Promise((r) => setTimeout(r, 500));

    const second = await serve({ rootDir, isolation: 'runc' });
    env.client = second.client;
    const { items } = await second.client.listPodSandbox({ filter: null });
    expect(items.map((s) => [s.id, s.state])).toEqual([[sb, 'SANDBOX_READY']]);
    expect(JSON.parse((await second.client.podSandboxStatus({ pod_sandbox_id: sb, verbose: true })).info['info'] ?? '{}').pid).toBe(pausePid);
    const statuses = (await second.client.listContainers({ filter: null })).containers.map((c) => [c.id, c.state]);
    expect(statuses).toEqual(expect.arrayContaining([[ticker, 'CONTAINER_RUNNING'], [done, 'CONTAINER_EXITED']]));
    expect((await second.client.containerStatus({ container_id: done, verbose: false })).status.exit_code).toBe(4);
    // Output written while no runtime ran waited in the pipe and reaches the log now.
    await execUntilOk(env, ticker, ['true']);
    const deadline = Date.now() + 10_000;
    while ((await stat(logFile)).size <= sizeAtClose + 50 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    const ticks = (await readCriLog(logFile)).map((r) => Number(r.content.replace('tick-', '')));
    expect(ticks.length).toBeGreaterThan(5);
    expect(ticks).toEqual(ticks.map((_, i) => i + 1));

    await second.client.stopContainer({ container_id: ticker, timeout: 10 });
    const s = await second.client.containerStatus({ container_id: ticker, verbose: false });
    expect([s.status.state, s.status.exit_code, s.status.reason]).toEqual(['CONTAINER_EXITED', 5, 'Error']);
    await second.client.removePodSandbox({ pod_sandbox_id: sb });
    expect((await second.client.listPodSandbox({ filter: null })).items).toEqual([]);
    expect(existsSync(`/proc/${pausePid}`)).toBe(false);
    expect(existsSync(`/sys/fs/cgroup/memory/${h.cgroupRoot}/${sb}`)).toBe(false);
  });

  it('a container whose supervisor died while no runtime ran is reported as exited 255 Unknown and killed', { timeout: 90_000 }, async () => {
    const rootDir = join(h.tmp, 'dead-root');
    const first = await serve({ rootDir, isolation: 'runc' });
    const env: RuntimeSuiteEnv = { client: first.client, image: 'busybox', logDir: join(rootDir, 'logs') };
    const pod = sandboxConfig(env, 'orphan');
    const sb = await runSandbox(env, pod);
    const c = await startContainer(env, sb, pod, containerConfig(env, 'idle', IDLE));
    const info = JSON.parse((await first.client.containerStatus({ container_id: c, verbose: true })).info['info'] ?? '{}') as { pid: number };
    await first.server.close();
    await first.runtime.close();
    const rec = JSON.parse(readFileSync(join(rootDir, 'containers', c, 'container.json'), 'utf8')) as { process: { supervisorPid: number } };
    process.kill(rec.process.supervisorPid, 'SIGKILL');
    await new Promise((r) => setTimeout(r, 300));

    const second = await serve({ rootDir, isolation: 'runc' });
    const s = await second.client.containerStatus({ container_id: c, verbose: false });
    expect([s.status.state, s.status.exit_code, s.status.reason]).toEqual(['CONTAINER_EXITED', 255, 'Unknown']);
    const deadline = Date.now() + 10_000;
    while (existsSync(`/proc/${info.pid}`) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(existsSync(`/proc/${info.pid}`)).toBe(false);
    await second.client.removePodSandbox({ pod_sandbox_id: sb });
  });
});

describe('bridge pod network', () => {
  it('gives pods addresses of the pod CIDR and connects them through a bridge inside the runtime namespace', { timeout: 90_000 }, async () => {
    const rootDir = join(h.tmp, 'bridge-root');
    const { client, runtime } = await serve({ rootDir, isolation: 'runc', podCidr: '10.213.7.0/24' });
    const env: RuntimeSuiteEnv = { client, image: 'busybox', logDir: join(rootDir, 'logs') };
    const podA = sandboxConfig(env, 'web');
    const podB = sandboxConfig(env, 'client');
    const a = await runSandbox(env, podA);
    const b = await runSandbox(env, podB);
    try {
      const ipA = (await client.podSandboxStatus({ pod_sandbox_id: a, verbose: false })).status.network?.ip ?? '';
      const ipB = (await client.podSandboxStatus({ pod_sandbox_id: b, verbose: false })).status.network?.ip ?? '';
      expect(ipA).toMatch(/^10\.213\.7\.\d+$/);
      expect(ipB).toMatch(/^10\.213\.7\.\d+$/);
      expect(ipA).not.toBe(ipB);
      await startContainer(env, a, podA, containerConfig(env, 'web', ['sh', '-c', `mkdir -p /tmp/w && echo pod-a-says-hi > /tmp/w/index.html && exec httpd -f -p ${ipA}:8080 -h /tmp/w`]));
      const cb = await startContainer(env, b, podB, containerConfig(env, 'client', IDLE));
      // From inside pod B (never from the host namespace) to pod A's address.
      const got = await execUntilOk(env, cb, ['wget', '-q', '-O-', `http://${ipA}:8080/`]);
      expect(got.stdout.toString()).toBe('pod-a-says-hi\n');
      // The host namespace has no route into the pod CIDR through us: the bridge lives in its own namespace.
      const hostLinks = spawnSync('ip', ['-o', 'addr'], { encoding: 'utf8' }).stdout;
      expect(hostLinks).not.toContain('10.213.7.');
    } finally {
      await client.removePodSandbox({ pod_sandbox_id: a });
      await client.removePodSandbox({ pod_sandbox_id: b });
      const veths = spawnSync('ip', ['-n', `strake-${h.nodeName}`, '-o', 'link'], { encoding: 'utf8' }).stdout;
      expect(veths).not.toMatch(/ sv[0-9a-f]{11}/);
      await (runtime.podNetwork as { destroy?: () => Promise<void> }).destroy?.();
    }
  });
});
