/**
 * Resizing without rolling (Kubernetes' DeploymentController.sync and
 * scale): when the Deployment is paused, or when only spec.replicas changed
 * (a "scaling event": an active ReplicaSet was sized for another replicas
 * count). One active ReplicaSet takes the new size; several share it in
 * proportion (RollingUpdate only), so a paused or half-done rollout keeps its
 * old/new ratio.
 */
import type { ReplicaSet } from '../../../proto/k8s/apps-v1.js';
import { DeploymentStrategyType } from '../../../proto/k8s/apps-v1.js';
import type { DeploymentSync } from './deployment-sync.js';
import { byCreation, desiredReplicasOf, isActive, replicasAnnotationsNeedUpdate, specReplicas } from './replica-sets.js';
import { planProportionalScale, type RolloutParams } from './rollout-math.js';

export async function isScalingEvent(s: DeploymentSync): Promise<boolean> {
  const { newRS, oldRSs } = await s.newAndOld(false);
  const all = newRS === undefined ? oldRSs : [...oldRSs, newRS];
  return all.map((rs) => s.latest(rs)).filter(isActive).some((rs) => {
    const desired = desiredReplicasOf(rs);
    return desired !== undefined && desired !== s.params.replicas;
  });
}

/** Scale, clean up old revisions when paused, and write status (no progress conditions). */
export async function syncScaling(s: DeploymentSync): Promise<void> {
  const { newRS, oldRSs } = await s.newAndOld(false);
  await scale(s, newRS, oldRSs);
  if (s.params.paused) await s.cleanup(oldRSs);
  await s.syncDeploymentStatus(newRS);
}

async function scale(s: DeploymentSync, newRS: ReplicaSet | undefined, oldRSs: readonly ReplicaSet[]): Promise<void> {
  const latestNew = newRS === undefined ? undefined : s.latest(newRS);
  const latestOld = oldRSs.map((rs) => s.latest(rs));
  const target = activeOrLatest(latestNew, latestOld);
  if (target !== undefined) {
    // Also when only the annotations are stale: else this would stay a "scaling event" forever.
    if (specReplicas(target) !== s.params.replicas || replicasAnnotationsNeedUpdate(target, s.params)) await s.scaleReplicaSet(target, s.params.replicas);
    return;
  }
  if (isSaturated(latestNew, s.params)) {
    for (const rs of latestOld.filter(isActive)) await s.scaleIfSizeDiffers(rs, 0);
    return;
  }
  if (s.params.strategy !== DeploymentStrategyType.RollingUpdate) return;
  const active = [...latestOld, ...(latestNew === undefined ? [] : [latestNew])].filter(isActive);
  const sizes = planProportionalScale(s.params, active.map((rs) => s.view(rs)), s.d.status?.replicas ?? 0);
  for (const rs of active) await s.scaleReplicaSet(rs, sizes.get(rs.metadata.name ?? '') ?? specReplicas(rs));
}

/**
 * The one ReplicaSet to resize when at most one is active: that one; with
 * none active, the new one, else the newest old one. Undefined when several
 * are active (Kubernetes' FindActiveOrLatest).
 */
export function activeOrLatest(newRS: ReplicaSet | undefined, oldRSs: readonly ReplicaSet[]): ReplicaSet | undefined {
  const all = newRS === undefined ? [...oldRSs] : [...oldRSs, newRS];
  const active = all.filter(isActive);
  if (active.length === 1) return active[0];
  if (active.length > 1) return undefined;
  return newRS ?? [...oldRSs].sort(byCreation).at(-1);
}

/** The new ReplicaSet alone already holds every replica, all available: old ones can go. */
export function isSaturated(newRS: ReplicaSet | undefined, p: RolloutParams): boolean {
  return newRS !== undefined && desiredReplicasOf(newRS) === p.replicas && specReplicas(newRS) === p.replicas && (newRS.status?.availableReplicas ?? 0) === p.replicas;
}
