/**
 * The scheduler: kube-scheduler's loop, small. It sees the cluster only
 * through an ApiClient — informers on pods and nodes feed the cache
 * (cache.ts) and the queue (queue.ts) — and acts only through the API:
 * pods/binding to place a pod, pods/status for the PodScheduled=False
 * condition of a pod no node fits, and (given a recorder) the Scheduled and
 * FailedScheduling Events `kubectl describe pod` lists.
 *
 * One pod at a time goes through the scheduling cycle (snapshot, filter,
 * score, assume), which never awaits, so the cache cannot change under it.
 * The binding then runs on its own while the next pod is scheduled, as
 * kube-scheduler's binding cycle does; the assumption keeps the next cycles
 * from giving away what that binding is taking.
 *
 * Level-triggered: a new instance (after a restart or a leader change) lists
 * pods and nodes and schedules whatever is pending; nothing is remembered
 * between instances. `run(signal)` returns soon after the signal aborts and
 * nothing the instance does afterwards reaches the cache, queue or API.
 */
import type { Node, Pod, PodCondition } from '../../proto/k8s/core-v1.js';
import type { KubeObject } from '../../proto/k8s/meta.js';
import { PatchType, Resources, type ApiClient, isConflict, isNotFound } from '../client/api-client.js';
import { realClock, type Clock } from '../client/clock.js';
import { Informer, splitKey } from '../client/informer.js';
import { SchedulerAssertionError, assert, assertNever } from './assert.js';
import { SchedulerCache } from './cache.js';
import { nodeHandlers, podHandlers } from './event-handlers.js';
import type { Profile } from './framework.js';
import { PodInfo, isPendingFor } from './pod-info.js';
import { defaultProfile } from './plugins/index.js';
import { ClusterEvent, type QueuedPod, type QueueLengths, SchedulingQueue } from './queue.js';
import { schedulePod } from './schedule-pod.js';

/**
 * Bindings and status updates under way at once. At the bound the loop waits
 * for one to finish: a slow API server should slow scheduling down, not pile
 * up requests. 64 keeps a few round trips' worth of pods moving at the
 * throughputs of FACTS §4d (hundreds of pods/s) without a burst of thousands.
 */
export const API_CALLS_IN_FLIGHT_MAX = 64;
/** A binding or status update that has not answered by then is treated as failed (the pod is retried; a binding that did land answers 409 next time). */
export const API_CALL_TIMEOUT_MS = 30_000;

/**
 * What the scheduler needs of an event recorder (client/events' EventRecorder
 * fits): it must return at once and never throw, as it is called from the
 * scheduling and binding cycles.
 */
export interface SchedulerEventSink {
  event(obj: KubeObject, type: 'Normal' | 'Warning', reason: string, message: string): void;
}

export interface SchedulerOptions {
  readonly client: ApiClient;
  /** Where Scheduled and FailedScheduling events go; none are recorded without it. */
  readonly recorder?: SchedulerEventSink;
  readonly clock?: Clock;
  readonly log?: (line: string) => void;
  /** 1..100; 0 or absent: adaptive, as Kubernetes (50% at 100 nodes, falling to 5%; never fewer than 100 nodes). */
  readonly percentageOfNodesToScore?: number;
  readonly profile?: Profile;
  /** Uniform in [0, 1), for breaking ties between equally good nodes. */
  readonly rng?: () => number;
}

export interface SchedulerMetrics {
  /** Scheduling cycles run (one per pod popped). */
  readonly scheduleAttempts: number;
  /** Pods bound by this instance. */
  readonly scheduledPods: number;
  /** Attempts that found no feasible node. */
  readonly unschedulableAttempts: number;
  /** Attempts that failed on a plugin error, and bindings that failed other than by conflict. */
  readonly errors: number;
  /** Bindings refused because the pod was gone (dropped) or already bound (409; retried only while the informer still shows it pending). */
  readonly bindingConflicts: number;
  readonly queue: QueueLengths;
}

export class SchedulerOptionsError extends Error {
  override readonly name = 'SchedulerOptionsError';
  readonly code = 'SCHEDULER_BAD_OPTION';
}

export class SchedulerTimeoutError extends Error {
  override readonly name = 'SchedulerTimeoutError';
  readonly code = 'SCHEDULER_API_TIMEOUT';
}

type Counters = { -readonly [K in Exclude<keyof SchedulerMetrics, 'queue'>]: number };

