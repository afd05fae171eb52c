/**
 * The scheduling framework, after kube-scheduler's: a profile is a list of
 * plugins at extension points, run for one pod at a time —
 *   preFilter (once per pod, over every node) → filter (per node) →
 *   preScore (once, over the feasible nodes) → score (per feasible node) →
 *   normalizeScores (once per score plugin).
 * Every filter answers a Status; a node is feasible when all say Success.
 *
 * Plugins are synchronous and pure over their inputs: the cycle that runs them
 * never awaits, so the node infos cannot change under them.
 */
import type { NodeInfo } from './node-info.js';
import type { PodInfo } from './pod-info.js';

export const StatusCode = {
  Success: 'Success',
  /** The pod does not fit now; a change in the cluster may let it (and preemption could help). */
  Unschedulable: 'Unschedulable',
  /** The pod does not fit and preempting pods would not help (a label, a taint, a node name). */
  UnschedulableAndUnresolvable: 'UnschedulableAndUnresolvable',
  /** The plugin itself failed; the pod is retried after a back-off. */
  Error: 'Error',
} as const;
export type StatusCode = (typeof StatusCode)[keyof typeof StatusCode];

export interface Status {
  readonly code: StatusCode;
  /** Kubernetes' reason texts ("Insufficient cpu"); counted per node in the unschedulable message. */
  readonly reasons: readonly string[];
  /** The plugin that answered (filled in by the framework when the plugin leaves it out). */
  readonly plugin?: string;
}

export const SUCCESS: Status = Object.freeze({ code: StatusCode.Success, reasons: Object.freeze([]) as readonly string[] });

export function unschedulable(...reasons: string[]): Status {
  return { code: StatusCode.Unschedulable, reasons };
}

export function unresolvable(...reasons: string[]): Status {
  return { code: StatusCode.UnschedulableAndUnresolvable, reasons };
}

export function errorStatus(message: string): Status {
  return { code: StatusCode.Error, reasons: [message] };
}

export function isSuccess(s: Status): boolean {
  return s.code === StatusCode.Success;
}

/** Per-cycle scratch space: what a plugin's preFilter/preScore computed, for its filter/score. */
export class CycleState {
  private readonly data = new Map<string, unknown>();

  read<T>(key: string): T | undefined {
    return this.data.get(key) as T | undefined;
  }

  write(key: string, value: unknown): void {
    this.data.set(key, value);
  }
}

export interface Plugin {
  readonly name: string;
}

export interface PreFilterPlugin extends Plugin {
  /** Once per pod, with every node; anything but Success rejects the pod on every node. */
  preFilter(state: CycleState, pod: PodInfo, nodes: readonly NodeInfo[]): Status;
}

export interface FilterPlugin extends Plugin {
  filter(state: CycleState, pod: PodInfo, nodeInfo: NodeInfo): Status;
}

export interface PreScorePlugin extends Plugin {
  preScore(state: CycleState, pod: PodInfo, feasible: readonly NodeInfo[], all: readonly NodeInfo[]): void;
}

export interface NodeScore {
  readonly name: string;
  score: number;
}

/** Scores go from 0 to this (Kubernetes' MaxNodeScore). */
export const MAX_NODE_SCORE = 100;

export interface ScorePlugin extends Plugin {
  /** Higher is better. In [0, MAX_NODE_SCORE], or any number when `normalizeScores` maps them there. */
  score(state: CycleState, pod: PodInfo, nodeInfo: NodeInfo): number;
  normalizeScores?(state: CycleState, pod: PodInfo, scores: NodeScore[]): void;
  /** How much this plugin counts against the others (Kubernetes' default profile weights). */
  readonly weight: number;
}

/** A scheduler profile: its name (pods choose it by spec.schedulerName) and its plugins per extension point, in order. */
export interface Profile {
  readonly schedulerName: string;
  readonly preFilters: readonly PreFilterPlugin[];
  readonly filters: readonly FilterPlugin[];
  readonly preScores: readonly PreScorePlugin[];
  readonly scores: readonly ScorePlugin[];
}

/** Scales raw scores linearly so the best becomes MAX_NODE_SCORE (Kubernetes' DefaultNormalizeScore); `reverse` makes the lowest best. */
export function defaultNormalizeScores(scores: NodeScore[], reverse: boolean): void {
  let max = 0;
  for (const s of scores) max = Math.max(max, s.score);
  if (max === 0) {
    if (reverse) for (const s of scores) s.score = MAX_NODE_SCORE;
    return;
  }
  for (const s of scores) {
    const scaled = (MAX_NODE_SCORE * s.score) / max;
    s.score = reverse ? MAX_NODE_SCORE - scaled : scaled;
  }
}

/** Scales raw scores, which may be negative, so that the lowest becomes 0 and the highest MAX_NODE_SCORE. */
export function minMaxNormalizeScores(scores: NodeScore[]): void {
  let min = Infinity;
  let max = -Infinity;
  for (const s of scores) {
    min = Math.min(min, s.score);
    max = Math.max(max, s.score);
  }
  const spread = max - min;
  for (const s of scores) s.score = spread > 0 ? (MAX_NODE_SCORE * (s.score - min)) / spread : 0;
}
