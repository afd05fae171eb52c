/**
 * Which pods a ReplicaSet deletes first when it has too many: Kubernetes'
 * ActivePods ordering (controller_utils.go), least useful first, so that a
 * scale-down removes pods that serve nothing yet before pods that serve:
 *
 *   1. unassigned < assigned (no nodeName: nothing runs yet)
 *   2. Pending < Unknown < Running
 *   3. not ready < ready
 *   4. ready for less time < ready for longer (a missing time counts as least)
 *   5. more container restarts < fewer
 *   6. newer < older (a missing creation time counts as newest)
 *
 * Kubernetes also ranks pods on crowded nodes first and, since 1.22, buckets
 * times logarithmically; neither is done here (documented in the README).
 */
import type { Pod } from '../../../proto/k8s/core-v1.js';
import { isPodReady, parseTimeMs, podReadyCondition } from '../controller-utils.js';

/** Pending, then Unknown, then Running; other phases (Succeeded, Failed) rank with Pending, as in Kubernetes. */
const PHASE_ORDINAL: Readonly<Record<string, number>> = { Pending: 0, Unknown: 1, Running: 2 };

/** Negative when `a` is less useful than `b` (deleted first). */
export function compareActivePods(a: Pod, b: Pod): number {
  const nodeA = a.spec.nodeName ?? '';
  const nodeB = b.spec.nodeName ?? '';
  if (nodeA !== nodeB && (nodeA === '' || nodeB === '')) return nodeA === '' ? -1 : 1;
  const phaseA = PHASE_ORDINAL[a.status?.phase ?? ''] ?? 0;
  const phaseB = PHASE_ORDINAL[b.status?.phase ?? ''] ?? 0;
  if (phaseA !== phaseB) return phaseA - phaseB;
  const readyA = isPodReady(a);
  const readyB = isPodReady(b);
  if (readyA !== readyB) return readyA ? 1 : -1;
  if (readyA) {
    const since = laterOrMissingFirst(parseTimeMs(podReadyCondition(a)?.lastTransitionTime), parseTimeMs(podReadyCondition(b)?.lastTransitionTime));
    if (since !== 0) return since;
  }
  const restarts = maxRestarts(b) - maxRestarts(a);
  if (restarts !== 0) return restarts;
  return laterOrMissingFirst(parseTimeMs(a.metadata.creationTimestamp), parseTimeMs(b.metadata.creationTimestamp));
}

/** Kubernetes' afterOrZero as a comparison: a missing time first, then the later time first. */
function laterOrMissingFirst(a: number | undefined, b: number | undefined): number {
  if (a === b) return 0;
  if (a === undefined) return -1;
  if (b === undefined) return 1;
  return b - a;
}

function maxRestarts(pod: Pod): number {
  return Math.max(0, ...(pod.status?.containerStatuses ?? []).map((s) => s.restartCount));
}

/** The `count` least useful pods, in deletion order. The input is not reordered. */
export function podsToDelete(pods: readonly Pod[], count: number): Pod[] {
  if (count <= 0) return [];
  return [...pods].sort(compareActivePods).slice(0, count);
}
