/**
 * The code that acts on a pod (the kubelet's SyncPod / KillPod): it asks
 * computePodActions what to do and does it through CRI — kill what must go,
 * make the sandbox, pull images, build each container's config (env,
 * volumes, mounts) and create and start it — and tells the caller why
 * containers that could not start are waiting and when to try again.
 * Terminating a pod being deleted runs preStop hooks, stops its containers
 * within the grace period and removes its sandboxes. What it does to a
 * container it also tells the pod's events (Pulled, Created, Started,
 * Killing, BackOff, Failed), as the kubelet does.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Clock } from '../../control-plane/client/clock.js';
import type { PodSandboxConfig } from '../../proto/cri/types.js';
import type { Container, Pod } from '../../proto/k8s/core-v1.js';
import { isCriError } from '../cri/errors.js';
import type { CriRuntime } from '../cri/runtime.js';
import type { Backoff } from './backoff.js';
import { TERMINATION_GRACE_SECONDS_DEFAULT, buildContainerConfig } from './container-config.js';
import { resolveEnv, type ObjectSources } from './env.js';
import { AgentError, errorText } from './errors.js';
import type { ImagePuller } from './image-puller.js';
import { containerKey } from './labels.js';
import { computePodActions, podDescription, type ContainerToStart, type PodActions, type ProbeView } from './pod-actions.js';
import { PodEventReason, type ContainerEvents } from './pod-events.js';
import { buildSandboxConfig, podLogDirectory } from './pod-sandbox-config.js';
import type { WaitingReason } from './pod-status.js';
import { ContainerRunState, SandboxState, type PodRuntimeStatus } from './runtime-state.js';
import { mountsOf, prepareVolumes, type PreparedVolume } from './volumes.js';

/** A container killed because its pod is gone gets at least this long (the kubelet's minimum grace, 2 s). */
export const MINIMUM_GRACE_SECONDS = 2;
/** When a container could not be configured or created, the next try (the resync would retry anyway). */
const CONFIG_RETRY_MS = 10_000;

export interface PodSyncContext {
  readonly runtime: CriRuntime;
  readonly rootDir: string;
  readonly nodeName: string;
  readonly nodeAddress: string;
  readonly sources: ObjectSources;
  readonly backoff: Backoff;
  readonly puller: ImagePuller;
  readonly probes: ProbeView;
  readonly events: ContainerEvents;
  readonly clock: Clock;
  readonly log: (line: string) => void;
}

export interface SyncOutcome {
  readonly actions: PodActions;
  /** Why containers that did not start are waiting, by name. */
  readonly waiting: Map<string, WaitingReason>;
  /** Sync again after this long (a back-off ends); undefined when only events need to wake the pod. */
  readonly requeueInMs: number | undefined;
}

export function graceSecondsOf(pod: Pod): number {
  return pod.metadata.deletionGracePeriodSeconds ?? pod.spec.terminationGracePeriodSeconds ?? TERMINATION_GRACE_SECONDS_DEFAULT;
}

async function ignoreNotFound(p: Promise<unknown>): Promise<void> {
  try {
    await p;
  } catch (err) {
    if (!isCriError(err, 'NotFound')) throw err;
  }
}

/** Stops every running or created container of the pod (in parallel, each within `graceSeconds`), then its ready sandboxes. */
export async function killPodParts(runtime: CriRuntime, rs: PodRuntimeStatus, graceSeconds: number): Promise<void> {
  const live = rs.containers.filter((c) => c.state === ContainerRunState.Running || c.state === ContainerRunState.Created);
  await Promise.all(live.map((c) => ignoreNotFound(runtime.stopContainer({ container_id: c.id, timeout: graceSeconds }))));
  const ready = rs.sandboxes.filter((s) => s.state === SandboxState.Ready);
  await Promise.all(ready.map((s) => ignoreNotFound(runtime.stopPodSandbox({ pod_sandbox_id: s.id }))));
}

