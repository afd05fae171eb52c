/**
 * What the pod and node informers' events do to the cache and the queue.
 * Level-triggered: every handler looks only at the object's current state
 * (and the previous one, to tell what changed), so a relist that replays
 * everything leads to the same cache and queue.
 */
import type { Node, Pod } from '../../proto/k8s/core-v1.js';
import type { InformerHandlers } from '../client/informer.js';
import type { SchedulerCache } from './cache.js';
import { isAssigned, isPendingFor, isTerminal, podKey } from './pod-info.js';
import { InterPodAffinityPlugin } from './plugins/inter-pod-affinity.js';
import { PodTopologySpreadPlugin } from './plugins/pod-topology-spread.js';
import { ClusterEvent, type QueuedPod, type SchedulingQueue } from './queue.js';

export interface HandlerDeps {
  readonly cache: SchedulerCache;
  readonly queue: SchedulingQueue;
  readonly schedulerName: string;
  /** False once the scheduler stops: late events then change nothing. */
  readonly live: () => boolean;
}

/** A new pod on a node can only help pods that wait for other pods (affinity, spreading); freed resources help anyone. */
function waitsForPods(qp: QueuedPod): boolean {
  return qp.unschedulablePlugins.has(InterPodAffinityPlugin.NAME) || qp.unschedulablePlugins.has(PodTopologySpreadPlugin.NAME);
}

/** Counted in the cache: bound and not finished. */
function holdsResources(pod: Pod): boolean {
  return isAssigned(pod) && !isTerminal(pod);
}

export function podHandlers(d: HandlerDeps): InformerHandlers<Pod> {
  const unassignedChanged = (old: Pod | undefined, pod: Pod): void => {
    d.cache.upsertPod(pod); // keeps an assumption: the API has not caught up yet
    if (isPendingFor(pod, d.schedulerName)) d.queue.update(old, pod);
    else d.queue.delete(podKey(pod));
  };
  const assignedChanged = (old: Pod | undefined, pod: Pod): void => {
    d.queue.delete(podKey(pod));
    const before = old !== undefined && holdsResources(old);
    d.cache.upsertPod(pod);
    if (before && !holdsResources(pod)) d.queue.moveAllToActiveOrBackoff(ClusterEvent.AssignedPodDelete);
    else if (!before && holdsResources(pod)) d.queue.moveAllToActiveOrBackoff(ClusterEvent.AssignedPodAdd, waitsForPods);
  };
  return {
    onAdd: (pod) => {
      if (!d.live()) return;
      if (isAssigned(pod)) assignedChanged(undefined, pod);
      else unassignedChanged(undefined, pod);
    },
    onUpdate: (old, pod) => {
      if (!d.live()) return;
      if (isAssigned(pod)) assignedChanged(old, pod);
      else unassignedChanged(old, pod);
    },
    onDelete: (pod) => {
      if (!d.live()) return;
      const key = podKey(pod);
      d.queue.delete(key);
      const wasCounted = d.cache.placementOf(key) !== undefined;
      d.cache.removePod(key);
      if (wasCounted) d.queue.moveAllToActiveOrBackoff(ClusterEvent.AssignedPodDelete);
    },
  };
}

function readyStatus(node: Node): string | undefined {
  return (node.status?.conditions ?? []).find((c) => c.type === 'Ready')?.status;
}

/** Whether a node update can change where pods fit; heartbeats (condition timestamps) cannot, and must not wake every waiting pod. */
export function nodeSchedulingPropertiesChanged(old: Node, node: Node): boolean {
  const inputs = (n: Node): string =>
    JSON.stringify([n.spec?.unschedulable ?? false, n.metadata.labels, n.spec?.taints, n.status?.allocatable ?? n.status?.capacity, readyStatus(n)]);
  return inputs(old) !== inputs(node);
}

export function nodeHandlers(d: HandlerDeps): InformerHandlers<Node> {
  return {
    onAdd: (node) => {
      if (!d.live()) return;
      d.cache.addOrUpdateNode(node);
      d.queue.moveAllToActiveOrBackoff(ClusterEvent.NodeAdd);
    },
    onUpdate: (old, node) => {
      if (!d.live()) return;
      d.cache.addOrUpdateNode(node);
      if (nodeSchedulingPropertiesChanged(old, node)) d.queue.moveAllToActiveOrBackoff(ClusterEvent.NodeUpdate);
    },
    onDelete: (node) => {
      if (!d.live()) return;
      d.cache.removeNode(node.metadata.name ?? '');
    },
  };
}
