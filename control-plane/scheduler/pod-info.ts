/**
 * A pod as the scheduler keeps it: the object plus what every cycle would
 * otherwise recompute — its key, its requests, and its pod (anti-)affinity
 * terms with their selectors parsed once.
 */
import type { LabelSelector as MetaLabelSelector, Pod, PodAffinityTerm, WeightedPodAffinityTerm } from '../../proto/k8s/core-v1.js';
import { keyOf } from '../client/informer.js';
import { LabelSelector, labelSelectorFromStructured } from '../selectors/label-selector.js';
import { podRequests, type ResourceAmounts } from './resources.js';

/** The scheduler name a pod gets when it names none (Kubernetes' default). */
export const DEFAULT_SCHEDULER_NAME = 'default-scheduler';

/** A pod (anti-)affinity term, ready to match. */
export interface AffinityTerm {
  readonly selector: LabelSelector;
  /** The namespaces whose pods it looks at; undefined = every namespace. */
  readonly namespaces: ReadonlySet<string> | undefined;
  readonly topologyKey: string;
  /** 1 for a required term; the term's weight (1..100) for a preferred one. */
  readonly weight: number;
}

export function podKey(pod: Pod): string {
  return keyOf(pod);
}

export function isAssigned(pod: Pod): boolean {
  return (pod.spec.nodeName ?? '') !== '';
}

/** Succeeded or Failed: it holds no resources any more (the scheduler's cache leaves it out, as Kubernetes' does). */
export function isTerminal(pod: Pod): boolean {
  const phase = pod.status?.phase;
  return phase === 'Succeeded' || phase === 'Failed';
}

/** Whether `schedulerName`'s queue should hold the pod: unassigned, ours, not being deleted, not finished. */
export function isPendingFor(pod: Pod, schedulerName: string): boolean {
  const name = pod.spec.schedulerName ?? '';
  return (
    !isAssigned(pod) &&
    (name === schedulerName || (name === '' && schedulerName === DEFAULT_SCHEDULER_NAME)) &&
    pod.metadata.deletionTimestamp === undefined &&
    !isTerminal(pod)
  );
}

export function termMatches(term: AffinityTerm, pod: Pod): boolean {
  const ns = pod.metadata.namespace ?? '';
  return (term.namespaces === undefined || term.namespaces.has(ns)) && term.selector.matches(pod.metadata.labels);
}

/** A selector the API accepted parses; anything else (a hand-made object) selects nothing rather than failing the cycle. */
export function selectorOrNothing(selector: MetaLabelSelector | undefined): LabelSelector {
  try {
    return labelSelectorFromStructured(selector);
  } catch {
    return LabelSelector.nothing();
  }
}

/**
 * Kubernetes' namespace rule: the listed namespaces plus those the
 * namespaceSelector picks; neither given means the owning pod's own namespace.
 * An empty namespaceSelector picks every namespace. A non-empty one would need
 * namespace labels, which the scheduler does not watch: it adds nothing here.
 */
function termNamespaces(term: PodAffinityTerm, ownNamespace: string): ReadonlySet<string> | undefined {
  const listed = term.namespaces ?? [];
  const selector = term.namespaceSelector;
  if (selector !== undefined && selector !== null) {
    const empty = Object.keys(selector.matchLabels ?? {}).length === 0 && (selector.matchExpressions ?? []).length === 0;
    if (empty) return undefined;
  }
  if (listed.length === 0 && (selector === undefined || selector === null)) return new Set([ownNamespace]);
  return new Set(listed);
}

function parseTerm(term: PodAffinityTerm, ownNamespace: string, weight: number): AffinityTerm {
  return { selector: selectorOrNothing(term.labelSelector), namespaces: termNamespaces(term, ownNamespace), topologyKey: term.topologyKey, weight };
}

function parseWeighted(terms: WeightedPodAffinityTerm[] | undefined, ns: string): AffinityTerm[] {
  return (terms ?? []).map((t) => parseTerm(t.podAffinityTerm, ns, t.weight));
}

export class PodInfo {
  readonly key: string;
  /** What it needs to fit (containers sum, init containers peak, overhead). */
  readonly requests: ResourceAmounts;
  /** The same with missing cpu/memory requests filled in: what scoring counts. */
  readonly nonZeroRequests: ResourceAmounts;
  readonly requiredAffinity: readonly AffinityTerm[];
  readonly requiredAntiAffinity: readonly AffinityTerm[];
  readonly preferredAffinity: readonly AffinityTerm[];
  readonly preferredAntiAffinity: readonly AffinityTerm[];

  constructor(readonly pod: Pod) {
    this.key = podKey(pod);
    this.requests = podRequests(pod);
    this.nonZeroRequests = podRequests(pod, true);
    const ns = pod.metadata.namespace ?? '';
    const affinity = pod.spec.affinity;
    this.requiredAffinity = (affinity?.podAffinity?.requiredDuringSchedulingIgnoredDuringExecution ?? []).map((t) => parseTerm(t, ns, 1));
    this.requiredAntiAffinity = (affinity?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution ?? []).map((t) => parseTerm(t, ns, 1));
    this.preferredAffinity = parseWeighted(affinity?.podAffinity?.preferredDuringSchedulingIgnoredDuringExecution, ns);
    this.preferredAntiAffinity = parseWeighted(affinity?.podAntiAffinity?.preferredDuringSchedulingIgnoredDuringExecution, ns);
  }

  /** Has any pod (anti-)affinity term, so other pods' placement may depend on it. */
  get hasAffinityTerms(): boolean {
    return this.requiredAffinity.length + this.requiredAntiAffinity.length + this.preferredAffinity.length + this.preferredAntiAffinity.length > 0;
  }
}