/** Stops and removes everything of the pod in the runtime (its containers, then its sandboxes). */
export async function removePodParts(runtime: CriRuntime, rs: PodRuntimeStatus, graceSeconds: number): Promise<void> {
  await killPodParts(runtime, rs, graceSeconds);
  for (const c of rs.containers) await ignoreNotFound(runtime.removeContainer({ container_id: c.id }));
  for (const s of rs.sandboxes) {
    await ignoreNotFound(runtime.stopPodSandbox({ pod_sandbox_id: s.id }));
    await ignoreNotFound(runtime.removePodSandbox({ pod_sandbox_id: s.id }));
  }
}

/** The grace the pod's containers asked for when they were made (an orphan's pod is gone, so that is all that is left), at least the minimum. */
export function orphanGraceSeconds(rs: PodRuntimeStatus): number {
  return Math.max(MINIMUM_GRACE_SECONDS, ...rs.containers.map((c) => c.graceSeconds ?? 0));
}

/** The pod's remaining grace: until its deletionTimestamp, at most its grace period, at least the minimum (unless 0 was asked). */
export function remainingGraceSeconds(pod: Pod, nowMs: number): number {
  const grace = graceSecondsOf(pod);
  if (grace === 0) return 0;
  const deadline = Date.parse(pod.metadata.deletionTimestamp ?? '');
  if (!Number.isFinite(deadline)) return grace;
  return Math.min(grace, Math.max(MINIMUM_GRACE_SECONDS, Math.ceil((deadline - nowMs) / 1000)));
}

/** Tells the pod's events that its live containers are being stopped (the kubelet's Killing), but for those in `except`. */
function recordStopping(ctx: PodSyncContext, pod: Pod, rs: PodRuntimeStatus, except: ReadonlySet<string> = new Set()): void {
  for (const c of rs.containers) {
    if ((c.state === ContainerRunState.Running || c.state === ContainerRunState.Created) && !except.has(c.id)) {
      ctx.events.event(pod, c.name, 'Normal', PodEventReason.Killing, `Stopping container ${c.name}`);
    }
  }
}

/** Runs the preStop exec hooks of the pod's running containers (each bounded by the grace period), then stops and removes it all. */
export async function terminatePod(ctx: PodSyncContext, pod: Pod, rs: PodRuntimeStatus): Promise<void> {
  const grace = remainingGraceSeconds(pod, ctx.clock.nowMs());
  const byName = new Map([...(pod.spec.initContainers ?? []), ...pod.spec.containers].map((c) => [c.name, c]));
  const startedMs = ctx.clock.nowMs();
  await Promise.all(
    rs.containers
      .filter((c) => c.state === ContainerRunState.Running)
      .map(async (c) => {
        const cmd = byName.get(c.name)?.lifecycle?.preStop?.exec?.command;
        if (cmd === undefined || cmd.length === 0 || grace === 0) return;
        try {
          await ctx.runtime.execSync({ container_id: c.id, cmd, timeout: grace });
        } catch (err) {
          ctx.log(`preStop hook of container ${c.name} of pod ${pod.metadata.namespace}/${pod.metadata.name} failed: ${errorText(err)}`);
        }
      }),
  );
  const left = grace === 0 ? 0 : Math.max(MINIMUM_GRACE_SECONDS, grace - Math.floor((ctx.clock.nowMs() - startedMs) / 1000));
  recordStopping(ctx, pod, rs);
  await removePodParts(ctx.runtime, rs, left);
}

