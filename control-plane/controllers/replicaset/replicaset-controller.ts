/**
 * The ReplicaSet controller, as kube-controller-manager's: keeps
 * `spec.replicas` active pods that match each ReplicaSet's selector and name
 * it as their controller.
 *
 *   const rsc = new ReplicaSetController({ client });
 *   await rsc.run(signal);          // until signal aborts
 *
 * Informers on ReplicaSets and pods feed a keyed queue; `sync(key)` is
 * level-triggered: it reads the caches and the spec, claims pods (adopting
 * matching orphans, releasing owned pods whose labels moved away), creates or
 * deletes the difference, and writes status through the status subresource
 * when it changed. Each create and delete is reported as an Event on the
 * ReplicaSet (SuccessfulCreate, FailedCreate, SuccessfulDelete, FailedDelete).
 *
 * Invariant: a sync acts (creates or deletes) only when the informer has
 * observed every create and delete the previous sync sent (expectations), or
 * those expectations expired; otherwise the cache may still miss them and the
 * sync would act twice.
 */
import type { ReplicaSet } from '../../../proto/k8s/apps-v1.js';
import type { Pod } from '../../../proto/k8s/core-v1.js';
import { isConflict, isNotFound, PatchType, Resources, type ApiClient } from '../../client/api-client.js';
import { realClock, type Clock } from '../../client/clock.js';
import { Informer, keyOf } from '../../client/informer.js';
import { WorkQueue } from '../../client/work-queue.js';
import { labelSelectorFromStructured, type LabelSelector } from '../../selectors/label-selector.js';
import {
  adoptPatch,
  claimObjects,
  ControllerExpectations,
  controllerRefOf,
  isPodActive,
  mustBeAdoptable,
  newControllerRef,
  podKey,
  releasePatch,
  resolveControllerRef,
  runController,
  stopGuardedClient,
  type ControllerKind,
} from '../controller-utils.js';
import type { EventSink, EventType } from '../../client/events/event-recorder.js';
import { podsToDelete } from './active-pods.js';
import { podFromTemplate } from './pod-template.js';
import { calculateReplicaSetStatus, msUntilNextAvailable, replicaSetStatusEqual, type ManageFailure } from './replicaset-status.js';
import { SLOW_START_INITIAL_BATCH, slowStartBatch } from './slow-start.js';

export const REPLICASET_KIND: ControllerKind = { apiVersion: 'apps/v1', kind: 'ReplicaSet' };
/** kube-controller-manager's --concurrent-replicaset-syncs default. */
export const REPLICASET_WORKERS_DEFAULT = 5;
/** Most pods one sync creates or deletes (Kubernetes' BurstReplicas); a larger difference takes several syncs. */
export const BURST_REPLICAS = 500;
/** Every cached object is re-queued this often, so anything a lost event left undone is redone. */
export const REPLICASET_RESYNC_MS_DEFAULT = 30_000;
/** Kubernetes' replicas default when spec.replicas is absent. */
const REPLICAS_DEFAULT = 1;

export interface ReplicaSetControllerOptions {
  readonly client: ApiClient;
  readonly clock?: Clock;
  readonly log?: (line: string) => void;
  /** Where events about ReplicaSets go; none are recorded without it. */
  readonly recorder?: EventSink;
  /** 0: informers and handlers only; tests then call `sync(key)` themselves. */
  readonly workers?: number;
  readonly resyncMs?: number;
}

export class ReplicaSetController {
  /** Keys (`namespace/name`) of ReplicaSets to sync; visible to tests. */
  readonly queue: WorkQueue;
  private readonly replicaSets: Informer<ReplicaSet>;
  private readonly pods: Informer<Pod>;
  private readonly expectations: ControllerExpectations;
  private readonly api: ApiClient;
  private readonly clock: Clock;
  private readonly log: ((line: string) => void) | undefined;
  private readonly recorder: EventSink | undefined;
  private readonly workers: number;
  private stopped = false;

  constructor(o: ReplicaSetControllerOptions) {
    this.clock = o.clock ?? realClock;
    this.log = o.log;
    this.recorder = o.recorder;
    this.workers = o.workers ?? REPLICASET_WORKERS_DEFAULT;
    this.api = stopGuardedClient(o.client, () => this.stopped);
    this.queue = new WorkQueue(this.clock);
    this.expectations = new ControllerExpectations(this.clock);
    const informerOptions = { clock: this.clock, resyncMs: o.resyncMs ?? REPLICASET_RESYNC_MS_DEFAULT, ...(o.log === undefined ? {} : { log: o.log }) };
    this.replicaSets = new Informer<ReplicaSet>(o.client, Resources.ReplicaSets, informerOptions);
    this.pods = new Informer<Pod>(o.client, Resources.Pods, { ...informerOptions, resyncMs: 0 });
    this.replicaSets.addHandlers({
      onAdd: (rs) => this.queue.add(keyOf(rs)),
      onUpdate: (_old, rs) => this.queue.add(keyOf(rs)),
      onDelete: (rs) => {
        this.expectations.delete(keyOf(rs));
        this.queue.add(keyOf(rs));
      },
    });
    this.pods.addHandlers({ onAdd: (p) => this.onPodAdd(p), onUpdate: (old, p) => this.onPodUpdate(old, p), onDelete: (p) => this.onPodDelete(p) });
  }

