/**
 * What the controllers share, after kube-controller-manager's
 * controller_utils.go and controller_ref_manager.go:
 *  - owner references: the controllerRef an owner stamps on what it makes,
 *    and `claimObjects`, which adopts matching orphans and releases owned
 *    objects that stopped matching;
 *  - pod readiness and availability (Ready for minReadySeconds);
 *  - `ControllerExpectations`: creates and deletes a controller has sent but
 *    its informer has not seen yet, so a sync does not act twice on a stale cache;
 *  - `runController`: informers, a work queue and workers, stopped by a signal;
 *    `stopGuardedClient`, which refuses writes once stopped.
 *
 * May import: `client/`, `selectors/`, `proto/`. Nothing here knows a kind.
 */
import type { Pod, PodCondition } from '../../proto/k8s/core-v1.js';
import type { KubeObject, OwnerReference, Status } from '../../proto/k8s/meta.js';
import {
  isNotFound,
  type ApiClient,
  type DeleteOptions,
  type ListOptions,
  type ObjectList,
  type PatchType,
  type ResourceRef,
  type WatchEvent,
  type WatchOptions,
  type WatchStream,
} from '../client/api-client.js';
import type { Clock } from '../client/clock.js';
import type { Informer } from '../client/informer.js';
import { runWorkers, type WorkQueue } from '../client/work-queue.js';
import type { LabelSelector } from '../selectors/label-selector.js';

// ---- errors -----------------------------------------------------------------------

export const ControllerErrorCode = {
  /** A programmer error: an invariant of the controller itself broke. */
  Assertion: 'CONTROLLER_ASSERTION',
  /** A write was attempted after the controller's signal aborted. */
  Stopped: 'CONTROLLER_STOPPED',
  /** The owner cannot adopt: it is gone, replaced (another uid) or being deleted. */
  CannotAdopt: 'CANNOT_ADOPT',
} as const;
export type ControllerErrorCode = (typeof ControllerErrorCode)[keyof typeof ControllerErrorCode];

