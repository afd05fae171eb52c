/** Nodes, pods and waiting helpers shared by the scheduler tests. */
import type { Affinity, Container, Node, Pod, Taint, Toleration } from '../../../proto/k8s/core-v1.js';
import { Resources } from '../../../control-plane/client/api-client.js';
import type { FakeApiClient } from '../../../control-plane/client/fake-client.js';
import { CycleState, type FilterPlugin, type Status } from '../../../control-plane/scheduler/framework.js';
import { NodeInfo } from '../../../control-plane/scheduler/node-info.js';
import { PodInfo } from '../../../control-plane/scheduler/pod-info.js';

export interface NodeSpecLite {
  readonly name: string;
  readonly cpu?: string;
  readonly memory?: string;
  readonly pods?: string;
  readonly labels?: Record<string, string>;
  readonly taints?: Taint[];
  readonly unschedulable?: boolean;
  readonly ready?: boolean;
}

export function makeNode(n: NodeSpecLite): Node {
  const allocatable = { cpu: n.cpu ?? '4', memory: n.memory ?? '8Gi', pods: n.pods ?? '110' };
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: n.name, labels: { 'kubernetes.io/hostname': n.name, ...n.labels } },
    spec: { ...(n.taints === undefined ? {} : { taints: n.taints }), ...(n.unschedulable === undefined ? {} : { unschedulable: n.unschedulable }) },
    status: { capacity: allocatable, allocatable, conditions: [{ type: 'Ready', status: n.ready === false ? 'False' : 'True' }] },
  };
}

export interface PodSpecLite {
  readonly name: string;
  readonly namespace?: string;
  readonly cpu?: string;
  readonly memory?: string;
  readonly labels?: Record<string, string>;
  readonly nodeSelector?: Record<string, string>;
  readonly affinity?: Affinity;
  readonly tolerations?: Toleration[];
  readonly priority?: number;
  readonly nodeName?: string;
  readonly schedulerName?: string;
  readonly creationTimestamp?: string;
  readonly containers?: Container[];
  readonly initContainers?: Container[];
  readonly extra?: Record<string, unknown>;
}

export function makePod(p: PodSpecLite): Pod {
  const requests: Record<string, string> = {};
  if (p.cpu !== undefined) requests['cpu'] = p.cpu;
  if (p.memory !== undefined) requests['memory'] = p.memory;
  const containers = p.containers ?? [{ name: 'c', image: 'img', resources: { requests } }];
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: p.name,
      namespace: p.namespace ?? 'default',
      ...(p.labels === undefined ? {} : { labels: p.labels }),
      ...(p.creationTimestamp === undefined ? {} : { creationTimestamp: p.creationTimestamp }),
    },
    spec: {
      containers,
      ...(p.initContainers === undefined ? {} : { initContainers: p.initContainers }),
      ...(p.nodeSelector === undefined ? {} : { nodeSelector: p.nodeSelector }),
      ...(p.affinity === undefined ? {} : { affinity: p.affinity }),
      ...(p.tolerations === undefined ? {} : { tolerations: p.tolerations }),
      ...(p.priority === undefined ? {} : { priority: p.priority }),
      ...(p.nodeName === undefined ? {} : { nodeName: p.nodeName }),
      ...(p.schedulerName === undefined ? {} : { schedulerName: p.schedulerName }),
      ...p.extra,
    },
    status: { phase: 'Pending' },
  };
}

/** A NodeInfo with pods already on it (their nodeName set to the node). */
export function nodeInfo(n: NodeSpecLite, pods: Pod[] = []): NodeInfo {
  return NodeInfo.of(makeNode(n), pods.map((p) => ({ ...p, spec: { ...p.spec, nodeName: n.name } })));
}

export function podInfo(p: PodSpecLite): PodInfo {
  return new PodInfo(makePod(p));
}

/** Runs a filter plugin alone (no preFilter). */
export function filterOnly(plugin: FilterPlugin, pod: PodInfo, node: NodeInfo): Status {
  return plugin.filter(new CycleState(), pod, node);
}

/** Lets promise chains and informer callbacks run: one macrotask turn. */
export function turn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Waits (in real time, many macrotask turns) until `check` stops throwing; rethrows its last error after `timeoutMs`. */
export async function eventually(check: () => void, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      check();
      return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await turn();
    }
  }
}

/** Pods as the fake API stores them now. */
export function storedPods(api: FakeApiClient): Pod[] {
  return api.all(Resources.Pods) as Pod[];
}

export function nodeOf(api: FakeApiClient, namespace: string, name: string): string | undefined {
  return storedPods(api).find((p) => p.metadata.namespace === namespace && p.metadata.name === name)?.spec.nodeName;
}

/** A seeded PRNG (mulberry32), so random tie-breaking replays. */
export function seededRng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
