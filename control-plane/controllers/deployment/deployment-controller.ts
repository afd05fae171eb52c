/**
 * The Deployment controller, as kube-controller-manager's: rolls each
 * Deployment's pod template out through ReplicaSets it owns, one per
 * template (see replica-sets.ts), by the Deployment's strategy.
 *
 *   const dc = new DeploymentController({ client });
 *   await dc.run(signal);           // until signal aborts
 *
 * Informers on Deployments, ReplicaSets and pods feed a keyed queue of
 * Deployments; `sync(key)` is level-triggered: it claims the ReplicaSets that
 * match (adopting orphans, releasing strays), then
 *   - being deleted:        status only;
 *   - paused, or only spec.replicas changed: resize (scaling.ts);
 *   - otherwise:            one step of RollingUpdate or Recreate;
 * and writes status with the conditions `kubectl rollout status` reads.
 * Every resize of a ReplicaSet is reported as a ScalingReplicaSet Event on
 * the Deployment.
 * It never creates pods: the ReplicaSet controller does.
 */
import { DeploymentStrategyType, type Deployment, type ReplicaSet } from '../../../proto/k8s/apps-v1.js';
import type { Pod } from '../../../proto/k8s/core-v1.js';
import { PatchType, Resources, type ApiClient } from '../../client/api-client.js';
import { realClock, type Clock } from '../../client/clock.js';
import { Informer, keyOf } from '../../client/informer.js';
import { WorkQueue } from '../../client/work-queue.js';
import { labelSelectorFromStructured, type LabelSelector } from '../../selectors/label-selector.js';
import {
  adoptPatch,
  claimObjects,
  controllerRefOf,
  mustBeAdoptable,
  newControllerRef,
  releasePatch,
  resolveControllerRef,
  runController,
  stopGuardedClient,
} from '../controller-utils.js';
import type { EventSink } from '../../client/events/event-recorder.js';
import { REPLICASET_KIND } from '../replicaset/replicaset-controller.js';
import { pausedConditionChange } from './deployment-status.js';
import { DeploymentSync } from './deployment-sync.js';
import { DEPLOYMENT_KIND } from './replica-sets.js';
import { DeploymentError, DeploymentErrorCode, rolloutParams } from './rollout-math.js';
import { rolloutRecreate } from './rollout-recreate.js';
import { rolloutRolling } from './rollout-rolling.js';
import { isScalingEvent, syncScaling } from './scaling.js';

/** kube-controller-manager's --concurrent-deployment-syncs default. */
export const DEPLOYMENT_WORKERS_DEFAULT = 5;
/** Every Deployment is synced at least this often (kube-controller-manager's deployment sync period). */
export const DEPLOYMENT_RESYNC_MS_DEFAULT = 30_000;

export interface DeploymentControllerOptions {
  readonly client: ApiClient;
  readonly clock?: Clock;
  readonly log?: (line: string) => void;
  /** Where events about Deployments go; none are recorded without it. */
  readonly recorder?: EventSink;
  /** 0: informers and handlers only; tests then call `sync(key)` themselves. */
  readonly workers?: number;
  readonly resyncMs?: number;
}

export class DeploymentController {
  /** Keys (`namespace/name`) of Deployments to sync; visible to tests. */
  readonly queue: WorkQueue;
  private readonly deployments: Informer<Deployment>;
  private readonly replicaSets: Informer<ReplicaSet>;
  private readonly pods: Informer<Pod>;
  private readonly api: ApiClient;
  private readonly clock: Clock;
  private readonly log: ((line: string) => void) | undefined;
  /** The recorder given, silenced once stopped: like writes, no events after the abort. */
  private readonly recorder: EventSink | undefined;
  private readonly workers: number;
  private stopped = false;

