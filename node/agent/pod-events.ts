/**
 * The events the agent records about pods, worded as the kubelet words them,
 * so `kubectl describe pod` reads the same as on a Kubernetes node. Events
 * about a container name it by fieldPath (`spec.containers{app}`,
 * `spec.initContainers{setup}`), as the kubelet's container references do.
 *
 * Recording never blocks and never throws (the EventSink's contract); the
 * recorder's aggregation and spam filter keep a crash-looping pod from
 * flooding the API.
 */
import type { EventSink, EventType } from '../../control-plane/client/events/event-recorder.js';
import type { Pod } from '../../proto/k8s/core-v1.js';

/** The kubelet's event reasons (pkg/kubelet/events), those this agent records. */
export const PodEventReason = {
  Pulling: 'Pulling',
  Pulled: 'Pulled',
  Failed: 'Failed',
  BackOff: 'BackOff',
  ErrImageNeverPull: 'ErrImageNeverPull',
  InspectFailed: 'InspectFailed',
  Created: 'Created',
  Started: 'Started',
  Killing: 'Killing',
  Unhealthy: 'Unhealthy',
} as const;
export type PodEventReason = (typeof PodEventReason)[keyof typeof PodEventReason];

/** Where the pod's events about one of its containers go. */
export interface ContainerEvents {
  event(pod: Pod, containerName: string, type: EventType, reason: PodEventReason, message: string): void;
}

/** Records nothing: for code run without a recorder (unit tests of one part). */
export const noContainerEvents: ContainerEvents = { event: () => {} };

/**
 * The kubelet's container reference: `spec.containers{name}` or
 * `spec.initContainers{name}`; undefined for a name the spec does not have
 * (the kubelet records nothing then: the reference cannot be made).
 */
export function containerFieldPath(pod: Pod, containerName: string): string | undefined {
  if (pod.spec.containers.some((c) => c.name === containerName)) return `spec.containers{${containerName}}`;
  if ((pod.spec.initContainers ?? []).some((c) => c.name === containerName)) return `spec.initContainers{${containerName}}`;
  return undefined;
}

/** Container events about the Pod (kind and apiVersion set: informer items may lack them), through `sink`. */
export function containerEventsTo(sink: EventSink): ContainerEvents {
  return {
    event(pod, containerName, type, reason, message) {
      const fieldPath = containerFieldPath(pod, containerName);
      if (fieldPath === undefined) return;
      sink.event({ apiVersion: 'v1', kind: 'Pod', metadata: pod.metadata }, type, reason, message, { fieldPath });
    },
  };
}
