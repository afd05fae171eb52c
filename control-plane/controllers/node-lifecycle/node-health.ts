/**
 * Whether a node is alive, judged only by our own clock.
 *
 * The kubelet proves it is alive by renewing its Lease in kube-node-lease
 * (renewTime) and by posting its Ready condition (lastHeartbeatTime). Those
 * timestamps come from the node's clock, which may be skewed, so we never
 * compare them with ours: we only notice that one of them CHANGED and record
 * when we noticed (Kubernetes' probeTimestamp). A node is silent when nothing
 * changed for longer than the grace period by our clock.
 */
import type { Lease } from '../../../proto/k8s/coordination-v1.js';
import type { ConditionStatus, Node, NodeCondition } from '../../../proto/k8s/core-v1.js';

export const NodeConditionType = {
  Ready: 'Ready',
  MemoryPressure: 'MemoryPressure',
  DiskPressure: 'DiskPressure',
  PIDPressure: 'PIDPressure',
} as const;
export type NodeConditionType = (typeof NodeConditionType)[keyof typeof NodeConditionType];

/** The conditions the kubelet owns and the controller sets to Unknown when the kubelet goes silent (Kubernetes' list). */
const KUBELET_CONDITIONS: readonly NodeConditionType[] = [
  NodeConditionType.Ready,
  NodeConditionType.MemoryPressure,
  NodeConditionType.DiskPressure,
  NodeConditionType.PIDPressure,
];

export const NODE_STATUS_UNKNOWN_REASON = 'NodeStatusUnknown';
export const NODE_STATUS_UNKNOWN_MESSAGE = 'Kubelet stopped posting node status.';
export const NODE_STATUS_NEVER_UPDATED_REASON = 'NodeStatusNeverUpdated';
export const NODE_STATUS_NEVER_UPDATED_MESSAGE = 'Kubelet never posted node status.';

export function conditionOf(node: Node, type: string): NodeCondition | undefined {
  return node.status?.conditions?.find((c) => c.type === type);
}

export function leaseRenewTime(lease: Lease | undefined): string | undefined {
  return lease?.spec?.renewTime;
}

interface Probe {
  /** Our clock when we last saw the heartbeat or the lease renewal change (or first saw the node). */
  probeMs: number;
  heartbeat: string | undefined;
  renewTime: string | undefined;
}

/** Per node: when we last saw a sign of life. Bounded by the number of nodes (entries go with `forget`). */
export class ProbeTracker {
  private readonly probes = new Map<string, Probe>();

  /** Records the node's current heartbeat and lease renewal; a change (or a first sighting) resets its probe time. */
  observe(node: string, heartbeat: string | undefined, renewTime: string | undefined, nowMs: number): void {
    const probe = this.probes.get(node);
    if (probe === undefined) {
      this.probes.set(node, { probeMs: nowMs, heartbeat, renewTime });
      return;
    }
    if (probe.heartbeat === heartbeat && probe.renewTime === renewTime) return;
    probe.heartbeat = heartbeat;
    probe.renewTime = renewTime;
    probe.probeMs = Math.max(probe.probeMs, nowMs);
  }

  /** How long the node has been silent by our clock; 0 for a node never observed. */
  silentForMs(node: string, nowMs: number): number {
    const probe = this.probes.get(node);
    return probe === undefined ? 0 : Math.max(0, nowMs - probe.probeMs);
  }

  /** Gives every node a fresh grace period (after the control plane itself was cut off, as Kubernetes does). */
  restartAll(nowMs: number): void {
    for (const probe of this.probes.values()) probe.probeMs = Math.max(probe.probeMs, nowMs);
  }

  forget(node: string): void {
    this.probes.delete(node);
  }
}

export interface Readiness {
  /** The Ready status to act on; undefined while a new node has not reported yet and is within its startup grace. */
  readonly status: ConditionStatus | undefined;
  /** Silent past its grace period: its conditions must say Unknown. */
  readonly silent: boolean;
}

export interface GracePeriods {
  readonly nodeMonitorGracePeriodMs: number;
  /** For nodes that have never posted a Ready condition (still booting). */
  readonly nodeStartupGracePeriodMs: number;
}

export function judgeReadiness(node: Node, silentForMs: number, grace: GracePeriods): Readiness {
  const ready = conditionOf(node, NodeConditionType.Ready);
  const graceMs = ready === undefined ? grace.nodeStartupGracePeriodMs : grace.nodeMonitorGracePeriodMs;
  const silent = silentForMs > graceMs;
  return { status: silent ? 'Unknown' : ready?.status, silent };
}

/**
 * The conditions a silent node should have: the kubelet's own ones set to
 * Unknown (added when it never posted them). Undefined when they already say
 * so, so a repeated sync writes nothing. lastHeartbeatTime is kept: it is the
 * kubelet's, and changing it would look like a sign of life.
 */
export function silentNodeConditions(node: Node, nowIso: string): NodeCondition[] | undefined {
  const conditions = [...(node.status?.conditions ?? [])];
  let changed = false;
  for (const type of KUBELET_CONDITIONS) {
    const i = conditions.findIndex((c) => c.type === type);
    const current = i < 0 ? undefined : conditions[i];
    if (current === undefined) {
      const heartbeat = node.metadata.creationTimestamp ?? nowIso;
      conditions.push({ type, status: 'Unknown', reason: NODE_STATUS_NEVER_UPDATED_REASON, message: NODE_STATUS_NEVER_UPDATED_MESSAGE, lastHeartbeatTime: heartbeat, lastTransitionTime: nowIso });
      changed = true;
    } else if (current.status !== 'Unknown') {
      conditions[i] = { ...current, status: 'Unknown', reason: NODE_STATUS_UNKNOWN_REASON, message: NODE_STATUS_UNKNOWN_MESSAGE, lastTransitionTime: nowIso };
      changed = true;
    }
  }
  return changed ? conditions : undefined;
}
