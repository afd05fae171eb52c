/**
 * The Recreate strategy (Kubernetes' recreate.go): scale every old
 * ReplicaSet to 0, wait until none of their pods is left (terminating pods
 * included), and only then create or grow the new ReplicaSet to replicas.
 * Old and new pods therefore never run together.
 */
import type { ReplicaSet } from '../../../proto/k8s/apps-v1.js';
import { assert } from '../controller-utils.js';
import { deploymentComplete } from './deployment-status.js';
import type { DeploymentSync } from './deployment-sync.js';
import { isActive } from './replica-sets.js';

export async function rolloutRecreate(s: DeploymentSync): Promise<void> {
  const first = await s.newAndOld(false);
  let scaledDown = false;
  for (const rs of first.oldRSs.map((o) => s.latest(o)).filter(isActive)) {
    if (await s.scaleIfSizeDiffers(rs, 0)) scaledDown = true;
  }
  if (scaledDown || oldPodsRunning(s, first.newRS, first.oldRSs)) return s.syncRolloutStatus(first.newRS);
  const { newRS, oldRSs } = first.newRS === undefined ? await s.newAndOld(true) : first;
  assert(newRS !== undefined, 'newAndOld(create) returns a new ReplicaSet');
  await s.scaleIfSizeDiffers(newRS, s.params.replicas);
  if (deploymentComplete(s.d, s.params, s.d.status)) await s.cleanup(oldRSs);
  return s.syncRolloutStatus(newRS);
}

/** An old ReplicaSet still reports pods, or the pod cache still holds an unfinished pod of one. */
export function oldPodsRunning(s: DeploymentSync, newRS: ReplicaSet | undefined, oldRSs: readonly ReplicaSet[]): boolean {
  const old = oldRSs.map((rs) => s.latest(rs));
  if (old.some((rs) => (rs.status?.replicas ?? 0) > 0)) return true;
  return s.replicaSets().some((rs) => rs.metadata.uid !== newRS?.metadata.uid && s.podsOf(rs).length > 0);
}
