/**
 * A Deployment's status and conditions, pure (Kubernetes' deployment/sync.go
 * calculateStatus and syncRolloutStatus, deployment/util conditions). The
 * status is what `kubectl rollout status` reads: it is done when
 * generation <= observedGeneration, updatedReplicas == spec.replicas,
 * replicas == updatedReplicas and availableReplicas == updatedReplicas, and
 * it fails on Progressing=False/ProgressDeadlineExceeded.
 *
 * Conditions keep lastTransitionTime while their status stays the same;
 * Progressing's lastUpdateTime moves whenever progress is seen, and the
 * deadline is measured from it.
 */
import type { Deployment, DeploymentCondition, DeploymentStatus, ReplicaSet } from '../../../proto/k8s/apps-v1.js';
import { formatTime, parseTimeMs } from '../controller-utils.js';
import { specReplicas } from './replica-sets.js';
import type { RolloutParams } from './rollout-math.js';

export const DeploymentConditionType = { Available: 'Available', Progressing: 'Progressing', ReplicaFailure: 'ReplicaFailure' } as const;
export type DeploymentConditionType = (typeof DeploymentConditionType)[keyof typeof DeploymentConditionType];

/** Kubernetes' condition reasons, verbatim: kubectl and dashboards match on them. */
export const DeploymentReason = {
  MinimumReplicasAvailable: 'MinimumReplicasAvailable',
  MinimumReplicasUnavailable: 'MinimumReplicasUnavailable',
  NewReplicaSetCreated: 'NewReplicaSetCreated',
  FoundNewReplicaSet: 'FoundNewReplicaSet',
  ReplicaSetUpdated: 'ReplicaSetUpdated',
  NewReplicaSetAvailable: 'NewReplicaSetAvailable',
  ProgressDeadlineExceeded: 'ProgressDeadlineExceeded',
  ReplicaSetCreateError: 'ReplicaSetCreateError',
  DeploymentPaused: 'DeploymentPaused',
  DeploymentResumed: 'DeploymentResumed',
} as const;
export type DeploymentReason = (typeof DeploymentReason)[keyof typeof DeploymentReason];

/** A Progressing re-check this long after the deadline, so that the deadline (whole seconds) has surely passed. */
const DEADLINE_RECHECK_MARGIN_MS = 1000;

// ---- conditions ---------------------------------------------------------------------

export function newCondition(type: DeploymentConditionType, status: DeploymentCondition['status'], reason: DeploymentReason, message: string, nowMs: number): DeploymentCondition {
  const now = formatTime(nowMs);
  return { type, status, lastUpdateTime: now, lastTransitionTime: now, reason, message };
}

export function getCondition(status: DeploymentStatus | undefined, type: DeploymentConditionType): DeploymentCondition | undefined {
  return status?.conditions?.find((c) => c.type === type);
}

/** Kubernetes' SetDeploymentCondition: same status and reason is a no-op; same status keeps lastTransitionTime. */
export function setCondition(status: DeploymentStatus, c: DeploymentCondition): void {
  const current = getCondition(status, c.type as DeploymentConditionType);
  if (current !== undefined && current.status === c.status && current.reason === c.reason) return;
  const next = { ...c };
  if (current !== undefined && current.status === c.status && current.lastTransitionTime !== undefined) next.lastTransitionTime = current.lastTransitionTime;
  status.conditions = [...(status.conditions ?? []).filter((x) => x.type !== c.type), next];
}

export function removeCondition(status: DeploymentStatus, type: DeploymentConditionType): void {
  if (status.conditions === undefined) return;
  status.conditions = status.conditions.filter((c) => c.type !== type);
}

// ---- status -----------------------------------------------------------------------

const sumOf = (rsList: readonly ReplicaSet[], f: (rs: ReplicaSet) => number | undefined): number => rsList.reduce((n, rs) => n + (f(rs) ?? 0), 0);

