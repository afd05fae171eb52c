/**
 * NodeResourcesFit: the pod's requests (resources.ts: containers summed, init
 * containers at their peak, plus overhead) must fit in what the node's
 * allocatable leaves after the pods already on it — assumed ones included —
 * and the node must have room for one more pod. Every resource the pod
 * requests is checked: cpu, memory, ephemeral-storage, hugepages, extended.
 */
import { type CycleState, type FilterPlugin, type Status, SUCCESS, unschedulable } from '../framework.js';
import type { NodeInfo } from '../node-info.js';
import type { PodInfo } from '../pod-info.js';
import { ResourceName } from '../resources.js';

/** Kubernetes reports these first, in this order; other resources follow by name. */
const REPORT_ORDER: readonly string[] = [ResourceName.Cpu, ResourceName.Memory, ResourceName.EphemeralStorage];

function reportRank(name: string): number {
  const i = REPORT_ORDER.indexOf(name);
  return i < 0 ? REPORT_ORDER.length : i;
}

/** The resources the pod requests more of than the node has free, in Kubernetes' report order. */
export function insufficientResources(pod: PodInfo, nodeInfo: NodeInfo): string[] {
  const short: string[] = [];
  for (const [name, wanted] of Object.entries(pod.requests)) {
    if (wanted <= 0) continue;
    const free = (nodeInfo.allocatable[name] ?? 0) - (nodeInfo.requested[name] ?? 0);
    if (wanted > free) short.push(name);
  }
  return short.sort((a, b) => reportRank(a) - reportRank(b) || (a < b ? -1 : a > b ? 1 : 0));
}

export class NodeResourcesFitPlugin implements FilterPlugin {
  static readonly NAME = 'NodeResourcesFit';
  readonly name = NodeResourcesFitPlugin.NAME;

  filter(_state: CycleState, pod: PodInfo, nodeInfo: NodeInfo): Status {
    const reasons: string[] = [];
    if (nodeInfo.podCount + 1 > (nodeInfo.allocatable[ResourceName.Pods] ?? 0)) reasons.push('Too many pods');
    for (const name of insufficientResources(pod, nodeInfo)) reasons.push(`Insufficient ${name}`);
    return reasons.length === 0 ? SUCCESS : unschedulable(...reasons);
  }
}
