/**
 * The two resource scores of Kubernetes' default profile, over cpu and memory
 * with weight 1 each:
 *  - LeastAllocated (NodeResourcesFit's default scoring strategy): prefer the
 *    node with the most room left after placing the pod — spreads load;
 *  - BalancedAllocation: prefer the node where cpu and memory would be used in
 *    the same proportion — avoids nodes with all cpu used and memory idle.
 */
import { type CycleState, MAX_NODE_SCORE, type ScorePlugin } from '../framework.js';
import type { NodeInfo } from '../node-info.js';
import type { PodInfo } from '../pod-info.js';
import { ResourceName } from '../resources.js';

const SCORED_RESOURCES: readonly string[] = [ResourceName.Cpu, ResourceName.Memory];

export class LeastAllocatedPlugin implements ScorePlugin {
  static readonly NAME = 'NodeResourcesLeastAllocated';
  readonly name = LeastAllocatedPlugin.NAME;
  readonly weight = 1;

  /** Mean over cpu and memory of the free share after placing the pod; request-less containers count the scoring defaults. */
  score(_state: CycleState, pod: PodInfo, nodeInfo: NodeInfo): number {
    let total = 0;
    for (const name of SCORED_RESOURCES) {
      const allocatable = nodeInfo.allocatable[name] ?? 0;
      const requested = (nodeInfo.nonZeroRequested[name] ?? 0) + (pod.nonZeroRequests[name] ?? 0);
      if (allocatable > 0 && requested <= allocatable) total += ((allocatable - requested) * MAX_NODE_SCORE) / allocatable;
    }
    return total / SCORED_RESOURCES.length;
  }
}

export class BalancedAllocationPlugin implements ScorePlugin {
  static readonly NAME = 'NodeResourcesBalancedAllocation';
  readonly name = BalancedAllocationPlugin.NAME;
  readonly weight = 1;

  /** (1 − standard deviation of the used fractions) × 100, over the resources the node has; actual requests, as Kubernetes. */
  score(_state: CycleState, pod: PodInfo, nodeInfo: NodeInfo): number {
    const fractions: number[] = [];
    for (const name of SCORED_RESOURCES) {
      const allocatable = nodeInfo.allocatable[name] ?? 0;
      if (allocatable <= 0) continue;
      const requested = (nodeInfo.requested[name] ?? 0) + (pod.requests[name] ?? 0);
      fractions.push(Math.min(1, requested / allocatable));
    }
    if (fractions.length === 0) return 0;
    const mean = fractions.reduce((a, b) => a + b, 0) / fractions.length;
    const variance = fractions.reduce((a, f) => a + (f - mean) ** 2, 0) / fractions.length;
    return (1 - Math.sqrt(variance)) * MAX_NODE_SCORE;
  }
}