  /** Runs until `signal` aborts; resolves once no worker is running, and writes nothing after the abort. */
  async run(signal: AbortSignal): Promise<void> {
    signal.addEventListener('abort', () => (this.stopped = true), { once: true });
    this.stopped = signal.aborted;
    const informers = [this.replicaSets, this.pods];
    await runController({ name: 'replicaset-controller', signal, informers, queue: this.queue, workers: this.workers, sync: (key) => this.sync(key), log: this.log });
  }

  /** Resolves once both informers have listed (after `run` started them). */
  async whenSynced(): Promise<void> {
    await Promise.all([this.replicaSets.synced, this.pods.synced]);
  }

  async sync(key: string): Promise<void> {
    const rs = this.replicaSets.getByKey(key);
    if (rs === undefined) {
      this.expectations.delete(key);
      return;
    }
    const mayAct = this.expectations.satisfied(key);
    const selector = this.selectorOf(rs);
    if (selector === undefined) return;
    const active = this.pods.list(rs.metadata.namespace).filter(isPodActive);
    const owned = await this.claimPods(rs, selector, active);
    const failure = mayAct && rs.metadata.deletionTimestamp === undefined ? await this.manageReplicas(key, rs, owned) : undefined;
    const nowMs = this.clock.nowMs();
    await this.writeStatusIfChanged(rs, calculateReplicaSetStatus(rs, owned, failure?.condition, nowMs));
    if (failure !== undefined) throw failure.error;
    const waitMs = msUntilNextAvailable(owned, rs.spec.minReadySeconds ?? 0, nowMs);
    if (waitMs !== undefined) this.queue.addAfter(key, waitMs);
  }

  /** A selector that does not parse can only be fixed by a spec change, which re-queues the key: no retry. */
  private selectorOf(rs: ReplicaSet): LabelSelector | undefined {
    try {
      return labelSelectorFromStructured(rs.spec.selector);
    } catch (err) {
      this.log?.(`replicaset-controller: ${keyOf(rs)}: invalid selector: ${messageOf(err)}`);
      return undefined;
    }
  }

  private claimPods(rs: ReplicaSet, selector: LabelSelector, pods: Pod[]): Promise<Pod[]> {
    const ns = rs.metadata.namespace;
    return claimObjects(pods, {
      owner: rs,
      selector,
      canAdopt: async () => mustBeAdoptable(await this.api.get(Resources.ReplicaSets, ns, rs.metadata.name ?? ''), rs),
      adopt: (pod) => this.api.patch<Pod>(Resources.Pods, ns, pod.metadata.name ?? '', PatchType.Strategic, adoptPatch(newControllerRef(rs, REPLICASET_KIND), pod.metadata.uid)),
      release: (pod) => this.api.patch(Resources.Pods, ns, pod.metadata.name ?? '', PatchType.Strategic, releasePatch(rs.metadata.uid, pod.metadata.uid)),
    });
  }

  /** Creates or deletes the difference; a failure is returned (status is still written) rather than thrown. */
  private async manageReplicas(key: string, rs: ReplicaSet, owned: Pod[]): Promise<{ error: unknown; condition: ManageFailure } | undefined> {
    const diff = owned.length - (rs.spec.replicas ?? REPLICAS_DEFAULT);
    try {
      if (diff < 0) await this.createPods(key, rs, Math.min(-diff, BURST_REPLICAS));
      else if (diff > 0) await this.deletePods(key, rs, podsToDelete(owned, Math.min(diff, BURST_REPLICAS)));
      return undefined;
    } catch (error) {
      return { error, condition: { reason: diff < 0 ? 'FailedCreate' : 'FailedDelete', message: messageOf(error) } };
    }
  }

  private async createPods(key: string, rs: ReplicaSet, count: number): Promise<void> {
    const pod = podFromTemplate(rs, newControllerRef(rs, REPLICASET_KIND));
    this.expectations.expectCreations(key, count);
    const result = await slowStartBatch(count, SLOW_START_INITIAL_BATCH, async () => {
      try {
        const created = await this.api.create(Resources.Pods, rs.metadata.namespace, structuredClone(pod));
        this.record(rs, 'Normal', 'SuccessfulCreate', `Created pod: ${created.metadata.name ?? ''}`);
      } catch (err) {
        this.record(rs, 'Warning', 'FailedCreate', `Error creating: ${messageOf(err)}`);
        throw err;
      }
    });
    // Creates that failed or were never sent will never be observed.
    for (let i = result.succeeded; i < count; i++) this.expectations.creationObserved(key);
    if (result.failed) throw result.error;
  }

