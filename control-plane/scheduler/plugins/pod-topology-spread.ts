/**
 * PodTopologySpread, after Kubernetes'. For each constraint in
 * spec.topologySpreadConstraints, count the pods that match its labelSelector
 * (in the pod's namespace, not being deleted) per domain of its topologyKey,
 * over the eligible nodes: those carrying every constraint's key and, by the
 * default policies, matching the pod's node selector/affinity (taints ignored).
 *  - DoNotSchedule (filter): placing the pod on N must keep
 *    count(N's domain) + self − min over domains ≤ maxSkew, where min is 0
 *    while fewer than minDomains domains exist;
 *  - ScheduleAnyway (score): the fewer matching pods in N's domain the better.
 * Not done: matchLabelKeys, and the cluster-level default constraints.
 */
import type { LabelSelector as MetaLabelSelector } from '../../../proto/k8s/core-v1.js';
import {
  type CycleState,
  type FilterPlugin,
  MAX_NODE_SCORE,
  type NodeScore,
  type PreFilterPlugin,
  type PreScorePlugin,
  type ScorePlugin,
  type Status,
  SUCCESS,
  errorStatus,
  unresolvable,
  unschedulable,
} from '../framework.js';
import type { NodeInfo } from '../node-info.js';
import { podMatchesNodeSelectorAndAffinity } from '../node-selector.js';
import { type PodInfo, selectorOrNothing } from '../pod-info.js';
import type { LabelSelector } from '../../selectors/label-selector.js';
import { findUntoleratedTaint } from './taint-toleration.js';

export const SPREAD_REASON = "node(s) didn't match pod topology spread constraints";
export const SPREAD_MISSING_LABEL_REASON = `${SPREAD_REASON} (missing required label)`;

/** core/v1 TopologySpreadConstraint (not in the shared PodSpec type). */
export interface TopologySpreadConstraint {
  maxSkew: number;
  topologyKey: string;
  whenUnsatisfiable: 'DoNotSchedule' | 'ScheduleAnyway';
  labelSelector?: MetaLabelSelector;
  minDomains?: number;
  nodeAffinityPolicy?: 'Honor' | 'Ignore';
  nodeTaintsPolicy?: 'Honor' | 'Ignore';
}

interface Constraint {
  readonly maxSkew: number;
  readonly topologyKey: string;
  readonly selector: LabelSelector;
  readonly minDomains: number;
  readonly honorAffinity: boolean;
  readonly honorTaints: boolean;
}

/** One constraint with its matching-pod count per domain. */
interface Spread {
  readonly c: Constraint;
  readonly domains: Map<string, number>;
}

function constraintsOf(pod: PodInfo, when: TopologySpreadConstraint['whenUnsatisfiable']): Constraint[] {
  const all = (pod.pod.spec['topologySpreadConstraints'] ?? []) as TopologySpreadConstraint[];
  return all
    .filter((c) => c.whenUnsatisfiable === when)
    .map((c) => ({
      maxSkew: c.maxSkew,
      topologyKey: c.topologyKey,
      selector: selectorOrNothing(c.labelSelector),
      minDomains: c.minDomains ?? 1,
      honorAffinity: (c.nodeAffinityPolicy ?? 'Honor') === 'Honor',
      honorTaints: (c.nodeTaintsPolicy ?? 'Ignore') === 'Honor',
    }));
}

function hasAllKeys(node: NodeInfo, constraints: readonly Constraint[]): boolean {
  return constraints.every((c) => node.labels[c.topologyKey] !== undefined);
}

const TAINT_EFFECTS: readonly string[] = ['NoSchedule', 'NoExecute'];

function eligible(node: NodeInfo, pod: PodInfo, c: Constraint): boolean {
  const n = node.node;
  if (n === undefined) return false;
  if (c.honorAffinity && !podMatchesNodeSelectorAndAffinity(pod.pod, n)) return false;
  return !c.honorTaints || findUntoleratedTaint(n.spec?.taints ?? [], pod.pod.spec.tolerations ?? [], TAINT_EFFECTS) === undefined;
}

function matchingPods(node: NodeInfo, pod: PodInfo, c: Constraint): number {
  let count = 0;
  for (const other of node.pods()) {
    const meta = other.pod.metadata;
    if (meta.namespace === pod.pod.metadata.namespace && meta.deletionTimestamp === undefined && c.selector.matches(meta.labels)) count++;
  }
  return count;
}

