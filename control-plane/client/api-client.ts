/**
 * ApiClient: how the scheduler, the controllers and the node agents talk to
 * the cluster — through the Kubernetes-style HTTP API only, never the store.
 * One interface, two implementations:
 *  - `http-client.ts`: real HTTP(S) to a list of masters, failing over to the
 *    next master when one stops answering;
 *  - `fake-client.ts`: an in-memory API with resourceVersions, compare-and-swap
 *    and watch, for controller tests (sync(key) against a fake API and clock).
 *
 * Errors: every non-2xx answer is thrown as ApiStatusError carrying the
 * Kubernetes Status (code, reason), so callers can tell 404 from 409 from 410.
 */
import type { KubeObject, Status } from '../../proto/k8s/meta.js';

/** A resource type as the API names it. */
export interface ResourceRef {
  /** '' for core. */
  readonly group: string;
  readonly version: string;
  /** Lower-case plural, e.g. pods. */
  readonly plural: string;
  readonly namespaced: boolean;
}

export interface ListOptions {
  readonly labelSelector?: string;
  readonly fieldSelector?: string;
  /** '' or absent = a consistent read; '0' = any (cache). */
  readonly resourceVersion?: string;
  readonly limit?: number;
  readonly continue?: string;
}

export interface ObjectList<T extends KubeObject = KubeObject> {
  readonly metadata: { readonly resourceVersion?: string; readonly continue?: string };
  readonly items: T[];
}

export const WatchEventType = { Added: 'ADDED', Modified: 'MODIFIED', Deleted: 'DELETED', Bookmark: 'BOOKMARK', Error: 'ERROR' } as const;
export type WatchEventType = (typeof WatchEventType)[keyof typeof WatchEventType];

export interface WatchEvent<T extends KubeObject = KubeObject> {
  readonly type: WatchEventType;
  /** For ERROR: a Status (as KubeObject-shaped JSON). For BOOKMARK: only metadata.resourceVersion. */
  readonly object: T;
}

export interface WatchOptions {
  readonly labelSelector?: string;
  readonly fieldSelector?: string;
  /** Start after this resourceVersion. */
  readonly resourceVersion: string;
  readonly allowBookmarks?: boolean;
  readonly timeoutSeconds?: number;
}

export interface WatchStream {
  /**
   * Resolves when the stream ends: the server closed it (timeout, restart), the
   * connection broke, or `stop()` was called. An ERROR event (e.g. 410 Expired)
   * is delivered to `onEvent` before the stream ends.
   */
  readonly done: Promise<void>;
  stop(): void;
}

export interface DeleteOptions {
  readonly gracePeriodSeconds?: number;
  readonly propagationPolicy?: 'Background' | 'Foreground' | 'Orphan';
  readonly preconditions?: { readonly uid?: string; readonly resourceVersion?: string };
}

export const PatchType = {
  Merge: 'application/merge-patch+json',
  Json: 'application/json-patch+json',
  Strategic: 'application/strategic-merge-patch+json',
} as const;
export type PatchType = (typeof PatchType)[keyof typeof PatchType];

export interface ApiClient {
  get<T extends KubeObject = KubeObject>(r: ResourceRef, namespace: string | undefined, name: string): Promise<T>;
  list<T extends KubeObject = KubeObject>(r: ResourceRef, namespace: string | undefined, o?: ListOptions): Promise<ObjectList<T>>;
  create<T extends KubeObject = KubeObject>(r: ResourceRef, namespace: string | undefined, obj: T): Promise<T>;
  /** PUT; `obj.metadata.resourceVersion` (when set) makes it a compare-and-swap (409 on mismatch). */
  update<T extends KubeObject = KubeObject>(r: ResourceRef, namespace: string | undefined, obj: T, subresource?: 'status'): Promise<T>;
  patch<T extends KubeObject = KubeObject>(r: ResourceRef, namespace: string | undefined, name: string, type: PatchType, patch: unknown, subresource?: 'status' | 'scale'): Promise<T>;
  /** Returns the object's state after the call (marked for deletion, or its last state). */
  delete(r: ResourceRef, namespace: string | undefined, name: string, o?: DeleteOptions): Promise<KubeObject | Status>;
  /** POST to a subresource, e.g. pods/<name>/binding. */
  createSubresource(r: ResourceRef, namespace: string | undefined, name: string, subresource: string, body: unknown): Promise<unknown>;
  watch<T extends KubeObject = KubeObject>(r: ResourceRef, namespace: string | undefined, o: WatchOptions, onEvent: (e: WatchEvent<T>) => void): WatchStream;
  close(): Promise<void>;
}

/** A non-2xx answer from the API. */
export class ApiStatusError extends Error {
  override readonly name = 'ApiStatusError';
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly status?: Status,
  ) {
    super(message);
  }
}

export function isNotFound(err: unknown): boolean {
  return err instanceof ApiStatusError && err.code === 404;
}

export function isConflict(err: unknown): boolean {
  return err instanceof ApiStatusError && err.code === 409;
}

export function isAlreadyExists(err: unknown): boolean {
  return err instanceof ApiStatusError && err.code === 409 && err.reason === 'AlreadyExists';
}

export function isGone(err: unknown): boolean {
  return err instanceof ApiStatusError && err.code === 410;
}

/** The resources controllers use most, by name. */
export const Resources = {
  Namespaces: { group: '', version: 'v1', plural: 'namespaces', namespaced: false },
  Pods: { group: '', version: 'v1', plural: 'pods', namespaced: true },
  Nodes: { group: '', version: 'v1', plural: 'nodes', namespaced: false },
  Services: { group: '', version: 'v1', plural: 'services', namespaced: true },
  Endpoints: { group: '', version: 'v1', plural: 'endpoints', namespaced: true },
  Events: { group: '', version: 'v1', plural: 'events', namespaced: true },
  ConfigMaps: { group: '', version: 'v1', plural: 'configmaps', namespaced: true },
  Secrets: { group: '', version: 'v1', plural: 'secrets', namespaced: true },
  ServiceAccounts: { group: '', version: 'v1', plural: 'serviceaccounts', namespaced: true },
  Deployments: { group: 'apps', version: 'v1', plural: 'deployments', namespaced: true },
  ReplicaSets: { group: 'apps', version: 'v1', plural: 'replicasets', namespaced: true },
  Leases: { group: 'coordination.k8s.io', version: 'v1', plural: 'leases', namespaced: true },
} as const satisfies Record<string, ResourceRef>;

/** The URL path of a collection or object (no query). */
export function resourcePath(r: ResourceRef, namespace: string | undefined, name?: string, subresource?: string): string {
  const base = r.group === '' ? `/api/${r.version}` : `/apis/${r.group}/${r.version}`;
  const ns = r.namespaced && namespace !== undefined ? `/namespaces/${encodeURIComponent(namespace)}` : '';
  const obj = name === undefined ? '' : `/${encodeURIComponent(name)}`;
  const sub = subresource === undefined ? '' : `/${subresource}`;
  return `${base}${ns}/${r.plural}${obj}${sub}`;
}
