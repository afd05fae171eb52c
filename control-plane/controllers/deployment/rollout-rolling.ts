/**
 * The RollingUpdate strategy (Kubernetes' rolling.go): each sync takes one
 * step — grow the new ReplicaSet while the pods of all ReplicaSets stay within
 * replicas + maxSurge, or else shrink old ones while availability stays at or
 * above replicas - maxUnavailable — and the next step waits for the events
 * (pods created, deleted, becoming available) that the last one caused.
 */
import { assert } from '../controller-utils.js';
import { deploymentComplete } from './deployment-status.js';
import type { DeploymentSync } from './deployment-sync.js';
import { isActive, specReplicas } from './replica-sets.js';
import type { ReplicaSet } from '../../../proto/k8s/apps-v1.js';
import { newReplicaSetReplicas, olderFirst, planOldReplicaSetScaleDown } from './rollout-math.js';

export async function rolloutRolling(s: DeploymentSync): Promise<void> {
  const { newRS, oldRSs } = await s.newAndOld(true);
  assert(newRS !== undefined, 'newAndOld(create) returns a new ReplicaSet');
  if (await reconcileNewReplicaSet(s, newRS)) return s.syncRolloutStatus(newRS);
  if (await reconcileOldReplicaSets(s, newRS, oldRSs)) return s.syncRolloutStatus(newRS);
  if (deploymentComplete(s.d, s.params, s.d.status)) await s.cleanup(oldRSs);
  return s.syncRolloutStatus(newRS);
}

/** Grows the new ReplicaSet within the surge bound, or shrinks it to replicas; true when its size changed. */
async function reconcileNewReplicaSet(s: DeploymentSync, newRS: ReplicaSet): Promise<boolean> {
  const size = specReplicas(s.latest(newRS));
  if (size === s.params.replicas) return false;
  if (size > s.params.replicas) return s.scaleIfSizeDiffers(newRS, s.params.replicas);
  return s.scaleIfSizeDiffers(newRS, newReplicaSetReplicas(s.params, s.views(), s.view(newRS)));
}

/** Shrinks old ReplicaSets, unavailable pods first; true when any size changed. */
async function reconcileOldReplicaSets(s: DeploymentSync, newRS: ReplicaSet, oldRSs: readonly ReplicaSet[]): Promise<boolean> {
  const active = oldRSs.map((rs) => s.latest(rs)).filter(isActive);
  const plan = planOldReplicaSetScaleDown(s.params, s.views(), active.map((rs) => s.view(rs)), s.view(newRS));
  let scaled = false;
  for (const rs of active.sort((a, b) => olderFirst(s.view(a), s.view(b)))) {
    const size = plan.get(rs.metadata.name ?? '');
    if (size !== undefined && (await s.scaleIfSizeDiffers(rs, size))) scaled = true;
  }
  return scaled;
}
