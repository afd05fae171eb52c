/**
 * Pod startup latency, as Kubernetes' SLO defines it (create to Running and
 * Ready, images already on the node; the SLO is p99 <= 5 s): a Strake cluster
 * of M masters on loopback, N real node agents (`strake node` processes), and P
 * pods created through the API; once with the built-in runtime and once with
 * containerd 1.6 (one private containerd per node) in the same run, so the two
 * runtimes are compared side by side on the same machine and control plane.
 *
 *   node dist/bench/pod-startup.js [--pods 100] [--rate 5] [--nodes 2] [--masters 3]
 *        [--in-flight 10] [--runtimes builtin,containerd] [--base-port 25700]
 *
 * Bounded: every wait has a deadline (PHASE_DEADLINE_MS), creates are capped at
 * --in-flight concurrent requests, and every process started (masters, nodes,
 * containerds) is stopped by PID, with the nodes' pods removed first.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify as toYaml } from 'yaml';
import { ProcessCluster, ReadyProbe } from '../chaos/cluster/process-cluster.js';
import { Resources } from '../control-plane/client/api-client.js';
import { HttpApiClient } from '../control-plane/client/http-client.js';
import { Informer } from '../control-plane/client/informer.js';
import { BUSYBOX_IMAGE_REF, buildBusyboxImage, findBusybox } from '../node/runtime/images/busybox-image.js';
import { ImageStore } from '../node/runtime/images/image-store.js';
import type { Node, Pod } from '../proto/k8s/core-v1.js';
import { startContainerd, type Containerd } from './local-containerd.js';
import { percentile, until } from './measure.js';
import { STRAKE_BIN } from '../cli/up-nodes.js';

/** No wait may run longer than this. */
const PHASE_DEADLINE_MS = 300_000;
/** A wait of one phase of the run. */
const untilPhase = (what: string, check: () => boolean | Promise<boolean>): Promise<void> => until(what, check, PHASE_DEADLINE_MS);
const TOKEN = 'bench-pod-startup-token';
const NAMESPACE = 'default';
const NODE_PORT_OFFSET = 100;
/** Kubernetes' pod startup SLO: p99 of create -> Running+Ready, stateless pods, images present. */
const SLO_P99_MS = 5_000;
const RUNTIMES = ['builtin', 'containerd'] as const;
/** Pods named in the per-runtime line of the slowest starts. */
const SLOWEST_SHOWN = 5;
type RuntimeName = (typeof RUNTIMES)[number];

interface Options {
  pods: number;
  /** Pods created per second (clusterloader2 measures startup latency at a steady rate, not a burst). */
  rate: number;
  nodes: number;
  masters: number;
  inFlight: number;
  basePort: number;
  runtimes: RuntimeName[];
}

function parseArgs(argv: readonly string[]): Options {
  const o: Options = { pods: 100, rate: 5, nodes: 2, masters: 3, inFlight: 10, basePort: 25_700, runtimes: [...RUNTIMES] };
  const ints: Record<string, 'pods' | 'rate' | 'nodes' | 'masters' | 'inFlight' | 'basePort'> = { '--pods': 'pods', '--rate': 'rate', '--nodes': 'nodes', '--masters': 'masters', '--in-flight': 'inFlight', '--base-port': 'basePort' };
  for (let i = 0; i < argv.length; i += 2) {
    const flag = argv[i] ?? '';
    const value = argv[i + 1] ?? '';
    if (flag === '--runtimes') {
      const names = value.split(',');
      for (const n of names) if (!(RUNTIMES as readonly string[]).includes(n)) throw new Error(`--runtimes: unknown runtime "${n}" (expected ${RUNTIMES.join(', ')})`);
      o.runtimes = names as RuntimeName[];
      continue;
    }
    const key = ints[flag];
    const n = Number(value);
    if (key === undefined || !Number.isSafeInteger(n) || n < 1) throw new Error(`bad flag ${flag} ${value}`);
    o[key] = n;
  }
  return o;
}

function podOf(i: number): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: `startup-${i}`, namespace: NAMESPACE, labels: { app: 'pod-startup' } },
    spec: {
      terminationGracePeriodSeconds: 1,
      containers: [{ name: 'main', image: BUSYBOX_IMAGE_REF, imagePullPolicy: 'IfNotPresent', command: ['sleep', '3600'] }],
    },
  } as Pod;
}

