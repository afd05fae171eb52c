/**
 * The Node and Lease objects a hollow node writes: the shared builders of
 * node/node-objects.ts with what makes a node hollow (its label, versions and
 * an always-Ready condition).
 */
import type { Node, NodeStatus, ResourceList } from '../../proto/k8s/core-v1.js';
import { baseNodeLabels, newNodeObject, nodeStatusOf, type NodeIdentity } from '../node-objects.js';

export { NODE_LEASE_NAMESPACE, microTimeOf, newLease, renewedLease, timeOf } from '../node-objects.js';

export const HOLLOW_KUBELET_VERSION = 'v1.32.0-strake-hollow';
export const HOLLOW_RUNTIME_VERSION = 'hollow://';
/** The label that tells hollow nodes from real ones (and lets `kubectl get nodes -l` find them). */
export const HOLLOW_NODE_LABEL = 'node.kubernetes.io/hollow';

/** What a hollow node offers unless told otherwise (the kubelet's default maxPods is 110, FACTS.md §4f). */
export const DEFAULT_CAPACITY: Readonly<ResourceList> = { cpu: '4', memory: '8Gi', pods: '110' };

export interface HollowNodeIdentity extends NodeIdentity {
  readonly podCidr: string;
}

export function nodeLabels(name: string): Record<string, string> {
  return { ...baseNodeLabels(name), [HOLLOW_NODE_LABEL]: 'true' };
}

/**
 * The node's status as of `nowMs`. `readySinceMs` is when this process first
 * reported the node Ready: the conditions' lastTransitionTime.
 */
export function nodeStatus(id: HollowNodeIdentity, capacity: Readonly<ResourceList>, readySinceMs: number, nowMs: number): NodeStatus {
  return nodeStatusOf({
    id,
    capacity,
    nowMs,
    readiness: { ready: true, reason: 'KubeletReady', message: 'kubelet is posting ready status (hollow node)', sinceMs: readySinceMs },
    nodeInfo: {
      kernelVersion: 'hollow',
      osImage: 'Strake hollow node',
      containerRuntimeVersion: HOLLOW_RUNTIME_VERSION,
      kubeletVersion: HOLLOW_KUBELET_VERSION,
      kubeProxyVersion: HOLLOW_KUBELET_VERSION,
      operatingSystem: 'linux',
      architecture: 'amd64',
    },
  });
}

export function newNode(id: HollowNodeIdentity, capacity: Readonly<ResourceList>, readySinceMs: number, nowMs: number): Node {
  return newNodeObject(id, nodeLabels(id.name), nodeStatus(id, capacity, readySinceMs, nowMs));
}
