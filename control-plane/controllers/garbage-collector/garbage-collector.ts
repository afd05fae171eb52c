/**
 * The garbage collector (Kubernetes' GC controller, for the resources it is
 * told to watch). From ownerReferences it keeps an ownership graph, and
 * `sync(key)` handles one object, level-triggered:
 *  - an object whose owners are all gone (by uid) is deleted; one with a
 *    remaining owner keeps living, with references to the gone owners removed;
 *  - foreground: an owner being deleted with the `foregroundDeletion`
 *    finalizer gets its dependents deleted (their own sync sees the owner
 *    waiting) and keeps its finalizer until no dependent that blocks it
 *    (`blockOwnerDeletion`) is left;
 *  - orphan: an owner being deleted with the `orphan` finalizer has its
 *    reference removed from every dependent, then the finalizer.
 *
 * The cache may lag: an owner missing from it (or there under another uid)
 * is only judged gone after a live GET says so. Owners of kinds not watched
 * cannot be checked and count as present: never delete on a guess.
 */
import type { KubeObject, OwnerReference } from '../../../proto/k8s/meta.js';
import { isConflict, isNotFound, Resources, type ApiClient } from '../../client/api-client.js';
import { realClock, type Clock } from '../../client/clock.js';
import { Informer, keyOf, type InformerHandlers } from '../../client/informer.js';
import { runWorkers, WorkQueue } from '../../client/work-queue.js';
import { OwnershipGraph, type GcResource } from './ownership-graph.js';

export type { GcResource } from './ownership-graph.js';

export const FINALIZER_ORPHAN = 'orphan';
export const FINALIZER_FOREGROUND = 'foregroundDeletion';

export const GC_DEFAULT_RESOURCES: readonly GcResource[] = [
  { ...Resources.Pods, kind: 'Pod' },
  { ...Resources.ReplicaSets, kind: 'ReplicaSet' },
  { ...Resources.Deployments, kind: 'Deployment' },
  { ...Resources.Services, kind: 'Service' },
  { ...Resources.Endpoints, kind: 'Endpoints' },
  { ...Resources.ConfigMaps, kind: 'ConfigMap' },
  { ...Resources.Secrets, kind: 'Secret' },
];

/** kube-controller-manager's --concurrent-gc-syncs. */
export const GC_WORKERS_DEFAULT = 20;
/**
 * Owner uids a live GET found gone. A uid is never reused, so the answer
 * stays true; remembering it spares one GET per dependent when a big owner's
 * hundreds of pods are collected. Bounded: the oldest are forgotten.
 */
export const ABSENT_OWNER_UIDS_MAX = 1024;

export const GcErrorCode = { InvalidConfig: 'GC_INVALID_CONFIG', Stopped: 'GC_STOPPED' } as const;
export type GcErrorCode = (typeof GcErrorCode)[keyof typeof GcErrorCode];

