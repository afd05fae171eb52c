/**
 * The probe workers of a node: one per running container and kind of probe
 * (startup, liveness, readiness), each probing every periodSeconds after
 * initialDelaySeconds, with at most one probe in flight. A result flips after
 * successThreshold successes or failureThreshold failures in a row; a flip
 * asks the agent to sync the pod again.
 *
 * Results by container id (a restarted container has a new id, so it starts
 * over): readiness starts as failure, liveness as success, startup as not yet;
 * liveness and readiness do not probe before the startup probe succeeded, and
 * the startup probe stops once it has. A failed liveness or startup probe is
 * `restartWanted` (computePodActions kills and restarts the container).
 *
 * Every failed run is a Warning `Unhealthy` event about the container, as
 * the kubelet's prober records it; repeats of one output fold into one event
 * with a count (the recorder's aggregation).
 */
import type { Clock } from '../../../control-plane/client/clock.js';
import type { Container, Pod, Probe } from '../../../proto/k8s/core-v1.js';
import type { CriRuntime } from '../../cri/runtime.js';
import { errorText } from '../errors.js';
import type { ProbeFailure, ProbeView } from '../pod-actions.js';
import { PodEventReason, noContainerEvents, type ContainerEvents } from '../pod-events.js';
import type { ProbeResults } from '../pod-status.js';
import { ContainerRunState, instancesOf, type PodRuntimeStatus } from '../runtime-state.js';
import type { ProbeDialer, ProbeNet } from './netns-dial.js';
import { runProbe } from './prober.js';

export const ProbeKind = { Startup: 'startup', Liveness: 'liveness', Readiness: 'readiness' } as const;
export type ProbeKind = (typeof ProbeKind)[keyof typeof ProbeKind];

export const PROBE_PERIOD_SECONDS_DEFAULT = 10;
export const PROBE_FAILURE_THRESHOLD_DEFAULT = 3;
export const PROBE_SUCCESS_THRESHOLD_DEFAULT = 1;

interface Worker {
  readonly uid: string;
  /** The newest copy seen, for the events' reference to it. */
  pod: Pod;
  readonly containerId: string;
  readonly kind: ProbeKind;
  readonly probe: Probe;
  readonly container: Container;
  net: ProbeNet;
  successes: number;
  failures: number;
  result: boolean | undefined;
  cancel: (() => void) | undefined;
  stopped: boolean;
}

export interface ProbeManagerOptions {
  readonly clock: Clock;
  readonly runtime: Pick<CriRuntime, 'execSync'>;
  readonly dialer: ProbeDialer;
  /** A result changed: the pod should be synced. */
  readonly onChange: (uid: string) => void;
  readonly events?: ContainerEvents;
  readonly log?: (line: string) => void;
}

/** `Liveness`, as the kubelet's events name the probe. */
function titleOf(kind: ProbeKind): string {
  return `${kind.charAt(0).toUpperCase()}${kind.slice(1)}`;
}

function probeOf(c: Container, kind: ProbeKind): Probe | undefined {
  return kind === ProbeKind.Startup ? c.startupProbe : kind === ProbeKind.Liveness ? c.livenessProbe : c.readinessProbe;
}

export class ProbeManager implements ProbeView, ProbeResults {
  /** By `${containerId}/${kind}`. */
  private readonly workers = new Map<string, Worker>();

  constructor(private readonly o: ProbeManagerOptions) {}

  /** Starts workers for the pod's running containers that have probes; stops those of containers no longer running. */
  syncPod(pod: Pod, rs: PodRuntimeStatus, net: ProbeNet | undefined): void {
    const uid = pod.metadata.uid ?? '';
    const wanted = new Set<string>();
    const containers = [...(pod.spec.initContainers ?? []).filter((c) => c.restartPolicy === 'Always'), ...pod.spec.containers];
    for (const c of containers) {
      const { latest } = instancesOf(rs, c.name);
      if (latest === undefined || latest.state !== ContainerRunState.Running || net === undefined) continue;
      for (const kind of Object.values(ProbeKind)) {
        const probe = probeOf(c, kind);
        if (probe === undefined) continue;
        const key = `${latest.id}/${kind}`;
        wanted.add(key);
        const existing = this.workers.get(key);
        if (existing !== undefined) {
          existing.net = net;
          existing.pod = pod;
          continue;
        }
        const w: Worker = { uid, pod, containerId: latest.id, kind, probe, container: c, net, successes: 0, failures: 0, result: kind === ProbeKind.Liveness ? true : kind === ProbeKind.Readiness ? false : undefined, cancel: undefined, stopped: false };
        this.workers.set(key, w);
        const delayMs = Math.max(0, latest.startedAtMs + (probe.initialDelaySeconds ?? 0) * 1000 - this.o.clock.nowMs());
        this.schedule(w, delayMs);
      }
    }
    for (const [key, w] of this.workers) if (w.uid === uid && !wanted.has(key)) this.stopWorker(key, w);
  }