const isReady = (p: Pod): boolean => (p.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');

interface BenchEnv {
  readonly dir: string;
  readonly kubeconfig: string;
  readonly imageArchive: string;
  readonly apiUrls: readonly string[];
}

interface RunningNode {
  readonly name: string;
  readonly child: ChildProcess;
  readonly containerd: Containerd | undefined;
}

async function startNodes(runtime: RuntimeName, o: Options, env: BenchEnv): Promise<RunningNode[]> {
  const { dir, kubeconfig, imageArchive, apiUrls } = env;
  const nodes: RunningNode[] = [];
  for (let j = 0; j < o.nodes; j++) {
    const name = `${runtime}-n${j}`;
    const rootDir = join(dir, name);
    mkdirSync(rootDir, { recursive: true });
    let containerd: Containerd | undefined;
    const extra: string[] = [];
    if (runtime === 'containerd') {
      mkdirSync(join(rootDir, 'containerd'), { recursive: true });
      // Pod addresses exist only on a bridge without a host address: nothing here connects to them.
      containerd = await startContainerd({ dir: join(rootDir, 'containerd'), cniBridge: { bridge: `strake-ctd${j}`, podCidr: `10.89.${j}.0/24` } });
      await containerd.importBusyboxImage();
      extra.push('--runtime-endpoint', containerd.endpoint);
    } else {
      await (await ImageStore.open(join(rootDir, 'images'))).importTar(imageArchive);
    }
    const log = openSync(join(rootDir, 'node.log'), 'a');
    const args = [STRAKE_BIN, 'node', '--name', name, '--kubeconfig', kubeconfig, '--root-dir', rootDir, '--port', String(o.basePort + NODE_PORT_OFFSET + j), '--stop-pods-on-exit', '--server', apiUrls.join(','), ...extra];
    const child = spawn(process.execPath, args, { stdio: ['ignore', log, log] });
    nodes.push({ name, child, containerd });
  }
  return nodes;
}

async function stopNodes(nodes: readonly RunningNode[]): Promise<void> {
  await Promise.all(
    nodes.map(async (n) => {
      if (n.child.exitCode === null && n.child.signalCode === null) {
        const exited = new Promise<void>((r) => n.child.once('exit', () => r()));
        n.child.kill('SIGTERM');
        const timer = setTimeout(() => n.child.kill('SIGKILL'), 60_000);
        await exited;
        clearTimeout(timer);
      }
      await n.containerd?.stop();
    }),
  );
}

interface RunResult {
  readonly runtime: RuntimeName;
  readonly latenciesMs: number[];
  readonly totalMs: number;
}

async function measure(runtime: RuntimeName, o: Options, client: HttpApiClient, env: BenchEnv): Promise<RunResult> {
  process.stderr.write(`[${runtime}] starting ${o.nodes} nodes...\n`);
  const nodes = await startNodes(runtime, o, env);
  const names = nodes.map((n) => n.name);
  const informer = new Informer<Pod>(client, Resources.Pods, { namespace: NAMESPACE, labelSelector: 'app=pod-startup' });
  try {
    await untilPhase(`${runtime} nodes Ready`, async () => {
      const list = await client.list<Node>(Resources.Nodes, undefined).catch(() => ({ items: [] as Node[] }));
      return names.every((n) => list.items.some((x) => x.metadata.name === n && (x.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True')));
    });
    const createdAt = new Map<string, number>();
    const latencies = new Map<string, number>();
    const see = (p: Pod): void => {
      const name = p.metadata.name ?? '';
      const t0 = createdAt.get(name);
      if (t0 !== undefined && !latencies.has(name) && isReady(p)) latencies.set(name, performance.now() - t0);
    };
    informer.addHandlers({ onAdd: see, onUpdate: (_old, p) => see(p) });
    informer.start();
    await informer.synced;
    await warmUp(client, runtime);
    process.stderr.write(`[${runtime}] creating ${o.pods} pods at ${o.rate}/s, at most ${o.inFlight} in flight...\n`);
    const started = performance.now();
    let next = 0;
    const creator = async (): Promise<void> => {
      while (next < o.pods) {
        const i = next++;
        const due = started + (i * 1000) / o.rate;
        if (due > performance.now()) await new Promise((r) => setTimeout(r, due - performance.now()));
        const pod = podOf(i);
        createdAt.set(pod.metadata.name!, performance.now());
        await client.create(Resources.Pods, NAMESPACE, pod);
      }
    };
    await Promise.all(Array.from({ length: o.inFlight }, creator));
    await untilPhase(`${runtime}: ${o.pods} pods Ready`, () => latencies.size >= o.pods);
    const totalMs = performance.now() - started;
    process.stderr.write(`[${runtime}] all Ready after ${(totalMs / 1000).toFixed(1)} s; deleting...\n`);
    await Promise.all([...createdAt.keys()].map((name) => client.delete(Resources.Pods, NAMESPACE, name).catch(() => undefined)));
    await untilPhase(`${runtime}: pods deleted`, async () => (await client.list(Resources.Pods, NAMESPACE, { labelSelector: 'app=pod-startup' })).items.length === 0);
    const slowest = [...latencies.entries()].sort((a, b) => b[1] - a[1]).slice(0, SLOWEST_SHOWN);
    process.stderr.write(`[${runtime}] slowest: ${slowest.map(([n, ms]) => `${n} ${ms.toFixed(0)} ms`).join(', ')}\n`);
    return { runtime, latenciesMs: [...latencies.values()].sort((a, b) => a - b), totalMs };
  } finally {
    informer.stop();
    await stopNodes(nodes);
    for (const n of names) await client.delete(Resources.Nodes, undefined, n).catch(() => undefined);
  }
}

/**
 * One pod started and deleted before the measured ones: the scheduler's view of
 * nodes that registered a moment ago catches up (a pod it finds no Ready node for
 * waits out a back-off of a second or more), as on the established clusters the
 * SLO is measured on.
 */
async function warmUp(client: HttpApiClient, runtime: RuntimeName): Promise<void> {
  const pod = podOf(0);
  pod.metadata.name = `warm-up-${runtime}`;
  pod.metadata.labels = { app: 'pod-startup-warm-up' };
  await client.create(Resources.Pods, NAMESPACE, pod);
  await untilPhase(`${runtime}: the warm-up pod Ready`, async () => isReady(await client.get<Pod>(Resources.Pods, NAMESPACE, pod.metadata.name!)));
  await client.delete(Resources.Pods, NAMESPACE, pod.metadata.name!);
  await untilPhase(`${runtime}: the warm-up pod deleted`, async () => !(await client.get(Resources.Pods, NAMESPACE, pod.metadata.name!).then(() => true, () => false)));
}

function report(o: Options, results: readonly RunResult[]): void {
  const row = (cells: readonly string[]): string => `| ${cells.join(' | ')} |`;
  const ms = (v: number): string => `${v.toFixed(0)} ms`;
  const lines = [
    `pod startup latency: ${o.pods} pods created at ${o.rate}/s on ${o.nodes} nodes, ${o.masters} masters (create -> Running+Ready, image present)`,
    row(['runtime', 'p50', 'p90', 'p99', 'max', 'all Ready after', `SLO p99 <= ${SLO_P99_MS / 1000} s`]),
    row(['---', '---', '---', '---', '---', '---', '---']),
    ...results.map((r) =>
      row([
        r.runtime === 'builtin' ? 'Strake built-in' : 'containerd 1.6',
        ms(percentile(r.latenciesMs, 50)),
        ms(percentile(r.latenciesMs, 90)),
        ms(percentile(r.latenciesMs, 99)),
        ms(r.latenciesMs[r.latenciesMs.length - 1] ?? NaN),
        `${(r.totalMs / 1000).toFixed(1)} s`,
        percentile(r.latenciesMs, 99) <= SLO_P99_MS ? 'met' : 'missed',
      ]),
    ),
  ];
  process.stdout.write(lines.join('\n') + '\n');
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  const busybox = findBusybox();
  if (busybox === undefined) throw new Error('a static busybox is needed for the test image (Debian: apt-get install busybox-static)');
  const dir = mkdtempSync(join(tmpdir(), 'strake-bench-pod-startup-'));
  const imageArchive = join(dir, 'busybox.tar');
  buildBusyboxImage({ busyboxPath: busybox, ref: BUSYBOX_IMAGE_REF, outFile: imageArchive, format: 'oci-archive' });
  writeFileSync(join(dir, 'tokens.csv'), `${TOKEN},admin,admin,"system:masters"\n`);
  const cluster = await ProcessCluster.start({ basePort: o.basePort, size: o.masters, dir: join(dir, 'cluster'), api: { tokenFile: join(dir, 'tokens.csv') } });
  const kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(kubeconfig, kubeconfigYaml(cluster.members.map((m) => m.apiUrl)));
  const client = new HttpApiClient({ servers: cluster.members.map((m) => m.apiUrl), token: TOKEN, requestTimeoutMs: 30_000 });
  const results: RunResult[] = [];
  try {
    await cluster.waitReady({ probe: ReadyProbe.Put, timeoutMs: 60_000 });
    await until('API ready', async () => (await client.list(Resources.Namespaces, undefined).catch(() => ({ items: [] }))).items.length > 0, 60_000);
    for (const runtime of o.runtimes) results.push(await measure(runtime, o, client, { dir, kubeconfig, imageArchive, apiUrls: cluster.members.map((m) => m.apiUrl) }));
    report(o, results);
  } finally {
    await client.close();
    await cluster.stopAll();
    cluster.removeData();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** One cluster entry per master (the agent fails over between them), the bench's token. */
function kubeconfigYaml(apiUrls: readonly string[]): string {
  return toYaml({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: apiUrls.map((server, i) => ({ name: `m${i}`, cluster: { server } })),
    users: [{ name: 'admin', user: { token: TOKEN } }],
    contexts: apiUrls.map((_, i) => ({ name: `m${i}`, context: { cluster: `m${i}`, user: 'admin' } })),
    'current-context': 'm0',
  });
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