/** One sync of a pod that should run: compute the actions and carry them out. */
export async function syncRunningPod(ctx: PodSyncContext, pod: Pod, rs: PodRuntimeStatus): Promise<SyncOutcome> {
  const actions = computePodActions({ pod, runtime: rs, backoff: ctx.backoff, probes: ctx.probes, nowMs: ctx.clock.nowMs() });
  const waiting = new Map<string, WaitingReason>();
  let requeueInMs: number | undefined;
  const retryIn = (ms: number | undefined): void => {
    if (ms !== undefined && ms > 0) requeueInMs = requeueInMs === undefined ? ms : Math.min(requeueInMs, ms);
  };
  const grace = graceSecondsOf(pod);
  for (const k of actions.containersToKill) {
    ctx.log(`killing container ${k.name} (${k.id.slice(0, 12)}) of pod ${pod.metadata.namespace}/${pod.metadata.name}: ${k.message}`);
    ctx.events.event(pod, k.name, 'Normal', PodEventReason.Killing, k.message);
    await ignoreNotFound(ctx.runtime.stopContainer({ container_id: k.id, timeout: grace }));
  }
  if (actions.killPod) {
    recordStopping(ctx, pod, rs, new Set(actions.containersToKill.map((k) => k.id)));
    await killPodParts(ctx.runtime, rs, grace);
  }
  for (const b of actions.backingOff) {
    waiting.set(b.name, { reason: 'CrashLoopBackOff', message: b.message });
    ctx.events.event(pod, b.name, 'Warning', PodEventReason.BackOff, `Back-off restarting failed container ${b.name} in pod ${podDescription(pod)}`);
    retryIn(b.retryInMs);
  }
  const starts = [...(actions.initToStart === undefined ? [] : [actions.initToStart]), ...actions.containersToStart];
  if (!actions.createSandbox && starts.length === 0) return { actions, waiting, requeueInMs };
  const sandboxConfig = buildSandboxConfig(pod, actions.attempt, ctx.rootDir);
  let sandboxId = actions.sandboxId;
  if (actions.createSandbox) {
    await mkdir(sandboxConfig.log_directory, { recursive: true });
    sandboxId = (await ctx.runtime.runPodSandbox({ config: sandboxConfig, runtime_handler: '' })).pod_sandbox_id;
    ctx.log(`started sandbox ${sandboxId.slice(0, 12)} (attempt ${actions.attempt}) for pod ${pod.metadata.namespace}/${pod.metadata.name}`);
  }
  if (sandboxId === undefined || starts.length === 0) return { actions, waiting, requeueInMs };
  const podIp = await podIpOf(ctx, pod, sandboxId);
  let volumes: Map<string, PreparedVolume>;
  try {
    volumes = await prepareVolumes(pod, ctx.rootDir, ctx.sources);
  } catch (err) {
    if (!(err instanceof AgentError)) throw err;
    for (const s of starts) waiting.set(s.name, { reason: err.code, message: err.message });
    retryIn(CONFIG_RETRY_MS);
    return { actions, waiting, requeueInMs };
  }
  const specs = new Map([...(pod.spec.initContainers ?? []), ...pod.spec.containers].map((c) => [c.name, c]));
  for (const s of starts) {
    const c = specs.get(s.name);
    if (c === undefined) continue;
    const failed = await startContainer(ctx, { pod, c, s, sandboxId, sandboxConfig, volumes, podIp });
    if (failed !== undefined) {
      waiting.set(s.name, failed.waiting);
      retryIn(failed.retryInMs);
    }
  }
  return { actions, waiting, requeueInMs };
}

async function podIpOf(ctx: PodSyncContext, pod: Pod, sandboxId: string): Promise<string> {
  if (pod.spec.hostNetwork === true) return ctx.nodeAddress;
  try {
    return (await ctx.runtime.podSandboxStatus({ pod_sandbox_id: sandboxId, verbose: false })).status.network?.ip ?? '';
  } catch (err) {
    if (isCriError(err, 'NotFound')) return '';
    throw err;
  }
}

interface StartInput {
  readonly pod: Pod;
  readonly c: Container;
  readonly s: ContainerToStart;
  readonly sandboxId: string;
  readonly sandboxConfig: PodSandboxConfig;
  readonly volumes: ReadonlyMap<string, PreparedVolume>;
  readonly podIp: string;
}