export class GcError extends Error {
  override readonly name = 'GcError';
  constructor(
    readonly code: GcErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export interface GarbageCollectorOptions {
  readonly client: ApiClient;
  readonly clock?: Clock;
  readonly log?: (line: string) => void;
  readonly resources?: readonly GcResource[];
  readonly workers?: number;
}

/** What an owner reference points at, as far as its dependent is concerned. */
const OwnerState = {
  /** Exists with that uid and is not waiting for its dependents: keeps the dependent alive. */
  Solid: 'solid',
  /** Gone, or replaced by an object of another uid. */
  Dangling: 'dangling',
  /** Being deleted in the foreground: wants its dependents gone first. */
  Waiting: 'waiting',
} as const;
type OwnerState = (typeof OwnerState)[keyof typeof OwnerState];

interface Watched {
  readonly resource: GcResource;
  readonly informer: Informer;
}

export class GarbageCollector {
  private readonly client: ApiClient;
  private readonly clock: Clock;
  private readonly log: (line: string) => void;
  private readonly workers: number;
  private readonly watched = new Map<string, Watched>();
  private readonly byKind = new Map<string, GcResource>();
  private readonly graph = new OwnershipGraph();
  /** Insertion-ordered, so the oldest entry is the first. */
  private readonly absentOwnerUids = new Set<string>();
  private readonly queue: WorkQueue;
  private stopped = false;

  constructor(o: GarbageCollectorOptions) {
    this.client = o.client;
    this.clock = o.clock ?? realClock;
    this.log = o.log ?? (() => {});
    this.workers = o.workers ?? GC_WORKERS_DEFAULT;
    if (!(Number.isInteger(this.workers) && this.workers >= 1)) throw new GcError(GcErrorCode.InvalidConfig, `workers is ${this.workers}; it must be an integer >= 1`);
    this.queue = new WorkQueue(this.clock);
    for (const resource of o.resources ?? GC_DEFAULT_RESOURCES) this.watch(resource);
  }

  /** Runs until `signal` aborts; after that it writes nothing. */
  async run(signal: AbortSignal): Promise<void> {
    if (signal.aborted || this.stopped) return;
    const stop = (): void => this.stop();
    signal.addEventListener('abort', stop, { once: true });
    try {
      const informers = [...this.watched.values()].map((w) => w.informer);
      for (const informer of informers) informer.start();
      if (!(await syncedOrAborted(informers, signal))) return;
      await runWorkers(this.queue, this.workers, (key) => this.sync(key), (key, err) => this.onSyncError(key, err));
    } finally {
      signal.removeEventListener('abort', stop);
      this.stop();
    }
  }

  /** Handles one object, keyed `resourceId/namespace/name` (see `workKey`). Idempotent. */
  async sync(key: string): Promise<void> {
    if (this.stopped) return;
    const found = this.lookup(key);
    if (found === undefined) return; // gone: its dependents and owners were queued when it went
    const { resource, obj } = found;
    if (isDeleting(obj)) {
      if (hasFinalizer(obj, FINALIZER_ORPHAN)) return this.orphanDependents(resource, obj);
      if (hasFinalizer(obj, FINALIZER_FOREGROUND)) return this.deleteDependentsFirst(resource, obj);
      return;
    }
    if ((obj.metadata.ownerReferences ?? []).length > 0) await this.collectIfOrphaned(resource, obj);
  }

  private watch(resource: GcResource): void {
    const id = resourceId(resource);
    if (this.watched.has(id)) throw new GcError(GcErrorCode.InvalidConfig, `resource ${id} is listed twice`);
    const informer = new Informer(this.client, resource, { clock: this.clock, log: this.log });
    informer.addHandlers(this.handlersFor(resource));
    this.watched.set(id, { resource, informer });
    this.byKind.set(`${resource.group}/${resource.kind}`, resource);
  }

  private handlersFor(resource: GcResource): InformerHandlers<KubeObject> {
    return {
      onAdd: (obj) => this.observed(resource, undefined, obj),
      onUpdate: (old, obj) => this.observed(resource, old, obj),
      onDelete: (obj) => this.gone(obj),
    };
  }

  private observed(resource: GcResource, old: KubeObject | undefined, obj: KubeObject): void {
    // A relist can merge "deleted, then recreated under the same name" into one update.
    if (old !== undefined && old.metadata.uid !== obj.metadata.uid) return this.observedReplacement(resource, old, obj);
    const uid = obj.metadata.uid;
    if (uid === undefined || uid === '') return;
    const key = workKey(resource, obj);
    const owners = obj.metadata.ownerReferences ?? [];
    const ownersChanged = this.graph.upsert({ uid, resource, key, owners });
    if (owners.length > 0 || isDeleting(obj)) this.queue.add(key);
    // Dependents must learn that their owner now waits for them (foreground) or lets them go (orphan).
    if (deletionState(old) !== deletionState(obj)) this.enqueueDependents(uid);
    this.enqueueOwners(ownersChanged);
  }

  private observedReplacement(resource: GcResource, old: KubeObject, obj: KubeObject): void {
    this.gone(old);
    this.observed(resource, undefined, obj);
  }

  private gone(obj: KubeObject): void {
    const uid = obj.metadata.uid;
    if (uid === undefined || uid === '') return;
    const node = this.graph.remove(uid);
    this.enqueueDependents(uid);
    this.enqueueOwners((node?.owners ?? []).map((r) => r.uid));
  }

  private enqueueDependents(ownerUid: string): void {
    for (const dependent of this.graph.dependentsOf(ownerUid)) this.queue.add(dependent.key);
  }

  private enqueueOwners(ownerUids: readonly string[]): void {
    for (const uid of ownerUids) {
      const owner = this.graph.get(uid);
      if (owner !== undefined) this.queue.add(owner.key);
    }
  }

  private lookup(key: string): { resource: GcResource; obj: KubeObject } | undefined {
    const slash = key.indexOf('/');
    const watched = slash < 0 ? undefined : this.watched.get(key.slice(0, slash));
    const obj = watched?.informer.getByKey(key.slice(slash + 1));
    return watched === undefined || obj === undefined ? undefined : { resource: watched.resource, obj };
  }

  /** Deletes `obj` when none of its owners is solid; otherwise drops its references to owners that are gone or waiting. */
  private async collectIfOrphaned(resource: GcResource, obj: KubeObject): Promise<void> {
    const refs = obj.metadata.ownerReferences ?? [];
    const states = new Map<OwnerReference, OwnerState>();
    for (const ref of refs) states.set(ref, await this.ownerState(ref, obj.metadata.namespace));
    const solid = refs.filter((r) => states.get(r) === OwnerState.Solid);
    if (solid.length > 0) {
      if (solid.length === refs.length) return;
      const stale = new Set(refs.filter((r) => states.get(r) !== OwnerState.Solid).map((r) => r.uid));
      return this.removeOwnerReferences(resource, obj, stale);
    }
    const anyWaiting = refs.some((r) => states.get(r) === OwnerState.Waiting);
    const hasDependents = this.graph.dependentsOf(obj.metadata.uid ?? '').length > 0;
    const policy = anyWaiting && hasDependents ? 'Foreground' : propagationFromFinalizers(obj);
    await this.deleteObject(resource, obj, policy);
  }

  private async ownerState(ref: OwnerReference, dependentNamespace: string | undefined): Promise<OwnerState> {
    const resource = this.byKind.get(`${groupOf(ref.apiVersion)}/${ref.kind}`);
    // Not watched, or a namespaced owner of a cluster-scoped object (invalid): cannot be checked, so keep the dependent.
    if (resource === undefined || (resource.namespaced && (dependentNamespace === undefined || dependentNamespace === ''))) return OwnerState.Solid;
    if (this.absentOwnerUids.has(ref.uid)) return OwnerState.Dangling;
    const namespace = resource.namespaced ? dependentNamespace : undefined;
    const cached = this.watched.get(resourceId(resource))?.informer.get(namespace, ref.name);
    if (cached?.metadata.uid === ref.uid) return isWaitingForDependents(cached) ? OwnerState.Waiting : OwnerState.Solid;
    try {
      const live = await this.client.get(resource, namespace, ref.name);
      if (live.metadata.uid === ref.uid) return isWaitingForDependents(live) ? OwnerState.Waiting : OwnerState.Solid;
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    this.rememberAbsent(ref.uid);
    return OwnerState.Dangling;
  }

  private rememberAbsent(uid: string): void {
    this.absentOwnerUids.add(uid);
    if (this.absentOwnerUids.size <= ABSENT_OWNER_UIDS_MAX) return;
    const oldest = this.absentOwnerUids.values().next();
    if (oldest.done !== true) this.absentOwnerUids.delete(oldest.value);
  }

  /** Foreground deletion of `owner`: its dependents go first; the finalizer goes once none blocks it. */
  private async deleteDependentsFirst(resource: GcResource, owner: KubeObject): Promise<void> {
    const uid = owner.metadata.uid ?? '';
    const blocking = this.graph.dependentsOf(uid).filter((d) => d.owners.some((r) => r.uid === uid && r.blockOwnerDeletion === true));
    if (blocking.length === 0) return this.removeFinalizer(resource, owner, FINALIZER_FOREGROUND);
    // Their own syncs delete them; re-queue in case an event was merged away. Their deletion re-queues us.
    for (const dependent of blocking) this.queue.add(dependent.key);
  }

  /** Orphan deletion of `owner`: every dependent loses its reference to it, then the owner loses its finalizer. */
  private async orphanDependents(resource: GcResource, owner: KubeObject): Promise<void> {
    const uid = owner.metadata.uid ?? '';
    for (const dependent of this.graph.dependentsOf(uid)) {
      const found = this.lookup(dependent.key);
      if (found !== undefined) await this.removeOwnerReferences(found.resource, found.obj, new Set([uid]));
    }
    await this.removeFinalizer(resource, owner, FINALIZER_ORPHAN);
  }

  private async removeOwnerReferences(resource: GcResource, obj: KubeObject, ownerUids: ReadonlySet<string>): Promise<void> {
    const kept = (obj.metadata.ownerReferences ?? []).filter((r) => !ownerUids.has(r.uid));
    const { ownerReferences: _dropped, ...meta } = obj.metadata;
    const next = { ...obj, metadata: kept.length === 0 ? meta : { ...meta, ownerReferences: kept } };
    this.mustBeRunning();
    try {
      await this.client.update(resource, obj.metadata.namespace, next); // compare-and-swap on the cached resourceVersion
    } catch (err) {
      if (!isNotFound(err)) throw err;
      return;
    }
    this.log(`gc: removed owner references [${[...ownerUids].join(', ')}] from ${describe(resource, obj)}`);
  }

  private async removeFinalizer(resource: GcResource, obj: KubeObject, finalizer: string): Promise<void> {
    const finalizers = (obj.metadata.finalizers ?? []).filter((f) => f !== finalizer);
    this.mustBeRunning();
    try {
      await this.client.update(resource, obj.metadata.namespace, { ...obj, metadata: { ...obj.metadata, finalizers } });
    } catch (err) {
      if (!isNotFound(err)) throw err;
      return;
    }
    this.log(`gc: removed finalizer ${finalizer} from ${describe(resource, obj)}`);
  }

  private async deleteObject(resource: GcResource, obj: KubeObject, policy: 'Background' | 'Foreground' | 'Orphan'): Promise<void> {
    this.mustBeRunning();
    try {
      await this.client.delete(resource, obj.metadata.namespace, obj.metadata.name ?? '', { propagationPolicy: policy, preconditions: { uid: obj.metadata.uid ?? '' } });
    } catch (err) {
      if (isNotFound(err) || isConflict(err)) return; // already gone, or a new object under the same name
      throw err;
    }
    this.log(`gc: deleted ${describe(resource, obj)} (${policy.toLowerCase()}): none of its owners is left`);
  }

  private mustBeRunning(): void {
    if (this.stopped) throw new GcError(GcErrorCode.Stopped, 'garbage collector stopped; not writing');
  }

  private onSyncError(key: string, err: unknown): void {
    if (this.stopped) return;
    this.log(`gc: sync of ${key} failed (retrying with back-off): ${err instanceof Error ? err.message : String(err)}`);
  }

  private stop(): void {
    this.stopped = true;
    this.queue.shutDown();
    for (const w of this.watched.values()) w.informer.stop();
  }
}

/** `plural` for core resources, `plural.group` otherwise. */
export function resourceId(r: ResourceRefLike): string {
  return r.group === '' ? r.plural : `${r.plural}.${r.group}`;
}

type ResourceRefLike = Pick<GcResource, 'group' | 'plural'>;

/** The garbage collector's work key for an object: `resourceId/namespace/name`. */
export function workKey(r: ResourceRefLike, obj: KubeObject): string {
  return `${resourceId(r)}/${keyOf(obj)}`;
}

function groupOf(apiVersion: string): string {
  const slash = apiVersion.indexOf('/');
  return slash < 0 ? '' : apiVersion.slice(0, slash);
}

function isDeleting(obj: KubeObject): boolean {
  return obj.metadata.deletionTimestamp !== undefined && obj.metadata.deletionTimestamp !== null;
}

function hasFinalizer(obj: KubeObject, finalizer: string): boolean {
  return (obj.metadata.finalizers ?? []).includes(finalizer);
}

function isWaitingForDependents(obj: KubeObject): boolean {
  return isDeleting(obj) && hasFinalizer(obj, FINALIZER_FOREGROUND);
}

/** What about the object's deletion its dependents care about: being deleted, and how. */
function deletionState(obj: KubeObject | undefined): string {
  if (obj === undefined || !isDeleting(obj)) return 'live';
  return `deleting:${hasFinalizer(obj, FINALIZER_FOREGROUND)}:${hasFinalizer(obj, FINALIZER_ORPHAN)}`;
}

/** Kubernetes honours a finalizer already on the object; otherwise background. */
function propagationFromFinalizers(obj: KubeObject): 'Background' | 'Foreground' | 'Orphan' {
  if (hasFinalizer(obj, FINALIZER_ORPHAN)) return 'Orphan';
  if (hasFinalizer(obj, FINALIZER_FOREGROUND)) return 'Foreground';
  return 'Background';
}

function describe(r: GcResource, obj: KubeObject): string {
  return `${r.kind} ${keyOf(obj)} (uid ${obj.metadata.uid ?? '?'})`;
}

/** Resolves true once every informer has listed, false if `signal` aborts first. */
async function syncedOrAborted(informers: readonly { readonly synced: Promise<void> }[], signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return false;
  let onAbort = (): void => {};
  const aborted = new Promise<void>((resolve) => {
    onAbort = () => resolve();
    signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    await Promise.race([Promise.all(informers.map((i) => i.synced)), aborted]);
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
  return !signal.aborted;
}
