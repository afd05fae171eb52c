/**
 * computePodActions: what one sync of a pod must do, decided from the pod's
 * spec and what the runtime shows of it — the kubelet's computePodActions,
 * kept pure and apart from the code that acts (pod-sync.ts).
 *
 * Invariants (test/node/agent/pod-actions.test.ts checks them as properties):
 *  - no app container starts before every init container has succeeded (or,
 *    for a sidecar — an init container with restartPolicy Always — runs);
 *  - at most one init container starts per sync, in spec order;
 *  - a container is never started while an instance of it runs (unless that
 *    instance is killed in the same sync), and every running instance but
 *    the newest is killed: at most one instance of a container runs;
 *  - a container whose restart would fall inside its back-off is not started
 *    but reported waiting (CrashLoopBackOff) with the time left;
 *  - a new sandbox means every init container runs again from the first.
 */
import type { Container, Pod } from '../../proto/k8s/core-v1.js';
import { goDuration, type BackoffView } from './backoff.js';
import { containerHash, containerKey } from './labels.js';
import { ContainerRunState, SandboxState, hasLiveParts, instancesOf, type ContainerRecord, type PodRuntimeStatus } from './runtime-state.js';

/** Why a probe asks for a restart. */
export const ProbeFailure = { Liveness: 'liveness', Startup: 'startup' } as const;
export type ProbeFailure = (typeof ProbeFailure)[keyof typeof ProbeFailure];

/** What the probes say about running containers (by container id). */
export interface ProbeView {
  restartWanted(containerId: string): ProbeFailure | undefined;
}

export const noProbes: ProbeView = { restartWanted: () => undefined };

export interface ContainerToStart {
  readonly name: string;
  readonly init: boolean;
  /** The restart count of the new instance: one more than the newest instance's. */
  readonly restartCount: number;
  /** When the instance it replaces exited (or is killed now), for the back-off; undefined for a first start. */
  readonly previousExitMs: number | undefined;
}

export interface ContainerToKill {
  readonly id: string;
  readonly name: string;
  readonly reason: string;
  readonly message: string;
}

export interface ContainerBackingOff {
  readonly name: string;
  readonly init: boolean;
  readonly message: string;
  readonly retryInMs: number;
}

export interface PodActions {
  /** Stop every container and the sandbox (before a new sandbox, or because the pod is done). */
  readonly killPod: boolean;
  readonly createSandbox: boolean;
  /** The sandbox to start containers in when it is kept; undefined when a new one is made. */
  readonly sandboxId: string | undefined;
  /** The attempt number of the sandbox to make. */
  readonly attempt: number;
  /** The init container to start next (at most one). */
  readonly initToStart: ContainerToStart | undefined;
  /** App containers, and sidecars once initialised, to start. */
  readonly containersToStart: readonly ContainerToStart[];
  /** Killed before anything starts; a container killed for a restart is also in a start list. */
  readonly containersToKill: readonly ContainerToKill[];
  readonly backingOff: readonly ContainerBackingOff[];
  /** Set when an init container failed and the pod may not retry it (restartPolicy Never). */
  readonly initFailed: string | undefined;
}

export interface PodActionsInput {
  readonly pod: Pod;
  readonly runtime: PodRuntimeStatus;
  readonly backoff: BackoffView;
  readonly probes?: ProbeView;
  readonly nowMs: number;
}

type Policy = 'Always' | 'OnFailure' | 'Never';

/** The kubelet's format.Pod: `name_namespace(uid)`. */
export function podDescription(pod: Pod): string {
  return `${pod.metadata.name ?? ''}_${pod.metadata.namespace ?? ''}(${pod.metadata.uid ?? ''})`;
}

export function isSidecar(c: Container): boolean {
  return c.restartPolicy === 'Always';
}

export function isTerminalPhase(pod: Pod): boolean {
  return pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed';
}

/** Whether a container whose newest instance is `latest` should run again under `policy`. */
export function shouldRestart(latest: ContainerRecord | undefined, policy: Policy): boolean {
  if (latest === undefined) return true;
  switch (latest.state) {
    case ContainerRunState.Running:
      return false;
    case ContainerRunState.Exited:
      return policy === 'Always' || (policy === 'OnFailure' && latest.exitCode !== 0);
    default:
      // Created but never started, or unknown: it is removed and made again.
      return true;
  }
}

/** An instance that exited and will not run again under `policy`. */
function isFinishedForGood(latest: ContainerRecord | undefined, policy: Policy): boolean {
  return latest?.state === ContainerRunState.Exited && !shouldRestart(latest, policy);
}