export class ControllerError extends Error {
  override readonly name = 'ControllerError';
  constructor(
    readonly code: ControllerErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** Stays on in production: a controller that broke its own invariant must stop, not act on a wrong picture. */
export function assert(condition: unknown, message: string | (() => string)): asserts condition {
  if (!condition) throw new ControllerError(ControllerErrorCode.Assertion, typeof message === 'string' ? message : message());
}

export function assertNever(value: never, what = 'value'): never {
  throw new ControllerError(ControllerErrorCode.Assertion, `unexpected ${what}: ${JSON.stringify(value)}`);
}

// ---- owner references -------------------------------------------------------------

/** The apiVersion and kind an owner writes into its controllerRefs. */
export interface ControllerKind {
  readonly apiVersion: string;
  readonly kind: string;
}

/** The ownerReference with controller: true, if any (Kubernetes allows at most one). */
export function controllerRefOf(obj: KubeObject): OwnerReference | undefined {
  return obj.metadata.ownerReferences?.find((r) => r.controller === true);
}

/** blockOwnerDeletion: a foreground deletion of the owner waits for this object. */
export function newControllerRef(owner: KubeObject, kind: ControllerKind): OwnerReference {
  assert(owner.metadata.uid !== undefined && owner.metadata.name !== undefined, 'an owner has a name and a uid');
  return { apiVersion: kind.apiVersion, kind: kind.kind, name: owner.metadata.name, uid: owner.metadata.uid, controller: true, blockOwnerDeletion: true };
}

/**
 * The owner a controllerRef names, from the owner's informer; undefined when
 * the kind differs or the cached object of that name is another incarnation (uid).
 */
export function resolveControllerRef<T extends KubeObject>(owners: Informer<T>, namespace: string | undefined, ref: OwnerReference | undefined, kind: ControllerKind): T | undefined {
  if (ref === undefined || ref.kind !== kind.kind) return undefined;
  const owner = owners.get(namespace, ref.name);
  return owner?.metadata.uid === ref.uid ? owner : undefined;
}

/** Strategic merge patch adding `ref` (merged by uid); the object's uid makes it a precondition, as in Kubernetes. */
export function adoptPatch(ref: OwnerReference, objUid: string | undefined): unknown {
  return { metadata: { ownerReferences: [ref], uid: objUid } };
}

/** Strategic merge patch removing the reference to `ownerUid`. */
export function releasePatch(ownerUid: string | undefined, objUid: string | undefined): unknown {
  return { metadata: { ownerReferences: [{ $patch: 'delete', uid: ownerUid }], uid: objUid } };
}

export interface ClaimOptions<T extends KubeObject> {
  readonly owner: KubeObject;
  readonly selector: LabelSelector;
  /** Throws (ControllerError CannotAdopt) when a fresh read shows the owner may not adopt; called at most once per claim. */
  readonly canAdopt: () => Promise<void>;
  /** Returns the object as written, so the caller's next write of it is not a stale compare-and-swap. */
  readonly adopt: (obj: T) => Promise<T>;
  readonly release: (obj: T) => Promise<unknown>;
}

/**
 * Kubernetes' ControllerRefManager: returns the candidates `owner` controls
 * after adopting matching orphans and releasing owned objects that no longer
 * match. Objects controlled by someone else are never touched. An object that
 * vanished meanwhile (404) is skipped; any other failure is thrown after every
 * candidate was tried, so the caller's sync is retried.
 */
export async function claimObjects<T extends KubeObject>(candidates: readonly T[], o: ClaimOptions<T>): Promise<T[]> {
  const claimed: T[] = [];
  const errors: unknown[] = [];
  let adoptable: Promise<void> | undefined;
  const ownerDeleting = o.owner.metadata.deletionTimestamp !== undefined;
  for (const obj of candidates) {
    const ref = controllerRefOf(obj);
    const matches = o.selector.matches(obj.metadata.labels);
    try {
      if (ref !== undefined) {
        if (ref.uid !== o.owner.metadata.uid) continue;
        if (matches) claimed.push(obj);
        else if (!ownerDeleting) await ignoreNotFound(o.release(obj));
        continue;
      }
      if (ownerDeleting || !matches || obj.metadata.deletionTimestamp !== undefined) continue;
      if (obj.metadata.namespace !== o.owner.metadata.namespace) continue;
      adoptable ??= o.canAdopt();
      await adoptable;
      const adopted = await ignoreNotFound(o.adopt(obj));
      if (adopted !== undefined) claimed.push(adopted);
    } catch (err) {
      errors.push(err);
    }
  }
  if (errors.length > 0) throw errors[0];
  return claimed;
}

/** Checks a fresh read of the owner before adopting (Kubernetes' RecheckDeletionTimestamp). */
export function mustBeAdoptable(fresh: KubeObject, owner: KubeObject): void {
  const what = `${owner.kind ?? 'owner'} ${owner.metadata.namespace ?? ''}/${owner.metadata.name ?? ''}`;
  if (fresh.metadata.uid !== owner.metadata.uid) {
    throw new ControllerError(ControllerErrorCode.CannotAdopt, `${what} is gone: got uid ${fresh.metadata.uid ?? '(none)'}, wanted ${owner.metadata.uid ?? '(none)'}`);
  }
  if (fresh.metadata.deletionTimestamp !== undefined) {
    throw new ControllerError(ControllerErrorCode.CannotAdopt, `${what} has just been deleted at ${fresh.metadata.deletionTimestamp}`);
  }
}

/** What `p` gives, or undefined when it failed with 404 (the object is gone: nothing left to do). */
async function ignoreNotFound<R>(p: Promise<R>): Promise<R | undefined> {
  try {
    return await p;
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

// ---- pods ---------------------------------------------------------------------------

/** Counts toward a controller's replicas: not finished and not being deleted. */
export function isPodActive(pod: Pod): boolean {
  const phase = pod.status?.phase;
  return phase !== 'Succeeded' && phase !== 'Failed' && pod.metadata.deletionTimestamp === undefined;
}

export function podReadyCondition(pod: Pod): PodCondition | undefined {
  return pod.status?.conditions?.find((c) => c.type === 'Ready');
}

export function isPodReady(pod: Pod): boolean {
  return podReadyCondition(pod)?.status === 'True';
}

/**
 * When the pod is (or will become) available: Ready for more than
 * minReadySeconds, counted from the Ready condition's lastTransitionTime.
 * Undefined when it is not Ready, or Ready with no transition time while
 * minReadySeconds > 0 (Kubernetes then never counts it available).
 */
export function podAvailableAfterMs(pod: Pod, minReadySeconds: number): number | undefined {
  const ready = podReadyCondition(pod);
  if (ready?.status !== 'True') return undefined;
  if (minReadySeconds <= 0) return Number.NEGATIVE_INFINITY;
  const since = parseTimeMs(ready.lastTransitionTime);
  return since === undefined ? undefined : since + minReadySeconds * 1000;
}

/** Kubernetes' IsPodAvailable: strictly more than minReadySeconds since it became Ready. */
export function isPodAvailable(pod: Pod, minReadySeconds: number, nowMs: number): boolean {
  const after = podAvailableAfterMs(pod, minReadySeconds);
  return after !== undefined && after < nowMs;
}

/** `namespace/name`: how expectations name a pod. */
export function podKey(pod: KubeObject): string {
  return `${pod.metadata.namespace ?? ''}/${pod.metadata.name ?? ''}`;
}

// ---- time ---------------------------------------------------------------------------

/** metav1.Time: RFC 3339 at whole seconds, as the API server writes it. */
export function formatTime(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

export function parseTimeMs(text: string | undefined): number | undefined {
  if (text === undefined || text === '') return undefined;
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? undefined : ms;
}

// ---- expectations -----------------------------------------------------------------

/**
 * After this long, unmet expectations are dropped (Kubernetes' ExpectationsTimeout):
 * a watch event that was lost must not stall its controller forever.
 */
export const EXPECTATIONS_TTL_MS = 5 * 60_000;

interface Expectation {
  adds: number;
  /** Pod keys whose deletion was asked for and not yet observed. */
  deletes: Set<string>;
  setAtMs: number;
}

/**
 * Kubernetes' UIDTrackingControllerExpectations: per controller key, how many
 * creates and which deletes are still to be seen by the informer. A key is
 * "satisfied" (safe to sync) when nothing is outstanding, when it has no
 * record, or when its record is older than EXPECTATIONS_TTL_MS. Deletions are
 * tracked by pod key, so a pod observed deleted twice (marked, then gone)
 * counts once. Bound: one record per controller key, dropped with `delete`.
 */
export class ControllerExpectations {
  private readonly byKey = new Map<string, Expectation>();

  constructor(private readonly clock: Clock) {}

  satisfied(key: string): boolean {
    const e = this.byKey.get(key);
    if (e === undefined) return true;
    if (e.adds <= 0 && e.deletes.size === 0) return true;
    return this.clock.nowMs() - e.setAtMs > EXPECTATIONS_TTL_MS;
  }

  expectCreations(key: string, count: number): void {
    this.byKey.set(key, { adds: count, deletes: new Set(), setAtMs: this.clock.nowMs() });
  }

  expectDeletions(key: string, podKeys: readonly string[]): void {
    this.byKey.set(key, { adds: 0, deletes: new Set(podKeys), setAtMs: this.clock.nowMs() });
  }

  creationObserved(key: string): void {
    const e = this.byKey.get(key);
    if (e !== undefined) e.adds--;
  }

  deletionObserved(key: string, podKey: string): void {
    this.byKey.get(key)?.deletes.delete(podKey);
  }

  delete(key: string): void {
    this.byKey.delete(key);
  }
}

// ---- running ------------------------------------------------------------------------

/** The client a controller acts through: reads pass, writes throw ControllerError Stopped once `isStopped()`. */
export function stopGuardedClient(client: ApiClient, isStopped: () => boolean): ApiClient {
  return new StopGuardedClient(client, isStopped);
}

class StopGuardedClient implements ApiClient {
  constructor(
    private readonly inner: ApiClient,
    private readonly isStopped: () => boolean,
  ) {}

  get<T extends KubeObject = KubeObject>(r: ResourceRef, ns: string | undefined, name: string): Promise<T> {
    return this.inner.get<T>(r, ns, name);
  }

  list<T extends KubeObject = KubeObject>(r: ResourceRef, ns: string | undefined, o?: ListOptions): Promise<ObjectList<T>> {
    return this.inner.list<T>(r, ns, o);
  }

  watch<T extends KubeObject = KubeObject>(r: ResourceRef, ns: string | undefined, o: WatchOptions, onEvent: (e: WatchEvent<T>) => void): WatchStream {
    return this.inner.watch<T>(r, ns, o, onEvent);
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  async create<T extends KubeObject = KubeObject>(r: ResourceRef, ns: string | undefined, obj: T): Promise<T> {
    this.check(`create ${r.plural}`);
    return this.inner.create<T>(r, ns, obj);
  }

  async update<T extends KubeObject = KubeObject>(r: ResourceRef, ns: string | undefined, obj: T, subresource?: 'status'): Promise<T> {
    this.check(`update ${r.plural} ${obj.metadata.name ?? ''}`);
    return this.inner.update<T>(r, ns, obj, subresource);
  }

  async patch<T extends KubeObject = KubeObject>(r: ResourceRef, ns: string | undefined, name: string, type: PatchType, patch: unknown, subresource?: 'status' | 'scale'): Promise<T> {
    this.check(`patch ${r.plural} ${name}`);
    return this.inner.patch<T>(r, ns, name, type, patch, subresource);
  }

  async delete(r: ResourceRef, ns: string | undefined, name: string, o?: DeleteOptions): Promise<KubeObject | Status> {
    this.check(`delete ${r.plural} ${name}`);
    return this.inner.delete(r, ns, name, o);
  }

  async createSubresource(r: ResourceRef, ns: string | undefined, name: string, subresource: string, body: unknown): Promise<unknown> {
    this.check(`write ${r.plural} ${name}/${subresource}`);
    return this.inner.createSubresource(r, ns, name, subresource, body);
  }

  private check(what: string): void {
    if (this.isStopped()) throw new ControllerError(ControllerErrorCode.Stopped, `controller stopped; refusing to ${what}`);
  }
}

export interface RunControllerOptions {
  readonly name: string;
  readonly signal: AbortSignal;
  readonly informers: readonly Informer<KubeObject>[];
  readonly queue: WorkQueue;
  readonly workers: number;
  readonly sync: (key: string) => Promise<void>;
  readonly log?: ((line: string) => void) | undefined;
}

/**
 * Starts the informers, waits until each has listed once (a sync on a partial
 * cache would create what already exists), then runs `workers` workers until
 * `signal` aborts. Resolves once every worker has returned and the informers
 * are stopped; writes attempted after the abort must be refused by the caller
 * (see stopGuardedClient).
 */
export async function runController(o: RunControllerOptions): Promise<void> {
  if (o.signal.aborted) return;
  const aborted = new Promise<void>((resolve) => o.signal.addEventListener('abort', () => resolve(), { once: true }));
  const stop = (): void => {
    o.queue.shutDown();
    for (const inf of o.informers) inf.stop();
  };
  o.signal.addEventListener('abort', stop, { once: true });
  for (const inf of o.informers) inf.start();
  await Promise.race([Promise.all(o.informers.map((inf) => inf.synced)), aborted]);
  if (o.signal.aborted) return;
  o.log?.(`${o.name}: caches synced; starting ${o.workers} workers`);
  const onError = (key: string, err: unknown): void => o.log?.(`${o.name}: sync ${key}: ${err instanceof Error ? err.message : String(err)}`);
  await runWorkers(o.queue, o.workers, o.sync, onError);
  await aborted;
}