/** Counts from the ReplicaSets' own status, and the Available condition. Other conditions are carried over. */
export function calculateStatus(d: Deployment, p: RolloutParams, all: readonly ReplicaSet[], newRS: ReplicaSet | undefined, nowMs: number): DeploymentStatus {
  const available = sumOf(all, (rs) => rs.status?.availableReplicas);
  const status: DeploymentStatus = {
    observedGeneration: d.metadata.generation ?? 0,
    replicas: sumOf(all, (rs) => rs.status?.replicas),
    updatedReplicas: newRS?.status?.replicas ?? 0,
    readyReplicas: sumOf(all, (rs) => rs.status?.readyReplicas),
    availableReplicas: available,
    unavailableReplicas: Math.max(0, sumOf(all, specReplicas) - available),
    conditions: structuredClone(d.status?.conditions ?? []),
  };
  if (d.status?.collisionCount !== undefined) status.collisionCount = d.status.collisionCount;
  const minimum = available >= p.replicas - p.maxUnavailable;
  setCondition(
    status,
    minimum
      ? newCondition(DeploymentConditionType.Available, 'True', DeploymentReason.MinimumReplicasAvailable, 'Deployment has minimum availability.', nowMs)
      : newCondition(DeploymentConditionType.Available, 'False', DeploymentReason.MinimumReplicasUnavailable, 'Deployment does not have minimum availability.', nowMs),
  );
  return status;
}

/** Every replica updated and available, and the current spec observed. */
export function deploymentComplete(d: Deployment, p: RolloutParams, s: DeploymentStatus | undefined): boolean {
  return s !== undefined && s.updatedReplicas === p.replicas && s.replicas === p.replicas && s.availableReplicas === p.replicas && (s.observedGeneration ?? 0) >= (d.metadata.generation ?? 0);
}

/** Progress: more updated, fewer old, more ready or more available than the stored status says. */
export function deploymentProgressing(old: DeploymentStatus | undefined, next: DeploymentStatus): boolean {
  const oldOld = (old?.replicas ?? 0) - (old?.updatedReplicas ?? 0);
  const nextOld = (next.replicas ?? 0) - (next.updatedReplicas ?? 0);
  return (
    (next.updatedReplicas ?? 0) > (old?.updatedReplicas ?? 0) ||
    nextOld < oldOld ||
    (next.readyReplicas ?? 0) > (old?.readyReplicas ?? 0) ||
    (next.availableReplicas ?? 0) > (old?.availableReplicas ?? 0)
  );
}

/** No progress for progressDeadlineSeconds since Progressing was last updated. */
export function deploymentTimedOut(p: RolloutParams, s: DeploymentStatus, nowMs: number): boolean {
  if (p.progressDeadlineSeconds === undefined) return false;
  const c = getCondition(s, DeploymentConditionType.Progressing);
  if (c === undefined || c.reason === DeploymentReason.NewReplicaSetAvailable) return false;
  if (c.reason === DeploymentReason.ProgressDeadlineExceeded) return true;
  const from = parseTimeMs(c.lastUpdateTime);
  return from !== undefined && from + p.progressDeadlineSeconds * 1000 < nowMs;
}

/** The status after a rollout step: counts, Available, Progressing and ReplicaFailure (Kubernetes' syncRolloutStatus). */
export function rolloutStatus(d: Deployment, p: RolloutParams, all: readonly ReplicaSet[], newRS: ReplicaSet | undefined, nowMs: number): DeploymentStatus {
  const next = calculateStatus(d, p, all, newRS, nowMs);
  if (p.progressDeadlineSeconds === undefined) removeCondition(next, DeploymentConditionType.Progressing);
  const current = getCondition(d.status, DeploymentConditionType.Progressing);
  const settled = next.replicas === next.updatedReplicas && current?.reason === DeploymentReason.NewReplicaSetAvailable;
  if (p.progressDeadlineSeconds !== undefined && !settled) updateProgressing(d, p, next, newRS, current, nowMs);
  const failure = replicaFailure(all, newRS);
  if (failure !== undefined) setCondition(next, failure);
  else removeCondition(next, DeploymentConditionType.ReplicaFailure);
  return next;
}

