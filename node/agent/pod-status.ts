/**
 * The pod's status as the agent reports it, built purely from the pod, what
 * the runtime shows of it (runtime-state.ts), the probes' results and the
 * reasons containers are waiting (back-off, image pulls) — the kubelet's
 * generateAPIPodStatus and getPhase.
 */
import type { Container, ContainerState, ContainerStatus, Pod, PodCondition, PodPhase, PodStatus } from '../../proto/k8s/core-v1.js';
import { timeOf } from '../node-objects.js';
import { isSidecar, isTerminalPhase } from './pod-actions.js';
import { ContainerRunState, SandboxState, instancesOf, type ContainerRecord, type PodRuntimeStatus } from './runtime-state.js';
import { stableJson } from './stable-json.js';

/** Why a container is waiting, when the agent knows better than "ContainerCreating". */
export interface WaitingReason {
  readonly reason: string;
  readonly message: string;
}

/** Probe results of running containers (by container id); undefined = no result yet. */
export interface ProbeResults {
  ready(containerId: string): boolean | undefined;
  started(containerId: string): boolean | undefined;
}

export interface PodStatusInput {
  readonly pod: Pod;
  readonly runtime: PodRuntimeStatus;
  /** The node's InternalIP: hostIP, and podIP of host-network pods. */
  readonly nodeAddress: string;
  /** The runtime's name, the scheme of containerIDs (`containerd://…`). */
  readonly runtimeName: string;
  readonly probes: ProbeResults;
  /** By container name. */
  readonly waiting: ReadonlyMap<string, WaitingReason>;
  readonly nowMs: number;
}

export const PodConditionType = {
  PodScheduled: 'PodScheduled',
  PodReadyToStartContainers: 'PodReadyToStartContainers',
  Initialized: 'Initialized',
  ContainersReady: 'ContainersReady',
  Ready: 'Ready',
} as const;

function terminatedOf(c: ContainerRecord, runtimeName: string): ContainerState {
  const reason = c.reason !== '' ? c.reason : c.exitCode === 0 ? 'Completed' : 'Error';
  return {
    terminated: {
      exitCode: c.exitCode,
      reason,
      ...(c.message === '' ? {} : { message: c.message }),
      startedAt: timeOf(c.startedAtMs),
      finishedAt: timeOf(c.finishedAtMs),
      containerID: `${runtimeName}://${c.id}`,
    },
  };
}

function defaultWaiting(init: boolean, initPending: boolean): WaitingReason {
  return { reason: !init && initPending ? 'PodInitializing' : 'ContainerCreating', message: '' };
}

function waitingState(w: WaitingReason): ContainerState {
  return { waiting: { reason: w.reason, ...(w.message === '' ? {} : { message: w.message }) } };
}

/** One container's status: its newest instance's state, the one before as lastState. */
export function containerStatusOf(c: Container, init: boolean, initPending: boolean, input: PodStatusInput): ContainerStatus {
  const { latest, previous } = instancesOf(input.runtime, c.name);
  const rt = input.runtimeName;
  const base = {
    name: c.name,
    image: latest !== undefined && latest.image !== '' ? latest.image : c.image ?? '',
    imageID: latest?.imageRef ?? '',
    restartCount: latest?.restartCount ?? 0,
    ...(latest === undefined ? {} : { containerID: `${rt}://${latest.id}` }),
  };
  const waiting = input.waiting.get(c.name);
  const lastOf = (r: ContainerRecord | undefined): ContainerState => (r?.state === ContainerRunState.Exited ? terminatedOf(r, rt) : {});
  if (latest === undefined) return { ...base, state: waitingState(waiting ?? defaultWaiting(init, initPending)), lastState: {}, ready: false, started: false };
  if (latest.state === ContainerRunState.Running) {
    const started = c.startupProbe === undefined ? true : input.probes.started(latest.id) === true;
    const probedReady = c.readinessProbe === undefined ? true : input.probes.ready(latest.id) === true;
    const ready = started && probedReady;
    return { ...base, state: { running: { startedAt: timeOf(latest.startedAtMs) } }, lastState: lastOf(previous), ready, started };
  }
  if (latest.state === ContainerRunState.Exited) {
    // Waiting to run again (back-off, image pull): the exit is the last state.
    if (waiting !== undefined) return { ...base, state: waitingState(waiting), lastState: terminatedOf(latest, rt), ready: false, started: false };
    const ready = init && !isSidecar(c) && latest.exitCode === 0;
    return { ...base, state: terminatedOf(latest, rt), lastState: lastOf(previous), ready, started: false };
  }
  return { ...base, state: waitingState(waiting ?? defaultWaiting(init, initPending)), lastState: lastOf(previous), ready: false, started: false };
}

/** Init containers not yet done (regular: succeeded; sidecar: running), and whether one failed for good. */
export function initProgress(pod: Pod, rs: PodRuntimeStatus): { incomplete: string[]; failed: boolean } {
  const incomplete: string[] = [];
  let failed = false;
  const policy = pod.spec.restartPolicy ?? 'Always';
  for (const c of pod.spec.initContainers ?? []) {
    const { latest } = instancesOf(rs, c.name);
    if (isSidecar(c)) {
      if (latest?.state !== ContainerRunState.Running) incomplete.push(c.name);
      continue;
    }
    if (latest?.state === ContainerRunState.Exited && latest.exitCode === 0) continue;
    incomplete.push(c.name);
    if (latest?.state === ContainerRunState.Exited && policy === 'Never') failed = true;
  }
  return { incomplete, failed };
}

