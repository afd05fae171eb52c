/**
 * One sync of one Deployment: the state it works on (the Deployment, its
 * claimed ReplicaSets, their pods) and the writes every strategy shares —
 * finding or creating the new ReplicaSet, resizing ReplicaSets, cleaning up
 * old ones, writing status.
 *
 * Every write is a compare-and-swap on the resourceVersion this sync read, so
 * a sync that started from a stale cache fails (409) and is retried from a
 * fresh one instead of acting on what is no longer true. After each write the
 * object returned replaces the local copy, so later writes of the same sync
 * stack on it. Invariant: the Deployment's spec (generation) never changes
 * under a sync; the first write after a user's edit conflicts instead.
 */
import type { Deployment, DeploymentStatus, ReplicaSet } from '../../../proto/k8s/apps-v1.js';
import type { Pod } from '../../../proto/k8s/core-v1.js';
import { isAlreadyExists, isNotFound, Resources, type ApiClient } from '../../client/api-client.js';
import type { Clock } from '../../client/clock.js';
import { jsonEqual } from '../../patch/index.js';
import { assert, controllerRefOf } from '../controller-utils.js';
import type { EventSink } from '../../client/events/event-recorder.js';
import {
  DeploymentConditionType,
  DeploymentReason,
  getCondition,
  msUntilProgressCheck,
  newCondition,
  calculateStatus,
  rolloutStatus,
  setCondition,
} from './deployment-status.js';
import {
  byRevision,
  equalIgnoreHash,
  findNewReplicaSet,
  maxRevision,
  newReplicaSetFor,
  REVISION_ANNOTATION,
  revisionOf,
  setNewReplicaSetAnnotations,
  setReplicasAnnotations,
  specReplicas,
  viewOf,
} from './replica-sets.js';
import { DeploymentError, DeploymentErrorCode, newReplicaSetReplicas, type ReplicaSetView, type RolloutParams } from './rollout-math.js';

export interface SyncEnv {
  readonly api: ApiClient;
  readonly clock: Clock;
  /** Sync this Deployment again after `ms` (progress-deadline checks). */
  readonly requeueAfter: (ms: number) => void;
  /** ScalingReplicaSet events go here, about the Deployment. */
  readonly recorder?: EventSink;
}

export interface NewAndOld {
  readonly newRS: ReplicaSet | undefined;
  readonly oldRSs: ReplicaSet[];
}

export class DeploymentSync {
  private current: Deployment;
  private readonly byUid = new Map<string, ReplicaSet>();

  constructor(
    private readonly env: SyncEnv,
    d: Deployment,
    readonly params: RolloutParams,
    rsList: readonly ReplicaSet[],
    /** Pods by the uid of the ReplicaSet that controls them. */
    private readonly podsByReplicaSet: ReadonlyMap<string, readonly Pod[]>,
  ) {
    this.current = d;
    for (const rs of rsList) this.byUid.set(rs.metadata.uid ?? '', rs);
  }

  get d(): Deployment {
    return this.current;
  }

  /** Every ReplicaSet the Deployment owns, as last read or written. */
  replicaSets(): ReplicaSet[] {
    return [...this.byUid.values()];
  }

  latest(rs: ReplicaSet): ReplicaSet {
    return this.byUid.get(rs.metadata.uid ?? '') ?? rs;
  }