export class Scheduler {
  private readonly client: ApiClient;
  private readonly clock: Clock;
  private readonly log: (line: string) => void;
  private readonly recorder: SchedulerEventSink | undefined;
  private readonly profile: Profile;
  private readonly percentageOfNodesToScore: number;
  private readonly rng: () => number;
  private readonly cache = new SchedulerCache();
  private readonly queue: SchedulingQueue;
  private readonly counters: Counters = { scheduleAttempts: 0, scheduledPods: 0, unschedulableAttempts: 0, errors: 0, bindingConflicts: 0 };
  private readonly inFlight = new Set<Promise<void>>();
  private pods: Informer<Pod> | undefined;
  /** A broken invariant seen in a binding or status call: run() stops and rejects with it. */
  private fatal: SchedulerAssertionError | undefined;
  private nextStartNodeIndex = 0;
  private started = false;

  constructor(o: SchedulerOptions) {
    const p = o.percentageOfNodesToScore ?? 0;
    if (!Number.isInteger(p) || p < 0 || p > 100) throw new SchedulerOptionsError(`percentageOfNodesToScore ${p} is not an integer from 0 (adaptive) to 100`);
    this.client = o.client;
    this.clock = o.clock ?? realClock;
    this.log = o.log ?? (() => {});
    this.recorder = o.recorder;
    this.profile = o.profile ?? defaultProfile();
    this.percentageOfNodesToScore = p;
    this.rng = o.rng ?? Math.random;
    this.queue = new SchedulingQueue({ clock: this.clock });
  }

  metrics(): SchedulerMetrics {
    return { ...this.counters, queue: this.queue.lengths() };
  }

  /** Pods this instance has bound: the counter benchmarks read. */
  get scheduledPods(): number {
    return this.counters.scheduledPods;
  }

  /**
   * Runs until `signal` aborts, then resolves. Rejects only when the
   * scheduler breaks its own invariant (SchedulerAssertionError). Runs once; a
   * restart is a new instance.
   */
  async run(signal: AbortSignal): Promise<void> {
    assert(!this.started, 'Scheduler.run may be called once; make a new Scheduler to run again');
    this.started = true;
    if (signal.aborted) return;
    const aborted = new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
    const pods = new Informer<Pod>(this.client, Resources.Pods, { clock: this.clock, log: this.log });
    const nodes = new Informer<Node>(this.client, Resources.Nodes, { clock: this.clock, log: this.log });
    this.pods = pods;
    const deps = { cache: this.cache, queue: this.queue, schedulerName: this.profile.schedulerName, live: () => !signal.aborted };
    nodes.addHandlers(nodeHandlers(deps));
    pods.addHandlers(podHandlers(deps));
    const stop = (): void => {
      pods.stop();
      nodes.stop();
      this.queue.close();
    };
    signal.addEventListener('abort', stop, { once: true });
    try {
      nodes.start();
      pods.start();
      await Promise.race([Promise.all([nodes.synced, pods.synced]), aborted]);
      if (signal.aborted) return;
      this.log(`scheduler ${this.profile.schedulerName}: caches synced, ${this.cache.nodeCount} nodes, ${this.queue.lengths().active} pending pods`);
      this.queue.start();
      await this.loop(signal, aborted);
    } finally {
      signal.removeEventListener('abort', stop);
      stop();
    }
  }