function updateProgressing(d: Deployment, p: RolloutParams, next: DeploymentStatus, newRS: ReplicaSet | undefined, current: DeploymentCondition | undefined, nowMs: number): void {
  const subject = newRS !== undefined ? `ReplicaSet "${newRS.metadata.name ?? ''}"` : `Deployment "${d.metadata.name ?? ''}"`;
  const type = DeploymentConditionType.Progressing;
  if (deploymentComplete(d, p, next)) {
    setCondition(next, newCondition(type, 'True', DeploymentReason.NewReplicaSetAvailable, `${subject} has successfully progressed.`, nowMs));
  } else if (deploymentProgressing(d.status, next)) {
    // Progress refreshes lastUpdateTime (the deadline's start) even when the reason stays.
    const c = newCondition(type, 'True', DeploymentReason.ReplicaSetUpdated, `${subject} is progressing.`, nowMs);
    if (current?.status === 'True' && current.lastTransitionTime !== undefined) c.lastTransitionTime = current.lastTransitionTime;
    removeCondition(next, type);
    setCondition(next, c);
  } else if (deploymentTimedOut(p, next, nowMs)) {
    setCondition(next, newCondition(type, 'False', DeploymentReason.ProgressDeadlineExceeded, `${subject} has timed out progressing.`, nowMs));
  }
}

/** The new ReplicaSet's ReplicaFailure, else the first old one's. */
function replicaFailure(all: readonly ReplicaSet[], newRS: ReplicaSet | undefined): DeploymentCondition | undefined {
  const ofRS = (rs: ReplicaSet | undefined): DeploymentCondition | undefined => {
    const c = rs?.status?.conditions?.find((x) => x.type === DeploymentConditionType.ReplicaFailure);
    if (c === undefined) return undefined;
    const out: DeploymentCondition = { type: c.type, status: c.status };
    if (c.lastTransitionTime !== undefined) out.lastTransitionTime = out.lastUpdateTime = c.lastTransitionTime;
    if (c.reason !== undefined) out.reason = c.reason;
    if (c.message !== undefined) out.message = c.message;
    return out;
  };
  return ofRS(newRS) ?? all.map(ofRS).find((c) => c !== undefined);
}

/**
 * When to look again so that a stuck rollout is reported once its deadline
 * passes (no event would mark that moment); undefined when nothing is pending
 * (no deadline, complete, or already timed out). Kubernetes' requeueStuckDeployment.
 */
export function msUntilProgressCheck(d: Deployment, p: RolloutParams, s: DeploymentStatus, nowMs: number): number | undefined {
  const c = getCondition(s, DeploymentConditionType.Progressing);
  if (p.progressDeadlineSeconds === undefined || c === undefined) return undefined;
  if (deploymentComplete(d, p, s) || c.reason === DeploymentReason.ProgressDeadlineExceeded) return undefined;
  const from = parseTimeMs(c.lastUpdateTime);
  if (from === undefined) return undefined;
  return Math.max(0, from + p.progressDeadlineSeconds * 1000 - nowMs) + DEADLINE_RECHECK_MARGIN_MS;
}

/**
 * Progressing=Unknown DeploymentPaused when paused, DeploymentResumed when no
 * longer; a reported timeout is not overwritten. Returns the new status, or
 * undefined when nothing changes (Kubernetes' checkPausedConditions).
 */
export function pausedConditionChange(d: Deployment, p: RolloutParams, nowMs: number): DeploymentStatus | undefined {
  if (p.progressDeadlineSeconds === undefined) return undefined;
  const c = getCondition(d.status, DeploymentConditionType.Progressing);
  if (c?.reason === DeploymentReason.ProgressDeadlineExceeded) return undefined;
  const pausedNoted = c?.reason === DeploymentReason.DeploymentPaused;
  if (p.paused === pausedNoted) return undefined;
  const status = structuredClone(d.status ?? {});
  const condition = p.paused
    ? newCondition(DeploymentConditionType.Progressing, 'Unknown', DeploymentReason.DeploymentPaused, 'Deployment is paused', nowMs)
    : newCondition(DeploymentConditionType.Progressing, 'Unknown', DeploymentReason.DeploymentResumed, 'Deployment is resumed', nowMs);
  setCondition(status, condition);
  return status;
}
