/**
 * InterPodAffinity, after Kubernetes'. Filter, for a candidate node N:
 *  - affinity: for each required affinity term, N's domain of the term's
 *    topologyKey must hold a pod matching all the terms — unless no pod
 *    anywhere matches them and the pod matches its own terms (the first pod of
 *    a group that wants to be together);
 *  - anti-affinity: no pod matching one of its required anti-affinity terms in
 *    N's domain of that term's topologyKey;
 *  - symmetry: no pod already placed whose required anti-affinity term matches
 *    this pod in N's domain of that term's topologyKey.
 * Score: preferred terms, both this pod's towards existing pods and existing
 * pods' (required affinity at weight 1, preferred at their weight) towards this
 * pod, summed per domain and scaled to 0..100 between the worst and best node.
 */
import {
  type CycleState,
  type FilterPlugin,
  type NodeScore,
  type PreFilterPlugin,
  type PreScorePlugin,
  type ScorePlugin,
  type Status,
  SUCCESS,
  errorStatus,
  minMaxNormalizeScores,
  unresolvable,
  unschedulable,
} from '../framework.js';
import type { NodeInfo } from '../node-info.js';
import { type AffinityTerm, type PodInfo, termMatches } from '../pod-info.js';
import { TopologyCounts } from './topology-counts.js';

export const AFFINITY_REASON = "node(s) didn't match pod affinity rules";
export const ANTI_AFFINITY_REASON = "node(s) didn't match pod anti-affinity rules";
export const EXISTING_ANTI_AFFINITY_REASON = "node(s) didn't satisfy existing pods anti-affinity rules";

/** Weight of an existing pod's *required* affinity term when scoring the pods it selects (Kubernetes' hardPodAffinityWeight default). */
const HARD_POD_AFFINITY_WEIGHT = 1;

interface FilterState {
  /** Domains where a placed pod's required anti-affinity rejects this pod. */
  readonly existingAntiAffinity: TopologyCounts;
  /** Domains holding pods this pod's required anti-affinity rejects, per term key. */
  readonly antiAffinity: TopologyCounts;
  /** Domains holding pods that match all of this pod's required affinity terms. */
  readonly affinity: TopologyCounts;
  readonly matchesOwnAffinity: boolean;
}

function allMatch(terms: readonly AffinityTerm[], pod: PodInfo): boolean {
  return terms.every((t) => termMatches(t, pod.pod));
}

function countIncoming(pod: PodInfo, node: NodeInfo, state: FilterState): void {
  for (const existing of node.pods()) {
    if (pod.requiredAffinity.length > 0 && allMatch(pod.requiredAffinity, existing)) {
      for (const t of pod.requiredAffinity) state.affinity.add(t.topologyKey, node.labels, 1);
    }
    for (const t of pod.requiredAntiAffinity) if (termMatches(t, existing.pod)) state.antiAffinity.add(t.topologyKey, node.labels, 1);
  }
}

export class InterPodAffinityPlugin implements PreFilterPlugin, FilterPlugin, PreScorePlugin, ScorePlugin {
  static readonly NAME = 'InterPodAffinity';
  readonly name = InterPodAffinityPlugin.NAME;
  /** Kubernetes' default profile weight. */
  readonly weight = 2;
  private readonly filterKey = `${InterPodAffinityPlugin.NAME}/filter`;
  private readonly scoreKey = `${InterPodAffinityPlugin.NAME}/score`;

  preFilter(state: CycleState, pod: PodInfo, nodes: readonly NodeInfo[]): Status {
    const s: FilterState = {
      existingAntiAffinity: new TopologyCounts(),
      antiAffinity: new TopologyCounts(),
      affinity: new TopologyCounts(),
      matchesOwnAffinity: allMatch(pod.requiredAffinity, pod),
    };
    const incoming = pod.requiredAffinity.length + pod.requiredAntiAffinity.length > 0;
    for (const node of nodes) {
      for (const existing of node.podsWithAffinity()) {
        for (const t of existing.requiredAntiAffinity) if (termMatches(t, pod.pod)) s.existingAntiAffinity.add(t.topologyKey, node.labels, 1);
      }
      if (incoming) countIncoming(pod, node, s);
    }
    state.write(this.filterKey, s);
    return SUCCESS;
  }

  filter(state: CycleState, pod: PodInfo, nodeInfo: NodeInfo): Status {
    const s = state.read<FilterState>(this.filterKey);
    if (s === undefined) return errorStatus(`${this.name}: filter ran without preFilter`);
    const labels = nodeInfo.labels;
    if (!this.satisfiesAffinity(s, pod, labels)) return unresolvable(AFFINITY_REASON);
    for (const t of pod.requiredAntiAffinity) if ((s.antiAffinity.at(t.topologyKey, labels) ?? 0) > 0) return unschedulable(ANTI_AFFINITY_REASON);
    if (s.existingAntiAffinity.anyPositiveAt(labels)) return unschedulable(EXISTING_ANTI_AFFINITY_REASON);
    return SUCCESS;
  }

  private satisfiesAffinity(s: FilterState, pod: PodInfo, labels: Readonly<Record<string, string>>): boolean {
    let podsExist = true;
    for (const t of pod.requiredAffinity) {
      const count = s.affinity.at(t.topologyKey, labels);
      if (count === undefined) return false; // the node must carry every term's topology label
      if (count <= 0) podsExist = false;
    }
    return podsExist || (s.affinity.isEmpty && s.matchesOwnAffinity);
  }

  preScore(state: CycleState, pod: PodInfo, _feasible: readonly NodeInfo[], all: readonly NodeInfo[]): void {
    const scores = new TopologyCounts();
    const ownPreferred = pod.preferredAffinity.length + pod.preferredAntiAffinity.length > 0;
    for (const node of all) {
      for (const existing of ownPreferred ? node.pods() : node.podsWithAffinity()) addPairScores(scores, pod, existing, node.labels);
    }
    state.write(this.scoreKey, scores);
  }

  score(state: CycleState, _pod: PodInfo, nodeInfo: NodeInfo): number {
    return state.read<TopologyCounts>(this.scoreKey)?.sumAt(nodeInfo.labels) ?? 0;
  }

  normalizeScores(_state: CycleState, _pod: PodInfo, scores: NodeScore[]): void {
    minMaxNormalizeScores(scores);
  }
}

/** What one existing pod adds to the domains around its node, for and against the incoming pod. */
function addPairScores(scores: TopologyCounts, pod: PodInfo, existing: PodInfo, labels: Readonly<Record<string, string>>): void {
  for (const t of pod.preferredAffinity) if (termMatches(t, existing.pod)) scores.add(t.topologyKey, labels, t.weight);
  for (const t of pod.preferredAntiAffinity) if (termMatches(t, existing.pod)) scores.add(t.topologyKey, labels, -t.weight);
  for (const t of existing.requiredAffinity) if (termMatches(t, pod.pod)) scores.add(t.topologyKey, labels, HARD_POD_AFFINITY_WEIGHT);
  for (const t of existing.preferredAffinity) if (termMatches(t, pod.pod)) scores.add(t.topologyKey, labels, t.weight);
  for (const t of existing.preferredAntiAffinity) if (termMatches(t, pod.pod)) scores.add(t.topologyKey, labels, -t.weight);
}