  /** Pods of `rs` that have not finished (terminating ones included). */
  podsOf(rs: ReplicaSet): Pod[] {
    return (this.podsByReplicaSet.get(rs.metadata.uid ?? '') ?? []).filter((p) => p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed');
  }

  view(rs: ReplicaSet): ReplicaSetView {
    const latest = this.latest(rs);
    return viewOf(latest, this.podsOf(latest).length);
  }

  views(): ReplicaSetView[] {
    return this.replicaSets().map((rs) => this.view(rs));
  }

  /**
   * The new ReplicaSet (created when `create` and there is none) and the old
   * ones; brings the new one's revision and annotations and the Deployment's
   * revision up to date (Kubernetes' getAllReplicaSetsAndSyncRevision).
   */
  async newAndOld(create: boolean): Promise<NewAndOld> {
    const existing = findNewReplicaSet(this.current, this.replicaSets());
    const oldRSs = this.replicaSets().filter((rs) => rs !== existing);
    const newRevision = maxRevision(oldRSs) + 1;
    if (existing !== undefined) return { newRS: await this.syncExistingNew(existing, newRevision), oldRSs };
    if (!create) return { newRS: undefined, oldRSs };
    return { newRS: await this.createNew(oldRSs, newRevision), oldRSs };
  }

  private async syncExistingNew(existing: ReplicaSet, newRevision: number): Promise<ReplicaSet> {
    const copy = structuredClone(existing);
    const annotationsChanged = setNewReplicaSetAnnotations(this.current, copy, newRevision, true, this.params);
    if (annotationsChanged || (copy.spec.minReadySeconds ?? 0) !== this.params.minReadySeconds) {
      copy.spec.minReadySeconds = this.params.minReadySeconds;
      // The Deployment's revision and condition follow on the next sync, which this update queues.
      return this.writeReplicaSet(copy);
    }
    await this.setDeploymentRevision(revisionOf(copy));
    if (getCondition(this.current.status, DeploymentConditionType.Progressing) === undefined) {
      const status = structuredClone(this.current.status ?? {});
      const message = `Found new replica set "${copy.metadata.name ?? ''}"`;
      setCondition(status, newCondition(DeploymentConditionType.Progressing, 'True', DeploymentReason.FoundNewReplicaSet, message, this.env.clock.nowMs()));
      await this.writeStatus(status);
    }
    return copy;
  }

  private async createNew(oldRSs: readonly ReplicaSet[], newRevision: number): Promise<ReplicaSet> {
    const rs = newReplicaSetFor(this.current, this.params);
    rs.spec.replicas = newReplicaSetReplicas(this.params, [...oldRSs.map((o) => this.view(o)), viewOf(rs, 0)], viewOf(rs, 0));
    setNewReplicaSetAnnotations(this.current, rs, newRevision, false, this.params);
    const name = rs.metadata.name ?? '';
    let created: ReplicaSet;
    let alreadyExisted = false;
    try {
      created = await this.env.api.create(Resources.ReplicaSets, this.current.metadata.namespace, rs);
    } catch (err) {
      if (!isAlreadyExists(err)) return this.failCreate(name, err);
      created = await this.claimExistingOrCollide(name, err);
      alreadyExisted = true;
    }
    this.byUid.set(created.metadata.uid ?? '', created);
    if (!alreadyExisted) this.recordScaling(created, 0, specReplicas(created));
    await this.setDeploymentRevision(newRevision);
    if (!alreadyExisted && this.params.progressDeadlineSeconds !== undefined) {
      const status = structuredClone(this.current.status ?? {});
      const condition = newCondition(DeploymentConditionType.Progressing, 'True', DeploymentReason.NewReplicaSetCreated, `Created new replica set "${name}"`, this.env.clock.nowMs());
      setCondition(status, condition);
      await this.writeStatus(status);
    }
    return created;
  }

  /** Progressing=False ReplicaSetCreateError, then the error (the sync is retried). */
  private async failCreate(name: string, err: unknown): Promise<never> {
    if (this.params.progressDeadlineSeconds !== undefined) {
      const status = structuredClone(this.current.status ?? {});
      const message = `Failed to create new replica set "${name}": ${err instanceof Error ? err.message : String(err)}`;
      setCondition(status, newCondition(DeploymentConditionType.Progressing, 'False', DeploymentReason.ReplicaSetCreateError, message, this.env.clock.nowMs()));
      await this.writeStatus(status);
    }
    throw err;
  }

  /**
   * The name is taken. Ours with our template (a create whose answer we
   * missed): use it. Anything else is a hash collision: bump collisionCount,
   * which changes the name the next sync tries.
   */
  private async claimExistingOrCollide(name: string, err: unknown): Promise<ReplicaSet> {
    const other = await this.env.api.get<ReplicaSet>(Resources.ReplicaSets, this.current.metadata.namespace, name);
    if (controllerRefOf(other)?.uid === this.current.metadata.uid && equalIgnoreHash(other.spec.template, this.current.spec.template)) return other;
    const status = structuredClone(this.current.status ?? {});
    status.collisionCount = (status.collisionCount ?? 0) + 1;
    await this.writeStatus(status);
    const why = err instanceof Error ? err.message : String(err);
    throw new DeploymentError(DeploymentErrorCode.HashCollision, `ReplicaSet name ${name} is taken by another template (${why}); collisionCount is now ${status.collisionCount}`);
  }

  /** The Deployment's own revision annotation mirrors its new ReplicaSet's (shown by kubectl describe). */
  private async setDeploymentRevision(revision: number): Promise<void> {
    if (this.current.metadata.annotations?.[REVISION_ANNOTATION] === String(revision)) return;
    const next = structuredClone(this.current);
    next.metadata.annotations = { ...next.metadata.annotations, [REVISION_ANNOTATION]: String(revision) };
    this.takeWritten(await this.env.api.update(Resources.Deployments, next.metadata.namespace, next));
  }

  // ---- resizing ------------------------------------------------------------------------

  /** Sets spec.replicas and the replicas annotations when either is out of date; true when the size changed. */
  async scaleReplicaSet(rs: ReplicaSet, size: number): Promise<boolean> {
    assert(size >= 0 && Number.isInteger(size), () => `ReplicaSet ${rs.metadata.name ?? ''}: bad size ${size}`);
    const copy = structuredClone(this.latest(rs));
    const oldSize = specReplicas(copy);
    const sizeChanged = oldSize !== size;
    copy.spec.replicas = size;
    const annotationsChanged = setReplicasAnnotations(copy, this.params);
    if (sizeChanged || annotationsChanged) await this.writeReplicaSet(copy);
    this.recordScaling(copy, oldSize, size);
    return sizeChanged;
  }

  /** Kubernetes' ScalingReplicaSet event on the Deployment; nothing when the size stays. */
  private recordScaling(rs: ReplicaSet, oldSize: number, size: number): void {
    if (size === oldSize) return;
    const direction = size > oldSize ? 'up' : 'down';
    this.env.recorder?.event(this.current, 'Normal', 'ScalingReplicaSet', `Scaled ${direction} replica set ${rs.metadata.name ?? ''} to ${size}`);
  }

  /** Resizes only when the size differs (Kubernetes' scaleReplicaSetAndRecordEvent). */
  async scaleIfSizeDiffers(rs: ReplicaSet, size: number): Promise<boolean> {
    if (specReplicas(this.latest(rs)) === size) return false;
    return this.scaleReplicaSet(rs, size);
  }

  private async writeReplicaSet(rs: ReplicaSet): Promise<ReplicaSet> {
    const written = await this.env.api.update(Resources.ReplicaSets, rs.metadata.namespace, rs);
    this.byUid.set(written.metadata.uid ?? '', written);
    return written;
  }

  /**
   * Deletes the oldest revisions beyond revisionHistoryLimit, skipping any
   * that still has pods or whose status is behind its spec.
   */
  async cleanup(oldRSs: readonly ReplicaSet[]): Promise<void> {
    const alive = oldRSs.map((rs) => this.latest(rs)).filter((rs) => rs.metadata.deletionTimestamp === undefined);
    const excess = alive.length - this.params.revisionHistoryLimit;
    if (excess <= 0) return;
    for (const rs of alive.sort(byRevision).slice(0, excess)) {
      const settled = (rs.status?.replicas ?? 0) === 0 && specReplicas(rs) === 0 && (rs.metadata.generation ?? 0) <= (rs.status?.observedGeneration ?? 0);
      if (!settled) continue;
      try {
        await this.env.api.delete(Resources.ReplicaSets, rs.metadata.namespace, rs.metadata.name ?? '', { preconditions: { uid: rs.metadata.uid } });
        this.byUid.delete(rs.metadata.uid ?? '');
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    }
  }

  // ---- status ----------------------------------------------------------------------------

  /** Counts and Available only (paused, scaling, being deleted). */
  async syncDeploymentStatus(newRS: ReplicaSet | undefined): Promise<void> {
    const latestNew = newRS === undefined ? undefined : this.latest(newRS);
    await this.writeStatus(calculateStatus(this.current, this.params, this.replicaSets(), latestNew, this.env.clock.nowMs()));
  }

  /** Counts and every condition; when nothing changed, schedules the progress-deadline check. */
  async syncRolloutStatus(newRS: ReplicaSet | undefined): Promise<void> {
    const nowMs = this.env.clock.nowMs();
    const latestNew = newRS === undefined ? undefined : this.latest(newRS);
    const next = rolloutStatus(this.current, this.params, this.replicaSets(), latestNew, nowMs);
    if (await this.writeStatus(next)) return;
    const waitMs = msUntilProgressCheck(this.current, this.params, next, nowMs);
    if (waitMs !== undefined) this.env.requeueAfter(waitMs);
  }

  /** Writes status through the status subresource when it differs; true when written. */
  async writeStatus(status: DeploymentStatus): Promise<boolean> {
    if (jsonEqual(this.current.status, status)) return false;
    this.takeWritten(await this.env.api.update(Resources.Deployments, this.current.metadata.namespace, { ...this.current, status }, 'status'));
    return true;
  }

  private takeWritten(written: Deployment): void {
    assert(written.metadata.generation === this.current.metadata.generation, () => `Deployment ${written.metadata.name ?? ''}: generation moved under a sync (${this.current.metadata.generation} → ${written.metadata.generation})`);
    this.current = written;
  }
}