class Builder {
  killPod = false;
  createSandbox = false;
  sandboxId: string | undefined;
  attempt = 0;
  initToStart: ContainerToStart | undefined;
  initFailed: string | undefined;
  readonly containersToStart: ContainerToStart[] = [];
  readonly containersToKill: ContainerToKill[] = [];
  readonly backingOff: ContainerBackingOff[] = [];

  constructor(private readonly input: PodActionsInput) {}

  /** Starts `c` unless its back-off says wait; returns whether it starts. */
  startOrBackOff(c: Container, init: boolean, latest: ContainerRecord | undefined, killedNow: boolean): boolean {
    const { pod, backoff, nowMs } = this.input;
    const exitMs = killedNow ? nowMs : latest !== undefined && latest.state === ContainerRunState.Exited ? latest.finishedAtMs : undefined;
    const key = containerKey(pod.metadata.uid ?? '', c.name);
    const waitMs = exitMs === undefined ? 0 : backoff.remainingMs(key, exitMs, nowMs);
    if (waitMs > 0) {
      const message = `back-off ${goDuration(backoff.durationMs(key))} restarting failed container=${c.name} pod=${podDescription(pod)}`;
      this.backingOff.push({ name: c.name, init, message, retryInMs: waitMs });
      return false;
    }
    const start = { name: c.name, init, restartCount: latest === undefined ? 0 : latest.restartCount + 1, previousExitMs: exitMs };
    if (init && !isSidecar(c)) this.initToStart = start;
    else this.containersToStart.push(start);
    return true;
  }

  kill(c: ContainerRecord, reason: string, message: string): void {
    if (!this.containersToKill.some((k) => k.id === c.id)) this.containersToKill.push({ id: c.id, name: c.name, reason, message });
  }

  build(): PodActions {
    const { killPod, createSandbox, sandboxId, attempt, initFailed, containersToKill } = this;
    // A pod being killed for good starts nothing and waits for nothing.
    const final = killPod && !createSandbox;
    return {
      killPod,
      createSandbox,
      sandboxId,
      attempt,
      initToStart: final ? undefined : this.initToStart,
      containersToStart: final ? [] : this.containersToStart,
      containersToKill,
      backingOff: final ? [] : this.backingOff,
      initFailed,
    };
  }
}

export function computePodActions(input: PodActionsInput): PodActions {
  const b = new Builder(input);
  const { pod, runtime } = input;
  const policy: Policy = pod.spec.restartPolicy ?? 'Always';
  killStrays(b, pod, runtime);
  if (isTerminalPhase(pod)) {
    // A finished pod never runs again; whatever is left of it is stopped.
    b.killPod = hasLiveParts(runtime);
    return b.build();
  }
  const sandbox = sandboxChange(pod, runtime);
  if (sandbox.create) {
    planNewSandbox(b, input, policy, sandbox.attempt);
    return b.build();
  }
  b.sandboxId = sandbox.sandboxId;
  b.attempt = sandbox.attempt;
  const init = planInitContainers(b, input, policy);
  if (init !== 'done') return b.build();
  planAppContainers(b, input, policy);
  return b.build();
}

/** Running instances that are not the newest of their name, or whose name the spec does not have. */
function killStrays(b: Builder, pod: Pod, rs: PodRuntimeStatus): void {
  const names = new Set([...(pod.spec.initContainers ?? []), ...pod.spec.containers].map((c) => c.name));
  const seen = new Set<string>();
  for (const c of rs.containers) {
    const newest = !seen.has(c.name);
    seen.add(c.name);
    if (c.state !== ContainerRunState.Running && c.state !== ContainerRunState.Created) continue;
    if (!names.has(c.name)) b.kill(c, 'NotInSpec', `container ${c.name} is not in the pod's spec`);
    else if (!newest) b.kill(c, 'Duplicate', `a newer instance of container ${c.name} exists`);
  }
}

function sandboxChange(pod: Pod, rs: PodRuntimeStatus): { create: boolean; attempt: number; sandboxId: string | undefined } {
  const newest = rs.sandboxes[0];
  if (newest === undefined) return { create: true, attempt: 0, sandboxId: undefined };
  const ready = rs.sandboxes.filter((s) => s.state === SandboxState.Ready).length;
  const wantHost = pod.spec.hostNetwork === true;
  const hostChanged = newest.hostNetwork !== undefined && newest.hostNetwork !== wantHost;
  if (ready !== 1 || newest.state !== SandboxState.Ready || hostChanged) return { create: true, attempt: newest.attempt + 1, sandboxId: undefined };
  return { create: false, attempt: newest.attempt, sandboxId: newest.id };
}

