/**
 * Resource amounts in the units the scheduler compares: cpu in millicores,
 * every other resource (memory, ephemeral-storage, hugepages, extended
 * resources, pods) in whole units (bytes for memory). Quantities are parsed
 * exactly (validation/quantity.ts) and rounded up as Kubernetes' MilliValue and
 * Value do; they are then held as JS numbers, exact below 2^53 (8 PiB of memory,
 * 9·10^12 cores), which no node reaches.
 */
import type { Container, Node, Pod, ResourceList } from '../../proto/k8s/core-v1.js';
import { quantityFromJson, quantityToMilli, quantityToValue } from '../validation/quantity.js';

export const ResourceName = {
  Cpu: 'cpu',
  Memory: 'memory',
  EphemeralStorage: 'ephemeral-storage',
  Pods: 'pods',
} as const;
export type ResourceName = (typeof ResourceName)[keyof typeof ResourceName];

/** Resource name → amount (cpu in millicores, the rest in units). Absent means zero. */
export type ResourceAmounts = Record<string, number>;

/**
 * What a container without a cpu or memory request counts as when *scoring*
 * (never when fitting): Kubernetes' DefaultMilliCPURequest and
 * DefaultMemoryRequest, so that many request-less pods still spread out.
 */
export const DEFAULT_CPU_REQUEST_MILLI = 100;
export const DEFAULT_MEMORY_REQUEST_BYTES = 200 * 1024 * 1024;

/** One quantity in scheduling units; an unparsable one (the API validates them, so only a hand-made object) counts as 0. */
export function amountOf(name: string, quantity: unknown): number {
  try {
    const q = quantityFromJson(quantity);
    return Number(name === ResourceName.Cpu ? quantityToMilli(q) : quantityToValue(q));
  } catch {
    return 0;
  }
}

export function amountsOf(list: ResourceList | undefined): ResourceAmounts {
  const out: ResourceAmounts = {};
  for (const [name, quantity] of Object.entries(list ?? {})) out[name] = amountOf(name, quantity);
  return out;
}

function addInto(target: ResourceAmounts, add: ResourceAmounts): void {
  for (const [name, amount] of Object.entries(add)) target[name] = (target[name] ?? 0) + amount;
}

function maxInto(target: ResourceAmounts, other: ResourceAmounts): void {
  for (const [name, amount] of Object.entries(other)) target[name] = Math.max(target[name] ?? 0, amount);
}

function containerRequests(c: Container, nonZero: boolean): ResourceAmounts {
  const requests = amountsOf(c.resources?.requests);
  if (nonZero) {
    requests[ResourceName.Cpu] ??= DEFAULT_CPU_REQUEST_MILLI;
    requests[ResourceName.Memory] ??= DEFAULT_MEMORY_REQUEST_BYTES;
  }
  return requests;
}

/**
 * A pod's effective request, Kubernetes' PodRequests: the sum over app
 * containers, raised to the largest init-container step (init containers run one
 * at a time, each alongside the restartable "sidecar" init containers started
 * before it; sidecars also run beside the app containers), plus spec.overhead.
 * `nonZero` fills missing cpu/memory requests with the scoring defaults.
 */
export function podRequests(pod: Pod, nonZero = false): ResourceAmounts {
  const total: ResourceAmounts = {};
  for (const c of pod.spec.containers ?? []) addInto(total, containerRequests(c, nonZero));
  const sidecars: ResourceAmounts = {};
  const initPeak: ResourceAmounts = {};
  for (const c of pod.spec.initContainers ?? []) {
    const own = containerRequests(c, nonZero);
    if (c.restartPolicy === 'Always') {
      addInto(total, own);
      addInto(sidecars, own);
      maxInto(initPeak, sidecars);
    } else {
      const step = { ...sidecars };
      addInto(step, own);
      maxInto(initPeak, step);
    }
  }
  maxInto(total, initPeak);
  addInto(total, amountsOf(pod.spec['overhead'] as ResourceList | undefined));
  delete total[ResourceName.Pods];
  return total;
}

/** What the node offers pods: status.allocatable, or status.capacity for a node that reports no allocatable. */
export function nodeAllocatable(node: Node): ResourceAmounts {
  return amountsOf(node.status?.allocatable ?? node.status?.capacity);
}
