/**
 * The scheduling queue, after kube-scheduler's PriorityQueue. Three places a
 * pending pod can wait:
 *  - activeQ: ready to be tried, highest spec.priority first, then oldest;
 *  - backoffQ: tried and failed recently; it waits out its back-off (1 s,
 *    doubling per attempt, at most 10 s) before it returns to activeQ;
 *  - unschedulable: no node fitted; it waits for a cluster change that could
 *    help (a node added or changed, a pod deleted, ...), or at most 5 min.
 * A change that arrives while a pod is being tried (after pop, before it is
 * put back) must not be lost: `moveRequestCycle` remembers it, and the pod
 * goes to backoffQ instead of waiting as unschedulable.
 *
 * Bound: entries are keyed by pod (namespace/name), and only pending pods
 * (isPendingFor) are added, so the queue never holds more entries than the
 * cluster has pending pods. Timers: one for the earliest back-off, one
 * periodic flush.
 */
import type { Pod } from '../../proto/k8s/core-v1.js';
import { realClock, type Clock } from '../client/clock.js';
import { KeyedHeap } from './heap.js';
import { PodInfo, podKey } from './pod-info.js';

/** Kubernetes' podInitialBackoffDuration and podMaxBackoffDuration. */
export const POD_INITIAL_BACKOFF_MS = 1_000;
export const POD_MAX_BACKOFF_MS = 10_000;
/** Kubernetes' podMaxInUnschedulablePodsDuration: no pod waits longer than this for a helpful event. */
export const POD_MAX_IN_UNSCHEDULABLE_MS = 5 * 60_000;
/** How often unschedulable pods are checked against that maximum (Kubernetes: every 30 s). */
export const UNSCHEDULABLE_FLUSH_INTERVAL_MS = 30_000;

/** The cluster changes that may make an unschedulable pod fit. */
export const ClusterEvent = {
  NodeAdd: 'NodeAdd',
  NodeUpdate: 'NodeUpdate',
  AssignedPodAdd: 'AssignedPodAdd',
  AssignedPodDelete: 'AssignedPodDelete',
  /** A binding failed, so the resources assumed for it are free again. */
  AssumedPodForgotten: 'AssumedPodForgotten',
  UnschedulableTimeout: 'UnschedulableTimeout',
} as const;
export type ClusterEvent = (typeof ClusterEvent)[keyof typeof ClusterEvent];

export interface QueuedPod {
  /** The latest version of the pod the informer has delivered. */
  podInfo: PodInfo;
  readonly key: string;
  /** Scheduling attempts so far (counted at pop). */
  attempts: number;
  /** When it last went into backoffQ or unschedulable: back-off and the 5-minute maximum count from here. */
  timestampMs: number;
  /** The scheduling cycle of its latest pop. */
  cycle: number;
  /** The plugins that rejected it last time (empty after an error). */
  unschedulablePlugins: ReadonlySet<string>;
  /** Tie-breaker after priority and creation time: arrival order. */
  readonly seq: number;
}

export interface QueueLengths {
  readonly active: number;
  readonly backoff: number;
  readonly unschedulable: number;
}

function priorityOf(qp: QueuedPod): number {
  return qp.podInfo.pod.spec.priority ?? 0;
}

function createdMsOf(qp: QueuedPod): number {
  const t = Date.parse(qp.podInfo.pod.metadata.creationTimestamp ?? '');
  return Number.isNaN(t) ? 0 : t;
}

/** activeQ order: higher priority first, then older, then first queued. */
export function activeLess(a: QueuedPod, b: QueuedPod): boolean {
  const pa = priorityOf(a);
  const pb = priorityOf(b);
  if (pa !== pb) return pa > pb;
  const ca = createdMsOf(a);
  const cb = createdMsOf(b);
  if (ca !== cb) return ca < cb;
  return a.seq < b.seq;
}

/** Back-off after `attempts` failed attempts: 1 s, 2 s, 4 s, 8 s, then 10 s. */
export function backoffMs(attempts: number, initialMs = POD_INITIAL_BACKOFF_MS, maxMs = POD_MAX_BACKOFF_MS): number {
  if (attempts <= 0) return 0;
  // 2^(attempts−1) overflows to Infinity for huge counts, which min() caps.
  return Math.min(maxMs, initialMs * 2 ** (attempts - 1));
}