function planNewSandbox(b: Builder, input: PodActionsInput, policy: Policy, attempt: number): void {
  const { pod, runtime } = input;
  b.killPod = hasLiveParts(runtime);
  // A pod that may never restart and has already run containers is done: no new sandbox for it.
  if (policy === 'Never' && runtime.containers.length > 0) return;
  // Nor for one whose containers have all finished for good (OnFailure, each succeeded).
  if (pod.spec.containers.every((c) => isFinishedForGood(instancesOf(runtime, c.name).latest, policy))) return;
  b.createSandbox = true;
  b.attempt = attempt;
  const first = pod.spec.initContainers?.[0];
  if (first !== undefined) {
    b.startOrBackOff(first, true, instancesOf(runtime, first.name).latest, false);
    return;
  }
  for (const c of pod.spec.containers) {
    const { latest } = instancesOf(runtime, c.name);
    // Everything starts again in the new sandbox but what succeeded under OnFailure (the kubelet's rule).
    if (policy === 'OnFailure' && latest?.state === ContainerRunState.Exited && latest.exitCode === 0) continue;
    b.startOrBackOff(c, false, latest, false);
  }
}

/** Walks the init containers in order: 'done' once each has succeeded (sidecars: runs). */
function planInitContainers(b: Builder, input: PodActionsInput, policy: Policy): 'done' | 'pending' {
  const { pod, runtime } = input;
  for (const c of pod.spec.initContainers ?? []) {
    const { latest } = instancesOf(runtime, c.name);
    if (isSidecar(c)) {
      if (latest?.state === ContainerRunState.Running) continue;
      if (latest !== undefined && latest.state !== ContainerRunState.Exited) b.kill(latest, 'Unknown', `container ${c.name} is in state ${latest.state}`);
      b.startOrBackOff(c, true, latest, false);
      return 'pending';
    }
    if (latest?.state === ContainerRunState.Exited && latest.exitCode === 0) continue;
    if (latest?.state === ContainerRunState.Running) return 'pending';
    if (latest?.state === ContainerRunState.Exited && policy === 'Never') {
      b.initFailed = c.name;
      b.killPod = hasLiveParts(runtime);
      return 'pending';
    }
    if (latest !== undefined && latest.state !== ContainerRunState.Exited) b.kill(latest, 'Unknown', `container ${c.name} is in state ${latest.state}`);
    b.startOrBackOff(c, true, latest, false);
    return 'pending';
  }
  return 'done';
}

function planAppContainers(b: Builder, input: PodActionsInput, policy: Policy): void {
  const { pod, runtime } = input;
  const probes = input.probes ?? noProbes;
  let keep = 0;
  const sidecars = (pod.spec.initContainers ?? []).filter(isSidecar);
  const all: Array<[Container, Policy]> = [...sidecars.map((c): [Container, Policy] => [c, 'Always']), ...pod.spec.containers.map((c): [Container, Policy] => [c, policy])];
  for (const [c, p] of all) {
    const init = sidecars.includes(c);
    const { latest } = instancesOf(runtime, c.name);
    if (latest?.state === ContainerRunState.Running) {
      const why = restartReason(c, latest, probes);
      if (why === undefined) {
        if (!init) keep++;
        continue;
      }
      b.kill(latest, why.reason, why.message);
      // A container killed for its spec or a probe restarts unless the policy forbids it (Never; OnFailure counts the kill as a failure).
      if (p !== 'Never') b.startOrBackOff(c, init, latest, true);
      continue;
    }
    if (latest !== undefined && latest.state !== ContainerRunState.Exited) b.kill(latest, 'Unknown', `container ${c.name} is in state ${latest.state}`);
    if (shouldRestart(latest, p)) b.startOrBackOff(c, init, latest, false);
  }
  const appWaiting = b.backingOff.some((w) => !w.init);
  const appStarting = b.containersToStart.some((s) => !s.init);
  if (keep === 0 && !appStarting && !appWaiting) b.killPod = hasLiveParts(runtime);
}

function restartReason(c: Container, latest: ContainerRecord, probes: ProbeView): { reason: string; message: string } | undefined {
  if (latest.hash !== '' && latest.hash !== containerHash(c)) return { reason: 'SpecChanged', message: `Container ${c.name} definition changed, will be restarted` };
  const probe = probes.restartWanted(latest.id);
  if (probe !== undefined) return { reason: probe === 'liveness' ? 'Unhealthy' : 'StartupProbeFailed', message: `Container ${c.name} failed ${probe} probe, will be restarted` };
  return undefined;
}
