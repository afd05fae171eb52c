/**
 * Scheduler throughput, the way Kubernetes' scheduler_perf / kubemark measure
 * it: N hollow nodes (registered, heartbeating, reporting their pods Running)
 * and P pods created through the API of a Strake cluster of M masters on
 * loopback; prints pods scheduled per second (first create to last binding)
 * and the API's latency during the run (p50/p99 of the pod creates, and of a
 * probe GET every 100 ms). Reference: Kubernetes expects about 400-700 pods/s
 * for 10,000 pods on 1,000 nodes (clusterloader2 400; scheduler_perf 680 on
 * 5,000 nodes).
 *
 *   node dist/bench/scheduler.js [--nodes 1000] [--pods 10000] [--masters 3]
 *        [--in-flight 32] [--base-port 25500]
 *
 * Bounded: every phase has a deadline (RUN_DEADLINE_MS), creates are capped at
 * --in-flight concurrent requests, and every process started is stopped.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Pod } from '../proto/k8s/core-v1.js';
import type { KubeObject } from '../proto/k8s/meta.js';
import { Resources } from '../control-plane/client/api-client.js';
import { HttpApiClient } from '../control-plane/client/http-client.js';
import { Informer } from '../control-plane/client/informer.js';
import { ProcessCluster, ReadyProbe } from '../chaos/cluster/process-cluster.js';
import { HollowNodes } from '../node/hollow/index.js';
import { percentile, until } from './measure.js';

/** No phase may run longer than this. */
const RUN_DEADLINE_MS = 600_000;
const PROBE_INTERVAL_MS = 100;
const TOKEN = 'bench-scheduler-token';
const NAMESPACE = 'default';

interface Options {
  nodes: number;
  pods: number;
  masters: number;
  inFlight: number;
  basePort: number;
}

function parseArgs(argv: readonly string[]): Options {
  const o: Options = { nodes: 1000, pods: 10_000, masters: 3, inFlight: 32, basePort: 25_500 };
  const ints: Record<string, keyof Options> = { '--nodes': 'nodes', '--pods': 'pods', '--masters': 'masters', '--in-flight': 'inFlight', '--base-port': 'basePort' };
  for (let i = 0; i < argv.length; i += 2) {
    const key = ints[argv[i] ?? ''];
    const value = Number(argv[i + 1]);
    if (key === undefined || !Number.isSafeInteger(value) || value < 1) throw new Error(`bad flag ${argv[i]} ${argv[i + 1] ?? ''}`);
    o[key] = value;
  }
  return o;
}

function podOf(i: number): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: `bench-${i}`, labels: { app: 'bench' } },
    spec: { containers: [{ name: 'c', image: 'busybox', resources: { requests: { cpu: '10m', memory: '16Mi' } } }] },
  };
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  const dir = mkdtempSync(join(tmpdir(), 'strake-bench-scheduler-'));
  writeFileSync(join(dir, 'tokens.csv'), `${TOKEN},admin,admin,"system:masters"\n`);
  const cluster = await ProcessCluster.start({ basePort: o.basePort, size: o.masters, dir: join(dir, 'cluster'), api: { tokenFile: join(dir, 'tokens.csv') } });
  const client = new HttpApiClient({ servers: cluster.members.map((m) => m.apiUrl), token: TOKEN, requestTimeoutMs: 30_000 });
  const hollow = new HollowNodes({
    name: 'hollow',
    count: o.nodes,
    api: client,
    podInformer: ({ fieldSelector }) => new Informer<Pod>(client, Resources.Pods, { fieldSelector }),
    log: () => undefined,
  });
  try {
    await cluster.waitReady({ probe: ReadyProbe.Put, timeoutMs: 60_000 });
    await until('API ready', async () => (await client.list(Resources.Namespaces, undefined).catch(() => ({ items: [] }))).items.length > 0, 60_000);
    process.stderr.write(`registering ${o.nodes} hollow nodes...\n`);
    hollow.start();
    await hollow.registered;
    await run(o, client);
  } finally {
    await hollow.stop();
    await client.close();
    await cluster.stopAll();
    cluster.removeData();
  }
}

async function run(o: Options, client: HttpApiClient): Promise<void> {
  let bound = 0;
  const informer = new Informer<Pod>(client, Resources.Pods, { namespace: NAMESPACE, labelSelector: 'app=bench' });
  const boundSet = new Set<string>();
  const see = (p: Pod): void => {
    if ((p.spec as { nodeName?: string } | undefined)?.nodeName && !boundSet.has(p.metadata.name ?? '')) {
      boundSet.add(p.metadata.name ?? '');
      bound++;
    }
  };
  informer.addHandlers({ onAdd: see, onUpdate: (_o, p) => see(p) });
  informer.start();
  await informer.synced;
  const probeLatencies: number[] = [];
  const probe = setInterval(() => {
    const t = performance.now();
    void client.get(Resources.Namespaces, undefined, 'default').then(() => probeLatencies.push(performance.now() - t), () => undefined);
  }, PROBE_INTERVAL_MS);
  const createLatencies: number[] = [];
  let next = 0;
  const started = performance.now();
  const creator = async (): Promise<void> => {
    while (next < o.pods) {
      const i = next++;
      const t = performance.now();
      await client.create(Resources.Pods, NAMESPACE, podOf(i));
      createLatencies.push(performance.now() - t);
    }
  };
  let lastReport = Date.now();
  const reporter = setInterval(() => {
    if (Date.now() - lastReport < 5_000) return;
    lastReport = Date.now();
    process.stderr.write(`  created ${createLatencies.length}/${o.pods}, bound ${bound}\n`);
  }, 1_000);
  try {
    await Promise.all(Array.from({ length: o.inFlight }, creator));
    const createdMs = performance.now() - started;
    await until('all pods bound', () => bound >= o.pods, RUN_DEADLINE_MS);
    const totalMs = performance.now() - started;
    report(o, { createdMs, totalMs, createLatencies, probeLatencies });
  } finally {
    clearInterval(probe);
    clearInterval(reporter);
    informer.stop();
  }
}

function report(o: Options, r: { createdMs: number; totalMs: number; createLatencies: number[]; probeLatencies: number[] }): void {
  const c = [...r.createLatencies].sort((a, b) => a - b);
  const g = [...r.probeLatencies].sort((a, b) => a - b);
  const f = (n: number) => n.toFixed(1);
  process.stdout.write(
    [
      `scheduler: ${o.pods} pods on ${o.nodes} hollow nodes, ${o.masters} masters, ${o.inFlight} creates in flight`,
      `  scheduled:        ${f(o.pods / (r.totalMs / 1000))} pods/s (all bound ${f(r.totalMs / 1000)} s after the first create; creates took ${f(r.createdMs / 1000)} s)`,
      `  reference:        Kubernetes expects 400-700 pods/s at 10,000 pods / 1,000 nodes`,
      `  pod create:       p50 ${f(percentile(c, 50))} ms, p99 ${f(percentile(c, 99))} ms (${c.length} requests)`,
      `  probe GET:        p50 ${f(percentile(g, 50))} ms, p99 ${f(percentile(g, 99))} ms (${g.length} requests; SLO p99 <= 1000 ms)`,
      '',
    ].join('\n'),
  );
}

await main();
