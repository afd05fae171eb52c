/**
 * The pods of a process's hollow nodes. One informer delivers every bound pod
 * of the cluster; `handlers()` keeps those bound to a node of this process
 * (dropping the rest at once) and queues their keys. `sync(key)` then acts on
 * the newest copy of the pod, level-triggered: it asks `podAction` what the
 * pod needs and makes that one API write.
 *
 * Invariants:
 *  - a pod's IP is held in its node's pool from its first Run/Exit write until
 *    it finishes or leaves the informer, and is the same across writes;
 *  - a pod is not reported started before `startAtMs` (its simulated start-up);
 *  - a pod being deleted gets one delete (grace 0, uid precondition) per uid,
 *    so a pod that finalizers keep does not loop delete → update → delete.
 */
import { Resources, isConflict, isNotFound, type ApiClient } from '../../control-plane/client/api-client.js';
import type { Clock } from '../../control-plane/client/clock.js';
import { keyOf, type InformerHandlers } from '../../control-plane/client/informer.js';
import type { Pod } from '../../proto/k8s/core-v1.js';
import { assertNever } from './assert.js';
import type { PodIpPool } from './addresses.js';
import { HollowError, HollowErrorCode } from './errors.js';
import { exitedStatus, isFinished, isRunningAndReady, podAction, PodActionKind, runningStatus, type PodPlacement } from './pod-status.js';

/** What a pod needs of the hollow node it is bound to. */
export interface PodHost {
  readonly name: string;
  readonly internalIp: string;
  readonly pool: PodIpPool;
}

export interface HollowPodsOptions {
  /** Pods are only written: status updates and the final delete. */
  readonly api: Pick<ApiClient, 'update' | 'delete'>;
  readonly clock: Clock;
  /** Simulated container start-up, drawn uniformly from [min, max] ms per pod. */
  readonly startupDelayMs: { readonly min: number; readonly max: number };
  /** In [0, 1). */
  readonly random: () => number;
  /** The hollow node of this process called `name`, if any. */
  readonly hostOf: (name: string) => PodHost | undefined;
  /** Queues a pod key for `sync`, now or after `ms`. */
  readonly enqueue: (key: string, ms?: number) => void;
}

interface TrackedPod {
  pod: Pod;
  readonly uid: string;
  readonly host: PodHost;
  readonly startAtMs: number;
  deleteSent: boolean;
}

export interface PodCounts {
  readonly total: number;
  readonly running: number;
  readonly pending: number;
  readonly succeeded: number;
  readonly failed: number;
  readonly terminating: number;
}

export class HollowPods {
  private readonly pods = new Map<string, TrackedPod>();

  constructor(private readonly o: HollowPodsOptions) {}

  handlers(): InformerHandlers<Pod> {
    return {
      onAdd: (pod) => this.observe(pod),
      onUpdate: (_old, pod) => this.observe(pod),
      onDelete: (pod) => this.forget(keyOf(pod)),
    };
  }

  /** The newest copy of a tracked pod. */
  get(key: string): Pod | undefined {
    return this.pods.get(key)?.pod;
  }

  /** Queues every pod that still needs something (the periodic resync that makes dropped retries good). */
  resync(): void {
    for (const [key, t] of this.pods) if (podAction(t.pod).kind !== PodActionKind.None) this.o.enqueue(key);
  }

  counts(): PodCounts {
    let running = 0, succeeded = 0, failed = 0, terminating = 0;
    for (const { pod } of this.pods.values()) {
      if (pod.metadata.deletionTimestamp !== undefined) terminating++;
      else if (pod.status?.phase === 'Succeeded') succeeded++;
      else if (pod.status?.phase === 'Failed') failed++;
      else if (isRunningAndReady(pod)) running++;
    }
    const total = this.pods.size;
    return { total, running, pending: total - running - succeeded - failed - terminating, succeeded, failed, terminating };
  }

