/**
 * The controller's readiness taints and taint-based eviction, as pure
 * functions:
 *  - `planReadinessTaints`: which not-ready / unreachable taints a node
 *    should carry for its Ready status;
 *  - `tolerates` and `evictionDeadlineMs`: when a pod on a node with NoExecute
 *    taints must go (Kubernetes' NoExecuteTaintManager).
 */
import type { ConditionStatus, Taint, Toleration } from '../../../proto/k8s/core-v1.js';
import { TaintEffect } from '../../../proto/k8s/core-v1.js';
import { TAINT_NODE_NOT_READY, TAINT_NODE_UNREACHABLE } from '../../validation/defaults-pod.js';

export { TAINT_NODE_NOT_READY, TAINT_NODE_UNREACHABLE };

const READINESS_TAINT_KEYS: readonly string[] = [TAINT_NODE_NOT_READY, TAINT_NODE_UNREACHABLE];

export interface TaintPlan {
  /** The node's taints as they should be. */
  readonly taints: Taint[];
  /** True when the taints differ from the current ones. */
  readonly changed: boolean;
  /** The node needs a NoExecute taint it may not add yet: it must wait for a token. */
  readonly needsGrant: boolean;
  /** The plan adds a NoExecute taint the node did not have in any form (which uses up its grant). */
  readonly addsNoExecute: boolean;
}

export interface TaintContext {
  /** Every zone is fully disrupted: no NoExecute readiness taints at all. */
  readonly fullyDisrupted: boolean;
  /** The node holds a token to be tainted NoExecute. */
  readonly granted: boolean;
  readonly nowIso: string;
}

function isReadinessTaint(t: Taint, effect: TaintEffect): boolean {
  return t.effect === effect && READINESS_TAINT_KEYS.includes(t.key);
}

/**
 * The taints for a node whose Ready status is `status`. Ready: none of ours.
 * False: not-ready; Unknown: unreachable — NoSchedule at once; NoExecute
 * swapped at once when the node has the other one, else added only with a
 * grant (the eviction rate limit). A node that has not reported yet keeps
 * what it has.
 */
export function planReadinessTaints(current: readonly Taint[], status: ConditionStatus | undefined, ctx: TaintContext): TaintPlan {
  if (status === undefined) return { taints: [...current], changed: false, needsGrant: false, addsNoExecute: false };
  const key = status === 'True' ? undefined : status === 'False' ? TAINT_NODE_NOT_READY : TAINT_NODE_UNREACHABLE;
  const others = current.filter((t) => !isReadinessTaint(t, TaintEffect.NoSchedule) && !isReadinessTaint(t, TaintEffect.NoExecute));
  const oldNoSchedule = current.find((t) => isReadinessTaint(t, TaintEffect.NoSchedule) && t.key === key);
  const oldNoExecute = current.find((t) => isReadinessTaint(t, TaintEffect.NoExecute));
  const taints = [...others];
  if (key !== undefined) taints.push(oldNoSchedule ?? { key, effect: TaintEffect.NoSchedule });
  let needsGrant = false;
  let addsNoExecute = false;
  if (key !== undefined && !ctx.fullyDisrupted) {
    if (oldNoExecute?.key === key) taints.push(oldNoExecute);
    else if (oldNoExecute !== undefined || ctx.granted) {
      taints.push({ key, effect: TaintEffect.NoExecute, timeAdded: ctx.nowIso });
      addsNoExecute = oldNoExecute === undefined;
    } else needsGrant = true;
  }
  return { taints, changed: !sameTaints(current, taints), needsGrant, addsNoExecute };
}

/** Same taints by key and effect (what identifies a taint), in any order. */
export function sameTaints(a: readonly Taint[], b: readonly Taint[]): boolean {
  const ids = (ts: readonly Taint[]): string => ts.map((t) => `${t.key}\u0000${t.effect}\u0000${t.value ?? ''}`).sort().join('\u0001');
  return ids(a) === ids(b);
}

/** Kubernetes' ToleratesTaint: empty effect matches every effect, empty key (with Exists) every key. */
export function tolerates(t: Toleration, taint: Taint): boolean {
  if (t.effect !== undefined && t.effect !== '' && t.effect !== taint.effect) return false;
  if (t.key !== undefined && t.key !== '' && t.key !== taint.key) return false;
  switch (t.operator ?? 'Equal') {
    case 'Exists':
      return true;
    case 'Equal':
      return (t.value ?? '') === (taint.value ?? '');
    default:
      return false;
  }
}

export interface NoExecuteTaint {
  readonly taint: Taint;
  /** When the pod started being exposed to this taint, by our clock (the later of: we saw the taint, we saw the pod on the node). */
  readonly sinceMs: number;
}

/**
 * When the pod must be evicted: for each NoExecute taint, the first toleration
 * that tolerates it decides (none: at once; no tolerationSeconds: never;
 * otherwise `sinceMs + tolerationSeconds`, negatives counting as 0); the
 * earliest taint wins. Infinity when the pod may stay forever.
 */
export function evictionDeadlineMs(tolerations: readonly Toleration[] | undefined, taints: readonly NoExecuteTaint[]): number {
  let deadline = Infinity;
  for (const { taint, sinceMs } of taints) {
    const toleration = (tolerations ?? []).find((t) => tolerates(t, taint));
    const seconds = toleration === undefined ? 0 : toleration.tolerationSeconds;
    if (seconds === undefined || seconds === null) continue;
    deadline = Math.min(deadline, sinceMs + Math.max(0, seconds) * 1000);
  }
  return deadline;
}