  private async loop(signal: AbortSignal, aborted: Promise<void>): Promise<void> {
    for (;;) {
      const qp = await this.queue.pop();
      if (this.fatal !== undefined) throw this.fatal;
      if (qp === undefined || signal.aborted) return;
      this.scheduleOne(qp, signal);
      while (this.inFlight.size >= API_CALLS_IN_FLIGHT_MAX && !signal.aborted) await Promise.race([...this.inFlight, aborted]);
      // A full activeQ resolves pops as microtasks only; yield a turn so API answers, watch events and abort() get in between pods.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }

  /** The scheduling cycle for one pod; synchronous, so it sees one consistent cache. API calls it starts run on. */
  private scheduleOne(qp: QueuedPod, signal: AbortSignal): void {
    // Re-queued by an update while its binding is under way: that binding decides.
    if (this.cache.isAssumed(qp.key)) return;
    this.counters.scheduleAttempts++;
    const nodes = this.cache.nodeInfos();
    let result: ReturnType<typeof schedulePod>;
    try {
      result = schedulePod({ profile: this.profile, pod: qp.podInfo, nodes, percentageOfNodesToScore: this.percentageOfNodesToScore, startIndex: this.nextStartNodeIndex, rng: this.rng });
    } catch (err) {
      if (err instanceof SchedulerAssertionError) throw err;
      result = { kind: 'error', message: `plugin threw: ${messageOf(err)}`, evaluatedNodes: 0 };
    }
    if (nodes.length > 0) this.nextStartNodeIndex = (this.nextStartNodeIndex + result.evaluatedNodes) % nodes.length;
    switch (result.kind) {
      case 'scheduled':
        this.cache.assume(qp.podInfo, result.nodeName);
        this.track(this.bind(qp, result.nodeName, signal));
        return;
      case 'unschedulable':
        this.counters.unschedulableAttempts++;
        this.log(`pod ${qp.key} (attempt ${qp.attempts}): ${result.message}`);
        this.queue.addUnschedulable(qp, result.plugins);
        this.track(this.reportUnschedulable(qp, result.message, signal));
        return;
      case 'error':
        this.counters.errors++;
        this.log(`pod ${qp.key} (attempt ${qp.attempts}): error: ${result.message}; retrying after back-off`);
        this.queue.addBackoff(qp);
        return;
      default:
        assertNever(result, 'schedule result');
    }
  }

  private track(call: Promise<void>): void {
    const tracked: Promise<void> = call
      .catch((err: unknown) => {
        if (err instanceof SchedulerAssertionError) {
          this.fatal ??= err;
          this.queue.close();
          return;
        }
        this.log(`scheduler: unexpected failure: ${messageOf(err)}`);
      })
      .finally(() => this.inFlight.delete(tracked));
    this.inFlight.add(tracked);
  }

  /** The binding cycle: POST pods/<name>/binding; on failure the assumption is undone. */
  private async bind(qp: QueuedPod, nodeName: string, signal: AbortSignal): Promise<void> {
    const { namespace, name } = splitKey(qp.key);
    const binding = { apiVersion: 'v1', kind: 'Binding', metadata: { name, namespace }, target: { apiVersion: 'v1', kind: 'Node', name: nodeName } };
    try {
      await withDeadline(this.client.createSubresource(Resources.Pods, namespace, name, 'binding', binding), API_CALL_TIMEOUT_MS, this.clock);
      if (signal.aborted) return;
      this.counters.scheduledPods++;
      this.recorder?.event(qp.podInfo.pod, 'Normal', 'Scheduled', `Successfully assigned ${namespace}/${name} to ${nodeName}`);
    } catch (err) {
      if (signal.aborted) return;
      this.cache.forget(qp.key);
      this.queue.moveAllToActiveOrBackoff(ClusterEvent.AssumedPodForgotten);
      if (isNotFound(err) || isConflict(err)) this.counters.bindingConflicts++;
      else this.counters.errors++;
      if (isNotFound(err)) {
        this.log(`binding pod ${qp.key} to ${nodeName}: ${messageOf(err)}; dropped`);
        return;
      }
      // A 409 usually means someone else bound it: the informer will say so, and
      // then the retry is dropped from the queue before it happens.
      this.log(`binding pod ${qp.key} to ${nodeName}: ${messageOf(err)}; retrying after back-off if still pending`);
      this.requeueAfterError(qp);
    }
  }

  /** Back to backoffQ with its latest version — unless it went away or got bound while the call was out. */
  private requeueAfterError(qp: QueuedPod): void {
    const current = this.pods?.getByKey(qp.key);
    if (current === undefined || !isPendingFor(current, this.profile.schedulerName)) return;
    qp.podInfo = new PodInfo(current);
    this.queue.addBackoff(qp);
  }

  /**
   * Sets PodScheduled=False/Unschedulable with the reasons, and records a
   * FailedScheduling event with the same message — only when that changes what
   * the pod says, so a pod retried for the same reasons adds no writes.
   */
  private async reportUnschedulable(qp: QueuedPod, message: string, signal: AbortSignal): Promise<void> {
    const pod = this.pods?.getByKey(qp.key) ?? qp.podInfo.pod;
    const previous = (pod.status?.conditions ?? []).find((c) => c.type === 'PodScheduled');
    if (previous?.status === 'False' && previous.reason === 'Unschedulable' && previous.message === message) return;
    this.recorder?.event(pod, 'Warning', 'FailedScheduling', message);
    const condition: PodCondition = {
      type: 'PodScheduled',
      status: 'False',
      reason: 'Unschedulable',
      message,
      lastProbeTime: null,
      lastTransitionTime: previous?.status === 'False' && previous.lastTransitionTime !== undefined ? previous.lastTransitionTime : isoSeconds(this.clock.nowMs()),
    };
    const { namespace, name } = splitKey(qp.key);
    try {
      await withDeadline(this.client.patch(Resources.Pods, namespace, name, PatchType.Strategic, { status: { conditions: [condition] } }, 'status'), API_CALL_TIMEOUT_MS, this.clock);
    } catch (err) {
      if (signal.aborted || isNotFound(err)) return;
      this.log(`setting PodScheduled=False on pod ${qp.key}: ${messageOf(err)}`);
    }
  }
}

function withDeadline<T>(call: Promise<T>, timeoutMs: number, clock: Clock): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const cancel = clock.after(timeoutMs, () => reject(new SchedulerTimeoutError(`API call did not answer within ${timeoutMs} ms`)));
    call.then(
      (v) => {
        cancel();
        resolve(v);
      },
      (err: unknown) => {
        cancel();
        reject(err);
      },
    );
  });
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** RFC 3339 at whole seconds, as Kubernetes writes condition times. */
function isoSeconds(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}
