/**
 * NodeAffinity. Filter: spec.nodeSelector and the required node affinity
 * (node-selector.ts). Score: the sum of the weights of the preferred terms the
 * node matches, scaled so the best node gets 100.
 */
import { type CycleState, type FilterPlugin, type NodeScore, type ScorePlugin, type Status, SUCCESS, defaultNormalizeScores, unresolvable } from '../framework.js';
import type { NodeInfo } from '../node-info.js';
import { nodeSelectorTermMatches, podMatchesNodeSelectorAndAffinity } from '../node-selector.js';
import type { PodInfo } from '../pod-info.js';

export const NODE_AFFINITY_REASON = "node(s) didn't match Pod's node affinity/selector";

export class NodeAffinityPlugin implements FilterPlugin, ScorePlugin {
  static readonly NAME = 'NodeAffinity';
  readonly name = NodeAffinityPlugin.NAME;
  /** Kubernetes' default profile weight. */
  readonly weight = 2;

  filter(_state: CycleState, pod: PodInfo, nodeInfo: NodeInfo): Status {
    const node = nodeInfo.node;
    return node !== undefined && podMatchesNodeSelectorAndAffinity(pod.pod, node) ? SUCCESS : unresolvable(NODE_AFFINITY_REASON);
  }

  score(_state: CycleState, pod: PodInfo, nodeInfo: NodeInfo): number {
    const node = nodeInfo.node;
    if (node === undefined) return 0;
    let total = 0;
    for (const term of pod.pod.spec.affinity?.nodeAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? []) {
      if (term.weight !== 0 && nodeSelectorTermMatches(term.preference, node)) total += term.weight;
    }
    return total;
  }

  normalizeScores(_state: CycleState, _pod: PodInfo, scores: NodeScore[]): void {
    defaultNormalizeScores(scores, false);
  }
}
