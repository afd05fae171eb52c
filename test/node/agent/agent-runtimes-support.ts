/**
 * Support for agent-runtimes.test.ts: the two real CRI runtimes the node agent
 * is run against over gRPC (Strake's built-in runtime served by serveCri, and a
 * private containerd 1.6), and the agent harness (FakeApiClient, an informer,
 * the real clock, short timings). Every start has a matching close that stops
 * and removes what it made, also after a failed test.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Resources, type ApiClient } from '../../../control-plane/client/api-client.js';
import { FakeApiClient } from '../../../control-plane/client/fake-client.js';
import { Informer } from '../../../control-plane/client/informer.js';
import { NodeAgent } from '../../../node/agent/node-agent.js';
import { PodLabel } from '../../../node/agent/labels.js';
import { CriClient } from '../../../node/cri/client.js';
import { removeAllPodSandboxes } from '../../../node/cri/remove-all-sandboxes.js';
import type { CriRuntime } from '../../../node/cri/runtime.js';
import { serveCri } from '../../../node/cri/server.js';
import { BuiltinRuntime } from '../../../node/runtime/builtin-runtime.js';
import { removeCgroupTree } from '../../../node/runtime/cgroups.js';
import { BUSYBOX_IMAGE_REF, buildBusyboxImage, findBusybox } from '../../../node/runtime/images/busybox-image.js';
import { ImageStore } from '../../../node/runtime/images/image-store.js';
import type { Container, Pod, PodSpec } from '../../../proto/k8s/core-v1.js';
import { startContainerd } from '../../../bench/local-containerd.js';

/** Deadline of one CRI call: the machine is shared and loaded. */
const CRI_CALL_TIMEOUT_MS = 60_000;
const POLL_MS = 100;

/** A real CRI runtime reached over gRPC, as the agent sees it in production. */
export interface RuntimeTarget {
  /** CRI Version's runtime_name: the scheme of the containerIDs the agent reports. */
  readonly runtimeName: string;
  readonly client: CriClient;
  /** Whether CRI Status reports NetworkReady (containerd here has no CNI config, so it does not). */
  readonly networkReady: boolean;
  /** Removes every sandbox, then stops the runtime and removes its files. */
  close(): Promise<void>;
}

export type StartTarget = () => Promise<RuntimeTarget>;

function requireBuiltinTools(): string {
  if (process.getuid?.() !== 0) throw new Error('the built-in runtime needs root for runc isolation (namespaces, cgroups)');
  if (spawnSync('runc', ['--version']).status !== 0) throw new Error('the built-in runtime needs runc on PATH (apt-get install runc)');
  const busybox = findBusybox();
  if (busybox === undefined) throw new Error('the built-in runtime needs a static busybox on PATH (apt-get install busybox-static)');
  return busybox;
}

/** Strake's built-in runtime with runc isolation, served on a unix socket of a temp dir. */
export async function startBuiltin(): Promise<RuntimeTarget> {
  const busybox = requireBuiltinTools();
  const tmp = await mkdtemp(join(tmpdir(), 'strake-agent-rt-'));
  const cgroupRoot = `strake-agent-test-${randomBytes(4).toString('hex')}`;
  const rootDir = join(tmp, 'runtime');
  let runtime: BuiltinRuntime | undefined;
  let server: Awaited<ReturnType<typeof serveCri>> | undefined;
  let client: CriClient | undefined;
  const close = async (): Promise<void> => {
    if (runtime !== undefined) await removeAllPodSandboxes(runtime).catch(() => undefined);
    client?.close();
    await server?.close().catch(() => undefined);
    await runtime?.close().catch(() => undefined);
    // Whatever a failure left behind: runc containers under our --root, our cgroup tree, mounts below the temp dir.
    const runcRoot = join(rootDir, 'runc');
    if (existsSync(runcRoot)) {
      const list = spawnSync('runc', ['--root', runcRoot, 'list', '-q'], { encoding: 'utf8' });
      for (const id of (list.stdout ?? '').split('\n').filter((x) => x !== '')) {
        spawnSync('runc', ['--root', runcRoot, 'kill', id, 'KILL']);
        spawnSync('runc', ['--root', runcRoot, 'delete', '--force', id]);
      }
    }
    await removeCgroupTree(`/${cgroupRoot}`).catch(() => undefined);
    const mounts = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((l) => l.split(' ')[4] ?? '').filter((m) => m.startsWith(`${tmp}/`));
    for (const m of mounts.reverse()) spawnSync('umount', ['-l', m]);
    await rm(tmp, { recursive: true, force: true });
  };
  try {
    const tar = join(tmp, 'busybox.tar');
    buildBusyboxImage({ busyboxPath: busybox, ref: BUSYBOX_IMAGE_REF, outFile: tar, format: 'oci-archive' });
    const images = await ImageStore.open(join(tmp, 'images'));
    await images.importTar(tar);
    runtime = await BuiltinRuntime.open({ rootDir, images, isolation: 'runc', cgroupRoot, nodeName: `t${randomBytes(3).toString('hex')}` });
    const endpoint = `unix://${join(tmp, 'rt.sock')}`;
    server = await serveCri(runtime, { endpoint });
    client = new CriClient({ endpoint, timeoutMs: CRI_CALL_TIMEOUT_MS });
    return { runtimeName: 'strake', client, networkReady: true, close };
  } catch (err) {
    await close();
    throw err;
  }
}

