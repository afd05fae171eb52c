/**
 * TaintToleration. Filter: a node's NoSchedule and NoExecute taints must all
 * be tolerated. Score: the fewer untolerated PreferNoSchedule taints, the
 * better. Kubernetes' matching rules (v1.Toleration.ToleratesTaint).
 * The node lifecycle's not-ready / unreachable taints are handled here too.
 */
import type { Taint, Toleration } from '../../../proto/k8s/core-v1.js';
import { TaintEffect } from '../../../proto/k8s/core-v1.js';
import { type CycleState, type FilterPlugin, type NodeScore, type ScorePlugin, type Status, SUCCESS, defaultNormalizeScores, unresolvable } from '../framework.js';
import type { NodeInfo } from '../node-info.js';
import type { PodInfo } from '../pod-info.js';

/** Whether one toleration tolerates one taint: same key (or an empty key with Exists: every key), same effect (or any), and Equal values or Exists. */
export function tolerates(toleration: Toleration, taint: Taint): boolean {
  const effect = toleration.effect ?? '';
  if (effect !== '' && effect !== taint.effect) return false;
  const key = toleration.key ?? '';
  if (key !== '' && key !== taint.key) return false;
  switch (toleration.operator ?? 'Equal') {
    case 'Exists':
      return true;
    case 'Equal':
      return (toleration.value ?? '') === (taint.value ?? '');
    default:
      return false;
  }
}

export function toleratedBy(taint: Taint, tolerations: readonly Toleration[]): boolean {
  return tolerations.some((t) => tolerates(t, taint));
}

/** The first taint with one of `effects` that no toleration tolerates. */
export function findUntoleratedTaint(taints: readonly Taint[], tolerations: readonly Toleration[], effects: readonly string[]): Taint | undefined {
  return taints.find((taint) => effects.includes(taint.effect) && !toleratedBy(taint, tolerations));
}

const FILTERED_EFFECTS: readonly string[] = [TaintEffect.NoSchedule, TaintEffect.NoExecute];

export class TaintTolerationPlugin implements FilterPlugin, ScorePlugin {
  static readonly NAME = 'TaintToleration';
  readonly name = TaintTolerationPlugin.NAME;
  /** Kubernetes' default profile weight. */
  readonly weight = 3;

  filter(_state: CycleState, pod: PodInfo, nodeInfo: NodeInfo): Status {
    const taint = findUntoleratedTaint(nodeInfo.node?.spec?.taints ?? [], pod.pod.spec.tolerations ?? [], FILTERED_EFFECTS);
    if (taint === undefined) return SUCCESS;
    return unresolvable(`node(s) had untolerated taint {${taint.key}: ${taint.value ?? ''}}`);
  }

  /** Raw score: the number of PreferNoSchedule taints the pod does not tolerate (normalized so that fewer is better). */
  score(_state: CycleState, pod: PodInfo, nodeInfo: NodeInfo): number {
    const tolerations = (pod.pod.spec.tolerations ?? []).filter((t) => (t.effect ?? '') === '' || t.effect === TaintEffect.PreferNoSchedule);
    let count = 0;
    for (const taint of nodeInfo.node?.spec?.taints ?? []) {
      if (taint.effect === TaintEffect.PreferNoSchedule && !toleratedBy(taint, tolerations)) count++;
    }
    return count;
  }

  normalizeScores(_state: CycleState, _pod: PodInfo, scores: NodeScore[]): void {
    defaultNormalizeScores(scores, true);
  }
}