  constructor(o: DeploymentControllerOptions) {
    this.clock = o.clock ?? realClock;
    this.log = o.log;
    const recorder = o.recorder;
    this.recorder = recorder && {
      event: (obj, type, reason, message) => {
        if (!this.stopped) recorder.event(obj, type, reason, message);
      },
    };
    this.workers = o.workers ?? DEPLOYMENT_WORKERS_DEFAULT;
    this.api = stopGuardedClient(o.client, () => this.stopped);
    this.queue = new WorkQueue(this.clock);
    const base = { clock: this.clock, resyncMs: 0, ...(o.log === undefined ? {} : { log: o.log }) };
    this.deployments = new Informer<Deployment>(o.client, Resources.Deployments, { ...base, resyncMs: o.resyncMs ?? DEPLOYMENT_RESYNC_MS_DEFAULT });
    this.replicaSets = new Informer<ReplicaSet>(o.client, Resources.ReplicaSets, base);
    this.pods = new Informer<Pod>(o.client, Resources.Pods, base);
    this.deployments.addHandlers({
      onAdd: (d) => this.queue.add(keyOf(d)),
      onUpdate: (_old, d) => this.queue.add(keyOf(d)),
      onDelete: (d) => this.queue.add(keyOf(d)),
    });
    this.replicaSets.addHandlers({
      onAdd: (rs) => this.onReplicaSetAdd(rs),
      onUpdate: (old, rs) => this.onReplicaSetUpdate(old, rs),
      onDelete: (rs) => this.enqueueOwnerOf(rs),
    });
    // A pod gone may free room under the surge bound, or let Recreate go on; its ReplicaSet's status may not change.
    this.pods.addHandlers({ onDelete: (pod) => this.onPodDelete(pod) });
  }

  /** Runs until `signal` aborts; resolves once no worker is running, and writes nothing after the abort. */
  async run(signal: AbortSignal): Promise<void> {
    signal.addEventListener('abort', () => (this.stopped = true), { once: true });
    this.stopped = signal.aborted;
    const informers = [this.deployments, this.replicaSets, this.pods];
    await runController({ name: 'deployment-controller', signal, informers, queue: this.queue, workers: this.workers, sync: (key) => this.sync(key), log: this.log });
  }

  async whenSynced(): Promise<void> {
    await Promise.all([this.deployments.synced, this.replicaSets.synced, this.pods.synced]);
  }

  async sync(key: string): Promise<void> {
    const cached = this.deployments.getByKey(key);
    if (cached === undefined) return;
    const d = structuredClone(cached);
    const selector = this.selectorOf(d);
    if (selector === undefined) return;
    const params = rolloutParams(d.spec);
    const env = { api: this.api, clock: this.clock, requeueAfter: (ms: number) => this.queue.addAfter(key, ms), ...(this.recorder === undefined ? {} : { recorder: this.recorder }) };
    if (selector.isEverything()) return this.refuseEverything(new DeploymentSync(env, d, params, [], new Map()));
    const rsList = await this.claimReplicaSets(d, selector);
    const s = new DeploymentSync(env, d, params, rsList, this.podsByReplicaSet(d, selector, rsList));
    if (d.metadata.deletionTimestamp !== undefined) return s.syncDeploymentStatus((await s.newAndOld(false)).newRS);
    const paused = pausedConditionChange(s.d, params, this.clock.nowMs());
    if (paused !== undefined) await s.writeStatus(paused);
    if (params.paused || (await isScalingEvent(s))) return syncScaling(s);
    switch (params.strategy) {
      case DeploymentStrategyType.RollingUpdate:
        return rolloutRolling(s);
      case DeploymentStrategyType.Recreate:
        return rolloutRecreate(s);
      default:
        throw new DeploymentError(DeploymentErrorCode.UnknownStrategy, `Deployment ${key}: unknown strategy type ${JSON.stringify(params.strategy)}; expected RollingUpdate or Recreate`);
    }
  }

  /** A selector that does not parse can only be fixed by a spec change, which re-queues the key: no retry. */
  private selectorOf(d: Deployment): LabelSelector | undefined {
    try {
      return labelSelectorFromStructured(d.spec.selector);
    } catch (err) {
      this.log?.(`deployment-controller: ${keyOf(d)}: invalid selector: ${err instanceof Error ? err.message : String(err)}`);
      return undefined;
    }
  }