/** The kubelet's getPhase over the app containers' statuses. */
export function phaseOf(pod: Pod, initPending: boolean, initFailed: boolean, statuses: readonly ContainerStatus[]): PodPhase {
  if (initFailed) return 'Failed';
  if (initPending) return 'Pending';
  let running = 0, waiting = 0, stopped = 0, succeeded = 0;
  for (const s of statuses) {
    if (s.state?.running !== undefined) running++;
    else if (s.state?.terminated !== undefined) {
      stopped++;
      if (s.state.terminated.exitCode === 0) succeeded++;
    } else if (s.lastState?.terminated !== undefined) stopped++;
    else waiting++;
  }
  if (waiting > 0) return 'Pending';
  if (running > 0) return 'Running';
  if (stopped > 0) {
    const policy = pod.spec.restartPolicy ?? 'Always';
    if (policy === 'Always') return 'Running';
    if (stopped === succeeded) return 'Succeeded';
    if (policy === 'Never') return 'Failed';
    return 'Running';
  }
  return 'Pending';
}

/** A condition that keeps its lastTransitionTime while its status does not change. */
function condition(old: PodStatus | undefined, type: string, ok: boolean, nowIso: string, reason?: string, message?: string): PodCondition {
  const status = ok ? 'True' : 'False';
  const before = old?.conditions?.find((c) => c.type === type);
  const since = before?.status === status && before.lastTransitionTime !== undefined ? before.lastTransitionTime : nowIso;
  return { type, status, lastProbeTime: null, lastTransitionTime: since, ...(reason === undefined ? {} : { reason }), ...(message === undefined ? {} : { message }) };
}

function conditionsOf(input: PodStatusInput, phase: PodPhase, incompleteInit: readonly string[], statuses: readonly ContainerStatus[]): PodCondition[] {
  const old = input.pod.status;
  const now = timeOf(input.nowMs);
  const out: PodCondition[] = [];
  const scheduled = old?.conditions?.find((c) => c.type === PodConditionType.PodScheduled);
  if (scheduled !== undefined) out.push(scheduled);
  const sandbox = input.runtime.sandboxes[0];
  out.push(condition(old, PodConditionType.PodReadyToStartContainers, sandbox?.state === SandboxState.Ready, now));
  const initOk = incompleteInit.length === 0;
  out.push(condition(old, PodConditionType.Initialized, initOk, now, initOk ? undefined : 'ContainersNotInitialized', initOk ? undefined : `containers with incomplete status: [${incompleteInit.join(' ')}]`));
  const unready = statuses.filter((s) => !s.ready).map((s) => s.name);
  const done = phase === 'Succeeded' || phase === 'Failed';
  const ready = unready.length === 0 && !done;
  const reason = ready ? undefined : done ? 'PodCompleted' : 'ContainersNotReady';
  const message = ready || done ? undefined : `containers with unready status: [${unready.join(' ')}]`;
  out.push(condition(old, PodConditionType.ContainersReady, ready, now, reason, message));
  out.push(condition(old, PodConditionType.Ready, ready, now, reason, message));
  return out;
}

/** The pod's address: its sandbox's, the node's for a host-network pod, else the one reported before. */
function podIpOf(input: PodStatusInput): string | undefined {
  if (input.pod.spec.hostNetwork === true) return input.nodeAddress;
  const ip = input.runtime.sandboxes.find((s) => s.state === SandboxState.Ready && s.ip !== '')?.ip;
  return ip ?? input.pod.status?.podIP;
}

export function buildPodStatus(input: PodStatusInput): PodStatus {
  const { pod, runtime } = input;
  const old = pod.status;
  const init = initProgress(pod, runtime);
  const initPending = init.incomplete.length > 0;
  const initContainerStatuses = (pod.spec.initContainers ?? []).map((c) => containerStatusOf(c, true, initPending, input));
  const containerStatuses = pod.spec.containers.map((c) => containerStatusOf(c, false, initPending, input));
  // A finished pod stays finished, whatever is left of it in the runtime.
  const phase = isTerminalPhase(pod) && old?.phase !== undefined ? old.phase : phaseOf(pod, initPending, init.failed, containerStatuses);
  const podIp = podIpOf(input);
  const status: PodStatus = {
    ...old,
    phase,
    conditions: conditionsOf(input, phase, init.incomplete, containerStatuses),
    hostIP: input.nodeAddress,
    hostIPs: [{ ip: input.nodeAddress }],
    ...(podIp === undefined ? {} : { podIP: podIp, podIPs: [{ ip: podIp }] }),
    startTime: old?.startTime ?? timeOf(input.nowMs),
    ...(initContainerStatuses.length === 0 ? {} : { initContainerStatuses }),
    containerStatuses,
  };
  return status;
}

/** Whether two statuses say the same (field order aside): a status is written only when it changed. */
export function sameStatus(a: PodStatus | undefined, b: PodStatus | undefined): boolean {
  return stableJson(a ?? {}) === stableJson(b ?? {});
}
