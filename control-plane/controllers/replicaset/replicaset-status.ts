/**
 * A ReplicaSet's status, computed from the pods it owns (pure; the controller
 * writes it only when it differs from what is stored).
 */
import type { ReplicaSet, ReplicaSetCondition, ReplicaSetStatus } from '../../../proto/k8s/apps-v1.js';
import type { Pod } from '../../../proto/k8s/core-v1.js';
import { jsonEqual } from '../../patch/index.js';
import { formatTime, isPodAvailable, isPodReady, podAvailableAfterMs } from '../controller-utils.js';

export const REPLICA_FAILURE = 'ReplicaFailure';

/** Why the last manageReplicas failed, for the ReplicaFailure condition. */
export interface ManageFailure {
  readonly reason: 'FailedCreate' | 'FailedDelete';
  readonly message: string;
}

/**
 * `pods` are the active pods the ReplicaSet owns. fullyLabeledReplicas counts
 * pods carrying every label of the template (a selector may ask for fewer).
 */
export function calculateReplicaSetStatus(rs: ReplicaSet, pods: readonly Pod[], failure: ManageFailure | undefined, nowMs: number): ReplicaSetStatus {
  const templateLabels = Object.entries(rs.spec.template?.metadata?.labels ?? {});
  const minReadySeconds = rs.spec.minReadySeconds ?? 0;
  const status: ReplicaSetStatus = {
    replicas: pods.length,
    fullyLabeledReplicas: pods.filter((p) => templateLabels.every(([k, v]) => p.metadata.labels?.[k] === v)).length,
    readyReplicas: pods.filter(isPodReady).length,
    availableReplicas: pods.filter((p) => isPodAvailable(p, minReadySeconds, nowMs)).length,
  };
  if (rs.metadata.generation !== undefined) status.observedGeneration = rs.metadata.generation;
  const conditions = replicaFailureConditions(rs.status?.conditions ?? [], failure, nowMs);
  if (conditions.length > 0) status.conditions = conditions;
  return status;
}

/** Adds ReplicaFailure when a create or delete failed (keeping an existing one as is); removes it after a clean sync. */
function replicaFailureConditions(current: readonly ReplicaSetCondition[], failure: ManageFailure | undefined, nowMs: number): ReplicaSetCondition[] {
  const existing = current.find((c) => c.type === REPLICA_FAILURE);
  if (failure === undefined) return current.filter((c) => c.type !== REPLICA_FAILURE);
  if (existing !== undefined) return [...current];
  return [...current, { type: REPLICA_FAILURE, status: 'True', reason: failure.reason, message: failure.message, lastTransitionTime: formatTime(nowMs) }];
}

/** The fields the controller owns; anything else in stored status is left alone. */
export function replicaSetStatusEqual(a: ReplicaSetStatus | undefined, b: ReplicaSetStatus): boolean {
  return (
    a !== undefined &&
    a.replicas === b.replicas &&
    (a.fullyLabeledReplicas ?? 0) === (b.fullyLabeledReplicas ?? 0) &&
    (a.readyReplicas ?? 0) === (b.readyReplicas ?? 0) &&
    (a.availableReplicas ?? 0) === (b.availableReplicas ?? 0) &&
    a.observedGeneration === b.observedGeneration &&
    jsonEqual(a.conditions ?? [], b.conditions ?? [])
  );
}

/**
 * Milliseconds until the next owned pod that is Ready but not yet available
 * becomes available (plus 1 ms, since availability is strictly after), or
 * undefined when none is waiting: the controller requeues then, as no event
 * will mark that moment.
 */
export function msUntilNextAvailable(pods: readonly Pod[], minReadySeconds: number, nowMs: number): number | undefined {
  let soonest: number | undefined;
  for (const p of pods) {
    const after = podAvailableAfterMs(p, minReadySeconds);
    if (after === undefined || after < nowMs) continue;
    if (soonest === undefined || after < soonest) soonest = after;
  }
  return soonest === undefined ? undefined : soonest - nowMs + 1;
}