  /** An empty selector would claim every ReplicaSet of the namespace: do nothing but record that the spec was seen. */
  private async refuseEverything(s: DeploymentSync): Promise<void> {
    this.log?.(`deployment-controller: ${keyOf(s.d)}: empty selector selects all pods; not acting`);
    const observed = s.d.status?.observedGeneration ?? 0;
    if (observed < (s.d.metadata.generation ?? 0)) await s.writeStatus({ ...s.d.status, observedGeneration: s.d.metadata.generation ?? 0 });
  }

  private claimReplicaSets(d: Deployment, selector: LabelSelector): Promise<ReplicaSet[]> {
    const ns = d.metadata.namespace;
    return claimObjects(this.replicaSets.list(ns), {
      owner: d,
      selector,
      canAdopt: async () => mustBeAdoptable(await this.api.get(Resources.Deployments, ns, d.metadata.name ?? ''), d),
      adopt: (rs) => this.api.patch<ReplicaSet>(Resources.ReplicaSets, ns, rs.metadata.name ?? '', PatchType.Strategic, adoptPatch(newControllerRef(d, DEPLOYMENT_KIND), rs.metadata.uid)),
      release: (rs) => this.api.patch(Resources.ReplicaSets, ns, rs.metadata.name ?? '', PatchType.Strategic, releasePatch(d.metadata.uid, rs.metadata.uid)),
    });
  }

  /** The pods matching the Deployment, grouped by the uid of their controlling ReplicaSet (one of `rsList`). */
  private podsByReplicaSet(d: Deployment, selector: LabelSelector, rsList: readonly ReplicaSet[]): Map<string, Pod[]> {
    const byUid = new Map<string, Pod[]>(rsList.map((rs) => [rs.metadata.uid ?? '', []]));
    for (const pod of this.pods.list(d.metadata.namespace)) {
      if (!selector.matches(pod.metadata.labels)) continue;
      byUid.get(controllerRefOf(pod)?.uid ?? '')?.push(pod);
    }
    return byUid;
  }

  // ---- event handlers: map a ReplicaSet or pod event to the Deployments to sync ------------

  private onReplicaSetAdd(rs: ReplicaSet): void {
    if (controllerRefOf(rs) !== undefined) return this.enqueueOwnerOf(rs);
    for (const d of this.deploymentsSelecting(rs)) this.queue.add(keyOf(d));
  }

  private onReplicaSetUpdate(old: ReplicaSet, rs: ReplicaSet): void {
    // Periodic resyncs replay ReplicaSets unchanged; Deployments resync on their own.
    if (old.metadata.resourceVersion === rs.metadata.resourceVersion) return;
    const ref = controllerRefOf(rs);
    const oldRef = controllerRefOf(old);
    const refChanged = JSON.stringify(ref) !== JSON.stringify(oldRef);
    if (refChanged && oldRef !== undefined) this.enqueueOwnerOf(old);
    if (ref !== undefined) return this.enqueueOwnerOf(rs);
    const labelsChanged = JSON.stringify(old.metadata.labels ?? {}) !== JSON.stringify(rs.metadata.labels ?? {});
    if (labelsChanged || refChanged) for (const d of this.deploymentsSelecting(rs)) this.queue.add(keyOf(d));
  }

  private enqueueOwnerOf(rs: ReplicaSet): void {
    const d = resolveControllerRef(this.deployments, rs.metadata.namespace, controllerRefOf(rs), DEPLOYMENT_KIND);
    if (d !== undefined) this.queue.add(keyOf(d));
  }

  private onPodDelete(pod: Pod): void {
    const rs = resolveControllerRef(this.replicaSets, pod.metadata.namespace, controllerRefOf(pod), REPLICASET_KIND);
    if (rs !== undefined) this.enqueueOwnerOf(rs);
  }

  /** Deployments of the namespace whose (non-empty, valid) selector matches the ReplicaSet: who might adopt it. */
  private deploymentsSelecting(rs: ReplicaSet): Deployment[] {
    return this.deployments.list(rs.metadata.namespace).filter((d) => {
      try {
        const selector = labelSelectorFromStructured(d.spec.selector);
        return !selector.isEverything() && selector.matches(rs.metadata.labels);
      } catch {
        return false;
      }
    });
  }
}
