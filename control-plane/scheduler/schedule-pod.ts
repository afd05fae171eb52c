/**
 * One scheduling decision, kube-scheduler's schedulePod: a pure function of
 * the pod, the nodes as the cache sees them, and an RNG for ties.
 *  1. preFilter plugins, once;
 *  2. filter plugins per node, starting where the previous pod stopped (so every
 *     node gets its turn), until enough feasible nodes are found
 *     (numFeasibleNodesToFind) or every node was tried;
 *  3. score the feasible nodes: each plugin's scores, normalized to 0..100, times
 *     its weight, summed;
 *  4. the highest total wins; ties are broken at random.
 * When no node fits, the answer carries each node's rejecting status and
 * Kubernetes' message, "0/3 nodes are available: 1 Insufficient cpu, 2
 * node(s) didn't match Pod's node affinity/selector."
 */
import { assert, assertNever } from './assert.js';
import { CycleState, MAX_NODE_SCORE, type NodeScore, type Profile, type Status, StatusCode } from './framework.js';
import type { NodeInfo } from './node-info.js';
import type { PodInfo } from './pod-info.js';

/** Below this many nodes every node is filtered; above, at least this many feasible nodes are looked for (Kubernetes' minFeasibleNodesToFind). */
export const MIN_FEASIBLE_NODES_TO_FIND = 100;
/** The adaptive percentage never goes below this (Kubernetes' minFeasibleNodesPercentageToFind). */
export const MIN_FEASIBLE_NODES_PERCENTAGE = 5;
/** Adaptive percentage: 50% at 0 nodes, minus 1 point per 125 nodes (Kubernetes' formula; ≈42% at 1000 nodes, 10% at 5000). */
const ADAPTIVE_BASE_PERCENTAGE = 50;
const ADAPTIVE_NODES_PER_POINT = 125;

export const NO_NODES_MESSAGE = 'no nodes available to schedule pods';

/** How many feasible nodes to find before scoring; `percentage` 0 means adaptive. */
export function numFeasibleNodesToFind(percentage: number, numAllNodes: number): number {
  if (numAllNodes < MIN_FEASIBLE_NODES_TO_FIND || percentage >= 100) return numAllNodes;
  let p = percentage;
  if (p <= 0) p = Math.max(MIN_FEASIBLE_NODES_PERCENTAGE, ADAPTIVE_BASE_PERCENTAGE - Math.floor(numAllNodes / ADAPTIVE_NODES_PER_POINT));
  return Math.max(MIN_FEASIBLE_NODES_TO_FIND, Math.floor((numAllNodes * p) / 100));
}

export interface ScheduleInput {
  readonly profile: Profile;
  readonly pod: PodInfo;
  /** The nodes known with their Node objects, in a stable order. */
  readonly nodes: readonly NodeInfo[];
  /** 1..100, or 0 for adaptive. */
  readonly percentageOfNodesToScore: number;
  /** Index in `nodes` to start filtering at. */
  readonly startIndex: number;
  /** Uniform in [0, 1). */
  readonly rng: () => number;
}

interface Evaluated {
  /** Nodes the filters ran on: the caller moves its start index on by this much. */
  readonly evaluatedNodes: number;
}

export type ScheduleResult =
  | (Evaluated & { readonly kind: 'scheduled'; readonly nodeName: string; readonly feasibleNodes: number })
  | (Evaluated & {
      readonly kind: 'unschedulable';
      readonly message: string;
      /** Node name → the status that rejected it. */
      readonly nodeStatuses: ReadonlyMap<string, Status>;
      /** The plugins that rejected some node: the cluster events that could help are theirs. */
      readonly plugins: ReadonlySet<string>;
    })
  | (Evaluated & { readonly kind: 'error'; readonly message: string });

export function schedulePod(input: ScheduleInput): ScheduleResult {
  const { profile, pod, nodes } = input;
  if (nodes.length === 0) return { kind: 'unschedulable', message: NO_NODES_MESSAGE, nodeStatuses: new Map(), plugins: new Set(), evaluatedNodes: 0 };
  const state = new CycleState();
  for (const p of profile.preFilters) {
    const s = p.preFilter(state, pod, nodes);
    if (s.code === StatusCode.Success) continue;
    if (s.code === StatusCode.Error) return { kind: 'error', message: `${p.name}: ${s.reasons.join('; ')}`, evaluatedNodes: 0 };
    return unschedulableEverywhere(nodes, { ...s, plugin: s.plugin ?? p.name });
  }
  const found = findFeasible(state, input);
  if ('error' in found) return { kind: 'error', message: found.error, evaluatedNodes: found.evaluatedNodes };
  const { feasible, nodeStatuses, evaluatedNodes } = found;
  if (feasible.length === 0) {
    const plugins = new Set([...nodeStatuses.values()].map((s) => s.plugin ?? ''));
    return { kind: 'unschedulable', message: fitErrorMessage(nodes.length, nodeStatuses), nodeStatuses, plugins, evaluatedNodes };
  }
  const only = feasible.length === 1 ? feasible[0] : undefined;
  const nodeName = only !== undefined ? only.name : selectHost(scoreNodes(state, input, feasible, nodes), input.rng);
  return { kind: 'scheduled', nodeName, feasibleNodes: feasible.length, evaluatedNodes };
}