/** Counts per domain over the eligible nodes (a domain with no matching pod counts 0 — it is still a place to spread to). */
function countSpreads(pod: PodInfo, constraints: readonly Constraint[], nodes: readonly NodeInfo[]): Spread[] {
  const spreads = constraints.map((c) => ({ c, domains: new Map<string, number>() }));
  for (const node of nodes) {
    if (!hasAllKeys(node, constraints)) continue;
    for (const s of spreads) {
      if (!eligible(node, pod, s.c)) continue;
      const value = node.labels[s.c.topologyKey] ?? '';
      s.domains.set(value, (s.domains.get(value) ?? 0) + matchingPods(node, pod, s.c));
    }
  }
  return spreads;
}

function minOf(s: Spread): number {
  if (s.domains.size < s.c.minDomains) return 0;
  let min = Infinity;
  for (const count of s.domains.values()) min = Math.min(min, count);
  return Number.isFinite(min) ? min : 0;
}

interface ScoreState {
  readonly spreads: readonly Spread[];
  /** Nodes lacking a constraint's key: they get score 0. */
  readonly ignored: ReadonlySet<string>;
}

export class PodTopologySpreadPlugin implements PreFilterPlugin, FilterPlugin, PreScorePlugin, ScorePlugin {
  static readonly NAME = 'PodTopologySpread';
  readonly name = PodTopologySpreadPlugin.NAME;
  /** Kubernetes' default profile weight. */
  readonly weight = 2;
  private readonly filterKey = `${PodTopologySpreadPlugin.NAME}/filter`;
  private readonly scoreKey = `${PodTopologySpreadPlugin.NAME}/score`;

  preFilter(state: CycleState, pod: PodInfo, nodes: readonly NodeInfo[]): Status {
    const constraints = constraintsOf(pod, 'DoNotSchedule');
    const spreads = constraints.length === 0 ? [] : countSpreads(pod, constraints, nodes);
    state.write(this.filterKey, spreads.map((s) => ({ s, min: minOf(s) })));
    return SUCCESS;
  }

  filter(state: CycleState, pod: PodInfo, nodeInfo: NodeInfo): Status {
    const spreads = state.read<{ s: Spread; min: number }[]>(this.filterKey);
    if (spreads === undefined) return errorStatus(`${this.name}: filter ran without preFilter`);
    for (const { s, min } of spreads) {
      const value = nodeInfo.labels[s.c.topologyKey];
      if (value === undefined) return unresolvable(SPREAD_MISSING_LABEL_REASON);
      const self = s.c.selector.matches(pod.pod.metadata.labels) ? 1 : 0;
      if ((s.domains.get(value) ?? 0) + self - min > s.c.maxSkew) return unschedulable(SPREAD_REASON);
    }
    return SUCCESS;
  }

  preScore(state: CycleState, pod: PodInfo, feasible: readonly NodeInfo[], all: readonly NodeInfo[]): void {
    const constraints = constraintsOf(pod, 'ScheduleAnyway');
    if (constraints.length === 0) return;
    const ignored = new Set(feasible.filter((n) => !hasAllKeys(n, constraints)).map((n) => n.name));
    state.write(this.scoreKey, { spreads: countSpreads(pod, constraints, all), ignored } satisfies ScoreState);
  }

  /** Raw: matching pods in the node's domains, each constraint weighted by log(domains + 2) as Kubernetes does, so wide topologies count more. */
  score(state: CycleState, _pod: PodInfo, nodeInfo: NodeInfo): number {
    const s = state.read<ScoreState>(this.scoreKey);
    if (s === undefined || s.ignored.has(nodeInfo.name)) return 0;
    let total = 0;
    for (const { c, domains } of s.spreads) {
      const count = domains.get(nodeInfo.labels[c.topologyKey] ?? '') ?? 0;
      total += count * Math.log(domains.size + 2) + (c.maxSkew - 1);
    }
    return total;
  }

  /** Fewer is better: score = 100 × (max + min − raw) / max over the nodes not ignored (Kubernetes' formula). */
  normalizeScores(state: CycleState, _pod: PodInfo, scores: NodeScore[]): void {
    const s = state.read<ScoreState>(this.scoreKey);
    if (s === undefined) return;
    let min = Infinity;
    let max = 0;
    for (const n of scores) {
      if (s.ignored.has(n.name)) continue;
      min = Math.min(min, n.score);
      max = Math.max(max, n.score);
    }
    for (const n of scores) {
      if (s.ignored.has(n.name)) n.score = 0;
      else n.score = max === 0 ? MAX_NODE_SCORE : (MAX_NODE_SCORE * (max + min - n.score)) / max;
    }
  }
}