/** Pulls, configures, creates and starts one container; returns why it is waiting when it could not. */
async function startContainer(ctx: PodSyncContext, o: StartInput): Promise<{ waiting: WaitingReason; retryInMs: number | undefined } | undefined> {
  const { pod, c, s } = o;
  const uid = pod.metadata.uid ?? '';
  // The kubelet's "Error: <why>": the Warning that says why a container is not running.
  const failed = (waiting: WaitingReason, eventMessage: string, retryInMs: number | undefined): { waiting: WaitingReason; retryInMs: number | undefined } => {
    ctx.events.event(pod, c.name, 'Warning', PodEventReason.Failed, `Error: ${eventMessage}`);
    return { waiting, retryInMs };
  };
  const pulled = await ctx.puller.ensure(pod, c);
  if (!pulled.ok) return failed(pulled.waiting, pulled.waiting.reason, pulled.retryInMs);
  let config;
  try {
    const env = await resolveEnv(pod, c, ctx.sources, { podIp: o.podIp, hostIp: ctx.nodeAddress, nodeName: ctx.nodeName });
    const mounts = await mountsOf(c, o.volumes);
    config = buildContainerConfig({ pod, container: c, restartCount: s.restartCount, env, mounts });
  } catch (err) {
    if (!(err instanceof AgentError)) throw err;
    return failed({ reason: err.code, message: err.message }, err.message, CONFIG_RETRY_MS);
  }
  await mkdir(join(podLogDirectory(ctx.rootDir, pod), c.name), { recursive: true });
  let id: string;
  try {
    id = (await ctx.runtime.createContainer({ pod_sandbox_id: o.sandboxId, config, sandbox_config: o.sandboxConfig })).container_id;
  } catch (err) {
    return failed({ reason: 'CreateContainerError', message: errorText(err) }, errorText(err), CONFIG_RETRY_MS);
  }
  ctx.events.event(pod, c.name, 'Normal', PodEventReason.Created, `Created container ${c.name}`);
  // The restart counts against the back-off whether or not the start succeeds, so a container that cannot start does not spin.
  if (s.previousExitMs !== undefined) ctx.backoff.next(containerKey(uid, c.name), s.previousExitMs, ctx.clock.nowMs());
  try {
    await ctx.runtime.startContainer({ container_id: id });
  } catch (err) {
    return failed({ reason: 'RunContainerError', message: errorText(err) }, errorText(err), CONFIG_RETRY_MS);
  }
  ctx.events.event(pod, c.name, 'Normal', PodEventReason.Started, `Started container ${c.name}`);
  ctx.log(`started container ${c.name} (${id.slice(0, 12)}, restart ${s.restartCount}) of pod ${pod.metadata.namespace}/${pod.metadata.name}`);
  return undefined;
}

/** Dead instances kept per container: the newest (its status) and the one before (lastState, `kubectl logs --previous`). */
export const DEAD_INSTANCES_KEPT = 2;

/**
 * Removes what a pod no longer needs (the kubelet's container GC): exited instances of a container beyond the newest
 * DEAD_INSTANCES_KEPT, and stopped sandboxes other than the newest that hold none of the instances kept. Bounds what a
 * crash-looping pod leaves behind.
 */
export async function collectGarbage(runtime: CriRuntime, rs: PodRuntimeStatus): Promise<number> {
  const seen = new Map<string, number>();
  const kept = new Set<string>();
  let removed = 0;
  for (const c of rs.containers) {
    const n = seen.get(c.name) ?? 0;
    seen.set(c.name, n + 1);
    if (c.state !== ContainerRunState.Exited || n < DEAD_INSTANCES_KEPT) {
      kept.add(c.sandboxId);
      continue;
    }
    await ignoreNotFound(runtime.removeContainer({ container_id: c.id }));
    removed++;
  }
  for (const s of rs.sandboxes.slice(1)) {
    if (s.state !== SandboxState.NotReady || kept.has(s.id)) continue;
    await ignoreNotFound(runtime.removePodSandbox({ pod_sandbox_id: s.id }));
    removed++;
  }
  return removed;
}