/** Whether an update can change where the pod fits (status-only updates, such as our own condition, cannot). */
function schedulingInputsChanged(old: Pod, pod: Pod): boolean {
  const inputs = (p: Pod): string => JSON.stringify([p.metadata.labels, p.metadata.annotations, p.spec]);
  return inputs(old) !== inputs(pod);
}

export interface SchedulingQueueOptions {
  readonly clock?: Clock;
  readonly podInitialBackoffMs?: number;
  readonly podMaxBackoffMs?: number;
  readonly podMaxInUnschedulableMs?: number;
}

export class SchedulingQueue {
  private readonly clock: Clock;
  private readonly initialBackoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly maxInUnschedulableMs: number;
  private readonly active = new KeyedHeap<QueuedPod>(activeLess);
  private readonly backoff = new KeyedHeap<QueuedPod>((a, b) => this.backoffExpiryMs(a) < this.backoffExpiryMs(b));
  private readonly unschedulable = new Map<string, QueuedPod>();
  private readonly waiters: Array<(qp: QueuedPod | undefined) => void> = [];
  private schedulingCycleCount = 0;
  /** The scheduling cycle during which the latest move request came. */
  private moveRequestCycle = -1;
  private seq = 0;
  private closed = false;
  private backoffTimer: { atMs: number; cancel: () => void } | undefined;
  private cancelFlush: (() => void) | undefined;
  private wakeScheduled = false;

  constructor(o: SchedulingQueueOptions = {}) {
    this.clock = o.clock ?? realClock;
    this.initialBackoffMs = o.podInitialBackoffMs ?? POD_INITIAL_BACKOFF_MS;
    this.maxBackoffMs = o.podMaxBackoffMs ?? POD_MAX_BACKOFF_MS;
    this.maxInUnschedulableMs = o.podMaxInUnschedulableMs ?? POD_MAX_IN_UNSCHEDULABLE_MS;
  }

  /** Starts the periodic flush of pods that waited too long as unschedulable. */
  start(): void {
    if (this.closed || this.cancelFlush !== undefined) return;
    const tick = (): void => {
      this.flushUnschedulableLeftover();
      if (!this.closed) this.cancelFlush = this.clock.after(UNSCHEDULABLE_FLUSH_INTERVAL_MS, tick);
    };
    this.cancelFlush = this.clock.after(UNSCHEDULABLE_FLUSH_INTERVAL_MS, tick);
  }

  /** Ends the queue: timers cancelled, waiting pops answered with undefined, further adds ignored. */
  close(): void {
    this.closed = true;
    this.cancelFlush?.();
    this.backoffTimer?.cancel();
    this.backoffTimer = undefined;
    for (const w of this.waiters.splice(0)) w(undefined);
  }

  get schedulingCycle(): number {
    return this.schedulingCycleCount;
  }

  lengths(): QueueLengths {
    return { active: this.active.size, backoff: this.backoff.size, unschedulable: this.unschedulable.size };
  }

  has(key: string): boolean {
    return this.active.has(key) || this.backoff.has(key) || this.unschedulable.has(key);
  }

  /** A new pending pod; one already queued is updated instead. */
  add(pod: Pod): void {
    const key = podKey(pod);
    if (this.has(key)) return this.update(undefined, pod);
    this.pushActive({ podInfo: new PodInfo(pod), key, attempts: 0, timestampMs: this.clock.nowMs(), cycle: 0, unschedulablePlugins: new Set(), seq: this.seq++ });
  }

  /**
   * A pending pod changed. Queued: it keeps its place (re-sorted); waiting as
   * unschedulable, it is tried again if the change could matter. Not queued (it
   * is being tried right now): queued again, as Kubernetes does — the scheduler
   * skips it if it was assumed meanwhile.
   */
  update(old: Pod | undefined, pod: Pod): void {
    const key = podKey(pod);
    const podInfo = new PodInfo(pod);
    for (const heap of [this.active, this.backoff]) {
      const qp = heap.get(key);
      if (qp === undefined) continue;
      qp.podInfo = podInfo;
      return heap.set(key, qp);
    }
    const waiting = this.unschedulable.get(key);
    if (waiting === undefined) return this.add(pod);
    waiting.podInfo = podInfo;
    if (old === undefined || schedulingInputsChanged(old, pod)) {
      this.unschedulable.delete(key);
      this.moveToActiveOrBackoff(waiting);
    }
  }

  /** Drops the pod wherever it waits (deleted, bound by someone else, no longer ours). */
  delete(key: string): void {
    this.active.remove(key);
    this.backoff.remove(key);
    this.unschedulable.delete(key);
  }