/** A private containerd 1.6 (bench/local-containerd.ts) with the busybox image imported; no CNI. */
export async function startContainerdTarget(): Promise<RuntimeTarget> {
  const ctd = await startContainerd();
  const client = new CriClient({ endpoint: ctd.endpoint, timeoutMs: CRI_CALL_TIMEOUT_MS });
  const close = async (): Promise<void> => {
    await removeAllPodSandboxes(client).catch(() => undefined);
    client.close();
    await ctd.stop();
  };
  try {
    await ctd.importBusyboxImage(BUSYBOX_IMAGE_REF);
  } catch (err) {
    await close();
    throw err;
  }
  return { runtimeName: 'containerd', client, networkReady: false, close };
}

/** One node agent over a real runtime, with an in-memory API. */
export interface AgentHarness {
  readonly nodeName: string;
  readonly api: FakeApiClient;
  readonly agent: NodeAgent;
  readonly rootDir: string;
  readonly logs: string[];
  close(): Promise<void>;
}

export async function startAgent(runtime: CriRuntime, nodeName: string): Promise<AgentHarness> {
  const api = new FakeApiClient();
  const rootDir = await mkdtemp(join(tmpdir(), 'strake-agent-root-'));
  const logs: string[] = [];
  const agent = new NodeAgent({
    name: nodeName,
    api,
    podInformer: ({ fieldSelector }) => new Informer<Pod>(api as ApiClient, Resources.Pods, { fieldSelector }),
    runtime,
    rootDir,
    address: '127.0.0.1',
    // No node server in these tests; the port only lands in the Node's daemonEndpoints.
    serverPort: 0,
    log: (l) => logs.push(`${new Date().toISOString()} ${l}`),
    timing: {
      nodeStatusUpdateMs: 1_000,
      leaseRenewMs: 1_000,
      leaseDurationSeconds: 10,
      relistMs: 300,
      resyncMs: 5_000,
      backoffInitialMs: 500,
      backoffMaxMs: 2_000,
    },
  });
  agent.start();
  return {
    nodeName,
    api,
    agent,
    rootDir,
    logs,
    close: async () => {
      await agent.stop();
    },
  };
}

/** The pod spec every scenario shares: bound to the node, host network, busybox, a 1 s grace. */
export function podSpec(nodeName: string, spec: Partial<PodSpec> & { containers: Container[] }): PodSpec {
  return { nodeName, hostNetwork: true, restartPolicy: 'Always', terminationGracePeriodSeconds: 1, ...spec };
}

export function busybox(name: string, script: string, extra: Partial<Container> = {}): Container {
  return { name, image: 'busybox', imagePullPolicy: 'IfNotPresent', command: ['sh', '-c', script], ...extra };
}

export async function getPod(api: FakeApiClient, name: string): Promise<Pod | undefined> {
  try {
    return await api.get<Pod>(Resources.Pods, 'default', name);
  } catch {
    return undefined;
  }
}

/** Polls `pred` until it holds; fails naming `what`, the pod's last status and the agent's log. */
export async function until(h: AgentHarness, pred: () => boolean | Promise<boolean>, what: string, timeoutMs: number, podName?: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await pred()) return;
    if (Date.now() > deadline) {
      const pod = podName === undefined ? undefined : await getPod(h.api, podName);
      const status = pod === undefined ? '' : `\npod status: ${JSON.stringify(pod.status)}`;
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${status}\nagent log:\n${h.logs.slice(-30).join('\n')}`);
    }
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

/** The runtime's sandboxes and containers of one pod, by the agent's uid label. */
export async function runtimePartsOf(rt: CriRuntime, uid: string): Promise<{ sandboxes: number; containers: number }> {
  const label_selector = { [PodLabel.Uid]: uid };
  const { items } = await rt.listPodSandbox({ filter: { id: '', label_selector } });
  const { containers } = await rt.listContainers({ filter: { id: '', pod_sandbox_id: '', label_selector } });
  return { sandboxes: items.length, containers: containers.length };
}