  private async deletePods(key: string, rs: ReplicaSet, victims: Pod[]): Promise<void> {
    this.expectations.expectDeletions(key, victims.map(podKey));
    const results = await Promise.allSettled(
      victims.map((p) => this.api.delete(Resources.Pods, p.metadata.namespace, p.metadata.name ?? '', { preconditions: { uid: p.metadata.uid } })),
    );
    let firstError: unknown;
    results.forEach((r, i) => {
      const victim = victims[i];
      if (victim === undefined) return;
      if (r.status === 'fulfilled') {
        this.record(rs, 'Normal', 'SuccessfulDelete', `Deleted pod: ${victim.metadata.name ?? ''}`);
        return;
      }
      // A failed delete will not be observed; a pod already gone (404) is what we wanted.
      this.expectations.deletionObserved(key, podKey(victim));
      if (isNotFound(r.reason)) return;
      this.record(rs, 'Warning', 'FailedDelete', `Error deleting: ${messageOf(r.reason)}`);
      firstError ??= r.reason;
    });
    if (firstError !== undefined) throw firstError;
  }

  /** Nothing after the abort, as for writes: a refused or late call is not news to users, and the next leader reports its own. */
  private record(rs: ReplicaSet, type: EventType, reason: string, message: string): void {
    if (!this.stopped) this.recorder?.event(rs, type, reason, message);
  }

  /** One retry on a conflict, on a fresh read, as Kubernetes' updateReplicaSetStatus. */
  private async writeStatusIfChanged(rs: ReplicaSet, status: NonNullable<ReplicaSet['status']>): Promise<void> {
    if (replicaSetStatusEqual(rs.status, status)) return;
    const ns = rs.metadata.namespace;
    try {
      await this.api.update(Resources.ReplicaSets, ns, { ...rs, status }, 'status');
    } catch (err) {
      if (!isConflict(err)) throw err;
      const fresh = await this.api.get<ReplicaSet>(Resources.ReplicaSets, ns, rs.metadata.name ?? '');
      if (fresh.metadata.uid !== rs.metadata.uid) return;
      await this.api.update(Resources.ReplicaSets, ns, { ...fresh, status }, 'status');
    }
  }

  // ---- event handlers: map a pod event to the ReplicaSets to sync --------------------

  private onPodAdd(pod: Pod): void {
    // A pod that shows up already being deleted (after a restart) is no creation to observe.
    if (pod.metadata.deletionTimestamp !== undefined) return this.onPodDelete(pod);
    const ref = controllerRefOf(pod);
    if (ref !== undefined) {
      const rs = resolveControllerRef(this.replicaSets, pod.metadata.namespace, ref, REPLICASET_KIND);
      if (rs === undefined) return;
      this.expectations.creationObserved(keyOf(rs));
      this.queue.add(keyOf(rs));
      return;
    }
    for (const rs of this.replicaSetsSelecting(pod)) this.queue.add(keyOf(rs));
  }

  private onPodUpdate(old: Pod, pod: Pod): void {
    // Periodic resyncs replay pods unchanged; ReplicaSets resync on their own.
    if (old.metadata.resourceVersion === pod.metadata.resourceVersion) return;
    const labelsChanged = JSON.stringify(old.metadata.labels ?? {}) !== JSON.stringify(pod.metadata.labels ?? {});
    if (pod.metadata.deletionTimestamp !== undefined) {
      this.onPodDelete(pod);
      if (labelsChanged) this.onPodDelete(old);
      return;
    }
    const ref = controllerRefOf(pod);
    const oldRef = controllerRefOf(old);
    const refChanged = JSON.stringify(ref) !== JSON.stringify(oldRef);
    if (refChanged && oldRef !== undefined) this.enqueueOwner(pod, oldRef);
    if (ref !== undefined) return this.enqueueOwner(pod, ref);
    if (labelsChanged || refChanged) for (const rs of this.replicaSetsSelecting(pod)) this.queue.add(keyOf(rs));
  }

  private onPodDelete(pod: Pod): void {
    const rs = resolveControllerRef(this.replicaSets, pod.metadata.namespace, controllerRefOf(pod), REPLICASET_KIND);
    if (rs === undefined) return;
    this.expectations.deletionObserved(keyOf(rs), podKey(pod));
    this.queue.add(keyOf(rs));
  }

  private enqueueOwner(pod: Pod, ref: NonNullable<ReturnType<typeof controllerRefOf>>): void {
    const rs = resolveControllerRef(this.replicaSets, pod.metadata.namespace, ref, REPLICASET_KIND);
    if (rs !== undefined) this.queue.add(keyOf(rs));
  }

  /** ReplicaSets of the pod's namespace whose (non-empty, valid) selector matches it: who might adopt an orphan. */
  private replicaSetsSelecting(pod: Pod): ReplicaSet[] {
    return this.replicaSets.list(pod.metadata.namespace).filter((rs) => {
      try {
        const selector = labelSelectorFromStructured(rs.spec.selector);
        return !selector.isEverything() && selector.matches(pod.metadata.labels);
      } catch {
        return false;
      }
    });
  }
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