  /** The next pod to try, waiting while activeQ is empty; undefined once closed. */
  pop(): Promise<QueuedPod | undefined> {
    if (this.closed) return Promise.resolve(undefined);
    const qp = this.takeActive();
    if (qp !== undefined) return Promise.resolve(qp);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /**
   * Puts back a pod no node fitted. If a move request came since it was popped,
   * the event it waits for may already have happened: it goes to backoffQ.
   * Does nothing when the pod is queued already (an update re-added it).
   */
  addUnschedulable(qp: QueuedPod, plugins: ReadonlySet<string>): void {
    if (this.closed || this.has(qp.key)) return;
    qp.timestampMs = this.clock.nowMs();
    qp.unschedulablePlugins = plugins;
    if (this.moveRequestCycle >= qp.cycle) this.pushBackoff(qp);
    else this.unschedulable.set(qp.key, qp);
  }

  /** Puts back a pod whose attempt failed for another reason (a plugin or API error): it is retried after its back-off. */
  addBackoff(qp: QueuedPod): void {
    if (this.closed || this.has(qp.key)) return;
    qp.timestampMs = this.clock.nowMs();
    qp.unschedulablePlugins = new Set();
    this.pushBackoff(qp);
  }

  /** A cluster change: unschedulable pods (those `which` picks, default all) get another try once their back-off is over. */
  moveAllToActiveOrBackoff(_event: ClusterEvent, which: (qp: QueuedPod) => boolean = () => true): void {
    for (const [key, qp] of this.unschedulable) {
      if (!which(qp)) continue;
      this.unschedulable.delete(key);
      this.moveToActiveOrBackoff(qp);
    }
    this.moveRequestCycle = this.schedulingCycleCount;
  }

  /** Unschedulable pods that have waited the maximum go back (run every UNSCHEDULABLE_FLUSH_INTERVAL_MS). */
  flushUnschedulableLeftover(): void {
    const now = this.clock.nowMs();
    for (const [key, qp] of this.unschedulable) {
      if (now - qp.timestampMs < this.maxInUnschedulableMs) continue;
      this.unschedulable.delete(key);
      this.moveToActiveOrBackoff(qp);
    }
  }

  backoffExpiryMs(qp: QueuedPod): number {
    return qp.timestampMs + backoffMs(qp.attempts, this.initialBackoffMs, this.maxBackoffMs);
  }

  private moveToActiveOrBackoff(qp: QueuedPod): void {
    if (this.clock.nowMs() < this.backoffExpiryMs(qp)) this.pushBackoff(qp);
    else this.pushActive(qp);
  }

  private takeActive(): QueuedPod | undefined {
    const qp = this.active.pop();
    if (qp === undefined) return undefined;
    qp.attempts++;
    qp.cycle = ++this.schedulingCycleCount;
    return qp;
  }

  private pushActive(qp: QueuedPod): void {
    if (this.closed) return;
    this.active.set(qp.key, qp);
    // Waiting pops are served on a microtask, after every pod added in the same
    // turn (a whole informer list) is in the heap, so priority order holds.
    if (this.waiters.length === 0 || this.wakeScheduled) return;
    this.wakeScheduled = true;
    queueMicrotask(() => {
      this.wakeScheduled = false;
      while (this.waiters.length > 0 && this.active.size > 0) this.waiters.shift()?.(this.takeActive());
    });
  }

  private pushBackoff(qp: QueuedPod): void {
    this.backoff.set(qp.key, qp);
    this.armBackoffTimer();
  }

  private armBackoffTimer(): void {
    const next = this.backoff.peek();
    if (next === undefined || this.closed) return;
    const atMs = this.backoffExpiryMs(next);
    if (this.backoffTimer !== undefined && this.backoffTimer.atMs <= atMs) return;
    this.backoffTimer?.cancel();
    const cancel = this.clock.after(Math.max(0, atMs - this.clock.nowMs()), () => {
      this.backoffTimer = undefined;
      this.flushBackoffCompleted();
    });
    this.backoffTimer = { atMs, cancel };
  }

  /** Moves every pod whose back-off is over to activeQ, then waits for the next. */
  private flushBackoffCompleted(): void {
    const now = this.clock.nowMs();
    for (let next = this.backoff.peek(); next !== undefined && this.backoffExpiryMs(next) <= now; next = this.backoff.peek()) {
      this.backoff.remove(next.key);
      this.pushActive(next);
    }
    this.armBackoffTimer();
  }
}
