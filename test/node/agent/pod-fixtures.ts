/** Pods and runtime records for the agent's pure tests. */
import type { Container, Pod, PodSpec } from '../../../proto/k8s/core-v1.js';
import type { BackoffView } from '../../../node/agent/backoff.js';
import { containerHash } from '../../../node/agent/labels.js';
import { ContainerRunState, SandboxState, newestFirst, type ContainerRecord, type PodRuntimeStatus, type SandboxRecord } from '../../../node/agent/runtime-state.js';

export const T0 = Date.UTC(2024, 0, 2, 3, 4, 5);
export const UID = 'uid-1';

export function container(name: string, extra: Partial<Container> = {}): Container {
  return { name, image: 'busybox:1.36', ...extra };
}

export function podOf(spec: Partial<PodSpec>, extra: Partial<Pod> = {}): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'p', namespace: 'default', uid: UID, resourceVersion: '5' },
    spec: { containers: [container('app')], restartPolicy: 'Always', nodeName: 'n1', ...spec },
    ...extra,
  };
}

export function sandbox(id: string, o: Partial<SandboxRecord> = {}): SandboxRecord {
  return { id, attempt: 0, state: SandboxState.Ready, createdAtMs: T0, ip: '10.244.0.5', hostNetwork: false, ...o };
}

let seq = 0;

/** A container record made from `spec` (its hash), running unless told otherwise. */
export function record(spec: Container, o: Partial<ContainerRecord> = {}): ContainerRecord {
  const state = o.state ?? ContainerRunState.Running;
  return {
    id: `c-${spec.name}-${++seq}`,
    name: spec.name,
    sandboxId: 'sb1',
    state,
    restartCount: 0,
    hash: containerHash(spec),
    image: spec.image ?? '',
    imageRef: `sha256:${spec.image ?? ''}`,
    createdAtMs: T0,
    startedAtMs: T0,
    finishedAtMs: state === ContainerRunState.Exited ? T0 + 1000 : 0,
    exitCode: 0,
    reason: '',
    message: '',
    logPath: '',
    graceSeconds: 30,
    ...o,
  };
}

export function runtimeOf(sandboxes: SandboxRecord[], containers: ContainerRecord[]): PodRuntimeStatus {
  return { uid: UID, name: 'p', namespace: 'default', sandboxes: newestFirst(sandboxes, (s) => s.attempt), containers: newestFirst(containers, (c) => c.restartCount) };
}

export const noBackoff: BackoffView = { remainingMs: () => 0, durationMs: () => 0 };

/** Every key waits `ms` after its event. */
export function backoffOf(ms: number, durationMs = ms): BackoffView {
  return { remainingMs: (_k, eventMs, nowMs) => Math.max(0, eventMs + ms - nowMs), durationMs: () => durationMs };
}
