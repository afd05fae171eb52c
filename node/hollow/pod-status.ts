/**
 * What a hollow node does about one of its pods, kept pure and apart from the
 * code that acts (the kubelet's computePodActions): `podAction(pod)` reads the
 * pod as the API last showed it and names the single next step; the status
 * builders say what "running" and "exited" look like, without any process.
 */
import type { Container, ContainerStatus, Pod, PodCondition, PodStatus } from '../../proto/k8s/core-v1.js';
import { timeOf } from './node-objects.js';

/**
 * Test hook: a pod with restartPolicy Never or OnFailure and this annotation
 * "exits" with the given code (0 → Succeeded, else Failed) once started.
 * A real kubelet restarts an OnFailure container that exits non-zero; a
 * hollow node fails the pod instead, so a test can reach Failed at all.
 */
export const EXIT_CODE_ANNOTATION = 'strake.io/hollow-exit-code';
/** Exit codes are one byte on Linux. */
const EXIT_CODE_MAX = 255;

export const PodActionKind = {
  /** Nothing to do: the pod shows what the node would report, or it is finished. */
  None: 'none',
  /** Report the containers running and the pod Ready. */
  Run: 'run',
  /** Report the containers exited with `exitCode` and the pod finished. */
  Exit: 'exit',
  /** The pod is being deleted: its containers are "stopped", so delete it for good (grace 0). */
  Delete: 'delete',
} as const;
export type PodActionKind = (typeof PodActionKind)[keyof typeof PodActionKind];

export type PodAction =
  | { readonly kind: typeof PodActionKind.None }
  | { readonly kind: typeof PodActionKind.Run }
  | { readonly kind: typeof PodActionKind.Exit; readonly exitCode: number }
  | { readonly kind: typeof PodActionKind.Delete };

/** Where the pod "runs": its fake IP and its node's. */
export interface PodPlacement {
  readonly podIp: string;
  readonly hostIp: string;
}

export function podAction(pod: Pod): PodAction {
  if (pod.metadata.deletionTimestamp !== undefined) return { kind: PodActionKind.Delete };
  if (isFinished(pod)) return { kind: PodActionKind.None };
  const exitCode = exitCodeOf(pod);
  if (exitCode !== undefined) return { kind: PodActionKind.Exit, exitCode };
  return isRunningAndReady(pod) ? { kind: PodActionKind.None } : { kind: PodActionKind.Run };
}

export function isFinished(pod: Pod): boolean {
  return pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed';
}

/** The exit code the test hook asks for; undefined for restartPolicy Always (those never finish) or a malformed value. */
export function exitCodeOf(pod: Pod): number | undefined {
  const text = pod.metadata.annotations?.[EXIT_CODE_ANNOTATION];
  if (text === undefined || (pod.spec.restartPolicy ?? 'Always') === 'Always') return undefined;
  if (!/^\d{1,3}$/.test(text)) return undefined;
  const code = Number(text);
  return code <= EXIT_CODE_MAX ? code : undefined;
}

/** Phase Running, Ready True, and a running, ready status for every container of the spec. */
export function isRunningAndReady(pod: Pod): boolean {
  const s = pod.status;
  if (s?.phase !== 'Running' || conditionOf(s, 'Ready')?.status !== 'True' || s.podIP === undefined) return false;
  const statuses = new Map((s.containerStatuses ?? []).map((c) => [c.name, c]));
  return pod.spec.containers.every((c) => {
    const cs = statuses.get(c.name);
    return cs !== undefined && cs.ready && cs.state?.running !== undefined;
  });
}

function conditionOf(s: PodStatus, type: string): PodCondition | undefined {
  return s.conditions?.find((c) => c.type === type);
}

/** A condition that keeps its lastTransitionTime when its status does not change. */
function condition(old: PodStatus | undefined, type: string, status: 'True' | 'False', nowIso: string, reason?: string): PodCondition {
  const before = old === undefined ? undefined : conditionOf(old, type);
  const since = before?.status === status && before.lastTransitionTime !== undefined ? before.lastTransitionTime : nowIso;
  return { type, status, lastProbeTime: null, lastTransitionTime: since, ...(reason === undefined ? {} : { reason }) };
}