function unschedulableEverywhere(nodes: readonly NodeInfo[], status: Status): ScheduleResult {
  const nodeStatuses = new Map(nodes.map((n) => [n.name, status] as const));
  const plugins = new Set([status.plugin ?? '']);
  return { kind: 'unschedulable', message: fitErrorMessage(nodes.length, nodeStatuses), nodeStatuses, plugins, evaluatedNodes: 0 };
}

type Found = { feasible: NodeInfo[]; nodeStatuses: Map<string, Status>; evaluatedNodes: number } | { error: string; evaluatedNodes: number };

function findFeasible(state: CycleState, input: ScheduleInput): Found {
  const { nodes, profile, pod } = input;
  const wanted = numFeasibleNodesToFind(input.percentageOfNodesToScore, nodes.length);
  const feasible: NodeInfo[] = [];
  const nodeStatuses = new Map<string, Status>();
  let i = 0;
  while (i < nodes.length && feasible.length < wanted) {
    const node = nodes[(input.startIndex + i) % nodes.length];
    i++;
    assert(node !== undefined, 'node index in range');
    const rejected = runFilters(state, profile, pod, node);
    if (rejected === undefined) feasible.push(node);
    else if (rejected.code === StatusCode.Error) return { error: `${rejected.plugin}: ${rejected.reasons.join('; ')} (node ${node.name})`, evaluatedNodes: i };
    else nodeStatuses.set(node.name, rejected);
  }
  return { feasible, nodeStatuses, evaluatedNodes: i };
}

/** The first non-success status of the profile's filters on the node, with its plugin; undefined when every filter passes. */
export function runFilters(state: CycleState, profile: Profile, pod: PodInfo, node: NodeInfo): Status | undefined {
  for (const p of profile.filters) {
    const s = p.filter(state, pod, node);
    switch (s.code) {
      case StatusCode.Success:
        continue;
      case StatusCode.Unschedulable:
      case StatusCode.UnschedulableAndUnresolvable:
      case StatusCode.Error:
        return s.plugin === undefined ? { ...s, plugin: p.name } : s;
      default:
        return assertNever(s.code, 'status code');
    }
  }
  return undefined;
}

function scoreNodes(state: CycleState, input: ScheduleInput, feasible: readonly NodeInfo[], all: readonly NodeInfo[]): NodeScore[] {
  const { profile, pod } = input;
  for (const p of profile.preScores) p.preScore(state, pod, feasible, all);
  const totals: NodeScore[] = feasible.map((n) => ({ name: n.name, score: 0 }));
  for (const p of profile.scores) {
    const scores: NodeScore[] = feasible.map((n) => ({ name: n.name, score: p.score(state, pod, n) }));
    p.normalizeScores?.(state, pod, scores);
    scores.forEach((s, i) => {
      assert(!Number.isNaN(s.score), () => `${p.name} scored node ${s.name} NaN`);
      const total = totals[i];
      assert(total !== undefined && total.name === s.name, 'scores stay in node order');
      // Clamped: normalizing in floating point may overshoot 100 by an ulp.
      total.score += Math.min(MAX_NODE_SCORE, Math.max(0, s.score)) * p.weight;
    });
  }
  return totals;
}

/** The highest score; among equals each is picked with the same probability (reservoir sampling, as Kubernetes). */
export function selectHost(scores: readonly NodeScore[], rng: () => number): string {
  assert(scores.length > 0, 'selectHost needs a node');
  let best = scores[0] as NodeScore;
  let ties = 1;
  for (const s of scores.slice(1)) {
    if (s.score > best.score) {
      best = s;
      ties = 1;
    } else if (s.score === best.score) {
      ties++;
      if (Math.floor(rng() * ties) === 0) best = s;
    }
  }
  return best.name;
}

/** Kubernetes' FitError message: each reason with the number of nodes that gave it, sorted as strings. */
export function fitErrorMessage(numAllNodes: number, nodeStatuses: ReadonlyMap<string, Status>): string {
  const counts = new Map<string, number>();
  for (const status of nodeStatuses.values()) for (const reason of status.reasons) counts.set(reason, (counts.get(reason) ?? 0) + 1);
  const histogram = [...counts].map(([reason, n]) => `${n} ${reason}`).sort();
  return `0/${numAllNodes} nodes are available: ${histogram.join(', ')}.`;
}