  async sync(key: string): Promise<void> {
    const t = this.pods.get(key);
    if (t === undefined) return;
    const action = podAction(t.pod);
    switch (action.kind) {
      case PodActionKind.None:
        return;
      case PodActionKind.Delete:
        return this.deleteStopped(t);
      case PodActionKind.Run:
      case PodActionKind.Exit: {
        const waitMs = t.startAtMs - this.o.clock.nowMs();
        if (waitMs > 0) return this.o.enqueue(key, waitMs);
        return this.writeStatus(t, action.kind === PodActionKind.Exit ? action.exitCode : undefined);
      }
      default:
        assertNever(action, 'pod action');
    }
  }

  private observe(pod: Pod): void {
    const key = keyOf(pod);
    const uid = pod.metadata.uid ?? '';
    const known = this.pods.get(key);
    if (known !== undefined && known.uid === uid) {
      // Our own status write may have come back first: never go back to an older copy.
      if (olderThan(pod, known.pod)) return;
      known.pod = pod;
      if (isFinished(pod)) known.host.pool.release(uid);
      this.o.enqueue(key);
      return;
    }
    if (known !== undefined) this.forget(key); // same name, new pod
    const host = this.o.hostOf(pod.spec.nodeName ?? '');
    if (host === undefined) return;
    const { min, max } = this.o.startupDelayMs;
    const delayMs = Math.round(min + this.o.random() * (max - min));
    this.pods.set(key, { pod, uid, host, startAtMs: this.o.clock.nowMs() + delayMs, deleteSent: false });
    this.o.enqueue(key, delayMs);
  }

  private forget(key: string): void {
    const t = this.pods.get(key);
    if (t === undefined) return;
    this.pods.delete(key);
    t.host.pool.release(t.uid);
  }

  /** The kubelet, its containers killed, deletes the pod for good. */
  private async deleteStopped(t: TrackedPod): Promise<void> {
    if (t.deleteSent) return;
    t.deleteSent = true;
    const { namespace, name } = t.pod.metadata;
    try {
      await this.o.api.delete(Resources.Pods, namespace, name ?? '', { gracePeriodSeconds: 0, preconditions: { uid: t.uid } });
    } catch (err) {
      // Gone already, or replaced by a pod of the same name (the uid precondition failed): nothing of ours to delete.
      if (!isNotFound(err) && !isConflict(err)) {
        t.deleteSent = false;
        throw err;
      }
    }
    t.host.pool.release(t.uid);
  }

  private async writeStatus(t: TrackedPod, exitCode: number | undefined): Promise<void> {
    const podIp = t.host.pool.acquire(t.uid, t.pod.status?.podIP);
    if (podIp === undefined) {
      const why = `node ${t.host.name} has no free pod IP for pod ${keyOf(t.pod)}: all ${t.host.pool.size} are held`;
      throw new HollowError(HollowErrorCode.PodIpsExhausted, why);
    }
    const placement: PodPlacement = { podIp, hostIp: t.host.internalIp };
    const now = this.o.clock.nowMs();
    const status = exitCode === undefined ? runningStatus(t.pod, placement, now) : exitedStatus(t.pod, placement, exitCode, now);
    let written: Pod;
    try {
      // The informer's resourceVersion makes this a compare-and-swap: a pod changed meanwhile is synced again from its newer copy.
      written = await this.o.api.update<Pod>(Resources.Pods, t.pod.metadata.namespace, { ...t.pod, status }, 'status');
    } catch (err) {
      if (isNotFound(err) || isConflict(err)) return;
      throw err;
    }
    if (written.metadata.uid === t.uid && !olderThan(written, t.pod)) t.pod = written;
    if (exitCode !== undefined) t.host.pool.release(t.uid);
  }
}

/** Whether `a` is an older copy than `b` (resourceVersions are store revisions: decimal integers). */
function olderThan(a: Pod, b: Pod): boolean {
  const ra = Number(a.metadata.resourceVersion);
  const rb = Number(b.metadata.resourceVersion);
  return Number.isSafeInteger(ra) && Number.isSafeInteger(rb) && ra < rb;
}
