/**
 * The labels and annotations the agent puts on sandboxes and containers, with
 * the kubelet's names. The runtime keeps them, so they are how a restarted
 * agent knows which pod (and which container of its spec, which restart) a
 * running container is: the agent's runtime state is rebuilt from them alone.
 */
import { createHash } from 'node:crypto';
import type { Container } from '../../proto/k8s/core-v1.js';
import { stableJson } from './stable-json.js';

export const PodLabel = {
  Name: 'io.kubernetes.pod.name',
  Namespace: 'io.kubernetes.pod.namespace',
  Uid: 'io.kubernetes.pod.uid',
} as const;

export const ContainerLabel = {
  Name: 'io.kubernetes.container.name',
} as const;

export const ContainerAnnotation = {
  /** The container spec's hash when it was created: a different hash now means the spec changed. */
  Hash: 'io.kubernetes.container.hash',
  RestartCount: 'io.kubernetes.container.restartCount',
  TerminationMessagePath: 'io.kubernetes.container.terminationMessagePath',
  /** The pod's grace period, so a restarted agent stops an orphan as gently as its pod asked. */
  TerminationGracePeriod: 'io.kubernetes.pod.terminationGracePeriod',
} as const;

/** The kubelet's container hash: of the whole container spec; 8 hex digits. */
export function containerHash(c: Container): string {
  return createHash('sha256').update(stableJson(c)).digest('hex').slice(0, 8);
}

/** `${uid}/${container}`: the key of a container's back-off and of its start failures. */
export function containerKey(podUid: string, containerName: string): string {
  return `${podUid}/${containerName}`;
}