  removePod(uid: string): void {
    for (const [key, w] of this.workers) if (w.uid === uid) this.stopWorker(key, w);
  }

  stop(): void {
    for (const [key, w] of this.workers) this.stopWorker(key, w);
  }

  get size(): number {
    return this.workers.size;
  }

  ready(containerId: string): boolean | undefined {
    return this.workers.get(`${containerId}/${ProbeKind.Readiness}`)?.result;
  }

  started(containerId: string): boolean | undefined {
    const w = this.workers.get(`${containerId}/${ProbeKind.Startup}`);
    return w === undefined ? undefined : w.result;
  }

  restartWanted(containerId: string): ProbeFailure | undefined {
    if (this.workers.get(`${containerId}/${ProbeKind.Startup}`)?.result === false) return 'startup';
    if (this.workers.get(`${containerId}/${ProbeKind.Liveness}`)?.result === false) return 'liveness';
    return undefined;
  }

  private stopWorker(key: string, w: Worker): void {
    w.stopped = true;
    w.cancel?.();
    this.workers.delete(key);
  }

  private schedule(w: Worker, delayMs: number): void {
    if (w.stopped) return;
    w.cancel = this.o.clock.after(delayMs, () => void this.tick(w));
  }

  private async tick(w: Worker): Promise<void> {
    if (w.stopped) return;
    const periodMs = (w.probe.periodSeconds ?? PROBE_PERIOD_SECONDS_DEFAULT) * 1000;
    const gatedByStartup = w.kind !== ProbeKind.Startup && w.container.startupProbe !== undefined && this.started(w.containerId) !== true;
    const startupDone = w.kind === ProbeKind.Startup && w.result === true;
    if (gatedByStartup || startupDone) return this.schedule(w, periodMs);
    let ok: boolean;
    let failure: string | undefined;
    try {
      const outcome = await runProbe(w.probe, { container: w.container, containerId: w.containerId, net: w.net }, this.o.runtime, this.o.dialer);
      ok = outcome.ok;
      if (!ok) failure = `${titleOf(w.kind)} probe failed: ${outcome.message}`;
      if (!ok && w.failures + 1 === (w.probe.failureThreshold ?? PROBE_FAILURE_THRESHOLD_DEFAULT)) this.o.log?.(`${w.kind} probe of container ${w.container.name} (${w.containerId.slice(0, 12)}) failed: ${outcome.message}`);
    } catch (err) {
      ok = false;
      failure = `${titleOf(w.kind)} probe errored: ${errorText(err)}`;
      this.o.log?.(`${w.kind} probe of container ${w.container.name} could not run: ${errorText(err)}`);
    }
    if (w.stopped) return;
    if (failure !== undefined) (this.o.events ?? noContainerEvents).event(w.pod, w.container.name, 'Warning', PodEventReason.Unhealthy, failure);
    this.record(w, ok);
    this.schedule(w, periodMs);
  }

  private record(w: Worker, ok: boolean): void {
    if (ok) {
      w.successes++;
      w.failures = 0;
    } else {
      w.failures++;
      w.successes = 0;
    }
    const before = w.result;
    // Liveness and startup need one success to count as passing (the API rejects another successThreshold for them).
    const successThreshold = w.kind === ProbeKind.Readiness ? w.probe.successThreshold ?? PROBE_SUCCESS_THRESHOLD_DEFAULT : 1;
    if (ok && w.successes >= successThreshold) w.result = true;
    if (!ok && w.failures >= (w.probe.failureThreshold ?? PROBE_FAILURE_THRESHOLD_DEFAULT)) w.result = false;
    if (w.result !== before) this.o.onChange(w.uid);
  }
}
