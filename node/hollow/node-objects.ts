/**
 * The Node and Lease objects a hollow node writes, built as pure functions of
 * its identity and the time, so what a kubelet reports can be read (and
 * tested) apart from the code that sends it.
 */
import type { Node, NodeCondition, NodeStatus, ResourceList } from '../../proto/k8s/core-v1.js';
import type { Lease } from '../../proto/k8s/coordination-v1.js';

export const HOLLOW_KUBELET_VERSION = 'v1.29.0-strake-hollow';
export const HOLLOW_RUNTIME_VERSION = 'hollow://';
/** The label that tells hollow nodes from real ones (and lets `kubectl get nodes -l` find them). */
export const HOLLOW_NODE_LABEL = 'node.kubernetes.io/hollow';
/** Where node heartbeat leases live (created by the API server at bootstrap). */
export const NODE_LEASE_NAMESPACE = 'kube-node-lease';

/** What a hollow node offers unless told otherwise (the kubelet's default maxPods is 110, FACTS.md §4f). */
export const DEFAULT_CAPACITY: Readonly<ResourceList> = { cpu: '4', memory: '8Gi', pods: '110' };

export interface HollowNodeIdentity {
  readonly name: string;
  readonly internalIp: string;
  readonly podCidr: string;
  /** New for every start of the hollow process, as a kubelet's boot id is per boot. */
  readonly bootId: string;
}

/** meta/v1 Time: RFC 3339, whole seconds. */
export function timeOf(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

/** meta/v1 MicroTime: RFC 3339 with six fractional digits (leases use it). */
export function microTimeOf(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

export function nodeLabels(name: string): Record<string, string> {
  return {
    'kubernetes.io/hostname': name,
    'kubernetes.io/os': 'linux',
    'kubernetes.io/arch': 'amd64',
    [HOLLOW_NODE_LABEL]: 'true',
  };
}

function condition(type: string, status: 'True' | 'False', reason: string, message: string, sinceIso: string, nowIso: string): NodeCondition {
  return { type, status, reason, message, lastHeartbeatTime: nowIso, lastTransitionTime: sinceIso };
}

/**
 * The node's status as of `nowMs`. `readySinceMs` is when this process first
 * reported the node Ready: the conditions' lastTransitionTime.
 */
export function nodeStatus(id: HollowNodeIdentity, capacity: Readonly<ResourceList>, readySinceMs: number, nowMs: number): NodeStatus {
  const since = timeOf(readySinceMs);
  const now = timeOf(nowMs);
  return {
    capacity: { ...capacity },
    allocatable: { ...capacity },
    conditions: [
      condition('MemoryPressure', 'False', 'KubeletHasSufficientMemory', 'kubelet has sufficient memory available', since, now),
      condition('DiskPressure', 'False', 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure', since, now),
      condition('PIDPressure', 'False', 'KubeletHasSufficientPID', 'kubelet has sufficient PID available', since, now),
      condition('Ready', 'True', 'KubeletReady', 'kubelet is posting ready status (hollow node)', since, now),
    ],
    addresses: [
      { type: 'InternalIP', address: id.internalIp },
      { type: 'Hostname', address: id.name },
    ],
    nodeInfo: {
      bootID: id.bootId,
      kernelVersion: 'hollow',
      osImage: 'Strake hollow node',
      containerRuntimeVersion: HOLLOW_RUNTIME_VERSION,
      kubeletVersion: HOLLOW_KUBELET_VERSION,
      kubeProxyVersion: HOLLOW_KUBELET_VERSION,
      operatingSystem: 'linux',
      architecture: 'amd64',
    },
  };
}

export function newNode(id: HollowNodeIdentity, capacity: Readonly<ResourceList>, readySinceMs: number, nowMs: number): Node {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: id.name, labels: nodeLabels(id.name) },
    spec: { podCIDR: id.podCidr, podCIDRs: [id.podCidr] },
    status: nodeStatus(id, capacity, readySinceMs, nowMs),
  };
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
