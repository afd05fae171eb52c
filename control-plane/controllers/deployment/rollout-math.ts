/**
 * The arithmetic of a rollout, pure: how many pods may surge or be
 * unavailable, how far the new ReplicaSet may grow, how far old ones may
 * shrink, and how a resize is spread over several ReplicaSets. It follows
 * Kubernetes' deployment/util and rolling.go, with one deliberate difference:
 * the surge bound counts the pods that exist (terminating ones included), not
 * only what ReplicaSets ask for, so the total never exceeds replicas +
 * maxSurge even while old pods are still shutting down.
 *
 * Works on `ReplicaSetView`s (numbers only); `replica-sets.ts` builds them.
 */
import { DeploymentStrategyType, type DeploymentSpec } from '../../../proto/k8s/apps-v1.js';
import type { IntOrString } from '../../../proto/k8s/core-v1.js';

// ---- parameters ---------------------------------------------------------------------

/** apps/v1 defaults, applied when a field is absent (the API server normally sets them). */
export const REPLICAS_DEFAULT = 1;
export const MAX_SURGE_DEFAULT = '25%';
export const MAX_UNAVAILABLE_DEFAULT = '25%';
export const REVISION_HISTORY_LIMIT_DEFAULT = 10;
export const PROGRESS_DEADLINE_SECONDS_DEFAULT = 600;
/** progressDeadlineSeconds of MaxInt32 means "no deadline", as in Kubernetes. */
export const PROGRESS_DEADLINE_NONE = 2_147_483_647;

export const DeploymentErrorCode = {
  /** maxSurge or maxUnavailable is neither an integer nor a percentage like "25%". */
  InvalidIntOrPercent: 'INVALID_INT_OR_PERCENT',
  /** Another object already has the name of the ReplicaSet to create; collisionCount was bumped. */
  HashCollision: 'HASH_COLLISION',
  /** spec.strategy.type is neither RollingUpdate nor Recreate. */
  UnknownStrategy: 'UNKNOWN_STRATEGY',
} as const;
export type DeploymentErrorCode = (typeof DeploymentErrorCode)[keyof typeof DeploymentErrorCode];

