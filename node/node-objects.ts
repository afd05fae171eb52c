/**
 * The Node and Lease objects a node writes — shared by the node agent
 * (node/agent) and the hollow nodes (node/hollow) — built as pure functions of
 * the node's identity, its readiness and the time, so what a kubelet reports
 * can be read (and tested) apart from the code that sends it.
 */
import type { Lease } from '../proto/k8s/coordination-v1.js';
import type { Node, NodeCondition, NodeStatus, NodeSystemInfo, ResourceList } from '../proto/k8s/core-v1.js';

/** Where node heartbeat leases live (created by the API server at bootstrap). */
export const NODE_LEASE_NAMESPACE = 'kube-node-lease';

/** The kubelet's defaults (FACTS.md §4f): status every 10 s, a 40 s lease renewed every 10 s, at most 110 pods. */
export const NODE_STATUS_UPDATE_MS_DEFAULT = 10_000;
export const LEASE_RENEW_MS_DEFAULT = 10_000;
export const LEASE_DURATION_SECONDS_DEFAULT = 40;
export const MAX_PODS_DEFAULT = 110;

export interface NodeIdentity {
  readonly name: string;
  readonly internalIp: string;
  /** Absent when the node does not hand out pod addresses from a range of its own. */
  readonly podCidr?: string;
  /** New for every start of the node's process, as a kubelet's boot id is per boot. */
  readonly bootId: string;
}

/** The Ready condition as the node reports it; `sinceMs` is when it last changed. */
export interface NodeReadiness {
  readonly ready: boolean;
  readonly reason: string;
  readonly message: string;
  readonly sinceMs: number;
}

export interface NodeStatusInput {
  readonly id: NodeIdentity;
  readonly capacity: Readonly<ResourceList>;
  readonly readiness: NodeReadiness;
  readonly nodeInfo: NodeSystemInfo;
  readonly nowMs: number;
  /** The node's own HTTP server (logs, exec), reported as daemonEndpoints.kubeletEndpoint.Port. */
  readonly daemonPort?: number;
  /** Pressure conditions have held their value since (default: `readiness.sinceMs`). */
  readonly pressureSinceMs?: number;
}

/** meta/v1 Time: RFC 3339, whole seconds. */
export function timeOf(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

/** meta/v1 MicroTime: RFC 3339 with six fractional digits (leases use it). */
export function microTimeOf(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

/** The well-known labels every node carries. */
export function baseNodeLabels(name: string): Record<string, string> {
  return {
    'kubernetes.io/hostname': name,
    'kubernetes.io/os': 'linux',
    'kubernetes.io/arch': 'amd64',
  };
}

function condition(type: string, status: 'True' | 'False', reason: string, message: string, sinceIso: string, nowIso: string): NodeCondition {
  return { type, status, reason, message, lastHeartbeatTime: nowIso, lastTransitionTime: sinceIso };
}

/** The node's status as of `nowMs`: capacity (also allocatable), the pressure and Ready conditions, addresses and system info. */
export function nodeStatusOf(o: NodeStatusInput): NodeStatus {
  const now = timeOf(o.nowMs);
  const readySince = timeOf(o.readiness.sinceMs);
  const pressureSince = timeOf(o.pressureSinceMs ?? o.readiness.sinceMs);
  const r = o.readiness;
  return {
    capacity: { ...o.capacity },
    allocatable: { ...o.capacity },
    conditions: [
      condition('MemoryPressure', 'False', 'KubeletHasSufficientMemory', 'kubelet has sufficient memory available', pressureSince, now),
      condition('DiskPressure', 'False', 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure', pressureSince, now),
      condition('PIDPressure', 'False', 'KubeletHasSufficientPID', 'kubelet has sufficient PID available', pressureSince, now),
      condition('Ready', r.ready ? 'True' : 'False', r.reason, r.message, readySince, now),
    ],
    addresses: [
      { type: 'InternalIP', address: o.id.internalIp },
      { type: 'Hostname', address: o.id.name },
    ],
    ...(o.daemonPort === undefined ? {} : { daemonEndpoints: { kubeletEndpoint: { Port: o.daemonPort } } }),
    nodeInfo: { bootID: o.id.bootId, ...o.nodeInfo },
  };
}

export function newNodeObject(id: NodeIdentity, labels: Record<string, string>, status: NodeStatus): Node {
  const spec = id.podCidr === undefined ? {} : { podCIDR: id.podCidr, podCIDRs: [id.podCidr] };
  return { apiVersion: 'v1', kind: 'Node', metadata: { name: id.name, labels }, spec, status };
}

/** The node's heartbeat lease, owned by the Node so that deleting the node collects it. */
export function newLease(nodeName: string, nodeUid: string | undefined, durationSeconds: number, nowMs: number): Lease {
  const owner = nodeUid === undefined ? {} : { ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: nodeName, uid: nodeUid }] };
  return {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: { name: nodeName, namespace: NODE_LEASE_NAMESPACE, ...owner },
    spec: { holderIdentity: nodeName, leaseDurationSeconds: durationSeconds, renewTime: microTimeOf(nowMs) },
  };
}

/** `lease` renewed at `nowMs` by its node (keeps resourceVersion: the write is a compare-and-swap). */
export function renewedLease(lease: Lease, nodeName: string, durationSeconds: number, nowMs: number): Lease {
  return { ...lease, spec: { ...lease.spec, holderIdentity: nodeName, leaseDurationSeconds: durationSeconds, renewTime: microTimeOf(nowMs) } };
}