export function containerIdOf(pod: Pod, container: string): string {
  return `hollow://${pod.metadata.uid ?? ''}-${container}`;
}

function baseContainerStatus(pod: Pod, c: Container, old: PodStatus | undefined, init: boolean): ContainerStatus {
  const before = (init ? old?.initContainerStatuses : old?.containerStatuses)?.find((s) => s.name === c.name);
  const image = c.image ?? '';
  return { name: c.name, ready: false, restartCount: before?.restartCount ?? 0, image, imageID: `hollow://${image}`, containerID: containerIdOf(pod, c.name) };
}

function startedAtOf(old: PodStatus | undefined, name: string, nowIso: string): string {
  return old?.containerStatuses?.find((s) => s.name === name)?.state?.running?.startedAt ?? nowIso;
}

/** Init containers as after a successful start: regular ones completed, sidecars (restartPolicy Always) running. */
function initStatuses(pod: Pod, old: PodStatus | undefined, nowIso: string): ContainerStatus[] | undefined {
  const inits = pod.spec.initContainers;
  if (inits === undefined || inits.length === 0) return undefined;
  return inits.map((c) => {
    const base = baseContainerStatus(pod, c, old, true);
    if (c.restartPolicy === 'Always') return { ...base, ready: true, started: true, state: { running: { startedAt: nowIso } } };
    const terminated = { exitCode: 0, reason: 'Completed', startedAt: nowIso, finishedAt: nowIso, containerID: base.containerID ?? '' };
    return { ...base, ready: true, started: false, state: { terminated } };
  });
}

function placed(old: PodStatus | undefined, p: PodPlacement, nowIso: string): PodStatus {
  return {
    ...old,
    hostIP: p.hostIp,
    hostIPs: [{ ip: p.hostIp }],
    podIP: p.podIp,
    podIPs: [{ ip: p.podIp }],
    startTime: old?.startTime ?? nowIso,
  };
}

export function runningStatus(pod: Pod, p: PodPlacement, nowMs: number): PodStatus {
  const old = pod.status;
  const now = timeOf(nowMs);
  const initContainerStatuses = initStatuses(pod, old, now);
  return {
    ...placed(old, p, now),
    phase: 'Running',
    conditions: [
      condition(old, 'PodScheduled', 'True', now),
      condition(old, 'Initialized', 'True', now),
      condition(old, 'ContainersReady', 'True', now),
      condition(old, 'Ready', 'True', now),
    ],
    ...(initContainerStatuses === undefined ? {} : { initContainerStatuses }),
    containerStatuses: pod.spec.containers.map((c) => ({
      ...baseContainerStatus(pod, c, old, false),
      ready: true,
      started: true,
      state: { running: { startedAt: startedAtOf(old, c.name, now) } },
    })),
  };
}

export function exitedStatus(pod: Pod, p: PodPlacement, exitCode: number, nowMs: number): PodStatus {
  const old = pod.status;
  const now = timeOf(nowMs);
  const initContainerStatuses = initStatuses(pod, old, now);
  return {
    ...placed(old, p, now),
    phase: exitCode === 0 ? 'Succeeded' : 'Failed',
    conditions: [
      condition(old, 'PodScheduled', 'True', now),
      condition(old, 'Initialized', 'True', now),
      condition(old, 'ContainersReady', 'False', now, 'PodCompleted'),
      condition(old, 'Ready', 'False', now, 'PodCompleted'),
    ],
    ...(initContainerStatuses === undefined ? {} : { initContainerStatuses }),
    containerStatuses: pod.spec.containers.map((c) => {
      const base = baseContainerStatus(pod, c, old, false);
      const reason = exitCode === 0 ? 'Completed' : 'Error';
      const terminated = { exitCode, reason, startedAt: startedAtOf(old, c.name, now), finishedAt: now, containerID: base.containerID ?? '' };
      return { ...base, ready: false, started: false, state: { terminated } };
    }),
  };
}