export class DeploymentError extends Error {
  override readonly name = 'DeploymentError';
  constructor(
    readonly code: DeploymentErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** A Deployment's spec with defaults applied and the fenceposts resolved to counts. */
export interface RolloutParams {
  readonly replicas: number;
  readonly strategy: DeploymentStrategyType;
  /** 0 for Recreate. */
  readonly maxSurge: number;
  /** 0 for Recreate; at most `replicas`. */
  readonly maxUnavailable: number;
  readonly minReadySeconds: number;
  readonly revisionHistoryLimit: number;
  /** Undefined: no deadline. */
  readonly progressDeadlineSeconds: number | undefined;
  readonly paused: boolean;
}

export function rolloutParams(spec: DeploymentSpec): RolloutParams {
  const replicas = spec.replicas ?? REPLICAS_DEFAULT;
  const strategy = spec.strategy?.type ?? DeploymentStrategyType.RollingUpdate;
  const deadline = spec.progressDeadlineSeconds ?? PROGRESS_DEADLINE_SECONDS_DEFAULT;
  const base = {
    replicas,
    strategy,
    minReadySeconds: spec.minReadySeconds ?? 0,
    revisionHistoryLimit: spec.revisionHistoryLimit ?? REVISION_HISTORY_LIMIT_DEFAULT,
    progressDeadlineSeconds: deadline === PROGRESS_DEADLINE_NONE ? undefined : deadline,
    paused: spec.paused === true,
  };
  if (strategy !== DeploymentStrategyType.RollingUpdate) return { ...base, maxSurge: 0, maxUnavailable: 0 };
  const rolling = spec.strategy?.rollingUpdate;
  const fence = resolveFenceposts(rolling?.maxSurge ?? MAX_SURGE_DEFAULT, rolling?.maxUnavailable ?? MAX_UNAVAILABLE_DEFAULT, replicas);
  return { ...base, maxSurge: fence.maxSurge, maxUnavailable: replicas === 0 ? 0 : Math.min(fence.maxUnavailable, replicas) };
}

/**
 * Kubernetes' ResolveFenceposts: surge rounds up, unavailable rounds down; if
 * both come out 0, unavailable becomes 1, or the rollout could never move.
 */
export function resolveFenceposts(maxSurge: IntOrString, maxUnavailable: IntOrString, desired: number): { maxSurge: number; maxUnavailable: number } {
  const surge = scaledValue(maxSurge, desired, true, 'maxSurge');
  const unavailable = scaledValue(maxUnavailable, desired, false, 'maxUnavailable');
  return surge === 0 && unavailable === 0 ? { maxSurge: 0, maxUnavailable: 1 } : { maxSurge: surge, maxUnavailable: unavailable };
}

/** An int as is, or "N%" of `total`, rounded up or down (Kubernetes' GetScaledValueFromIntOrPercent). */
export function scaledValue(value: IntOrString, total: number, roundUp: boolean, field: string): number {
  if (typeof value === 'number') {
    if (Number.isInteger(value)) return value;
  } else {
    const m = /^(\d+)%$/.exec(value);
    if (m?.[1] !== undefined) {
      const share = (Number(m[1]) * total) / 100;
      return roundUp ? Math.ceil(share) : Math.floor(share);
    }
  }
  throw new DeploymentError(DeploymentErrorCode.InvalidIntOrPercent, `${field} ${JSON.stringify(value)} is neither an integer nor a percentage like "25%"`);
}

// ---- ReplicaSets as numbers ---------------------------------------------------------

export interface ReplicaSetView {
  readonly name: string;
  /** spec.replicas */
  readonly replicas: number;
  /** status.availableReplicas */
  readonly availableReplicas: number;
  /** Pods that exist for it and have not finished, terminating ones included. */
  readonly podCount: number;
  readonly createdMs: number;
  /** The max-replicas annotation: replicas + maxSurge of the Deployment when last sized. */
  readonly maxReplicasAnnotation: number | undefined;
}

/** Availability no larger than spec: a ReplicaSet just scaled down has not yet reported the pods it is removing. */
function trustedAvailable(rs: ReplicaSetView): number {
  return Math.min(rs.availableReplicas, rs.replicas);
}

const sum = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0);

/** Oldest first; equal times by name (Kubernetes' ReplicaSetsByCreationTimestamp). */
export function olderFirst(a: ReplicaSetView, b: ReplicaSetView): number {
  return a.createdMs !== b.createdMs ? a.createdMs - b.createdMs : a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

/**
 * How many replicas the new ReplicaSet should have now (Kubernetes'
 * NewRSNewReplicas): for RollingUpdate, grow until the pods of all
 * ReplicaSets reach replicas + maxSurge, never past replicas; for Recreate,
 * replicas at once.
 */
export function newReplicaSetReplicas(p: RolloutParams, all: readonly ReplicaSetView[], newRS: ReplicaSetView): number {
  if (p.strategy === DeploymentStrategyType.Recreate) return p.replicas;
  const current = sum(all.map((rs) => Math.max(rs.replicas, rs.podCount)));
  const maxTotal = p.replicas + p.maxSurge;
  if (current >= maxTotal) return newRS.replicas;
  return newRS.replicas + Math.max(0, Math.min(maxTotal - current, p.replicas - newRS.replicas));
}

/**
 * New spec.replicas for old ReplicaSets in a rolling update (Kubernetes'
 * reconcileOldReplicaSets): first shed old pods that are not available (they
 * serve nothing), then available ones, never letting availability drop under
 * replicas - maxUnavailable. Only changed sizes are returned, oldest first.
 */
export function planOldReplicaSetScaleDown(p: RolloutParams, all: readonly ReplicaSetView[], old: readonly ReplicaSetView[], newRS: ReplicaSetView): Map<string, number> {
  const minAvailable = p.replicas - p.maxUnavailable;
  const newUnavailable = newRS.replicas - newRS.availableReplicas;
  const maxScaledDown = sum(all.map((rs) => rs.replicas)) - minAvailable - newUnavailable;
  const sizes = new Map<string, number>();
  if (sum(old.map((rs) => rs.replicas)) === 0 || maxScaledDown <= 0) return sizes;
  const byAge = [...old].sort(olderFirst);
  let cleaned = 0;
  for (const rs of byAge) {
    if (cleaned >= maxScaledDown) break;
    const unhealthy = rs.replicas - trustedAvailable(rs);
    if (rs.replicas === 0 || unhealthy <= 0) continue;
    const down = Math.min(maxScaledDown - cleaned, unhealthy);
    sizes.set(rs.name, rs.replicas - down);
    cleaned += down;
  }
  const sized = (rs: ReplicaSetView): ReplicaSetView => ({ ...rs, replicas: sizes.get(rs.name) ?? rs.replicas });
  const availableNow = sum(all.map((rs) => trustedAvailable(sized(rs))));
  let toShed = availableNow - minAvailable;
  for (const rs of byAge.map(sized)) {
    if (toShed <= 0) break;
    if (rs.replicas === 0) continue;
    const down = Math.min(rs.replicas, toShed);
    sizes.set(rs.name, rs.replicas - down);
    toShed -= down;
  }
  return sizes;
}

/**
 * A resize of a Deployment with several active ReplicaSets (mid-rollout or
 * paused), spread in proportion to their sizes (Kubernetes'
 * DeploymentController.scale): each gets its share of replicas + maxSurge
 * relative to the max-replicas it was last sized for; what rounding leaves
 * over goes to the largest. Returns the new size of every given ReplicaSet.
 */
export function planProportionalScale(p: RolloutParams, active: readonly ReplicaSetView[], statusReplicas: number): Map<string, number> {
  const allowed = p.replicas > 0 ? p.replicas + p.maxSurge : 0;
  const toAdd = allowed - sum(active.map((rs) => rs.replicas));
  const ordered = [...active].sort(toAdd > 0 ? largerThenNewer : largerThenOlder);
  const sizes = new Map<string, number>();
  let added = 0;
  for (const rs of ordered) {
    const share = toAdd === 0 ? 0 : proportion(rs, p, toAdd, added, statusReplicas);
    sizes.set(rs.name, rs.replicas + share);
    added += share;
  }
  const largest = ordered[0];
  if (largest !== undefined && toAdd !== 0) sizes.set(largest.name, Math.max(0, (sizes.get(largest.name) ?? 0) + toAdd - added));
  return sizes;
}

function largerThenNewer(a: ReplicaSetView, b: ReplicaSetView): number {
  return a.replicas !== b.replicas ? b.replicas - a.replicas : -olderFirst(a, b);
}

function largerThenOlder(a: ReplicaSetView, b: ReplicaSetView): number {
  return a.replicas !== b.replicas ? b.replicas - a.replicas : olderFirst(a, b);
}

/** Kubernetes' GetProportion: this ReplicaSet's share, never past what is left to add (or remove). */
function proportion(rs: ReplicaSetView, p: RolloutParams, toAdd: number, added: number, statusReplicas: number): number {
  if (rs.replicas === 0 || toAdd === added) return 0;
  const fraction = replicaSetFraction(rs, p, statusReplicas);
  const allowed = toAdd - added;
  return toAdd > 0 ? Math.min(fraction, allowed) : Math.max(fraction, allowed);
}

function replicaSetFraction(rs: ReplicaSetView, p: RolloutParams, statusReplicas: number): number {
  if (p.replicas === 0) return -rs.replicas;
  const before = rs.maxReplicasAnnotation !== undefined && rs.maxReplicasAnnotation > 0 ? rs.maxReplicasAnnotation : statusReplicas;
  if (before <= 0) return 0;
  return Math.round((rs.replicas * (p.replicas + p.maxSurge)) / before) - rs.replicas;
}
